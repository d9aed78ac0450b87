//! Teams and who reaches which endpoint (admin only): a non-admin reaches
//! an endpoint through a grant to them or to one of their teams.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{EndpointAccess, NewTeam, Role, Team, MAX_TEAM_NAME};

use super::{AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::revocation::Recheck;
use crate::auth::Access;
use crate::error::{AppError, AppJson, AppResult};
use crate::AppState;

const ADMIN: Access = Access::AtLeast(Role::Admin);

pub fn routes() -> Vec<Route> {
    const MEMBER: &str = "/api/v1/teams/{id}/members/{user_id}";
    vec![
        Route::get("/api/v1/teams", ADMIN, "team.list", "List teams and their members", list).returns::<Vec<protocol::Team>>(200),
        Route::post("/api/v1/teams", ADMIN, "team.create", "Add a team", create).body::<protocol::NewTeam>().returns::<protocol::Team>(201).errors(&[409]),
        Route::delete(
            "/api/v1/teams/{id}",
            ADMIN,
            "team.delete",
            "Remove a team and its grants; its members lose what the team gave them",
            delete,
        ).no_content(),
        Route::put(MEMBER, ADMIN, "team.member_add", "Add a user to a team", add_member).returns::<protocol::Team>(200),
        Route::delete(
            MEMBER,
            ADMIN,
            "team.member_remove",
            "Remove a user from a team",
            remove_member,
        ).returns::<protocol::Team>(200),
        Route::get(
            "/api/v1/endpoints/{ep}/access",
            ADMIN,
            "endpoint.access",
            "Who reaches this endpoint besides admins: grants of viewer or operator to users and teams",
            get_access,
        ).returns::<protocol::EndpointAccess>(200),
        Route::put(
            "/api/v1/endpoints/{ep}/access",
            ADMIN,
            "endpoint.access_update",
            "Replace the endpoint's grants; whoever loses one is cut off at once, open sockets included",
            put_access,
        ).body::<protocol::EndpointAccess>().returns::<protocol::EndpointAccess>(200),
    ]
}

async fn list(State(state): State<AppState>) -> AppResult<AppJson<Vec<Team>>> {
    Ok(AppJson(state.store.list_teams().await?))
}

/// A team name: 1 to 64 letters, digits, `-`, `_`, `.` or spaces, not
/// blank at either end.
fn check_team_name(name: &str) -> AppResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_TEAM_NAME
        && name.trim() == name
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if ok {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "`name`: a team name has 1 to {MAX_TEAM_NAME} letters, digits, '-', '_', '.' or inner spaces"
        )))
    }
}

async fn create(
    State(state): State<AppState>,
    AppJson(req): AppJson<NewTeam>,
) -> AppResult<Response> {
    check_team_name(&req.name)?;
    let team = state.store.create_team(&req.name).await?;
    let target = Extension(AuditTarget(format!("team {}", team.name)));
    Ok((StatusCode::CREATED, target, AppJson(team)).into_response())
}

async fn delete(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let (name, members) = state.store.delete_team(id).await?;
    for user in members {
        state.revocations.publish(Recheck::User(user));
    }
    let target = Extension(AuditTarget(format!("team {name}")));
    Ok((StatusCode::NO_CONTENT, target).into_response())
}

async fn add_member(
    State(state): State<AppState>,
    AppPath((id, user_id)): AppPath<(i64, i64)>,
) -> AppResult<Response> {
    member(state, id, user_id, true).await
}

async fn remove_member(
    State(state): State<AppState>,
    AppPath((id, user_id)): AppPath<(i64, i64)>,
) -> AppResult<Response> {
    member(state, id, user_id, false).await
}

async fn member(state: AppState, team: i64, user: i64, add: bool) -> AppResult<Response> {
    let team = state.store.set_team_member(team, user, add).await?;
    if !add {
        state.revocations.publish(Recheck::User(user));
    }
    let target = Extension(AuditTarget(format!("team {} user {user}", team.name)));
    Ok((target, AppJson(team)).into_response())
}

async fn get_access(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<EndpointAccess>> {
    state.endpoints.get(&ep)?;
    Ok(AppJson(state.store.endpoint_access(&ep).await?))
}

async fn put_access(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
    AppJson(access): AppJson<EndpointAccess>,
) -> AppResult<Response> {
    state.endpoints.get(&ep)?;
    access.validate().map_err(AppError::BadRequest)?;
    state.store.put_endpoint_access(&ep, &access).await?;
    // Whoever lost a grant (directly or through a team) is cut off now.
    state.revocations.publish(Recheck::Everyone);
    let target = Extension(AuditTarget(format!("endpoint {ep}")));
    let saved = state.store.endpoint_access(&ep).await?;
    Ok((target, AppJson(saved)).into_response())
}
