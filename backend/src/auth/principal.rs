//! Finds who a request comes from: the `berth_session` cookie (browser) or
//! `Authorization: Bearer <token>` (scripts). Nothing is read from the URL.

use std::net::IpAddr;

use axum::http::{header, HeaderMap};

use super::policy::{Credential, Principal, TokenLimits};
use super::secret::hash_secret;
use super::throttle::{Guess, LoginThrottle};
use crate::error::{AppError, AppResult};
use crate::store::Store;

pub const SESSION_COOKIE: &str = "berth_session";

/// The session secret in the request's cookies, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The principal behind the request: `Ok(None)` when it carries no
/// credential, 401 when it carries one that is not valid.
pub async fn authenticate(store: &Store, headers: &HeaderMap) -> AppResult<Option<Principal>> {
    Ok(identify(store, headers).await?.map(|(p, _)| p))
}

/// [`authenticate`], with the limits of the token the request came with
/// (`None` for a session). The principal's role is already the lower of
/// the owner's role now and the token's scope. Invalid API tokens are not
/// throttled here: requests from clients use [`identify_throttled`].
pub async fn identify(
    store: &Store,
    headers: &HeaderMap,
) -> AppResult<Option<(Principal, Option<TokenLimits>)>> {
    identify_with(store, None, headers).await
}

/// [`identify`], with invalid or expired API tokens counted per client
/// `address` against `throttle`: once an address has sent too many, its
/// bearer tokens are refused with 429 before any store lookup, for a wait
/// that grows with each further invalid one.
pub async fn identify_throttled(
    store: &Store,
    throttle: &LoginThrottle,
    address: Option<IpAddr>,
    headers: &HeaderMap,
) -> AppResult<Option<(Principal, Option<TokenLimits>)>> {
    identify_with(store, Some((throttle, address)), headers).await
}

async fn identify_with(
    store: &Store,
    throttle: Option<(&LoginThrottle, Option<IpAddr>)>,
    headers: &HeaderMap,
) -> AppResult<Option<(Principal, Option<TokenLimits>)>> {
    if let Some(token) = bearer_token(headers) {
        // Dropped without `succeeded` on every way out but a valid token:
        // that counts a failure.
        let attempt = match throttle {
            Some((throttle, address)) => Some(throttle.admit_guess(Guess::Token, address)?),
            None => None,
        };
        let Some(used) = store.token_use(&hash_secret(token)).await? else {
            return Err(AppError::Unauthorized("the API token is not valid".into()));
        };
        if used.expired {
            return Err(AppError::Unauthorized("the API token has expired".into()));
        }
        if let Some(attempt) = attempt {
            attempt.succeeded();
        }
        let limits = TokenLimits {
            scope: used.scope,
            expires_at: used.expires_at,
        };
        let principal = Principal::for_token(&used.user, &limits.scope);
        return Ok(Some((principal, Some(limits))));
    }
    if let Some(secret) = session_cookie(headers) {
        // An expired or unknown cookie is the same as none: the browser app
        // then shows the login page.
        let user = store.session_user(&hash_secret(secret)).await?;
        return Ok(user.map(|u| (Principal::new(&u, Credential::Session), None)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; berth_session=abc; x=y"),
        );
        assert_eq!(session_cookie(&h), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("berth_session_old=zzz"),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn reads_bearer_tokens_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer tok123"),
        );
        assert_eq!(bearer_token(&h), Some("tok123"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert_eq!(bearer_token(&h), None);
    }
}
