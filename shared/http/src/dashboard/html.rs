//! Text helpers of the dashboard's pages: link segments and money. (Escaping is the
//! templates' own, [`super::pages`].)

/// Escapes a path segment for a link (the same encoding as the links in alert messages).
pub use vitals_core::config::path_segment as url_segment;

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
    fn formats_money_and_link_segments() {
        assert_eq!(money(1234567.4), "$1,234,567");
        assert_eq!(url_segment("a b/c"), "a%20b%2Fc");
    }
}
