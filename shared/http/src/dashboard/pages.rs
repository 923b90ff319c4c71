//! The dashboard's templates (`shared/http/templates/*.html`): compiled into the binary and
//! loaded into one minijinja environment per process, when the routes are built, with HTML
//! auto-escaping on. Handlers work out plain view data (`Serialize` structs) and render it;
//! only the SVG charts (`svg`, which escapes every text it draws) are passed in as markup.

use std::fmt;
use std::sync::LazyLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{context, escape_formatter, AutoEscape, Environment};
use serde::Serialize;

use crate::ApiError;

/// `(name, source)` of each named template file, compiled into the binary.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// Every template by name (its file in `shared/http/templates`); a name ending in `.html` is
/// auto-escaped as HTML.
const TEMPLATES: [(&str, &str); 12] = templates![
    "layout.html",
    "dashboard.css",
    "macros.html",
    "alert_rows.html",
    "portfolio.html",
    "accounts.html",
    "account.html",
    "alerts.html",
    "audit.html",
    "settings.html",
    "sign_in.html",
    "message.html",
];

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(environment);

#[allow(clippy::expect_used)] // Start-up: the templates are part of the binary.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Block tags on their own lines leave no blank lines in the page.
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("template syntax"),
    );
    env.set_formatter(|out, state, value| {
        // A missing value (`None`) renders as nothing, not "none".
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        match value.as_str() {
            // Text is escaped for element content and quoted attributes; unlike minijinja's
            // own escaping, `/` stays as it is, so a link reads the same in the page source.
            Some(text) if *state.auto_escape() == AutoEscape::Html && !value.is_safe() => {
                write_escaped(out, text).map_err(minijinja::Error::from)
            }
            _ => escape_formatter(out, state, value),
        }
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("dashboard template {name}: {e:#}"));
    }
    env
}

/// Escapes text for HTML (and SVG) element content and attribute values: the templates'
/// formatter, and the charts, which are drawn outside the templates and enter them as markup.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Writing to a String cannot fail.
    if write_escaped(&mut out, s).is_err() {
        out.clear();
    }
    out
}

/// Writes `s` escaped, the runs between special characters in one piece each.
fn write_escaped(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let entity = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&s[plain..i])?;
        out.write_str(entity)?;
        plain = i + 1;
    }
    out.write_str(&s[plain..])
}

/// Compiles the templates now (when the routes are built) rather than on the first view.
pub fn load() {
    LazyLock::force(&PAGES);
}

/// What every page shows around its body: its title, who is signed in and the navigation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Frame {
    pub title: String,
    /// "ana@example.com (csm)"; `None` on the sign-in page.
    pub who: Option<String>,
    /// Pages beyond the common three: the audit log (admins and leads), settings (admins).
    pub audit: bool,
    pub settings: bool,
    /// A notice after an action (`?notice=`), shown above the page.
    pub notice: Option<String>,
}

/// Renders a page template with the frame and the page's view data.
pub fn render(name: &str, frame: &Frame, page: impl Serialize) -> Result<String, ApiError> {
    let failed = |e: minijinja::Error| ApiError::Internal(format!("page {name}: {e:#}"));
    PAGES
        .get_template(name)
        .map_err(failed)?
        .render(context! { frame => Serde(frame), ..Value::from(Serde(page)) })
        .map_err(failed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_data_is_escaped_and_the_frame_is_drawn() {
        let frame = Frame {
            title: "<Acme>".into(),
            who: Some("ana@example.com (csm)".into()),
            audit: true,
            ..Frame::default()
        };
        let html = render(
            "message.html",
            &frame,
            context! { heading => "404", message => "<script>x</script>" },
        )
        .unwrap();
        assert!(
            html.contains("<title>&lt;Acme&gt; · Vitals</title>"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;") && !html.contains("<script>"));
        assert!(html.contains(r#"href="/dashboard/audit""#));
        assert!(!html.contains(r#"href="/dashboard/settings""#));
        assert!(html.contains("ana@example.com (csm)"));
    }
}
