//! Signing in and out, and who am I.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{EndpointRole, LoginRequest, Role, SessionInfo};

use super::Route;
use crate::auth::access;
use crate::auth::client::ClientInfo;
use crate::auth::policy::{AuditActor, Credential, TokenLimits};
use crate::auth::principal::{session_cookie, SESSION_COOKIE};
use crate::auth::revocation::Recheck;
use crate::auth::secret::{hash_secret, new_secret};
use crate::auth::{Access, Principal};
use crate::error::{AppError, AppJson, AppResult};
use crate::store::UserRow;
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/api/v1/auth/login",
            Access::Public,
            "auth.login",
            "Sign in; sets the berth_session cookie. Repeated failures make further tries for the account from that address, and from that address, wait longer: 429 with Retry-After",
            login,
        ).body::<protocol::LoginRequest>().returns::<protocol::SessionInfo>(200).errors(&[401, 429]),
        Route::post(
            "/api/v1/auth/logout",
            Access::AtLeast(Role::Viewer),
            "auth.logout",
            "Sign out; ends this session",
            logout,
        ).no_content(),
        Route::get(
            "/api/v1/me",
            Access::AtLeast(Role::Viewer),
            "auth.me",
            "The signed-in user",
            me,
        ).returns::<protocol::SessionInfo>(200),
    ]
}

/// Signs in. Failed logins are throttled per username from one client
/// address (the TCP peer, or the client a trusted proxy forwarded for), per
/// address, and (much more loosely) per username from everywhere: an
/// attempt that has to wait is refused with 429 and `Retry-After` before
/// its password is looked at, whether it is right or not. Unknown usernames
/// are counted like known ones.
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    AppJson(req): AppJson<LoginRequest>,
) -> Response {
    let actor = Extension(AuditActor(req.username.clone()));
    let result: AppResult<Response> = async {
        // Dropped on any early return: that counts as a failed login.
        let attempt = state.login_throttle.admit(&req.username, client.address)?;
        let user = state.store.user_by_name(&req.username).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        if !state.hashing.verify(req.password, hash).await? {
            return Err(AppError::Unauthorized("wrong username or password".into()));
        }
        let user =
            user.ok_or_else(|| AppError::Unauthorized("wrong username or password".into()))?;
        attempt.succeeded();
        open_session(&state, &user, StatusCode::OK).await
    }
    .await;
    match result {
        Ok(response) => (actor, response).into_response(),
        Err(e) => (actor, e).into_response(),
    }
}

/// Opens a session for `user` and answers with its cookie and
/// `{"user": ...}`. The cookie gets `Secure` on its way out, in
/// `auth::policy::enforce`, when the client is on HTTPS or
/// `--secure-cookies` is set.
pub async fn open_session(
    state: &AppState,
    user: &UserRow,
    status: StatusCode,
) -> AppResult<Response> {
    if user.disabled {
        return Err(AppError::Forbidden(
            "this account is disabled; an admin can enable it again".into(),
        ));
    }
    let secret = new_secret();
    let hours = state.config.session_hours.max(1);
    state
        .store
        .create_session(&hash_secret(&secret), user.id, hours)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        u64::from(hours) * 3600,
    );
    let info = session_info(
        state,
        user,
        &Principal::new(user, Credential::Session),
        None,
    )
    .await?;
    let mut response = (status, AppJson(info)).into_response();
    let value = HeaderValue::from_str(&cookie)
        .map_err(|e| AppError::internal(format!("bad cookie: {e}")))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

async fn logout(
    State(state): State<AppState>,
    me: Principal,
    headers: HeaderMap,
) -> AppResult<Response> {
    if let Some(secret) = session_cookie(&headers) {
        state.store.delete_session(&hash_secret(secret)).await?;
        // Sockets opened with this session close; the user's others stay.
        state.revocations.publish(Recheck::User(me.user_id));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("berth_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

async fn me(
    State(state): State<AppState>,
    principal: Principal,
    token: Option<Extension<TokenLimits>>,
) -> AppResult<AppJson<SessionInfo>> {
    let user = state
        .store
        .user_by_id(principal.user_id)
        .await?
        .ok_or_else(|| AppError::Unauthorized("sign in first".into()))?;
    let limits = token.map(|Extension(t)| t);
    Ok(AppJson(
        session_info(&state, &user, &principal, limits.as_ref()).await?,
    ))
}

/// The user, their teams, and the endpoints they reach with their role on
/// each (within what the token they came with reaches).
async fn session_info(
    state: &AppState,
    user: &UserRow,
    principal: &Principal,
    token: Option<&TokenLimits>,
) -> AppResult<SessionInfo> {
    let mut me = user.to_user();
    me.teams = state.store.teams_of(user.id).await?;
    let all = state.endpoints.all().map(|e| e.id.clone());
    let endpoints = access::reachable(&state.store, principal, all)
        .await?
        .into_iter()
        .filter(|(ep, _)| token.is_none_or(|t| t.reaches(ep)))
        .map(|(endpoint, role)| EndpointRole { endpoint, role })
        .collect();
    Ok(SessionInfo {
        user: me,
        endpoints,
    })
}
