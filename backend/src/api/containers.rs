//! Containers on an endpoint: run (from a spec or a `docker run` line),
//! list, inspect, lifecycle, rename, recreate, bulk actions, and the port map.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::StreamExt;
use protocol::run_command::parse_run_command;
use protocol::{
    BulkRequest, BulkResult, ContainerDetail, ContainerSpec, ContainerSummary, CreatedContainer,
    FromCommand, PolicyCheck, PortMapping, Refusal, RenameRequest, Role,
};
use serde::Deserialize;

use super::{redact, AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::{Access, Principal};
use crate::engine::{check_reference, Lifecycle};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::policy::{self, check_spec, ownership};
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);

pub fn routes() -> Vec<Route> {
    const C: &str = "/api/v1/endpoints/{ep}/containers";
    const ONE: &str = "/api/v1/endpoints/{ep}/containers/{id}";
    vec![
        Route::get(C, VIEWER, "container.list", "List containers (`all=true` includes stopped ones)", list).query::<ListQuery>().returns::<Vec<protocol::ContainerSummary>>(200),
        Route::post(C, OPERATOR, "container.create", "Create and (unless `start` is false) start a container", create).body::<protocol::ContainerSpec>().returns::<protocol::CreatedContainer>(201).errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/from-command", OPERATOR, "container.create_from_command", "Create a container from a `docker run ...` line", from_command).body::<protocol::FromCommand>().returns::<protocol::CreatedContainer>(201).errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/check", OPERATOR, "container.check", "What the endpoint's policy would refuse the caller of a container spec, field by field, before it is submitted", check).body::<protocol::ContainerSpec>().returns::<protocol::PolicyCheck>(200).unaudited(),
        Route::post("/api/v1/endpoints/{ep}/containers/bulk", OPERATOR, "container.bulk", "Start, stop, restart, pause, unpause, kill or remove many containers", bulk).body::<protocol::BulkRequest>().returns::<Vec<protocol::BulkResult>>(200),
        Route::get(ONE, VIEWER, "container.inspect", "Inspect a container", inspect).returns::<protocol::ContainerDetail>(200),
        Route::put(ONE, OPERATOR, "container.recreate", "Recreate a container from a new spec under the same name", recreate).body::<protocol::ContainerSpec>().returns::<protocol::CreatedContainer>(200).errors(&[409]),
        Route::delete(ONE, OPERATOR, "container.remove", "Remove a container (409 while running unless `force=true`; `volumes=true` also removes its anonymous volumes)", remove).query::<RemoveQuery>().no_content().errors(&[409]),
        Route::get("/api/v1/endpoints/{ep}/containers/{id}/spec", VIEWER, "container.spec", "The settings that would create this container again", spec).returns::<protocol::ContainerSpec>(200),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/start", OPERATOR, "container.start", "Start a container", start).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/stop", OPERATOR, "container.stop", "Stop a container", stop).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/restart", OPERATOR, "container.restart", "Restart a container", restart).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/pause", OPERATOR, "container.pause", "Pause a container", pause).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/unpause", OPERATOR, "container.unpause", "Unpause a container", unpause).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/kill", OPERATOR, "container.kill", "Send a signal (`signal=`, default SIGKILL)", kill).query::<KillQuery>().no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/containers/{id}/rename", OPERATOR, "container.rename", "Rename a container", rename).body::<protocol::RenameRequest>().no_content().errors(&[409]),
        Route::get("/api/v1/endpoints/{ep}/ports", VIEWER, "port.list", "Every published host port with its container", ports).returns::<Vec<protocol::PortMapping>>(200),
    ]
}

async fn create(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(spec): AppJson<ContainerSpec>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    let (policy, ctx) = policy::for_endpoint(&state, &engine).await?;
    check_spec(&me, &policy, &spec, &ctx)?;
    let mut spec = spec;
    ownership::stamp(&mut spec, me.user_id);
    let created = engine.run_container(&spec).await?;
    Ok(created_response(created))
}

/// Every field of `spec` the endpoint's policy refuses the caller.
async fn check(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(spec): AppJson<ContainerSpec>,
) -> AppResult<AppJson<PolicyCheck>> {
    let engine = state.endpoints.get(&ep)?;
    let (policy, ctx) = policy::for_endpoint(&state, &engine).await?;
    let refusals = policy::spec_refusals(&me, &policy, &spec, &ctx)
        .into_iter()
        .map(|e| {
            let message = e.public_detail();
            let field = policy::refused_field(&message).unwrap_or("").to_string();
            let message = message
                .strip_prefix(&format!("`{field}`: "))
                .unwrap_or(&message)
                .to_string();
            Refusal {
                field,
                message,
                line: None,
                column: None,
            }
        })
        .collect();
    Ok(AppJson(PolicyCheck { refusals }))
}

fn created_response(created: CreatedContainer) -> Response {
    let target = Extension(AuditTarget(format!("container {}", created.name)));
    (StatusCode::CREATED, target, AppJson(created)).into_response()
}

async fn from_command(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(req): AppJson<FromCommand>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    let mut spec = parse_run_command(&req.command).map_err(|e| AppError::BadRequest(e.message))?;
    spec.start = req.start;
    let (policy, ctx) = policy::for_endpoint(&state, &engine).await?;
    check_spec(&me, &policy, &spec, &ctx)?;
    ownership::stamp(&mut spec, me.user_id);
    let created = engine.run_container(&spec).await?;
    Ok(created_response(created))
}

async fn spec(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<ContainerSpec>> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let mut spec = engine.container_spec(&id).await?;
    if redact::hides_values(&me) {
        redact::container_spec(&mut spec);
    }
    Ok(AppJson(spec))
}

async fn recreate(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppJson(spec): AppJson<ContainerSpec>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let (policy, ctx) = policy::for_endpoint(&state, &engine).await?;
    check_spec(&me, &policy, &spec, &ctx)?;
    // The container stays its creator's, whoever edits it.
    let creator = ownership::creator_of(&state, &ep, &id).await?;
    let mut spec = spec;
    ownership::stamp(&mut spec, creator.unwrap_or(me.user_id));
    let created = engine.recreate_container(&id, &spec).await?;
    let target = Extension(AuditTarget(format!("container {}", created.name)));
    Ok((target, AppJson(created)).into_response())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
struct KillQuery {
    signal: Option<String>,
}

async fn kill(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<KillQuery>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    engine
        .kill_container(&id, q.signal.as_deref().unwrap_or("SIGKILL"))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rename(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<RenameRequest>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    engine.rename_container(&id, &req.name).await?;
    let target = Extension(AuditTarget(format!("container {id} -> {}", req.name)));
    Ok((StatusCode::NO_CONTENT, target).into_response())
}

/// The most containers one bulk call may name.
const MAX_BULK: usize = 500;

async fn bulk(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(req): AppJson<BulkRequest>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    if req.ids.is_empty() || req.ids.len() > MAX_BULK {
        return Err(AppError::BadRequest(format!(
            "name 1 to {MAX_BULK} containers"
        )));
    }
    for id in &req.ids {
        check_reference("container", id)?;
    }
    let action = req.action.as_str();
    if !matches!(
        action,
        "start" | "stop" | "restart" | "pause" | "unpause" | "kill" | "remove"
    ) {
        return Err(AppError::BadRequest(format!(
            "{action:?} is not one of start, stop, restart, pause, unpause, kill, remove"
        )));
    }
    // Where operators manage only their own, each container is checked
    // as its own route would check it.
    let mine = ownership::scope(&state, &me, &ep).await?;
    // A few at a time: the engine serialises much of this anyway, and a
    // bounded fan-out keeps a 500-container stop from flooding it.
    let results: Vec<BulkResult> = futures_util::stream::iter(req.ids.iter().cloned())
        .map(|id| {
            let engine = engine.clone();
            let (state, ep, mine) = (&state, &ep, &mine);
            async move {
                if let Some(mine) = mine {
                    if let Err(e) = ownership::check_container(state, ep, &id, mine).await {
                        return BulkResult {
                            ok: false,
                            error: Some(e.public_detail()),
                            id,
                        };
                    }
                }
                let r = match action {
                    "start" => engine.container_lifecycle(&id, Lifecycle::Start).await,
                    "stop" => engine.container_lifecycle(&id, Lifecycle::Stop).await,
                    "restart" => engine.container_lifecycle(&id, Lifecycle::Restart).await,
                    "pause" => engine.container_lifecycle(&id, Lifecycle::Pause).await,
                    "unpause" => engine.container_lifecycle(&id, Lifecycle::Unpause).await,
                    "kill" => engine.kill_container(&id, "SIGKILL").await,
                    _ => engine.remove_container(&id, req.force, false).await,
                };
                BulkResult {
                    ok: r.is_ok(),
                    error: r.err().map(|e| AppError::from(e).public_detail()),
                    id,
                }
            }
        })
        .buffered(8)
        .collect()
        .await;
    let target = Extension(AuditTarget(format!("{action} {}", req.ids.join(","))));
    Ok((target, AppJson(results)).into_response())
}

async fn ports(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<Vec<PortMapping>>> {
    let engine = state.endpoints.get(&ep)?;
    Ok(AppJson(engine.list_ports().await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
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
    me: Principal,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<ContainerDetail>> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let mut detail = engine.inspect_container(&id).await?;
    if redact::hides_values(&me) {
        redact::container_detail(&mut detail);
    }
    Ok(AppJson(detail))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
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

async fn pause(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    lifecycle(state, ep, id, Lifecycle::Pause).await
}

async fn unpause(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    lifecycle(state, ep, id, Lifecycle::Unpause).await
}

async fn restart(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    lifecycle(state, ep, id, Lifecycle::Restart).await
}
