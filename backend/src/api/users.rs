//! People who may sign in (admin only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{NewUser, Role, User, UserPatch};

use super::{AppPath, Route};
use crate::auth::password::{check_new_password, check_username};
use crate::auth::policy::AuditTarget;
use crate::auth::revocation::Recheck;
use crate::auth::Access;
use crate::error::{AppJson, AppResult};
use crate::AppState;

const ADMIN: Access = Access::AtLeast(Role::Admin);

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/users", ADMIN, "user.list", "List users", list).returns::<Vec<protocol::User>>(200),
        Route::post(
            "/api/v1/users",
            ADMIN,
            "user.create",
            "Add a user with a role",
            create,
        ).body::<protocol::NewUser>().returns::<protocol::User>(201).errors(&[409]),
        Route::patch(
            "/api/v1/users/{id}",
            ADMIN,
            "user.update",
            "Change a user's role or password, or disable or enable them (a disabled user cannot sign in; their sessions, tokens and sockets stop at once)",
            update,
        ).body::<protocol::UserPatch>().returns::<protocol::User>(200).errors(&[409]),
        Route::delete(
            "/api/v1/users/{id}",
            ADMIN,
            "user.delete",
            "Remove a user",
            delete,
        ).no_content().errors(&[409]),
    ]
}

async fn list(State(state): State<AppState>) -> AppResult<AppJson<Vec<User>>> {
    let users = state.store.list_users().await?;
    let teams = state.store.list_teams().await?;
    Ok(AppJson(
        users
            .iter()
            .map(|u| {
                let mut user = u.to_user();
                user.teams = teams
                    .iter()
                    .filter(|t| t.members.iter().any(|m| m.id == u.id))
                    .map(|t| t.name.clone())
                    .collect();
                user
            })
            .collect(),
    ))
}

async fn create(
    State(state): State<AppState>,
    AppJson(req): AppJson<NewUser>,
) -> AppResult<Response> {
    check_username(&req.username)?;
    check_new_password(&req.password)?;
    let hash = state.hashing.hash(req.password).await?;
    let user = state
        .store
        .create_user(&req.username, &hash, req.role)
        .await?;
    let target = Extension(AuditTarget(format!("user {}", user.username)));
    Ok((StatusCode::CREATED, target, AppJson(user.to_user())).into_response())
}

async fn update(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppJson(patch): AppJson<UserPatch>,
) -> AppResult<Response> {
    let hash = match patch.password {
        Some(p) => {
            check_new_password(&p)?;
            Some(state.hashing.hash(p).await?)
        }
        None => None,
    };
    let user = state
        .store
        .update_user(id, patch.role, hash.as_deref(), patch.disabled)
        .await?;
    // A lower role, a new password (which ends the user's sessions) or a
    // disabled account closes the sockets that no longer hold.
    state.revocations.publish(Recheck::User(user.id));
    let target = Extension(AuditTarget(format!("user {}", user.username)));
    let mut shown = user.to_user();
    shown.teams = state.store.teams_of(user.id).await?;
    Ok((target, AppJson(shown)).into_response())
}

async fn delete(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let user = state.store.delete_user(id).await?;
    state.revocations.publish(Recheck::User(user.id));
    let target = Extension(AuditTarget(format!("user {}", user.username)));
    Ok((StatusCode::NO_CONTENT, target).into_response())
}
