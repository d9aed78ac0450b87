//! API tokens for scripts and CI: each acts as the user who made it, never
//! with more than that user has now, within its scope, until it expires.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{ApiToken, CreatedToken, NewToken, Role, TokenScope, TOKEN_MAX_DAYS as MAX_DAYS};

use super::{AppPath, Route};
use crate::auth::policy::{AuditTarget, TokenLimits};
use crate::auth::secret::{hash_secret, new_secret};
use crate::auth::{Access, Principal};
use crate::error::{AppError, AppJson, AppResult};
use crate::AppState;

const ANYONE: Access = Access::AtLeast(Role::Viewer);

/// Tokens start with this, so secret scanners and people can tell them apart.
const TOKEN_PREFIX: &str = "berth_";
/// The expiry of a token whose request names none.
const DEFAULT_DAYS: u32 = 90;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/tokens",
            ANYONE,
            "token.list",
            "List your API tokens",
            list,
        )
        .returns::<Vec<protocol::ApiToken>>(200),
        Route::post(
            "/api/v1/tokens",
            ANYONE,
            "token.create",
            "Create an API token; its secret is returned only now",
            create,
        )
        .body::<protocol::NewToken>()
        .returns::<protocol::CreatedToken>(201)
        .errors(&[409]),
        Route::delete(
            "/api/v1/tokens/{id}",
            ANYONE,
            "token.delete",
            "Revoke one of your API tokens",
            delete,
        )
        .no_content(),
    ]
}

async fn list(State(state): State<AppState>, me: Principal) -> AppResult<AppJson<Vec<ApiToken>>> {
    Ok(AppJson(state.store.list_tokens(me.user_id).await?))
}

async fn create(
    State(state): State<AppState>,
    me: Principal,
    via: Option<Extension<TokenLimits>>,
    AppJson(req): AppJson<NewToken>,
) -> AppResult<Response> {
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::BadRequest(
            "the token name must be 1 to 64 characters".into(),
        ));
    }
    let via = via.map(|Extension(l)| l);
    let scope = scope_of(req.scope, via.as_ref())?;
    let expires_at = expiry_of(&state, req.expires_in_days, req.expires_at, via.as_ref()).await?;
    let token = format!("{TOKEN_PREFIX}{}", new_secret());
    let id = state
        .store
        .create_token(
            me.user_id,
            &name,
            &hash_secret(&token),
            expires_at.as_deref(),
            &scope,
        )
        .await?;
    let target = Extension(AuditTarget(format!("token {name}")));
    Ok((
        StatusCode::CREATED,
        target,
        AppJson(CreatedToken {
            id,
            name,
            token,
            expires_at,
            scope,
        }),
    )
        .into_response())
}

/// The scope asked for, checked; a token made with another token stays
/// within that one's endpoints (and takes them when it names none).
fn scope_of(asked: Option<TokenScope>, via: Option<&TokenLimits>) -> AppResult<TokenScope> {
    let mut scope = asked.unwrap_or_default();
    if let Some(endpoints) = scope.endpoints.take() {
        let mut ids: Vec<String> = Vec::new();
        for ep in endpoints {
            let ep = ep.trim();
            if ep.is_empty() || ep.chars().count() > 64 {
                return Err(AppError::BadRequest(
                    "scope.endpoints: each endpoint id must be 1 to 64 characters".into(),
                ));
            }
            if !ids.iter().any(|e| e == ep) {
                ids.push(ep.to_string());
            }
        }
        if ids.is_empty() {
            return Err(AppError::BadRequest(
                "scope.endpoints: name at least one endpoint, or null for all".into(),
            ));
        }
        scope.endpoints = Some(ids);
    }
    if let Some(via) = via {
        scope.read_only |= via.scope.read_only;
        match (&scope.endpoints, &via.scope.endpoints) {
            (_, None) => {}
            (None, Some(theirs)) => scope.endpoints = Some(theirs.clone()),
            (Some(mine), Some(_)) => {
                if let Some(ep) = mine.iter().find(|ep| !via.reaches(ep)) {
                    return Err(AppError::Forbidden(format!(
                        "scope.endpoints: the token this request came with does not reach {ep:?}"
                    )));
                }
            }
        }
    }
    Ok(scope)
}

/// The expiry asked for, in the stored format (`None`: never); at most
/// that of the token the request came with.
async fn expiry_of(
    state: &AppState,
    in_days: Option<u32>,
    at: Option<Option<String>>,
    via: Option<&TokenLimits>,
) -> AppResult<Option<String>> {
    let asked = match (in_days, at) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(
                "expires_in_days, expires_at: give one of them, not both".into(),
            ))
        }
        (Some(days), None) => {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(AppError::BadRequest(format!(
                    "expires_in_days: must be 1 to {MAX_DAYS}"
                )));
            }
            Some(state.store.token_expiry_in_days(days).await?)
        }
        (None, Some(Some(at))) => Some(state.store.token_expiry_at(&at).await?),
        (None, Some(None)) => None,
        (None, None) => Some(state.store.token_expiry_in_days(DEFAULT_DAYS).await?),
    };
    // Both in one format, so the text order is the time order.
    Ok(match (asked, via.and_then(|v| v.expires_at.clone())) {
        (None, cap) => cap,
        (Some(asked), Some(cap)) if cap < asked => Some(cap),
        (asked, _) => asked,
    })
}

async fn delete(
    State(state): State<AppState>,
    me: Principal,
    AppPath(id): AppPath<i64>,
) -> AppResult<Response> {
    let name = state.store.delete_token(me.user_id, id).await?;
    // Sockets opened with that token close now, not at the next check.
    state
        .revocations
        .publish(crate::auth::revocation::Recheck::User(me.user_id));
    Ok((
        StatusCode::NO_CONTENT,
        Extension(AuditTarget(format!("token {name}"))),
    )
        .into_response())
}
