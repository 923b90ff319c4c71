//! The HTTP client of the Lambda functions' SDK clients: the SDK's own stack (hyper 0.14,
//! rustls 0.21 with ring, HTTP/1.1 and HTTP/2, `http` allowed for emulators) trusting the
//! Mozilla root certificates compiled into the binary (`webpki-roots`).
//!
//! Why not the SDK's default: it reads the platform's certificate store, which on a Debian
//! host is a bundle plus one file per certificate, parsed at the first request. That was about
//! 10 ms of each cold start, the largest single part of it. Every AWS endpoint's certificate
//! chains to Amazon Trust Services' roots, which the Mozilla set includes. The `vitals` binary
//! keeps the platform store: a self-hosted team may sit behind a proxy with its own CA.

use aws_smithy_http_client::hyper_014::HyperClientBuilder;
use hyper_rustls_legacy::HttpsConnectorBuilder;
use rustls_legacy::{ClientConfig, OwnedTrustAnchor, RootCertStore};

/// `loader` with the SDK HTTP client over the bundled roots (cheap to build: no file is read).
pub fn with_bundled_roots(loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(bundled_roots_tls_config())
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    loader.http_client(HyperClientBuilder::new().build(connector))
}

fn bundled_roots_tls_config() -> ClientConfig {
    ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(bundled_roots())
        .with_no_client_auth()
}

/// Mozilla's roots as rustls 0.21 trust anchors (the same subject/SPKI/name-constraint bytes).
fn bundled_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add_trust_anchors(webpki_roots::TLS_SERVER_ROOTS.iter().map(|anchor| {
        OwnedTrustAnchor::from_subject_spki_name_constraints(
            anchor.subject.as_ref(),
            anchor.subject_public_key_info.as_ref(),
            anchor.name_constraints.as_ref().map(|c| c.as_ref()),
        )
    }));
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_roots_include_amazons() {
        let roots = bundled_roots();
        assert!(roots.len() > 100, "{} roots", roots.len());
        // The subject of Amazon Root CA 1 (O=Amazon, CN=Amazon Root CA 1), DER without the
        // outer SEQUENCE: every AWS endpoint's chain ends here or at Starfield's cross-sign.
        let subjects: Vec<Vec<u8>> = roots
            .roots
            .iter()
            .map(|r| r.subject().as_ref().to_vec())
            .collect();
        let named = |name: &str| {
            subjects
                .iter()
                .any(|s| s.windows(name.len()).any(|w| w == name.as_bytes()))
        };
        assert!(named("Amazon Root CA 1"));
        assert!(named("Amazon Root CA 3"));
        assert!(named("Starfield Services Root Certificate Authority - G2"));
    }
}
