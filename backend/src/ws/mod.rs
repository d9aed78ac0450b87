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

mod events;
mod exec;
mod logs;
mod stats;

pub use logs::LogParams;

use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use serde::Serialize;

use crate::api::Route;

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
    .collect()
}

/// Sends one JSON text frame; false once the peer is gone.
async fn send_json<T: Serialize>(socket: &mut WebSocket, value: &T) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Close frames carry at most this many bytes of reason.
const MAX_CLOSE_REASON: usize = 123;

/// Ends a socket whose user may no longer hold it, with the reason.
async fn close_revoked(socket: &mut WebSocket, reason: &str) {
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code: close_code::POLICY,
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
