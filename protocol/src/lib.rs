//! The types of berth's REST API (`/api/v1`), shared by the server and the
//! browser app so both sides agree on every field. Serde only: this crate
//! builds for native targets and for wasm32.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An error body, served as `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    pub status: u16,
    pub title: String,
    pub detail: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    pub status: String,
}

/// `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Readiness {
    pub status: String,
    pub store: String,
    pub endpoints: Vec<Endpoint>,
}

// ---------------------------------------------------------------- people

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// RFC 3339.
    pub created_at: String,
    /// A disabled user cannot sign in; their sessions, tokens and sockets
    /// stop working at once.
    #[serde(default)]
    pub disabled: bool,
    /// The teams the user is in, by name.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// `GET /api/v1/setup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SetupStatus {
    pub needed: bool,
}

/// `POST /api/v1/setup`: creates the first admin with the one-time token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SetupRequest {
    pub token: String,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Body of a successful login, of setup, and of `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionInfo {
    pub user: User,
    /// The endpoints the user reaches and their role on each (in
    /// `GET /api/v1/me`; admins reach all, as admin).
    #[serde(default)]
    pub endpoints: Vec<EndpointRole>,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// `PATCH /api/v1/users/{id}`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// The farthest expiry an API token may have, in days.
pub const TOKEN_MAX_DAYS: u32 = 3650;

/// What a token may reach, within what its owner may reach now: never more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenScope {
    /// Only viewer-level reads (GET and the streams a viewer may open),
    /// whatever the owner's role.
    #[serde(default)]
    pub read_only: bool,
    /// The endpoints the token may reach; `None` for all its owner may.
    #[serde(default)]
    pub endpoints: Option<Vec<String>>,
}

impl TokenScope {
    /// True when the scope takes nothing away from the owner's rights.
    pub fn is_full(&self) -> bool {
        !self.read_only && self.endpoints.is_none()
    }
}

/// An API token as listed: the secret itself is shown only once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// RFC 3339, UTC; `None` for a token that never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub expired: bool,
    #[serde(default)]
    pub scope: TokenScope,
}

/// `POST /api/v1/tokens`. Expiry: `expires_in_days` (1 to 3650) or
/// `expires_at` (RFC 3339, in the future), not both; `"expires_at": null`
/// for a token that never expires; neither for the default of 90 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewToken {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
    /// Absent: not given; `Some(None)`: `null`, never expires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub expires_at: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<TokenScope>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`,
/// through `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The answer to `POST /api/v1/tokens`: the only time `token` is returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    pub token: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub scope: TokenScope,
}

/// One row of the audit log: who did what to which target, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// The HTTP status the call was answered with.
    pub status: u16,
    /// The client's address: the TCP peer, or the client a trusted proxy
    /// forwarded for. Absent on rows written before berth recorded it.
    #[serde(default)]
    pub address: Option<String>,
    /// How many calls the row stands for: refusals repeated within a minute
    /// (same actor, action and address) share one row.
    #[serde(default)]
    pub count: u32,
}

// ---------------------------------------------------------------- endpoints

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum EndpointStatus {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EngineVersion {
    pub version: String,
    pub api_version: String,
}

/// A managed Docker host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Endpoint {
    pub id: String,
    pub name: String,
    pub url: String,
    pub status: EndpointStatus,
    /// Why the endpoint is down, in berth's words.
    pub error: Option<String>,
    pub engine: Option<EngineVersion>,
}

/// `GET /api/v1/endpoints/{ep}/info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EngineInfo {
    pub endpoint: String,
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub min_api_version: String,
    pub os: String,
    pub os_type: String,
    pub kernel: String,
    pub arch: String,
    pub cpus: i64,
    pub memory_bytes: i64,
    pub storage_driver: String,
    pub docker_root_dir: String,
    pub containers: i64,
    pub containers_running: i64,
    pub containers_paused: i64,
    pub containers_stopped: i64,
    pub images: i64,
}

// ---------------------------------------------------------------- containers

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    #[serde(other)]
    Unknown,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Unknown => "unknown",
        }
    }
}

/// A published (or only exposed) port of a container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PortBinding {
    /// Host address the port is bound to; `None` when only exposed.
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// One row of `GET .../containers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerSummary {
    pub id: String,
    /// The container's name, without the leading `/`.
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub command: String,
    pub state: ContainerState,
    /// The engine's human status, such as "Up 3 minutes".
    pub status: String,
    pub ports: Vec<PortBinding>,
    /// Unix seconds.
    pub created: i64,
    pub labels: BTreeMap<String, String>,
    /// The compose project, from `com.docker.compose.project`.
    pub project: Option<String>,
    /// The compose service, from `com.docker.compose.service`.
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerStateDetail {
    pub status: ContainerState,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    pub oom_killed: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// `healthy`, `unhealthy` or `starting` when the image has a healthcheck.
    pub health: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerConfig {
    pub hostname: String,
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub workdir: String,
    pub tty: bool,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerHostConfig {
    /// `no`, `always`, `unless-stopped` or `on-failure`.
    pub restart_policy: String,
    pub restart_max_retries: i64,
    pub network_mode: String,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub privileged: bool,
    pub auto_remove: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MountPoint {
    /// `bind`, `volume`, `tmpfs`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The volume's name, for volumes.
    pub name: Option<String>,
    pub source: String,
    pub destination: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkAttachment {
    pub network: String,
    pub ip_address: String,
    pub gateway: String,
    pub mac_address: String,
    pub aliases: Vec<String>,
}

/// `GET .../containers/{id}`: the engine's inspect, in berth's own shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerDetail {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    /// RFC 3339.
    pub created: String,
    pub restart_count: i64,
    pub state: ContainerStateDetail,
    pub config: ContainerConfig,
    pub host_config: ContainerHostConfig,
    pub ports: Vec<PortBinding>,
    pub mounts: Vec<MountPoint>,
    pub networks: Vec<NetworkAttachment>,
    pub project: Option<String>,
    pub service: Option<String>,
}

/// The compose label that names a container's project.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
/// The compose label that names a container's service.
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_container_state_does_not_break_the_list() {
        let s: ContainerState = serde_json::from_str("\"hibernating\"").expect("parse");
        assert_eq!(s, ContainerState::Unknown);
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(Role::parse("operator"), Some(Role::Operator));
        assert_eq!(Role::parse("root"), None);
    }
}

// ---------------------------------------------------------------- running containers

pub mod access;
pub mod compose;
pub mod images;
pub mod options;
pub mod policy;
pub mod run_command;

pub use access::*;
pub use compose::*;
pub use images::*;
pub use options::*;
pub use policy::*;

/// A port to publish: `-p [host_ip:][host_port[-host_port_end]:]container_port[/protocol]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PortSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// `None` lets the engine pick a free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    /// With `host_port`, a range of host ports the engine picks one from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port_end: Option<u16>,
    pub container_port: u16,
    /// `tcp` (default), `udp` or `sctp`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
}

fn default_protocol() -> String {
    "tcp".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path: `-v /host:/cont`.
    Bind,
    /// A named volume, created if missing: `-v name:/cont`.
    Volume,
    /// A fresh anonymous volume: `-v /cont`.
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MountSpec {
    #[serde(rename = "type")]
    pub kind: MountKind,
    /// Host path (bind) or volume name (volume); empty for anonymous.
    #[serde(default)]
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

/// `--gpus all` or `--gpus N`: an NVIDIA device request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum GpuRequest {
    Count(i64),
    /// `"all"`.
    All(String),
}

/// Everything `docker run` can be asked that berth takes:
/// the body of `POST .../containers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub image: String,
    /// Command and arguments; `None` keeps the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `None` keeps the image's entrypoint; `Some([])` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub ports: Vec<PortSpec>,
    /// `-P`: publish every port the image exposes on a random host port.
    #[serde(default)]
    pub publish_all: bool,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// A network name, or `none`/`host`/`bridge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<i64>,
    /// CPU limit in billionths of a CPU (`--cpus 1.5` is 1_500_000_000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<GpuRequest>,
    /// `-t`: allocate a TTY.
    #[serde(default)]
    pub tty: bool,
    /// `-i`: keep stdin open.
    #[serde(default)]
    pub interactive: bool,
    /// `--rm`: remove the container when it exits.
    #[serde(default)]
    pub auto_remove: bool,
    /// Start it right away (the default), or only create it.
    #[serde(default = "yes")]
    pub start: bool,
    /// Everything else `docker run` takes: security, limits, DNS, logging.
    #[serde(default, flatten)]
    pub options: ContainerOptions,
}

fn yes() -> bool {
    true
}

/// `POST .../containers/from-command`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FromCommand {
    pub command: String,
    #[serde(default = "yes")]
    pub start: bool,
}

/// The answer to creating a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedContainer {
    pub id: String,
    pub name: String,
    pub started: bool,
    /// Engine warnings, such as a limit the kernel ignores.
    pub warnings: Vec<String>,
}

/// `POST .../containers/{id}/rename`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RenameRequest {
    pub name: String,
}

/// A list action on many containers at once: `POST .../containers/bulk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BulkRequest {
    /// `start`, `stop`, `restart`, `pause`, `unpause`, `kill` or `remove`.
    pub action: String,
    pub ids: Vec<String>,
    /// For `remove`: also running ones.
    #[serde(default)]
    pub force: bool,
}

/// What happened to each container of a bulk action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BulkResult {
    pub id: String,
    pub ok: bool,
    /// Why it failed, in berth's words.
    pub error: Option<String>,
}

// ---------------------------------------------------------------- volumes

/// A container that mounts a volume, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VolumeUser {
    pub container_id: String,
    pub container: String,
    pub destination: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VolumeSummary {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    /// RFC 3339.
    pub created_at: String,
    pub scope: String,
    pub labels: BTreeMap<String, String>,
    pub used_by: Vec<VolumeUser>,
    /// Whether it has no name of its own (an anonymous volume).
    pub anonymous: bool,
    /// Compose project, from its label.
    pub project: Option<String>,
}

/// `POST .../volumes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewVolume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// The driver's options, such as the `local` driver's
    /// `{"type":"nfs","o":"addr=10.0.0.1","device":":/export"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// What a prune removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub space_reclaimed: i64,
}

// ---------------------------------------------------------------- networks

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkMember {
    pub container_id: String,
    pub container: String,
    pub ipv4_address: String,
    pub mac_address: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IpamSubnet {
    pub subnet: String,
    pub gateway: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
    pub internal: bool,
    pub attachable: bool,
    /// RFC 3339.
    pub created: String,
    pub subnets: Vec<IpamSubnet>,
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<NetworkMember>,
    /// `bridge`, `host` and `none`: made by the engine, cannot be removed.
    pub builtin: bool,
    pub project: Option<String>,
}

/// `POST .../networks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewNetwork {
    pub name: String,
    /// Only `bridge` for now (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `POST .../networks/{id}/connect` and `.../disconnect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkConnection {
    pub container: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// For disconnect: even if the container is running.
    #[serde(default)]
    pub force: bool,
}

// ---------------------------------------------------------------- ports and disk

/// One published host port: `GET .../ports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PortMapping {
    pub host_ip: String,
    pub host_port: u16,
    pub protocol: String,
    pub container_port: u16,
    pub container_id: String,
    pub container: String,
    pub state: ContainerState,
    pub project: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UsageLine {
    pub count: i64,
    /// Those in use (images used by a container, running containers, volumes mounted).
    pub active: i64,
    pub size_bytes: i64,
    pub reclaimable_bytes: i64,
}

/// `GET .../disk-usage`, like `docker system df`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DiskUsage {
    pub images: UsageLine,
    pub containers: UsageLine,
    pub volumes: UsageLine,
    pub build_cache: UsageLine,
}

// ---------------------------------------------------------------- live streams

/// Which output a log line came from. `console` is a TTY's merged output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    Console,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogLine {
    /// The container's name, in merged views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub stream: LogStream,
    /// RFC 3339 with nanoseconds, when timestamps were asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    pub text: String,
}

/// What the logs WebSocket sends: JSON text frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogFrame {
    /// Lines in order, batched.
    Lines { lines: Vec<LogLine> },
    /// The client read slower than the container wrote: this many lines were
    /// dropped here, between the lines before and after this frame.
    Skipped { count: u64 },
    /// The stream is over (the container stopped, or the engine went away).
    End { reason: String },
}

/// What a client sends on the exec WebSocket as JSON text frames. Binary
/// frames are taken as raw input too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExecInput {
    Input { data: String },
    Resize { cols: u16, rows: u16 },
}

/// What the exec WebSocket sends as JSON text frames; the terminal's output
/// itself comes as binary frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExecEvent {
    /// The session started: the command that runs.
    Started {
        cmd: Vec<String>,
    },
    /// The command ended with this exit code.
    Exit {
        code: i64,
    },
    Error {
        message: String,
    },
}

/// One stats sample of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatsSample {
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub read: String,
    /// 100 is one full CPU.
    pub cpu_percent: f64,
    pub online_cpus: u32,
    /// Usage without the page cache, as `docker stats` shows it.
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub memory_percent: f64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}

/// What a client sends on the endpoint-wide stats WebSocket: the containers
/// it shows (at most 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatsWatch {
    pub watch: Vec<String>,
}

/// An engine event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EngineEvent {
    /// `container`, `image`, `volume`, `network`, ...
    pub kind: String,
    /// `start`, `die`, `create`, `destroy`, `pull`, ...
    pub action: String,
    pub id: String,
    /// The object's name, when the engine says it.
    pub name: Option<String>,
    /// Unix seconds.
    pub time: i64,
    pub attributes: BTreeMap<String, String>,
}

/// What the events WebSocket sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventFrame {
    Event(EngineEvent),
    /// The endpoint's engine went away or came back.
    Endpoint {
        status: EndpointStatus,
        reason: Option<String>,
    },
    /// This client fell behind and missed events: reload what is shown.
    Resync {
        missed: u64,
    },
}
