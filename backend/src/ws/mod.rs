//! Live streams over WebSockets: logs, exec terminals, stats and engine
//! events. Every route here is an ordinary API route: the policy middleware
//! authenticates the upgrade (session cookie or bearer token, never a token
//! in the URL) and checks its Origin before any handler runs.
//!
//! Every buffer between the engine and a client is bounded: a client that
//! reads slower than the source gets told what it missed instead of making
//! the server hold it.
//!
//! A socket outlives the check at its upgrade, so each one watches its
//! user's rights (`auth::revocation`) and closes, saying why, within
//! seconds of a sign-out, a removal or a lower role.
//!
//! Every upgrade goes through [`limited`]: it takes the user's place among
//! the live sockets (429 before the upgrade when there is none) and caps
//! what the client may send (`limits::MAX_WS_MESSAGE`; a larger message
//! closes the socket with 1009).

mod events;
mod exec;
mod logs;
mod stats;

pub use logs::LogParams;

use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use serde::Serialize;

use crate::api::Route;
use crate::auth::Principal;
use crate::error::AppResult;
use crate::limits::{Limits, Slot, MAX_WS_MESSAGE};

/// Keeps proxies from closing idle streams, and finds dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);

pub fn routes() -> Vec<Route> {
    [
        logs::routes(),
        exec::routes(),
        stats::routes(),
        events::routes(),
    ]
    .into_iter()
    .flatten()
    .map(documented)
    .collect()
}

/// Adds what each socket sends and takes to its route, for the OpenAPI
/// document.
fn documented(route: Route) -> Route {
    use protocol::{EventFrame, ExecEvent, ExecInput, LogFrame, StatsSample, StatsWatch};
    let route = route.errors(&[429]);
    match route.action {
        "container.logs_follow" | "logs.follow_merged" => {
            route.query::<LogParams>().websocket::<LogFrame>()
        }
        "container.exec" => route
            .query::<exec::ExecParams>()
            .websocket_both::<ExecEvent, ExecInput>()
            .errors(&[409]),
        "container.stats" => route.websocket::<StatsSample>(),
        "container.stats_many" => route.websocket_both::<StatsSample, StatsWatch>(),
        _ => route.websocket::<EventFrame>(),
    }
}

/// Sends one JSON text frame; false once the peer is gone.
async fn send_json<T: Serialize>(socket: &mut WebSocket, value: &T) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Takes `me`'s place among the live sockets for `what` ("logs", "exec",
/// ...), or a 429 before the upgrade, and caps the messages the client may
/// send. The place is given back when the slot is dropped: keep it in the
/// socket's task.
fn limited(
    ws: WebSocketUpgrade,
    limits: &Limits,
    me: &Principal,
    what: &str,
) -> AppResult<(WebSocketUpgrade, Slot)> {
    let slot = limits.sockets.acquire(me.user_id, what)?;
    let ws = ws
        .max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE);
    Ok((ws, slot))
}

/// Whether a read failed because the client sent more than
/// `MAX_WS_MESSAGE` in one message or frame. The WebSocket library's error
/// type is not ours to name, so its text is read ("Space limit exceeded:
/// Message too long: N > M").
fn too_long(e: &axum::Error) -> bool {
    e.to_string().contains("Message too long")
}

/// A read failed: when it was a message past the limit, the client is told
/// so with 1009 (message too big) before the socket ends, and the reason is
/// answered.
async fn read_failed(socket: &mut WebSocket, e: &axum::Error) -> Option<String> {
    if !too_long(e) {
        return None;
    }
    let reason = format!(
        "a message is larger than the {} KiB berth takes",
        MAX_WS_MESSAGE >> 10
    );
    close_with(socket, close_code::SIZE, &reason).await;
    Some(reason)
}

/// Close frames carry at most this many bytes of reason.
const MAX_CLOSE_REASON: usize = 123;

/// Ends a socket whose user may no longer hold it, with the reason.
async fn close_revoked(socket: &mut WebSocket, reason: &str) {
    close_with(socket, close_code::POLICY, reason).await;
}

async fn close_with(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..end].into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Aborts a spawned task when dropped, so a closed socket stops its readers.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
