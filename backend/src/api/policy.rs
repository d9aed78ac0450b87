//! An endpoint's security policy: what non-admins may ask of its host.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use protocol::{EndpointPolicy, Role};

use super::{AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::Access;
use crate::error::{AppError, AppJson, AppResult};
use crate::AppState;

const ADMIN: Access = Access::AtLeast(Role::Admin);

pub fn routes() -> Vec<Route> {
    const P: &str = "/api/v1/endpoints/{ep}/policy";
    vec![
        Route::get(
            P,
            ADMIN,
            "endpoint.policy",
            "What non-admins may use on this endpoint: bind mounts under which roots, privileged, host namespaces, devices, capabilities, sysctls, security options, cgroup placement (deny all by default)",
            get,
        ).returns::<protocol::EndpointPolicy>(200),
        Route::put(
            P,
            ADMIN,
            "endpoint.policy_update",
            "Set what non-admins may use on this endpoint (roots absolute and normalised, at most 64; capabilities by name, such as NET_ADMIN)",
            put,
        ).body::<protocol::EndpointPolicy>().returns::<protocol::EndpointPolicy>(200),
    ]
}

async fn get(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<EndpointPolicy>> {
    state.endpoints.get(&ep)?;
    Ok(AppJson(state.store.endpoint_policy(&ep).await?))
}

async fn put(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
    AppJson(policy): AppJson<EndpointPolicy>,
) -> AppResult<Response> {
    state.endpoints.get(&ep)?;
    policy.validate().map_err(AppError::BadRequest)?;
    state.store.put_endpoint_policy(&ep, &policy).await?;
    let target = Extension(AuditTarget(format!("endpoint {ep}")));
    Ok((target, AppJson(policy)).into_response())
}
