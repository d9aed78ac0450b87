//! Containers on an endpoint: list, inspect, start, stop, restart, remove.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use protocol::{ContainerDetail, ContainerSummary, Role};
use serde::Deserialize;

use super::{AppPath, Route};
use crate::auth::Access;
use crate::engine::{check_reference, Lifecycle};
use crate::error::{AppJson, AppQuery, AppResult};
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/endpoints/{ep}/containers", VIEWER, "container.list", "List containers (`all=true` includes stopped ones)", list),
        Route::get("/api/v1/endpoints/{ep}/containers/{id}", VIEWER, "container.inspect", "Inspect a container", inspect),
        Route::delete("/api/v1/endpoints/{ep}/containers/{id}", OPERATOR, "container.remove", "Remove a container (409 while running unless `force=true`; `volumes=true` also removes its anonymous volumes)", remove),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/start", OPERATOR, "container.start", "Start a container", start),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/stop", OPERATOR, "container.stop", "Stop a container", stop),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/restart", OPERATOR, "container.restart", "Restart a container", restart),
    ]
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    all: bool,
}

async fn list(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<AppJson<Vec<ContainerSummary>>> {
    let engine = state.endpoints.get(&ep)?;
    let mut containers = engine.list_containers(q.all).await?;
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(AppJson(containers))
}

async fn inspect(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<ContainerDetail>> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    Ok(AppJson(engine.inspect_container(&id).await?))
}

#[derive(Debug, Default, Deserialize)]
struct RemoveQuery {
    #[serde(default)]
    force: bool,
    #[serde(default)]
    volumes: bool,
}

async fn remove(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<RemoveQuery>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    engine.remove_container(&id, q.force, q.volumes).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn lifecycle(
    state: AppState,
    ep: String,
    id: String,
    action: Lifecycle,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    engine.container_lifecycle(&id, action).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn start(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    lifecycle(state, ep, id, Lifecycle::Start).await
}

async fn stop(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    lifecycle(state, ep, id, Lifecycle::Stop).await
}

async fn restart(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    lifecycle(state, ep, id, Lifecycle::Restart).await
}
