//! berth: a self-hosted control plane for Docker hosts. This crate is the
//! server: the REST API, the WebSocket streams, and the embedded dashboard.

pub mod api;
pub mod auth;
pub mod compose;
pub mod config;
pub mod engine;
pub mod error;
pub mod limits;
pub mod memory;
pub mod policy;
pub mod stacks;
mod state;
pub mod store;
mod web;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use tokio::net::TcpListener;

pub use state::{App, AppState, LOCAL_ENDPOINT};

/// The whole HTTP app: the API, then the dashboard for every other path.
pub fn app(state: AppState) -> Router {
    let routed = Router::new()
        .merge(api::router(state))
        .route("/api", any(api::not_found))
        .route("/api/{*rest}", any(api::not_found))
        .fallback(web::serve_asset);
    api::rewrite::before_routing(routed).layer(axum::middleware::map_response(security_headers))
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight. Each request carries its TCP peer's address
/// (`ConnectInfo<SocketAddr>`): the client's, or a proxy's whose
/// `X-Forwarded-For` is believed when it is in `--trusted-proxies` (see
/// `auth::client`).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The dashboard loads only its own code and talks only to its own origin.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
