//! Endpoints: the Docker hosts berth manages.

use std::time::Duration;

use axum::extract::State;
use axum::{Extension, Json};
use protocol::{DiskUsage, Endpoint, EndpointStatus, EngineInfo, Role};

use super::{AppPath, Route};
use crate::auth::access;
use crate::auth::policy::TokenLimits;
use crate::auth::{Access, Principal};
use crate::engine::Engine;
use crate::error::AppResult;
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/endpoints",
            VIEWER,
            "endpoint.list",
            "List the endpoints the caller reaches (a non-admin: those granted to them or their teams) and whether each engine answers",
            list,
        ).returns::<Vec<protocol::Endpoint>>(200),
        Route::get(
            "/api/v1/endpoints/{ep}/disk-usage",
            VIEWER,
            "endpoint.disk_usage",
            "Space used by images, containers, volumes and build cache",
            disk_usage,
        ).returns::<protocol::DiskUsage>(200),
        Route::get(
            "/api/v1/endpoints/{ep}/info",
            VIEWER,
            "endpoint.info",
            "Engine facts: versions, OS, kernel, CPUs, memory, storage, counts",
            info,
        ).returns::<protocol::EngineInfo>(200),
    ]
}

/// An endpoint with a live check of its engine (bounded in time).
pub async fn endpoint_status(engine: &Engine) -> Endpoint {
    let check = tokio::time::timeout(Duration::from_secs(6), engine.version()).await;
    let (status, error, version) = match check {
        Ok(Ok(v)) => (EndpointStatus::Up, None, Some(v)),
        Ok(Err(e)) => (EndpointStatus::Down, Some(e.to_string()), None),
        Err(_) => (
            EndpointStatus::Down,
            Some("the engine did not answer in time".into()),
            None,
        ),
    };
    Endpoint {
        id: engine.id.clone(),
        name: engine.name.clone(),
        url: engine.url.clone(),
        status,
        error,
        engine: version,
    }
}

async fn list(
    State(state): State<AppState>,
    me: Principal,
    token: Option<Extension<TokenLimits>>,
) -> AppResult<Json<Vec<Endpoint>>> {
    // A non-admin finds only the endpoints granted to them; a token scoped
    // to some endpoints only those.
    let granted = access::reachable(
        &state.store,
        &me,
        state.endpoints.all().map(|e| e.id.clone()),
    )
    .await?;
    let reaches = |e: &&std::sync::Arc<Engine>| {
        granted.iter().any(|(ep, _)| *ep == e.id)
            && token.as_ref().is_none_or(|Extension(t)| t.reaches(&e.id))
    };
    Ok(Json(
        futures_util::future::join_all(
            state
                .endpoints
                .all()
                .filter(reaches)
                .map(|e| endpoint_status(e)),
        )
        .await,
    ))
}

async fn info(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<Json<EngineInfo>> {
    let engine = state.endpoints.get(&ep)?;
    Ok(Json(engine.info().await?))
}

async fn disk_usage(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<Json<DiskUsage>> {
    Ok(Json(state.endpoints.get(&ep)?.disk_usage().await?))
}
