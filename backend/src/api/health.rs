//! Liveness and readiness, for people and for load balancers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use protocol::{Health, Readiness};

use super::endpoints::endpoint_status;
use super::Route;
use crate::auth::Access;
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/healthz",
            Access::Public,
            "health",
            "berth itself is up",
            healthz,
        ),
        Route::get(
            "/readyz",
            Access::Public,
            "ready",
            "The store answers; each endpoint's state",
            readyz,
        ),
    ]
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = state.store.ping().await.is_ok();
    let endpoints =
        futures_util::future::join_all(state.endpoints.all().map(|e| endpoint_status(e))).await;
    let status = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if store_ok { "ready" } else { "not ready" }.into(),
        store: if store_ok { "ok" } else { "unreachable" }.into(),
        endpoints,
    };
    (status, Json(body))
}
