//! Liveness and readiness, for people and for load balancers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use protocol::{Health, Readiness};

use super::endpoints::endpoint_status;
use super::Route;
use crate::auth::policy::TokenLimits;
use crate::auth::{Access, Principal};
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/healthz",
            Access::Public,
            "health",
            "berth itself is up",
            healthz,
        ).returns::<protocol::Health>(200),
        Route::get(
            "/readyz",
            Access::Public,
            "ready",
            "Whether the store answers: `{\"status\":\"ready\"}` or 503. A signed-in caller also gets the store's and each endpoint's state (URL, engine version, error)",
            readyz,
        ).returns::<protocol::Health>(200).returns::<protocol::Health>(503),
    ]
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Anyone may ask whether berth is ready; only a signed-in caller learns
/// where its engines are, what they run and why one is down.
async fn readyz(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    token: Option<Extension<TokenLimits>>,
) -> Response {
    let store_ok = state.store.ping().await.is_ok();
    let (code, status) = if store_ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    if principal.is_none() {
        let body = Health {
            status: status.into(),
        };
        return (code, Json(body)).into_response();
    }
    // A token scoped to some endpoints sees only those, as in the list.
    let reaches = token.map(|Extension(t)| t);
    let endpoints = futures_util::future::join_all(
        state
            .endpoints
            .all()
            .filter(|e| reaches.as_ref().is_none_or(|t| t.reaches(&e.id)))
            .map(|e| endpoint_status(e)),
    )
    .await;
    let body = Readiness {
        status: status.into(),
        store: if store_ok { "ok" } else { "unreachable" }.into(),
        endpoints,
    };
    (code, Json(body)).into_response()
}
