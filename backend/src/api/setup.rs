//! First-run setup: the first admin is made with the one-time token berth
//! printed at start. There are no default credentials.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{SetupRequest, SetupStatus};

use super::session::open_session;
use super::Route;
use crate::auth::client::ClientInfo;
use crate::auth::password::{check_new_password, check_username};
use crate::auth::policy::AuditActor;
use crate::auth::throttle::Guess;
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
        ).returns::<protocol::SetupStatus>(200),
        Route::post(
            "/api/v1/setup",
            Access::Public,
            "setup.create_admin",
            "Create the first admin with the one-time setup token. The token is checked before anything else; wrong ones from one address make further tries wait: 429 with Retry-After",
            create_admin,
        ).body::<protocol::SetupRequest>().returns::<protocol::SessionInfo>(201).errors(&[401, 403, 409, 429]),
    ]
}

async fn status(State(state): State<AppState>) -> AppResult<AppJson<SetupStatus>> {
    Ok(AppJson(SetupStatus {
        needed: state.store.count_users().await? == 0,
    }))
}

async fn create_admin(
    State(state): State<AppState>,
    client: ClientInfo,
    AppJson(req): AppJson<SetupRequest>,
) -> Response {
    let actor = Extension(AuditActor(req.username.clone()));
    match setup(&state, client.address, req).await {
        Ok(response) => (actor, response).into_response(),
        Err(e) => (actor, e).into_response(),
    }
}

/// Makes the first admin. The token is checked first, and wrong ones are
/// throttled per client address: a guess costs berth no password hash, and
/// the attacker a wait that grows with each one.
async fn setup(
    state: &AppState,
    address: Option<IpAddr>,
    req: SetupRequest,
) -> AppResult<Response> {
    if state.store.count_users().await? > 0 {
        return Err(AppError::Conflict(
            "berth is already set up; sign in instead".into(),
        ));
    }
    // Dropped without `succeeded` when the token is wrong: a failure.
    let attempt = state.login_throttle.admit_guess(Guess::Setup, address)?;
    let SetupRequest {
        token,
        username,
        password,
    } = req;
    // Runs only once the token is known to be right.
    let create = async {
        check_username(&username)?;
        check_new_password(&password)?;
        let hash = state.hashing.hash(password).await?;
        state
            .store
            .create_first_admin(&username, &hash)
            .await?
            .ok_or_else(|| AppError::Conflict("berth is already set up; sign in instead".into()))
    };
    match state.with_setup_token(&token, create).await {
        None => Err(AppError::Forbidden(
            "the setup token is wrong; use the one berth printed when it started".into(),
        )),
        Some(result) => {
            attempt.succeeded();
            open_session(state, &result?, StatusCode::CREATED).await
        }
    }
}
