//! Networks on an endpoint.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{NetworkConnection, NetworkSummary, NewNetwork, Role};

use super::{AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::Access;
use crate::error::{AppJson, AppResult};
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/endpoints/{ep}/networks",
            VIEWER,
            "network.list",
            "List networks with their containers and addresses",
            list,
        )
        .returns::<Vec<protocol::NetworkSummary>>(200),
        Route::post(
            "/api/v1/endpoints/{ep}/networks",
            OPERATOR,
            "network.create",
            "Create a bridge network",
            create,
        )
        .body::<protocol::NewNetwork>()
        .returns::<protocol::NetworkSummary>(201)
        .errors(&[409]),
        Route::get(
            "/api/v1/endpoints/{ep}/networks/{id}",
            VIEWER,
            "network.inspect",
            "Inspect a network",
            inspect,
        )
        .returns::<protocol::NetworkSummary>(200),
        Route::delete(
            "/api/v1/endpoints/{ep}/networks/{id}",
            OPERATOR,
            "network.remove",
            "Remove a network (409 while in use)",
            remove,
        )
        .no_content()
        .errors(&[409]),
        Route::post(
            "/api/v1/endpoints/{ep}/networks/{id}/connect",
            OPERATOR,
            "network.connect",
            "Connect a container, with aliases",
            connect,
        )
        .body::<protocol::NetworkConnection>()
        .no_content()
        .errors(&[409]),
        Route::post(
            "/api/v1/endpoints/{ep}/networks/{id}/disconnect",
            OPERATOR,
            "network.disconnect",
            "Disconnect a container",
            disconnect,
        )
        .body::<protocol::NetworkConnection>()
        .no_content()
        .errors(&[409]),
    ]
}

async fn list(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<Vec<NetworkSummary>>> {
    Ok(AppJson(state.endpoints.get(&ep)?.list_networks().await?))
}

async fn create(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
    AppJson(req): AppJson<NewNetwork>,
) -> AppResult<Response> {
    let network = state.endpoints.get(&ep)?.create_network(&req).await?;
    let target = Extension(AuditTarget(format!("network {}", network.name)));
    Ok((StatusCode::CREATED, target, AppJson(network)).into_response())
}

async fn inspect(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<NetworkSummary>> {
    Ok(AppJson(
        state.endpoints.get(&ep)?.inspect_network(&id).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    state.endpoints.get(&ep)?.remove_network(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn connect(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<NetworkConnection>,
) -> AppResult<Response> {
    state.endpoints.get(&ep)?.connect_network(&id, &req).await?;
    let target = Extension(AuditTarget(format!(
        "network {id} + container {}",
        req.container
    )));
    Ok((StatusCode::NO_CONTENT, target).into_response())
}

async fn disconnect(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<NetworkConnection>,
) -> AppResult<Response> {
    state
        .endpoints
        .get(&ep)?
        .disconnect_network(&id, &req)
        .await?;
    let target = Extension(AuditTarget(format!(
        "network {id} - container {}",
        req.container
    )));
    Ok((StatusCode::NO_CONTENT, target).into_response())
}
