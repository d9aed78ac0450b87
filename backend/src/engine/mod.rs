//! The runtime core: berth's only door to Docker engines, and the only
//! module that imports bollard. It speaks `protocol` types outward and maps
//! engine failures onto berth's error kinds.

mod containers;
mod events;
mod exec;
mod exec_run;
mod images;
mod logs;
mod networks;
mod raw;
mod run;
mod stacks;
mod stats;
mod system;
mod volumes;

pub use events::EVENT_BUFFER;
pub use exec::{ExecSession, DEFAULT_SHELL};
pub use exec_run::{ExecCommand, ExecOutcome, EXEC_DEFAULT_TIMEOUT, EXEC_OUTPUT_LIMIT};
pub use logs::LogQuery;
pub use run::{CreateExtras, HealthSpec, NetworkJoin};
pub use stacks::{
    ProjectContainer, ProjectIpam, ProjectIpamPool, ProjectNetwork, ProjectState, ProjectVolume,
    CONFIG_FILES_LABEL, HASH_LABEL, NETWORK_LABEL, NUMBER_LABEL, ONEOFF_LABEL, VOLUME_LABEL,
    WORKING_DIR_LABEL,
};

pub use containers::Lifecycle;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use tokio::sync::RwLock;

use crate::error::AppError;

/// How long connecting to an engine and agreeing on an API version may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per-request timeout handed to bollard, in seconds. Generous: stopping a
/// container waits for its grace period.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// An engine failure, in berth's terms.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// The engine refused a call about `what` with a client error: its own
    /// text, shown to admins only (see `AppError::Engine`).
    #[error("{what}: {message}")]
    Refused {
        status: u16,
        what: String,
        message: String,
    },
    /// The engine cannot be reached at all.
    #[error("endpoint {endpoint} is unreachable: {reason}")]
    Unavailable { endpoint: String, reason: String },
    /// The engine answered with an error berth did not expect (logged, not shown).
    #[error("engine error: {0}")]
    Other(String),
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound(m) => AppError::NotFound(m),
            EngineError::Conflict(m) => AppError::Conflict(m),
            EngineError::BadRequest(m) => AppError::BadRequest(m),
            EngineError::Unavailable { endpoint, reason } => {
                AppError::Unavailable { endpoint, reason }
            }
            EngineError::Refused {
                status,
                what,
                message,
            } => AppError::Engine {
                status: axum::http::StatusCode::from_u16(status)
                    .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
                what,
                text: message,
            },
            EngineError::Other(m) => AppError::internal(m),
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

/// One managed Docker engine. Connects lazily and reconnects after the
/// engine went away, so berth starts (and stays up) without one.
pub struct Engine {
    pub id: String,
    pub name: String,
    pub url: String,
    client: RwLock<Option<Docker>>,
    /// Fan-out of the engine's events (see `events.rs`).
    events: tokio::sync::broadcast::Sender<protocol::EventFrame>,
    events_running: std::sync::atomic::AtomicBool,
}

impl Engine {
    pub fn new(id: &str, name: &str, url: &str) -> Self {
        Engine {
            id: id.into(),
            name: name.into(),
            url: url.into(),
            client: RwLock::new(None),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
            events_running: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A client that has agreed an API version with the engine.
    async fn docker(&self) -> EngineResult<Docker> {
        if let Some(docker) = self.client.read().await.as_ref() {
            return Ok(docker.clone());
        }
        let mut slot = self.client.write().await;
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = self.connect().await?;
        *slot = Some(docker.clone());
        Ok(docker)
    }

    async fn connect(&self) -> EngineResult<Docker> {
        let docker = if let Some(path) = self.url.strip_prefix("unix://") {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else if self.url.starts_with("tcp://") || self.url.starts_with("http://") {
            Docker::connect_with_http(
                &self.url,
                REQUEST_TIMEOUT_SECS,
                bollard::API_DEFAULT_VERSION,
            )
        } else {
            return Err(self.unavailable(format!(
                "berth does not know how to reach {:?} (use unix:// or tcp://)",
                self.url
            )));
        }
        .map_err(|e| self.unavailable(describe_connect_error(&e)))?;
        match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(docker)) => Ok(docker),
            Ok(Err(e)) => Err(self.unavailable(describe_connect_error(&e))),
            Err(_) => Err(self.unavailable(format!(
                "no answer from {} within {} s",
                self.url,
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Drops the connection so the next call reconnects.
    pub(crate) async fn forget_client(&self) {
        *self.client.write().await = None;
    }

    fn unavailable(&self, reason: String) -> EngineError {
        EngineError::Unavailable {
            endpoint: self.id.clone(),
            reason,
        }
    }

    /// Maps a bollard error from a call about `what` (such as "container
    /// web"). A connection failure drops the client so the next call reconnects.
    async fn fail(&self, e: bollard::errors::Error, what: &str) -> EngineError {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError {
                status_code,
                message,
            } => match status_code {
                404 => EngineError::NotFound(format!("no {what} on endpoint {}", self.id)),
                400 | 409 => EngineError::Refused {
                    status: status_code,
                    what: what.to_string(),
                    message: tidy_engine_message(&message),
                },
                _ => {
                    EngineError::Other(format!("{what}: engine answered {status_code}: {message}"))
                }
            },
            B::HyperLegacyError { .. }
            | B::IOError { .. }
            | B::SocketNotFoundError(_)
            | B::RequestTimeoutError => {
                *self.client.write().await = None;
                self.unavailable(describe_connect_error(&e))
            }
            other => EngineError::Other(format!("{what}: {other}")),
        }
    }
}

/// A short reason a person can act on, without the engine's own wording.
fn describe_connect_error(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as B;
    match e {
        B::SocketNotFoundError(path) => format!("no Docker socket at {path} (is dockerd running?)"),
        B::RequestTimeoutError => "the engine did not answer in time".into(),
        B::HyperLegacyError { .. } | B::IOError { .. } => {
            "cannot connect to the Docker engine (is dockerd running?)".into()
        }
        B::APIVersionParseError {} => {
            "the engine's API version is not one berth understands".into()
        }
        B::DockerResponseServerError { status_code, .. } => {
            format!("the engine answered {status_code} to the version check")
        }
        _ => "cannot talk to the Docker engine".into(),
    }
}

/// Engine messages for client errors are shown to the user (never for 5xx);
/// trim the noise the engine puts around them.
fn tidy_engine_message(message: &str) -> String {
    message
        .trim()
        .trim_start_matches("Error response from daemon: ")
        .to_string()
}

/// Refuses a container, image, volume or network reference that is not a
/// plain name or id, so a path parameter can never reach another engine
/// route (`../`, `?`, `#`, `%`).
pub fn check_reference(kind: &str, reference: &str) -> Result<(), AppError> {
    let first_ok = reference
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && reference.len() <= 255 {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "{reference:?} is not a valid {kind} name or id"
        )))
    }
}

/// All endpoints berth manages, by id.
#[derive(Default)]
pub struct Endpoints {
    engines: BTreeMap<String, Arc<Engine>>,
}

impl Endpoints {
    pub fn insert(&mut self, engine: Engine) {
        self.engines.insert(engine.id.clone(), Arc::new(engine));
    }

    pub fn get(&self, id: &str) -> Result<Arc<Engine>, AppError> {
        self.engines
            .get(id)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("no endpoint with id {id:?}")))
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Engine>> {
        self.engines.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_cannot_escape_their_route() {
        assert!(check_reference("container", "web-1").is_ok());
        assert!(check_reference("container", "3f2a9c").is_ok());
        assert!(check_reference("container", "../images/x").is_err());
        assert!(check_reference("container", "a/b").is_err());
        assert!(check_reference("container", "x?force=1").is_err());
        assert!(check_reference("container", "").is_err());
    }
}
