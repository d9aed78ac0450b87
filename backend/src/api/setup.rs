//! First-run setup: the first admin is made with the one-time token berth
//! printed at start. There are no default credentials.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{SetupRequest, SetupStatus};

use super::session::open_session;
use super::Route;
use crate::auth::password::{check_new_password, check_username, hash_password};
use crate::auth::policy::AuditActor;
use crate::auth::Access;
use crate::error::{AppError, AppJson, AppResult};
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/setup",
            Access::Public,
            "setup.status",
            "Whether the first admin still has to be created",
            status,
        ),
        Route::post(
            "/api/v1/setup",
            Access::Public,
            "setup.create_admin",
            "Create the first admin with the one-time setup token",
            create_admin,
        ),
    ]
}

async fn status(State(state): State<AppState>) -> AppResult<AppJson<SetupStatus>> {
    Ok(AppJson(SetupStatus {
        needed: state.store.count_users().await? == 0,
    }))
}

async fn create_admin(
    State(state): State<AppState>,
    AppJson(req): AppJson<SetupRequest>,
) -> Response {
    let actor = Extension(AuditActor(req.username.clone()));
    match setup(&state, req).await {
        Ok(response) => (actor, response).into_response(),
        Err(e) => (actor, e).into_response(),
    }
}

async fn setup(state: &AppState, req: SetupRequest) -> AppResult<Response> {
    if state.store.count_users().await? > 0 {
        return Err(AppError::Conflict(
            "berth is already set up; sign in instead".into(),
        ));
    }
    check_username(&req.username)?;
    check_new_password(&req.password)?;
    let hash = hash_password(req.password).await?;
    let create = async {
        state
            .store
            .create_first_admin(&req.username, &hash)
            .await?
            .ok_or_else(|| AppError::Conflict("berth is already set up; sign in instead".into()))
    };
    match state.with_setup_token(&req.token, create).await {
        None => Err(AppError::Forbidden(
            "the setup token is wrong; use the one berth printed when it started".into(),
        )),
        Some(Err(e)) => Err(e),
        Some(Ok(user)) => open_session(state, &user, StatusCode::CREATED).await,
    }
}
