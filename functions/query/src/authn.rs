//! The query Lambda's authenticator: API Gateway's JWT authorizer has already validated the
//! token (issuer, audience, signature, expiry), so the function only reads the claims from the
//! request context and maps them to a principal with the `[auth]` rules.

use lambda_http::request::RequestContext;
use vitals_core::config::AuthConfig;
use vitals_http::authn::{principal_from_claims, AuthError, Authenticator, Principal};

/// Reads the caller from the API Gateway (HTTP API) JWT authorizer's claims.
pub struct GatewayClaims {
    pub auth: AuthConfig,
}

impl Authenticator for GatewayClaims {
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Principal, AuthError> {
        let claims = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => context
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| &jwt.claims),
            _ => None,
        }
        .ok_or(AuthError::Missing)?;
        principal_from_claims(claims, &self.auth)
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
        };
        assert_eq!(
            auth.authenticate(&parts_with(None)),
            Err(AuthError::Missing)
        );
    }
}
