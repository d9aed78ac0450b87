//! A compose file as berth understands it, after parsing, interpolation and
//! validation.

use std::collections::BTreeMap;

use protocol::{ContainerOptions, MountKind, PortSpec};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComposeFile {
    /// Top-level `name`, when given.
    pub name: Option<String>,
    pub services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, NetworkDef>,
    pub volumes: BTreeMap<String, VolumeDef>,
    pub secrets: BTreeMap<String, FileDef>,
    pub configs: BTreeMap<String, FileDef>,
    /// What berth takes but cannot honour here; the file still deploys.
    pub warnings: Vec<protocol::ComposeIssue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Build {
    pub context: String,
    pub dockerfile: Option<String>,
    /// A Dockerfile written in the compose file itself.
    pub dockerfile_inline: Option<String>,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub network: Option<String>,
    pub shm_size: Option<i64>,
    pub extra_hosts: Vec<String>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub pull: bool,
    /// More names for the built image.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval_ns: Option<i64>,
    pub timeout_ns: Option<i64>,
    pub retries: Option<i64>,
    pub start_period_ns: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceVolume {
    pub kind: MountKind,
    /// Host path (bind, made absolute), volume key (volume), empty (anonymous).
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    pub build: Option<Build>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: BTreeMap<String, String>,
    pub ports: Vec<PortSpec>,
    pub volumes: Vec<ServiceVolume>,
    /// Network key -> aliases. Empty means the project's default network.
    pub networks: BTreeMap<String, Vec<String>>,
    /// `host`, `none` or `bridge`, instead of networks.
    pub network_mode: Option<String>,
    pub depends_on: BTreeMap<String, Condition>,
    pub restart: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub healthcheck: Option<Healthcheck>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub container_name: Option<String>,
    pub replicas: u32,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub profiles: Vec<String>,
    pub tty: bool,
    pub stdin_open: bool,
    /// Everything else the service asks of the engine, secrets and configs
    /// included (as files written before start).
    pub options: ContainerOptions,
    /// Where each of the service's own keys is written (line, column), so
    /// a refusal can point at it.
    pub marks: BTreeMap<String, (usize, usize)>,
    /// `pull_policy` as written: always, never, missing, build,
    /// if_not_present, daily, weekly or every_<duration>.
    pub pull_policy: Option<String>,
    /// Commands run in the container after it starts (`post_start`) and
    /// before it stops (`pre_stop`).
    pub post_start: Vec<Hook>,
    pub pre_stop: Vec<Hook>,
    /// Per network key: the static addresses and settings of that
    /// attachment (`networks: {front: {ipv4_address: ...}}`).
    pub network_options: BTreeMap<String, NetworkAttachment>,
}

/// A command a service runs inside its container at a point of its life.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hook {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub working_dir: Option<String>,
    pub environment: BTreeMap<String, String>,
}

/// How a service attaches to one network, beyond its aliases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkAttachment {
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub mac_address: Option<String>,
    /// Higher first: the highest is the primary network.
    pub priority: i64,
    pub driver_opts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkDef {
    pub name: Option<String>,
    pub driver: Option<String>,
    pub external: bool,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    /// `None` keeps berth's default (attachable).
    pub attachable: Option<bool>,
    pub enable_ipv6: bool,
    pub driver_opts: BTreeMap<String, String>,
    pub ipam: Option<Ipam>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Vec<IpamPool>,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeDef {
    pub name: Option<String>,
    pub driver: Option<String>,
    pub external: bool,
    pub labels: BTreeMap<String, String>,
    pub driver_opts: BTreeMap<String, String>,
}

impl ComposeFile {
    /// Services in an order where each comes after what it depends on.
    /// (`parse` has already refused cycles and unknown services.)
    pub fn start_order(&self) -> Vec<String> {
        let mut order: Vec<String> = Vec::new();
        fn visit(name: &str, file: &ComposeFile, order: &mut Vec<String>, seen: &mut Vec<String>) {
            if order.iter().any(|n| n == name) || seen.iter().any(|n| n == name) {
                return;
            }
            seen.push(name.to_string());
            if let Some(s) = file.services.get(name) {
                for dep in s.depends_on.keys() {
                    visit(dep, file, order, seen);
                }
            }
            order.push(name.to_string());
        }
        let mut seen = Vec::new();
        for name in self.services.keys() {
            visit(name, self, &mut order, &mut seen);
        }
        order
    }
}

/// A top-level secret or config: where its content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file of the stack's folder (its path there), read at parse time.
    File { path: String, content: Vec<u8> },
    /// A variable of the stack's `.env`.
    Environment { name: String, content: Vec<u8> },
    /// Written in the compose file itself (configs' `content`).
    Content(Vec<u8>),
    /// Made outside the file (Swarm only).
    External { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDef {
    pub name: Option<String>,
    pub source: FileSource,
}
