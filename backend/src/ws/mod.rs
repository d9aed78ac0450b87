//! Live streams over WebSockets: logs, exec terminals, stats and engine
//! events. Every route here is an ordinary API route: the policy middleware
//! authenticates the upgrade (session cookie or bearer token, never a token
//! in the URL) and checks its Origin before any handler runs.
//!
//! Every buffer between the engine and a client is bounded: a client that
//! reads slower than the source gets told what it missed instead of making
//! the server hold it.

mod events;
mod exec;
mod logs;
mod stats;

pub use logs::LogParams;

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
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

/// Aborts a spawned task when dropped, so a closed socket stops its readers.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
