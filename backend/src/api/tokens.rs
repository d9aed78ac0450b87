//! API tokens for scripts and CI: each acts as the user who made it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{ApiToken, CreatedToken, NewToken, Role};

use super::{AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::secret::{hash_secret, new_secret};
use crate::auth::{Access, Principal};
use crate::error::{AppError, AppJson, AppResult};
use crate::AppState;

const ANYONE: Access = Access::AtLeast(Role::Viewer);

/// Tokens start with this, so secret scanners and people can tell them apart.
const TOKEN_PREFIX: &str = "berth_";

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/tokens",
            ANYONE,
            "token.list",
            "List your API tokens",
            list,
        ),
        Route::post(
            "/api/v1/tokens",
            ANYONE,
            "token.create",
            "Create an API token; its secret is returned only now",
            create,
        ),
        Route::delete(
            "/api/v1/tokens/{id}",
            ANYONE,
            "token.delete",
            "Revoke one of your API tokens",
            delete,
        ),
    ]
}

async fn list(State(state): State<AppState>, me: Principal) -> AppResult<AppJson<Vec<ApiToken>>> {
    Ok(AppJson(state.store.list_tokens(me.user_id).await?))
}

async fn create(
    State(state): State<AppState>,
    me: Principal,
    AppJson(req): AppJson<NewToken>,
) -> AppResult<Response> {
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::BadRequest(
            "the token name must be 1 to 64 characters".into(),
        ));
    }
    let token = format!("{TOKEN_PREFIX}{}", new_secret());
    let id = state
        .store
        .create_token(me.user_id, &name, &hash_secret(&token))
        .await?;
    let target = Extension(AuditTarget(format!("token {name}")));
    Ok((
        StatusCode::CREATED,
        target,
        AppJson(CreatedToken { id, name, token }),
    )
        .into_response())
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
