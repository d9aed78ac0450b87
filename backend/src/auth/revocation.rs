//! Ending what a sign-out, a removed user or a lowered role no longer
//! allows. An HTTP request is checked when it arrives; a WebSocket lives
//! on, so each one watches [`Revocations`]: whoever changes a user's
//! sessions or rights publishes that user's id (or [`Recheck::Everyone`]),
//! and every socket of that user checks its credential and role again
//! against the store, closing when they no longer hold. A slow periodic
//! check catches what nobody published (a session or token that expired).

use std::time::Duration;

use axum::http::HeaderMap;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::oneshot;

use super::access;
use super::policy::{authorize, Access, Principal};
use super::principal::authenticate;
use crate::error::AppError;
use crate::AppState;

/// Revocations waiting for slow sockets; a socket that lags this far
/// checks itself again anyway.
const PENDING: usize = 256;
/// How often a socket checks itself with nobody publishing.
const RECHECK_EVERY: Duration = Duration::from_secs(10);

/// Whose sockets must check their rights again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    /// One user signed out, lost or changed a session, a token, a role.
    User(i64),
    /// Rights of many changed at once (a team's grant).
    Everyone,
}

/// The channel revocations go out on; one in `App`.
pub struct Revocations(broadcast::Sender<Recheck>);

impl Default for Revocations {
    fn default() -> Self {
        Revocations(broadcast::channel(PENDING).0)
    }
}

impl Revocations {
    /// Tells every socket of `who` to check itself.
    pub fn publish(&self, who: Recheck) {
        // No receiver means no socket is open: nothing to tell.
        let _ = self.0.send(who);
    }

    fn subscribe(&self) -> broadcast::Receiver<Recheck> {
        self.0.subscribe()
    }
}

/// The reason a socket is ended, once its rights are gone; resolves
/// never while they hold. Dropping it stops the watch.
pub struct Revoked {
    rx: oneshot::Receiver<String>,
    watch: tokio::task::JoinHandle<()>,
}

impl Drop for Revoked {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

impl Revoked {
    /// The reason, if the rights are already gone (a cheap check for loops
    /// that do not wait in a `select!`).
    pub fn now(&mut self) -> Option<String> {
        self.rx.try_recv().ok()
    }

    /// Waits until the rights are gone.
    pub async fn wait(&mut self) -> String {
        match (&mut self.rx).await {
            Ok(reason) => reason,
            // The watch ended without a verdict: never resolve.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Watches the rights of the socket `who` opened with the credential in
/// `headers` on a route that needs `access` (on `who.endpoint`, when the
/// route is under one: a lost grant ends it too).
pub fn watch(state: &AppState, who: &Principal, headers: HeaderMap, access: Access) -> Revoked {
    let user_id = who.user_id;
    let endpoint = who.endpoint.clone();
    let (tx, rx) = oneshot::channel();
    let mut changes = Some(state.revocations.subscribe());
    let state = state.clone();
    let watch = tokio::spawn(async move {
        let mut every = tokio::time::interval(RECHECK_EVERY);
        every.tick().await;
        loop {
            tokio::select! {
                change = next(&mut changes) => match change {
                    Some(Recheck::User(id)) if id != user_id => continue,
                    _ => {}
                },
                _ = every.tick() => {}
            }
            if let Some(reason) = still_allowed(&state, &headers, access, endpoint.as_deref()).await
            {
                let _ = tx.send(reason);
                return;
            }
        }
    });
    Revoked { rx, watch }
}

/// The next change; `Everyone` after a lag (what was missed is unknown).
/// Once the channel is gone, only the timer is left.
async fn next(changes: &mut Option<broadcast::Receiver<Recheck>>) -> Option<Recheck> {
    let Some(rx) = changes else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(change) => Some(change),
        Err(RecvError::Lagged(_)) => Some(Recheck::Everyone),
        Err(RecvError::Closed) => {
            *changes = None;
            None
        }
    }
}

/// Why the credential no longer allows the route, or `None` while it does.
/// A store that cannot answer keeps the socket open: the next check asks
/// again.
async fn still_allowed(
    state: &AppState,
    headers: &HeaderMap,
    access: Access,
    endpoint: Option<&str>,
) -> Option<String> {
    let there = match (authenticate(&state.store, headers).await, endpoint) {
        (Ok(Some(p)), Some(ep)) => match access::on_endpoint(&state.store, &p, ep).await {
            Ok(p) => Ok(Some(p)),
            Err(AppError::NotFound(_)) => {
                return Some(format!("no longer granted access to endpoint {ep}"))
            }
            Err(e) => Err(e),
        },
        (other, _) => other,
    };
    match there {
        Ok(None) => Some("signed out: the session ended".into()),
        Ok(Some(p)) => authorize(access, Some(&p)).err().map(|e| e.public_detail()),
        Err(e) if e.status_code().is_server_error() => {
            tracing::warn!(error = %e, "cannot check a socket's rights; asking again later");
            None
        }
        Err(e) => Some(e.public_detail()),
    }
}
