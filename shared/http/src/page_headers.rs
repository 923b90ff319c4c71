//! Headers every dashboard page carries: the pages show customer data to a signed-in user, so
//! they may not be framed (clickjacking), run scripts from elsewhere, leak the sign-in link's
//! token through `Referer`, or be kept in a shared cache.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// Pages use one inline `<style>` and inline SVG; no inline script, no other origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

const PAGE_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CACHE_CONTROL, "no-store"),
];

/// `router` with the page headers on every response (set where a handler did not).
pub(crate) fn with_page_headers<S: Clone + Send + Sync + 'static>(
    mut router: Router<S>,
) -> Router<S> {
    for (name, value) in PAGE_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::with_page_headers;

    #[tokio::test]
    async fn pages_cannot_be_framed_sniffed_cached_or_leak_their_link() {
        let router = with_page_headers(axum::Router::new().route(
            "/page",
            get(|| async { ([(header::CACHE_CONTROL, "max-age=5")], "<p>hi</p>").into_response() }),
        ));
        let response = router
            .oneshot(Request::get("/page").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let h = response.headers();
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
        assert_eq!(
            h[header::CACHE_CONTROL],
            "max-age=5",
            "a handler's own choice stands"
        );
    }
}
