//! SSRF protection for outgoing webhooks and Slack: a destination's host is resolved and every
//! address checked; private, loopback, link-local, CGNAT, multicast and cloud metadata
//! addresses are refused unless `alerts.allow_private_destinations` names the host, the
//! address or a CIDR holding it. The request is then pinned to the checked addresses (no second
//! resolution, so DNS rebinding cannot switch them) and redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;
use vitals_core::notify::NotifyError;

/// Explicit exceptions to the private-address rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

impl AllowList {
    /// Entries are host names, IP addresses or CIDRs (`10.0.0.0/8`, `::1/128`).
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Self {
        let mut list = AllowList::default();
        for e in entries {
            let e = e.as_ref().trim();
            if let Some((ip, bits)) = e.split_once('/') {
                if let (Ok(ip), Ok(bits)) = (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
                    list.nets.push((ip, bits));
                    continue;
                }
            }
            match e.parse::<IpAddr>() {
                Ok(ip) => list.nets.push((ip, if ip.is_ipv4() { 32 } else { 128 })),
                Err(_) => list.hosts.push(e.to_ascii_lowercase()),
            }
        }
        list
    }

    fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|(net, bits)| in_net(ip, *net, *bits))
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = u32::from(bits.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = u32::from(bits.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Whether an address is one a webhook must not reach by default.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || v6.segments()[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d
                || (first == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 64:ff9b::/96
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254.0.0/16, incl. 169.254.169.254 metadata
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // 192.0.0.0/24 (IETF, incl. 192.0.0.192 Oracle metadata)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240
}

/// A checked destination: the URL and the addresses the request may use.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: Url,
    pub host: String,
    pub addrs: Vec<SocketAddr>,
}

/// Parses, resolves and checks a destination URL. The error never contains the URL's path or
/// query (Slack webhook URLs carry their token there).
pub async fn check(url: &str, allow: &AllowList) -> Result<Destination, NotifyError> {
    let url = Url::parse(url).map_err(|_| NotifyError::Permanent("invalid URL".into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(NotifyError::Refused(format!(
            "scheme {} is not http(s)",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| NotifyError::Permanent("URL without a host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| NotifyError::Permanent("URL without a port".into()))?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| NotifyError::Retryable(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(NotifyError::Retryable(format!("{host} has no address")));
    }
    if !allow.allows_host(&host) {
        if let Some(bad) = addrs
            .iter()
            .find(|a| is_forbidden(a.ip()) && !allow.allows_ip(a.ip()))
        {
            return Err(NotifyError::Refused(format!(
                "{host} resolves to {} (private, loopback, link-local or metadata); \
                 add it to alerts.allow_private_destinations to allow it",
                bad.ip()
            )));
        }
    }
    Ok(Destination { url, host, addrs })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let none = AllowList::default();
        let err = check("http://127.0.0.1:9/hook", &none).await.unwrap_err();
        assert!(matches!(err, NotifyError::Refused(_)), "{err}");
        let err = check("http://localhost:9/hook", &none).await.unwrap_err();
        assert!(matches!(err, NotifyError::Refused(_)), "{err}");
        let err = check("http://169.254.169.254/latest/meta-data", &none)
            .await
            .unwrap_err();
        assert!(matches!(err, NotifyError::Refused(_)), "{err}");
        let allow = AllowList::new(&["127.0.0.0/8"]);
        assert!(check("http://127.0.0.1:9/hook", &allow).await.is_ok());
        let allow = AllowList::new(&["127.0.0.1"]);
        assert!(check("http://127.0.0.1:9/hook", &allow).await.is_ok());
        assert!(check("http://10.0.0.1:9/hook", &allow).await.is_err());
    }

    #[tokio::test]
    async fn refusals_do_not_echo_the_secret_path() {
        let err = check(
            "http://127.0.0.1/services/T000/B000/XXXXSECRET",
            &AllowList::default(),
        )
        .await
        .unwrap_err();
        assert!(!err.to_string().contains("XXXXSECRET"), "{err}");
    }

    #[tokio::test]
    async fn other_schemes_are_refused() {
        let err = check("file:///etc/passwd", &AllowList::default())
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            NotifyError::Refused(_) | NotifyError::Permanent(_)
        ));
    }
}
