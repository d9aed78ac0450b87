//! Volumes on an endpoint.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{NewVolume, PruneReport, Role, VolumeSummary};

use super::{AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::{Access, Principal};
use crate::error::{AppJson, AppResult};
use crate::policy;
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/endpoints/{ep}/volumes",
            VIEWER,
            "volume.list",
            "List volumes with the containers that use them",
            list,
        )
        .returns::<Vec<protocol::VolumeSummary>>(200),
        Route::post(
            "/api/v1/endpoints/{ep}/volumes",
            OPERATOR,
            "volume.create",
            "Create a volume",
            create,
        )
        .body::<protocol::NewVolume>()
        .returns::<protocol::VolumeSummary>(201)
        .errors(&[409]),
        Route::post(
            "/api/v1/endpoints/{ep}/volumes/prune",
            OPERATOR,
            "volume.prune",
            "Remove every volume no container uses",
            prune,
        )
        .returns::<protocol::PruneReport>(200),
        Route::get(
            "/api/v1/endpoints/{ep}/volumes/{name}",
            VIEWER,
            "volume.inspect",
            "Inspect a volume",
            inspect,
        )
        .returns::<protocol::VolumeSummary>(200),
        Route::delete(
            "/api/v1/endpoints/{ep}/volumes/{name}",
            OPERATOR,
            "volume.remove",
            "Remove a volume (409 naming the containers that use it)",
            remove,
        )
        .no_content()
        .errors(&[409]),
    ]
}

async fn list(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<Vec<VolumeSummary>>> {
    Ok(AppJson(state.endpoints.get(&ep)?.list_volumes().await?))
}

async fn create(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(req): AppJson<NewVolume>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    // A `local` volume with `type=none,o=bind` is a bind mount by another
    // name: the same policy holds.
    let (policy, ctx) = policy::for_endpoint(&state, &engine).await?;
    policy::check_volume_options(
        &me,
        &policy,
        req.driver.as_deref(),
        &req.driver_opts,
        &ctx,
        "driver_opts",
    )?;
    let volume = engine.create_volume(&req).await?;
    let target = Extension(AuditTarget(format!("volume {}", volume.name)));
    Ok((StatusCode::CREATED, target, AppJson(volume)).into_response())
}

async fn inspect(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<VolumeSummary>> {
    Ok(AppJson(
        state.endpoints.get(&ep)?.inspect_volume(&name).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    state.endpoints.get(&ep)?.remove_volume(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<PruneReport>> {
    Ok(AppJson(state.endpoints.get(&ep)?.prune_volumes().await?))
}
