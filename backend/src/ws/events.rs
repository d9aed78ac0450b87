//! Engine events for the UI: one socket per endpoint and page, fed by the
//! endpoint's single event follower.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use protocol::{EndpointStatus, EventFrame, Role};
use tokio::sync::broadcast::error::RecvError;

use super::{close_revoked, limited, read_failed, send_json, PING_EVERY};
use crate::api::{AppPath, Route};
use crate::auth::revocation::{self, Revoked};
use crate::auth::{Access, Principal};
use crate::error::AppResult;
use crate::limits::Limits;
use crate::AppState;

/// Who may follow events.
const ACCESS: Access = Access::AtLeast(Role::Viewer);

pub fn routes() -> Vec<Route> {
    vec![Route::get(
        "/api/v1/endpoints/{ep}/events/ws",
        ACCESS,
        "endpoint.events",
        "The engine's events, and the endpoint going down or up (WebSocket)",
        events_ws,
    )]
}

async fn events_ws(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    headers: HeaderMap,
    AppPath(ep): AppPath<String>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (ws, slot) = limited(ws, &limits, &me, "events")?;
    let engine = state.endpoints.get(&ep)?;
    let revoked = revocation::watch(&state, &me, headers, ACCESS);
    Ok(ws.on_upgrade(move |socket| async move {
        let _slot = slot;
        let rx = engine.subscribe_events();
        // Say where things stand right away, so a page opened while the
        // engine is down shows it.
        let status = match engine.version().await {
            Ok(_) => EventFrame::Endpoint {
                status: EndpointStatus::Up,
                reason: None,
            },
            Err(e) => EventFrame::Endpoint {
                status: EndpointStatus::Down,
                reason: Some(e.to_string()),
            },
        };
        forward(socket, rx, status, revoked).await;
    }))
}

async fn forward(
    mut socket: WebSocket,
    mut rx: tokio::sync::broadcast::Receiver<EventFrame>,
    first: EventFrame,
    mut revoked: Revoked,
) {
    if !send_json(&mut socket, &first).await {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            reason = revoked.wait() => {
                close_revoked(&mut socket, &reason).await;
                return;
            }
            frame = rx.recv() => match frame {
                Ok(frame) => if !send_json(&mut socket, &frame).await { return },
                Err(RecvError::Lagged(missed)) => {
                    if !send_json(&mut socket, &EventFrame::Resync { missed }).await { return }
                }
                Err(RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Err(e)) => { read_failed(&mut socket, &e).await; return; }
                Some(Ok(Message::Close(_))) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() { return; }
            }
        }
    }
}
