//! Stats while someone watches: one container's samples, or a compact
//! stream for the containers a list page shows. Engine stats streams are
//! opened only for open sockets and closed with them.

use std::collections::HashMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use futures_util::StreamExt;
use protocol::{Role, StatsSample, StatsWatch};
use tokio::sync::mpsc;

use super::{close_revoked, limited, read_failed, send_json, AbortOnDrop, PING_EVERY};
use crate::api::{AppPath, Route};
use crate::auth::revocation::{self, Revoked};
use crate::auth::{Access, Principal};
use crate::engine::{check_reference, Engine};
use crate::error::AppResult;
use crate::limits::{Limits, Slot};
use crate::AppState;

/// Containers one list page may watch at once.
const MAX_WATCHED: usize = 100;

/// Who may watch stats.
const ACCESS: Access = Access::AtLeast(Role::Viewer);

pub fn routes() -> Vec<Route> {
    let viewer = ACCESS;
    vec![
        Route::get("/api/v1/endpoints/{ep}/containers/{id}/stats/ws", viewer, "container.stats", "A container's CPU, memory, network, block I/O and pids, about every second (WebSocket)", container_ws),
        Route::get("/api/v1/endpoints/{ep}/stats/ws", viewer, "container.stats_many", "Stats of the containers the client names with {\"watch\":[ids]} (WebSocket)", many_ws),
    ]
}

async fn container_ws(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    headers: HeaderMap,
    AppPath((ep, id)): AppPath<(String, String)>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (ws, slot) = limited(ws, &limits, &me, "stats")?;
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let stream = engine.stats_stream(&id).await?;
    let mut revoked = revocation::watch(&state, &me, headers, ACCESS);
    Ok(ws.on_upgrade(move |mut socket| async move {
        let _slot = slot;
        let mut stream = Box::pin(stream);
        loop {
            tokio::select! {
                reason = revoked.wait() => {
                    close_revoked(&mut socket, &reason).await;
                    return;
                }
                s = stream.next() => match s {
                    Some(Ok(sample)) => if !send_json(&mut socket, &sample).await { return },
                    _ => { let _ = socket.send(Message::Close(None)).await; return }
                },
                msg = socket.recv() => match msg {
                    Some(Err(e)) => { read_failed(&mut socket, &e).await; return; }
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Ok(_)) => {}
                },
            }
        }
    }))
}

async fn many_ws(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    headers: HeaderMap,
    AppPath(ep): AppPath<String>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (ws, slot) = limited(ws, &limits, &me, "stats")?;
    let engine = state.endpoints.get(&ep)?;
    let revoked = revocation::watch(&state, &me, headers, ACCESS);
    Ok(ws.on_upgrade(move |socket| watch(socket, engine, revoked, slot)))
}

async fn watch(
    mut socket: WebSocket,
    engine: std::sync::Arc<Engine>,
    mut revoked: Revoked,
    _slot: Slot,
) {
    // One sample per container is in flight at most; a slow client only
    // ever sees the newest.
    let (tx, mut rx) = mpsc::channel::<StatsSample>(MAX_WATCHED);
    let mut watched: HashMap<String, AbortOnDrop> = HashMap::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            reason = revoked.wait() => {
                close_revoked(&mut socket, &reason).await;
                return;
            }
            sample = rx.recv() => match sample {
                Some(sample) => if !send_json(&mut socket, &sample).await { return },
                None => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let Ok(req) = serde_json::from_str::<StatsWatch>(&text) else { continue };
                    let wanted: Vec<String> = req.watch.into_iter().filter(|id| check_reference("container", id).is_ok()).take(MAX_WATCHED).collect();
                    watched.retain(|id, _| wanted.contains(id));
                    for id in wanted {
                        if watched.contains_key(&id) { continue; }
                        let (engine, tx, key) = (engine.clone(), tx.clone(), id.clone());
                        watched.insert(key, AbortOnDrop(tokio::spawn(async move {
                            let Ok(stream) = engine.stats_stream(&id).await else { return };
                            let mut stream = Box::pin(stream);
                            while let Some(Ok(sample)) = stream.next().await {
                                if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(sample) { return; }
                            }
                        })));
                    }
                }
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
