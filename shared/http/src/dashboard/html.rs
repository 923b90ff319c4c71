//! HTML helpers of the dashboard: escaping and the page frame (styles, navigation).

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a path segment for a link.
pub fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
header{background:#1d2330;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}\
header a{color:#cfd6e4;text-decoration:none}header .who{margin-left:auto;font-size:13px;color:#aab3c5}\
main{padding:16px 24px;max-width:1200px}h1{font-size:22px;margin:8px 0 16px}h2{font-size:16px;margin:0 0 10px}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px}\
.card{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:14px 16px;margin-bottom:16px;overflow-x:auto}\
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:10px 14px;min-width:140px}\
.kpi b{display:block;font-size:22px}.kpi span{font-size:12px;color:#5b6475}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}\
th{color:#5b6475;font-weight:600}.band-at_risk{color:#d64545;font-weight:600}.band-monitor{color:#b58100}.band-healthy{color:#2f9e44}\
.muted{color:#5b6475;font-size:12px}.null{color:#8a94a6;font-style:italic}a{color:#2856b6}\
.provisional{color:#6b4fbb;font-style:italic}\
.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;font-size:13px}.filters input,.filters select{font-size:13px}\
th a.sort{color:#5b6475;text-decoration:none}th a.sort:hover{text-decoration:underline}.pager{font-size:13px;margin:10px 0 0}\
.notice{background:#e7f5ea;border:1px solid #b7dfc0;border-radius:8px;padding:8px 14px;margin-bottom:12px}\
form.act{display:inline-block;margin:0 6px 4px 0}form.act input{width:130px}.history{font-size:12px;margin-top:4px}.history ul{margin:4px 0;padding-left:16px}";

/// Pages beyond the common three that the navigation offers: the audit log (admins and leads)
/// and the settings (admins).
#[derive(Debug, Clone, Copy, Default)]
pub struct Nav {
    pub audit: bool,
    pub settings: bool,
}

/// A whole page: title, navigation, the signed-in principal and the body.
pub fn page(title: &str, who: Option<&str>, nav: Nav, body: &str) -> String {
    let who = who.map_or(String::new(), |w| {
        format!(
            r#"<span class="who">{} · <a href="/dashboard/logout">sign out</a></span>"#,
            escape(w)
        )
    });
    let nav_links = format!(
        "{}{}",
        if nav.audit {
            r#"<a href="/dashboard/audit">Audit</a>"#
        } else {
            ""
        },
        if nav.settings {
            r#"<a href="/dashboard/settings">Settings</a>"#
        } else {
            ""
        }
    );
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{t} · Vitals</title><style>{STYLE}</style></head><body><header><strong>Vitals</strong><a href="/dashboard">Portfolio</a><a href="/dashboard/accounts">Accounts</a><a href="/dashboard/alerts">Alerts</a>{nav_links}{who}</header><main>{body}</main></body></html>"#,
        t = escape(title),
    )
}

/// `12,345` style money without decimals.
pub fn money(v: f64) -> String {
    let whole = v.round() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        format!("-${out}")
    } else {
        format!("${out}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_formats_money() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(money(1234567.4), "$1,234,567");
        assert_eq!(url_segment("a b/c"), "a%20b%2Fc");
    }
}
