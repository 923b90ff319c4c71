//! The query Lambda's authenticator. On the API routes API Gateway's JWT authorizer has
//! already validated the token (issuer, audience, signature, expiry), so the function reads the
//! claims from the request context. The dashboard's routes have no authorizer (a browser sends
//! a cookie, not an `Authorization` header): there the function verifies the ID token of the
//! session cookie itself ([`crate::id_token`]). Either way the `[auth]` rules map the claims to
//! a principal.

use std::collections::HashMap;
use std::sync::Arc;

use lambda_http::request::RequestContext;
use vitals_core::config::AuthConfig;
use vitals_http::authn::{
    bearer_token, principal_from_claims, AuthError, Authenticator, Principal,
};

use crate::signin::SignIn;

/// Reads the caller from the API Gateway (HTTP API) JWT authorizer's claims, else from the
/// ID token the request carries (when the hosted sign-in is configured).
pub struct GatewayClaims {
    pub auth: AuthConfig,
    pub sign_in: Option<Arc<SignIn>>,
}

/// The claims API Gateway's JWT authorizer validated, if the route has the authorizer.
pub fn authorizer_claims(parts: &http::request::Parts) -> Option<&HashMap<String, String>> {
    match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    }
}

impl Authenticator for GatewayClaims {
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Principal, AuthError> {
        if let Some(claims) = authorizer_claims(parts) {
            return principal_from_claims(claims, &self.auth);
        }
        let token = bearer_token(parts).ok_or(AuthError::Missing)?;
        let sign_in = self.sign_in.as_ref().ok_or(AuthError::Missing)?;
        let claims = sign_in.verify(token)?;
        principal_from_claims(&claims, &self.auth)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
        ApiGatewayV2httpRequestContext,
    };
    use std::collections::HashMap;
    use vitals_http::Role;

    fn parts_with(claims: Option<HashMap<String, String>>) -> http::request::Parts {
        let mut request = http::Request::new(());
        if let Some(claims) = claims {
            let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
            jwt.claims = claims;
            let mut authorizer = ApiGatewayRequestAuthorizer::default();
            authorizer.jwt = Some(jwt);
            let mut context = ApiGatewayV2httpRequestContext::default();
            context.authorizer = Some(authorizer);
            request
                .extensions_mut()
                .insert(RequestContext::ApiGatewayV2(context));
        }
        request.into_parts().0
    }

    #[test]
    fn cognito_groups_claim_gives_the_role() {
        let auth = GatewayClaims {
            auth: AuthConfig::default(),
            sign_in: None,
        };
        let claims = HashMap::from([
            ("email".to_string(), "ana@example.com".to_string()),
            ("cognito:groups".to_string(), "[csm ae]".to_string()),
        ]);
        let p = auth.authenticate(&parts_with(Some(claims))).unwrap();
        assert_eq!(p.user, "ana@example.com");
        assert_eq!(p.role, Role::Csm);
    }

    #[test]
    fn a_request_without_authorizer_claims_is_refused() {
        let auth = GatewayClaims {
            auth: AuthConfig::default(),
            sign_in: None,
        };
        assert_eq!(
            auth.authenticate(&parts_with(None)),
            Err(AuthError::Missing)
        );
    }
}
