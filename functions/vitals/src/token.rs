//! `vitals token`: mint API tokens for `vitals serve`. Tokens are HS256 JWTs signed with the
//! data directory's secret (`DATA/token-secret`, 32 random bytes hex-encoded, created on first
//! use with mode 0600), so any `vitals serve` on the same data directory accepts them, and
//! deleting the file revokes every token minted so far.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;
use rand::RngCore;
use vitals_core::config::AuthConfig;
use vitals_http::{LocalTokens, Role};

use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// csm, ae, lead, admin or read-only.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// The user (email) the token speaks for; CSMs and AEs see the accounts they own.
    #[arg(long)]
    pub user: String,
    /// Lifetime, e.g. 30d, 12h, 90m (default: `[auth] token_ttl_days`, 30 days).
    #[arg(long, value_parser = parse_ttl)]
    pub ttl: Option<chrono::Duration>,
    /// Base URL of `vitals serve` for the printed dashboard sign-in link.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Print only the token (for scripts).
    #[arg(long)]
    pub quiet: bool,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("unknown role `{s}`: use csm, ae, lead, admin or read-only"))
}

/// `30d`, `12h`, `90m`, or a number of days.
fn parse_ttl(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 'd'),
    };
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid ttl `{s}`: use e.g. 30d, 12h or 90m"))?;
    let ttl = match unit {
        'd' => chrono::Duration::days(n),
        'h' => chrono::Duration::hours(n),
        'm' => chrono::Duration::minutes(n),
        _ => return Err(format!("invalid ttl `{s}`: the unit is d, h or m")),
    };
    if ttl > chrono::Duration::days(i64::from(AuthConfig::MAX_TOKEN_TTL_DAYS)) {
        return Err(format!(
            "ttl `{s}` is longer than {} days",
            AuthConfig::MAX_TOKEN_TTL_DAYS
        ));
    }
    Ok(ttl)
}

fn secret_path(data: &Path) -> PathBuf {
    data.join("token-secret")
}

/// The data directory's token secret, created (0600) on first use.
pub fn token_secret(data: &Path) -> anyhow::Result<Vec<u8>> {
    let path = secret_path(data);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = hex::decode(text.trim())
                .with_context(|| format!("{} is not a hex secret", path.display()))?;
            if secret.len() < vitals_http::authn::MIN_SECRET_BYTES {
                bail!(
                    "{} is too short; delete it to create a new one",
                    path.display()
                );
            }
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_secret(data, &path),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn create_secret(data: &Path, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", hex::encode(&secret)).as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => token_secret(data),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The verifier `vitals serve` uses: the data directory's secret plus the `[auth]` rules.
pub fn local_tokens(data: &Path, auth: &AuthConfig) -> anyhow::Result<LocalTokens> {
    LocalTokens::new(token_secret(data)?, auth).context("token secret too short")
}

pub async fn run(
    global: &crate::cli::GlobalArgs,
    ctx: &Context,
    args: &TokenArgs,
) -> anyhow::Result<()> {
    let user = args.user.trim();
    if user.is_empty() {
        bail!("--user must not be empty");
    }
    let ttl = args
        .ttl
        .unwrap_or_else(|| chrono::Duration::days(i64::from(ctx.config.auth.token_ttl_days)));
    let tokens = local_tokens(&global.data, &ctx.config.auth)?;
    let now = chrono::Utc::now();
    let token = tokens.mint(user, args.role, now, ttl);
    if args.quiet {
        println!("{token}");
        return Ok(());
    }
    println!(
        "Token for {user} ({}), valid until {}:",
        args.role,
        (now + ttl).format("%Y-%m-%d %H:%M UTC")
    );
    println!("{token}");
    println!();
    println!(
        "API:       curl -H 'Authorization: Bearer {token}' {}/v1/portfolio",
        args.url.trim_end_matches('/')
    );
    println!(
        "Dashboard: {}/dashboard?token={token}",
        args.url.trim_end_matches('/')
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ttl_accepts_days_hours_minutes() {
        assert_eq!(parse_ttl("30d"), Ok(chrono::Duration::days(30)));
        assert_eq!(parse_ttl("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_ttl("7"), Ok(chrono::Duration::days(7)));
        assert!(parse_ttl("0d").is_err());
        assert!(parse_ttl("400d").is_err());
        assert!(parse_ttl("5y").is_err());
    }

    #[test]
    fn the_secret_is_created_once_private_and_reused() {
        let dir = std::env::temp_dir().join(format!(
            "vitals-token-test-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let first = token_secret(&dir).unwrap();
        let second = token_secret(&dir).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("token-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
