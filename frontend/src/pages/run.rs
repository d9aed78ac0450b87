//! `/endpoints/{ep}/containers/new`: the "Run container" form, everything
//! `docker run` takes that berth does. A pasted `docker run ...` line fills
//! it (parsed in the browser by the same code the server uses), and the form
//! is shown back as a `docker run` line to copy.
//!
//! `?from=<id>&mode=duplicate|edit` opens an existing container's settings:
//! duplicate creates a new container (under a new name), edit recreates the
//! container under its name.
//!
//! For a non-admin, what the endpoint's policy would refuse is asked of the
//! server as the form changes and shown before submitting.

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map, use_query_map},
    NavigateOptions,
};
use protocol::{
    run_command::{parse_cpus, parse_memory, parse_run_command, split_words, to_run_command},
    ContainerSpec, GpuRequest, MountKind, MountSpec, PortSpec, Refusal,
};

use crate::api::{self, ApiError};
use crate::components::{
    copy::copy_text,
    icons::Icon,
    layout::endpoint_path,
    modal::ConfirmRequest,
    remote::{LoadError, Loading},
};
use crate::state::use_app;

/// Where an error is shown: next to a field, or above the buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Image,
    Name,
    Command,
    Entrypoint,
    Env,
    Ports,
    Network,
    Mounts,
    Restart,
    Workdir,
    User,
    Hostname,
    Labels,
    Memory,
    Cpus,
    Gpus,
    Form,
}

impl Field {
    /// Whether the field sits in the folded "Advanced" section.
    fn is_advanced(self) -> bool {
        matches!(
            self,
            Field::Workdir
                | Field::User
                | Field::Hostname
                | Field::Labels
                | Field::Memory
                | Field::Cpus
                | Field::Gpus
        )
    }

    /// The id of the element that shows this field's error.
    fn error_id(self) -> &'static str {
        match self {
            Field::Image => "run-image-error",
            Field::Name => "run-name-error",
            Field::Command => "run-command-error",
            Field::Entrypoint => "run-entrypoint-error",
            Field::Env => "run-env-error",
            Field::Ports => "run-ports-error",
            Field::Network => "run-network-error",
            Field::Mounts => "run-mounts-error",
            Field::Restart => "run-restart-error",
            Field::Workdir => "run-workdir-error",
            Field::User => "run-user-error",
            Field::Hostname => "run-hostname-error",
            Field::Labels => "run-labels-error",
            Field::Memory => "run-memory-error",
            Field::Cpus => "run-cpus-error",
            Field::Gpus => "run-gpus-error",
            Field::Form => "run-form-error",
        }
    }
}

type Errors = BTreeMap<Field, String>;

/// Which field a problem+json detail from the server is about, by its words
/// (the server names the port, the name, the image, ...).
fn field_of(detail: &str) -> Field {
    let d = detail.to_lowercase();
    if d.contains("container name") || (d.contains("name") && d.contains("taken")) {
        Field::Name
    } else if d.contains("port") || d.contains("host ip") {
        Field::Ports
    } else if d.contains("command") {
        Field::Command
    } else if d.contains("image") {
        Field::Image
    } else if d.contains("mount") || d.contains("volume") {
        Field::Mounts
    } else if d.contains("environment variable") {
        Field::Env
    } else if d.contains("restart") || d.contains("on-failure") {
        Field::Restart
    } else if d.contains("memory") {
        Field::Memory
    } else if d.contains("cpu") {
        Field::Cpus
    } else if d.contains("gpu") {
        Field::Gpus
    } else if d.contains("working directory") {
        Field::Workdir
    } else if d.contains("network") {
        Field::Network
    } else if d.contains("label") {
        Field::Labels
    } else {
        Field::Form
    }
}

/// Where a refusal by the endpoint's security policy (403) is shown: the
/// server names the spec field in backticks (`` `mounts`: binds ... ``);
/// a field this form has no control for goes above the submit button.
fn refused_field(detail: &str) -> Field {
    let named = detail
        .split('`')
        .nth(1)
        .filter(|_| detail.matches('`').count() >= 2)
        .unwrap_or_default();
    spec_field(named)
}

/// The form's field for a spec field as the policy names it (`mounts`,
/// `mounts[0].source`, `network`, ...); [`Field::Form`] when the form has
/// no control of its own for it.
fn spec_field(named: &str) -> Field {
    let root = named.split(['[', '.']).next().unwrap_or_default();
    match root {
        "mounts" => Field::Mounts,
        "network" => Field::Network,
        "device_requests" | "gpus" => Field::Gpus,
        _ => Field::Form,
    }
}

/// How long the form waits after the last change before asking the server
/// what its policy would refuse.
const CHECK_DELAY: Duration = Duration::from_millis(400);

// ------------------------------------------------------------ form state

/// A key/value row (environment, labels).
#[derive(Clone, Copy)]
struct KvRow {
    id: u64,
    key: RwSignal<String>,
    value: RwSignal<String>,
}

#[derive(Clone, Copy)]
struct PortRow {
    id: u64,
    host_ip: RwSignal<String>,
    host_port: RwSignal<String>,
    container_port: RwSignal<String>,
    protocol: RwSignal<String>,
}

#[derive(Clone, Copy)]
struct MountRow {
    id: u64,
    /// `bind`, `volume` or `anonymous`.
    kind: RwSignal<String>,
    source: RwSignal<String>,
    target: RwSignal<String>,
    read_only: RwSignal<bool>,
}

/// Every field of the form, one signal each; rows carry their own signals
/// so typing in one re-renders nothing else.
#[derive(Clone, Copy)]
struct Form {
    owner: StoredValue<Option<Owner>>,
    next_id: StoredValue<u64>,
    image: RwSignal<String>,
    name: RwSignal<String>,
    command: RwSignal<String>,
    entrypoint: RwSignal<String>,
    env: RwSignal<Vec<KvRow>>,
    ports: RwSignal<Vec<PortRow>>,
    publish_all: RwSignal<bool>,
    network: RwSignal<String>,
    mounts: RwSignal<Vec<MountRow>>,
    restart: RwSignal<String>,
    retries: RwSignal<String>,
    workdir: RwSignal<String>,
    user: RwSignal<String>,
    hostname: RwSignal<String>,
    labels: RwSignal<Vec<KvRow>>,
    memory: RwSignal<String>,
    cpus: RwSignal<String>,
    /// `none`, `all` or `count`.
    gpus: RwSignal<String>,
    gpu_count: RwSignal<String>,
    tty: RwSignal<bool>,
    interactive: RwSignal<bool>,
    auto_remove: RwSignal<bool>,
    start: RwSignal<bool>,
}

fn text() -> RwSignal<String> {
    RwSignal::new(String::new())
}

impl Form {
    fn new() -> Self {
        Form {
            owner: StoredValue::new(Owner::current()),
            next_id: StoredValue::new(0),
            image: text(),
            name: text(),
            command: text(),
            entrypoint: text(),
            env: RwSignal::new(Vec::new()),
            ports: RwSignal::new(Vec::new()),
            publish_all: RwSignal::new(false),
            network: text(),
            mounts: RwSignal::new(Vec::new()),
            restart: RwSignal::new("no".into()),
            retries: text(),
            workdir: text(),
            user: text(),
            hostname: text(),
            labels: RwSignal::new(Vec::new()),
            memory: text(),
            cpus: text(),
            gpus: RwSignal::new("none".into()),
            gpu_count: RwSignal::new("1".into()),
            tty: RwSignal::new(false),
            interactive: RwSignal::new(false),
            auto_remove: RwSignal::new(false),
            start: RwSignal::new(true),
        }
    }

    /// Rows are made under the page's owner (not the click handler's), so
    /// their signals live as long as the page.
    fn make<T>(&self, f: impl FnOnce(u64) -> T) -> T {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        match self.owner.get_value() {
            Some(owner) => owner.with(|| f(id)),
            None => f(id),
        }
    }

    fn kv(&self, key: &str, value: &str) -> KvRow {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.make(|id| KvRow {
            id,
            key: RwSignal::new(key),
            value: RwSignal::new(value),
        })
    }

    fn port(&self, p: Option<&PortSpec>) -> PortRow {
        let host_ip = p.and_then(|p| p.host_ip.clone()).unwrap_or_default();
        let host_port = match p {
            Some(PortSpec {
                host_port: Some(lo),
                host_port_end: Some(hi),
                ..
            }) if hi != lo => format!("{lo}-{hi}"),
            Some(PortSpec {
                host_port: Some(lo),
                ..
            }) => lo.to_string(),
            _ => String::new(),
        };
        let container_port = p.map(|p| p.container_port.to_string()).unwrap_or_default();
        let protocol = p
            .map(|p| p.protocol.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "tcp".into());
        self.make(|id| PortRow {
            id,
            host_ip: RwSignal::new(host_ip),
            host_port: RwSignal::new(host_port),
            container_port: RwSignal::new(container_port),
            protocol: RwSignal::new(protocol),
        })
    }

    fn mount(&self, m: Option<&MountSpec>) -> MountRow {
        let kind = match m.map(|m| m.kind) {
            Some(MountKind::Bind) => "bind",
            Some(MountKind::Anonymous) => "anonymous",
            Some(MountKind::Volume) | None => "volume",
        };
        let source = m.map(|m| m.source.clone()).unwrap_or_default();
        let target = m.map(|m| m.target.clone()).unwrap_or_default();
        let read_only = m.is_some_and(|m| m.read_only);
        self.make(|id| MountRow {
            id,
            kind: RwSignal::new(kind.into()),
            source: RwSignal::new(source),
            target: RwSignal::new(target),
            read_only: RwSignal::new(read_only),
        })
    }

    /// Adds `K=V` pairs to the environment: a key already there gets the new
    /// value, a new key a new row.
    fn merge_env(&self, pairs: Vec<(String, String)>) {
        let rows = self.env.get_untracked();
        let mut added = Vec::new();
        for (key, value) in pairs {
            match rows.iter().find(|r| r.key.get_untracked() == key) {
                Some(row) => row.value.set(value),
                None => added.push(self.kv(&key, &value)),
            }
        }
        // A blank row left over from "Add variable" makes room for them.
        self.env.update(|rows| {
            rows.retain(|r| {
                !(r.key.get_untracked().trim().is_empty()
                    && r.value.get_untracked().trim().is_empty())
            });
            rows.extend(added);
        });
    }

    /// The spec the form describes, or what is wrong with it. Reads the
    /// signals tracked, so a memo over it follows every keystroke.
    fn spec(self) -> Result<ContainerSpec, Errors> {
        let mut errors = Errors::new();
        let mut spec = ContainerSpec {
            start: self.start.get(),
            ..ContainerSpec::default()
        };

        let image = self.image.get().trim().to_owned();
        if image.is_empty() {
            errors.insert(
                Field::Image,
                "Choose or type an image, like nginx:alpine".into(),
            );
        }
        spec.image = image;
        spec.name = non_empty(self.name.get());

        spec.cmd = match words(&self.command.get()) {
            Ok(w) => w,
            Err(e) => {
                errors.insert(Field::Command, e);
                None
            }
        };
        spec.entrypoint = match words(&self.entrypoint.get()) {
            Ok(w) => w,
            Err(e) => {
                errors.insert(Field::Entrypoint, e);
                None
            }
        };

        match pairs(&self.env.get(), "variable") {
            Ok(env) => spec.env = env,
            Err(e) => {
                errors.insert(Field::Env, e);
            }
        }
        match pairs(&self.labels.get(), "label") {
            Ok(labels) => spec.labels = labels,
            Err(e) => {
                errors.insert(Field::Labels, e);
            }
        }

        for (i, row) in self.ports.get().iter().enumerate() {
            match port_spec(row) {
                Ok(Some(p)) => spec.ports.push(p),
                Ok(None) => {}
                Err(e) => {
                    errors
                        .entry(Field::Ports)
                        .or_insert_with(|| format!("Port {}: {e}", i + 1));
                }
            }
        }
        spec.publish_all = self.publish_all.get();
        spec.network = non_empty(self.network.get());

        for (i, row) in self.mounts.get().iter().enumerate() {
            match mount_spec(row) {
                Ok(Some(m)) => spec.mounts.push(m),
                Ok(None) => {}
                Err(e) => {
                    errors
                        .entry(Field::Mounts)
                        .or_insert_with(|| format!("Mount {}: {e}", i + 1));
                }
            }
        }

        spec.restart = match self.restart.get().as_str() {
            "" | "no" => None,
            "on-failure" => match self.retries.get().trim() {
                "" => Some("on-failure".into()),
                n => match n.parse::<u32>() {
                    Ok(n) => Some(format!("on-failure:{n}")),
                    Err(_) => {
                        errors.insert(
                            Field::Restart,
                            "Max retries is a whole number (leave it empty for no limit)".into(),
                        );
                        None
                    }
                },
            },
            other => Some(other.to_owned()),
        };

        spec.workdir = non_empty(self.workdir.get());
        if spec.workdir.as_deref().is_some_and(|w| !w.starts_with('/')) {
            errors.insert(
                Field::Workdir,
                "The working directory is an absolute path in the container, like /app".into(),
            );
        }
        spec.user = non_empty(self.user.get());
        spec.hostname = non_empty(self.hostname.get());

        let memory = self.memory.get();
        if !memory.trim().is_empty() {
            match parse_memory("memory limit", memory.trim()) {
                Ok(bytes) => spec.memory_bytes = Some(bytes),
                Err(e) => {
                    errors.insert(Field::Memory, e.message);
                }
            }
        }
        let cpus = self.cpus.get();
        if !cpus.trim().is_empty() {
            match parse_cpus("CPUs", cpus.trim()) {
                Ok(nano) => spec.nano_cpus = Some(nano),
                Err(e) => {
                    errors.insert(Field::Cpus, e.message);
                }
            }
        }
        spec.gpus = match self.gpus.get().as_str() {
            "all" => Some(GpuRequest::All("all".into())),
            "count" => match self.gpu_count.get().trim().parse::<i64>() {
                Ok(n) if n >= 1 => Some(GpuRequest::Count(n)),
                _ => {
                    errors.insert(Field::Gpus, "Ask for at least 1 GPU".into());
                    None
                }
            },
            _ => None,
        };
        spec.tty = self.tty.get();
        spec.interactive = self.interactive.get();
        spec.auto_remove = self.auto_remove.get();

        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors)
        }
    }

    /// Puts a spec into the form, replacing everything in it.
    fn fill(&self, spec: &ContainerSpec) {
        self.image.set(spec.image.clone());
        self.name.set(spec.name.clone().unwrap_or_default());
        self.command
            .set(spec.cmd.as_deref().map(join_words).unwrap_or_default());
        self.entrypoint.set(
            spec.entrypoint
                .as_deref()
                .map(join_words)
                .unwrap_or_default(),
        );
        self.env
            .set(spec.env.iter().map(|(k, v)| self.kv(k, v)).collect());
        self.ports
            .set(spec.ports.iter().map(|p| self.port(Some(p))).collect());
        self.publish_all.set(spec.publish_all);
        self.network.set(spec.network.clone().unwrap_or_default());
        self.mounts
            .set(spec.mounts.iter().map(|m| self.mount(Some(m))).collect());
        let (restart, retries) = match spec.restart.as_deref() {
            None | Some("") => ("no".to_owned(), String::new()),
            Some(r) => match r.split_once(':') {
                Some((policy, n)) => (policy.to_owned(), n.to_owned()),
                None => (r.to_owned(), String::new()),
            },
        };
        self.restart.set(restart);
        self.retries.set(retries);
        self.workdir.set(spec.workdir.clone().unwrap_or_default());
        self.user.set(spec.user.clone().unwrap_or_default());
        self.hostname.set(spec.hostname.clone().unwrap_or_default());
        self.labels
            .set(spec.labels.iter().map(|(k, v)| self.kv(k, v)).collect());
        self.memory
            .set(spec.memory_bytes.map(memory_text).unwrap_or_default());
        self.cpus
            .set(spec.nano_cpus.map(cpus_text).unwrap_or_default());
        match &spec.gpus {
            None => self.gpus.set("none".into()),
            Some(GpuRequest::All(_)) => self.gpus.set("all".into()),
            Some(GpuRequest::Count(n)) => {
                self.gpus.set("count".into());
                self.gpu_count.set(n.to_string());
            }
        }
        self.tty.set(spec.tty);
        self.interactive.set(spec.interactive);
        self.auto_remove.set(spec.auto_remove);
        self.start.set(spec.start);
    }

    /// Whether anything in the "Advanced" section is set (it opens then).
    fn advanced_used(&self) -> bool {
        let set = |s: RwSignal<String>| !s.get_untracked().trim().is_empty();
        set(self.workdir)
            || set(self.user)
            || set(self.hostname)
            || set(self.memory)
            || set(self.cpus)
            || self.gpus.get_untracked() != "none"
            || !self.labels.with_untracked(Vec::is_empty)
            || self.tty.get_untracked()
            || self.interactive.get_untracked()
            || self.auto_remove.get_untracked()
    }
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A one-line command split as a shell would; empty means "the image's".
fn words(line: &str) -> Result<Option<Vec<String>>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    split_words(line).map(Some).map_err(|e| e.message)
}

/// A word as a shell (and `split_words`) reads it back.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn join_words(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn pairs(rows: &[KvRow], what: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let key = row.key.get().trim().to_owned();
        let value = row.value.get();
        if key.is_empty() {
            if value.trim().is_empty() {
                continue;
            }
            return Err(format!("{} {}: give it a name", capitalise(what), i + 1));
        }
        if key.contains('=') || key.chars().any(char::is_whitespace) {
            return Err(format!(
                "{} {}: the name {key:?} cannot hold spaces or '='",
                capitalise(what),
                i + 1
            ));
        }
        map.insert(key, value);
    }
    Ok(map)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn port_number(text: &str, what: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(0) | Err(_) => Err(format!(
            "the {what} {:?} is not a port (1-65535)",
            text.trim()
        )),
        Ok(n) => Ok(n),
    }
}

/// One port row: `None` when it is left empty.
fn port_spec(row: &PortRow) -> Result<Option<PortSpec>, String> {
    let host_ip = row.host_ip.get().trim().to_owned();
    let host_port = row.host_port.get().trim().to_owned();
    let container_port = row.container_port.get().trim().to_owned();
    if host_ip.is_empty() && host_port.is_empty() && container_port.is_empty() {
        return Ok(None);
    }
    if container_port.is_empty() {
        return Err("the container port is missing".into());
    }
    let container_port = port_number(&container_port, "container port")?;
    let (host_port, host_port_end) = if host_port.is_empty() {
        (None, None)
    } else if let Some((lo, hi)) = host_port.split_once('-') {
        let (lo, hi) = (port_number(lo, "host port")?, port_number(hi, "host port")?);
        if hi < lo {
            return Err(format!(
                "the host port range {lo}-{hi} ends before it starts"
            ));
        }
        (Some(lo), (hi != lo).then_some(hi))
    } else {
        (Some(port_number(&host_port, "host port")?), None)
    };
    Ok(Some(PortSpec {
        host_ip: (!host_ip.is_empty()).then_some(host_ip),
        host_port,
        host_port_end,
        container_port,
        protocol: row.protocol.get(),
    }))
}

/// One mount row: `None` when it is left empty.
fn mount_spec(row: &MountRow) -> Result<Option<MountSpec>, String> {
    let kind = row.kind.get();
    let source = row.source.get().trim().to_owned();
    let target = row.target.get().trim().to_owned();
    let anonymous = kind == "anonymous";
    if target.is_empty() && (anonymous || source.is_empty()) {
        return Ok(None);
    }
    if target.is_empty() {
        return Err("the target (a path in the container) is missing".into());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "the target {target:?} must be an absolute path in the container"
        ));
    }
    let kind = match kind.as_str() {
        "bind" => {
            if !source.starts_with('/') {
                return Err(
                    "a bind mount's source is an absolute host path, like /srv/data".into(),
                );
            }
            MountKind::Bind
        }
        "anonymous" => MountKind::Anonymous,
        _ => {
            if source.is_empty() {
                return Err(
                    "name the volume (it is created if missing), or choose anonymous".into(),
                );
            }
            MountKind::Volume
        }
    };
    Ok(Some(MountSpec {
        kind,
        source: if anonymous { String::new() } else { source },
        target,
        read_only: row.read_only.get(),
    }))
}

/// `K=V` lines of a `.env` file: blank lines and `#` comments skipped, an
/// optional `export `, quotes around the value stripped.
fn parse_env_lines(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("Line {}: write KEY=value", i + 1));
        };
        let key = key.trim();
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(format!("Line {}: {key:?} is not a variable name", i + 1));
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn memory_text(bytes: i64) -> String {
    for (unit, size) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes > 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

fn cpus_text(nano: i64) -> String {
    let (whole, frac) = (nano / 1_000_000_000, nano % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{:09}", frac.abs());
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

// ------------------------------------------------------------ the page

/// What the page was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    New,
    Duplicate,
    Edit,
}

#[component]
pub fn RunPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let query = use_query_map();
    let navigate = use_navigate();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    let from = Memo::new(move |_| query.read().get("from").filter(|f| !f.is_empty()));
    let mode = Memo::new(
        move |_| match (from.get(), query.read().get("mode").as_deref()) {
            (None, _) => Mode::New,
            (Some(_), Some("edit")) => Mode::Edit,
            (Some(_), _) => Mode::Duplicate,
        },
    );
    app.search.set(String::new());

    let form = Form::new();
    let errors = RwSignal::new(Errors::new());
    let busy = RwSignal::new(false);
    let advanced = NodeRef::<html::Details>::new();
    // The name of the container being edited or duplicated.
    let original = RwSignal::new(None::<String>);
    // Loading the container's settings: None while loading, then the error.
    let source = RwSignal::new(None::<Result<(), ApiError>>);
    let go_to = RwSignal::new(None::<String>);

    let open_advanced = move || {
        if let Some(details) = advanced.get_untracked() {
            let _ = details.set_attribute("open", "");
        }
    };

    // Suggestions: local images (the images API may not exist yet), volumes
    // and networks of the endpoint.
    let images = RwSignal::new(Vec::<String>::new());
    let volume_names = RwSignal::new(Vec::<String>::new());
    let network_names = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        let ep = ep.get();
        spawn_local(async move {
            images.set(api::image_tags(&ep).await.unwrap_or_default());
            if let Ok(list) = api::volumes(&ep).await {
                volume_names.set(
                    list.into_iter()
                        .filter(|v| !v.anonymous)
                        .map(|v| v.name)
                        .collect(),
                );
            }
            if let Ok(list) = api::networks(&ep).await {
                let mut names: Vec<String> = list
                    .into_iter()
                    .filter(|n| !n.builtin)
                    .map(|n| n.name)
                    .collect();
                names.sort();
                network_names.set(names);
            }
        });
    });

    // Duplicate/edit: the container's settings fill the form.
    let load_source = move || {
        let Some(id) = from.get_untracked() else {
            if original.get_untracked().is_some() {
                // From duplicate/edit back to a blank form.
                form.fill(&ContainerSpec {
                    start: true,
                    ..ContainerSpec::default()
                });
                original.set(None);
            }
            // "Run it" from an image: `?image=<reference>` fills the image.
            if let Some(image) = query
                .read_untracked()
                .get("image")
                .filter(|i| !i.is_empty())
            {
                form.image.set(image);
            }
            source.set(Some(Ok(())));
            return;
        };
        let ep = ep.get_untracked();
        let mode = mode.get_untracked();
        source.set(None);
        spawn_local(async move {
            match api::container_spec(&ep, &id).await {
                Ok(spec) => {
                    let name = spec.name.clone().unwrap_or_else(|| id.clone());
                    form.fill(&spec);
                    if mode == Mode::Duplicate {
                        form.name.set(format!("{name}-copy"));
                    }
                    original.set(Some(name));
                    if form.advanced_used() {
                        open_advanced();
                    }
                    source.set(Some(Ok(())));
                }
                Err(e) => source.set(Some(Err(e))),
            }
        });
    };
    Effect::new(move |_| {
        from.track();
        ep.track();
        load_source();
    });

    Effect::new(move |_| {
        let title = match (mode.get(), original.get()) {
            (Mode::Edit, Some(name)) => format!("Edit {name}"),
            (Mode::Duplicate, Some(name)) => format!("Duplicate {name}"),
            _ => "Run container".to_owned(),
        };
        app.crumb.set(Some(title));
    });

    Effect::new(move |_| {
        if let Some(url) = go_to.get() {
            navigate(&url, NavigateOptions::default());
        }
    });

    let preview = Memo::new(move |_| form.spec().map(|spec| to_run_command(&spec)));

    // Refusal hints: for a non-admin, the endpoint's policy is asked (at
    // most once per pause in typing) what it would refuse of the spec; the
    // submit stays possible, the server refuses anyway.
    let refusals = RwSignal::new(Vec::<Refusal>::new());
    let checking = StoredValue::new(0_u64);
    let current_spec = Memo::new(move |_| form.spec().ok());
    Effect::new(move |_| {
        let ep = ep.get();
        let Some(spec) = current_spec.get() else {
            return;
        };
        if app.is_admin() || !app.can_operate(&ep) {
            refusals.set(Vec::new());
            return;
        }
        checking.update_value(|n| *n += 1);
        let mine = checking.get_value();
        set_timeout(
            move || {
                if checking.try_get_value() != Some(mine) {
                    return;
                }
                spawn_local(async move {
                    if let Ok(check) = api::check_container(&ep, &spec).await {
                        if checking.try_get_value() == Some(mine) {
                            refusals.try_set(check.refusals);
                        }
                    }
                });
            },
            CHECK_DELAY,
        );
    });
    let refusal_of = move |field: Field| {
        move || {
            refusals.with(|r| {
                let texts: Vec<String> = r
                    .iter()
                    .filter(|r| spec_field(&r.field) == field)
                    .map(|r| r.message.clone())
                    .collect();
                (!texts.is_empty()).then(|| {
                    view! {
                        <p class="field-refusal" role="status">
                            {Icon::Alert.view()}
                            <span>{format!("This endpoint's policy refuses this: {}", texts.join("; "))}</span>
                        </p>
                    }
                })
            })
        }
    };

    let send = move |spec: ContainerSpec| {
        let ep = ep.get_untracked();
        let edit_id = (mode.get_untracked() == Mode::Edit)
            .then(|| from.get_untracked())
            .flatten();
        busy.set(true);
        errors.set(Errors::new());
        spawn_local(async move {
            let result = match &edit_id {
                Some(id) => api::recreate_container(&ep, id, &spec).await,
                None => api::create_container(&ep, &spec).await,
            };
            busy.set(false);
            match result {
                Ok(created) => {
                    let verb = match (edit_id.is_some(), created.started) {
                        (true, _) => "Recreated",
                        (false, true) => "Started",
                        (false, false) => "Created",
                    };
                    app.toasts
                        .success(format!("{verb} container {}", created.name));
                    for warning in &created.warnings {
                        app.toasts.error(format!("Engine warning: {warning}"));
                    }
                    go_to.set(Some(endpoint_path(
                        &ep,
                        &format!("containers/{}", created.id),
                    )));
                }
                Err(e) => {
                    let field = if e.status == 403 {
                        refused_field(&e.detail)
                    } else {
                        field_of(&e.detail)
                    };
                    if field.is_advanced() {
                        open_advanced();
                    }
                    errors.set(Errors::from([(field, e.message())]));
                    focus_error(field);
                }
            }
        });
    };

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        match untrack(|| form.spec()) {
            Err(found) => {
                if found.keys().any(|f| f.is_advanced()) {
                    open_advanced();
                }
                let first = found.keys().next().copied();
                errors.set(found);
                if let Some(field) = first {
                    focus_error(field);
                }
            }
            Ok(spec) if mode.get_untracked() == Mode::Edit => {
                let name = original
                    .get_untracked()
                    .unwrap_or_else(|| "this container".into());
                let title = format!("Recreate container {name}?");
                let body = format!(
                    "{name} will be stopped and removed, then created again with these settings \
                     under the same name. Its writable layer is lost; volumes and bind mounts are \
                     kept. If the new settings fail, the old container is put back."
                );
                app.ask(ConfirmRequest::new(title, body, "Recreate", move || {
                    send(spec.clone())
                }));
            }
            Ok(spec) => send(spec),
        }
    };

    let error_of = move |field: Field| move || errors.with(|e| e.get(&field).cloned());
    let invalid =
        move |field: Field| move || errors.with(|e| e.contains_key(&field)).then_some("true");

    let heading = move || match (mode.get(), original.get()) {
        (Mode::Edit, Some(name)) => format!("Edit {name}"),
        (Mode::Edit, None) => "Edit container".to_owned(),
        (Mode::Duplicate, Some(name)) => format!("Duplicate {name}"),
        (Mode::Duplicate, None) => "Duplicate container".to_owned(),
        (Mode::New, _) => "Run container".to_owned(),
    };
    let submit_label = move || match (mode.get(), form.start.get()) {
        (Mode::Edit, _) => "Recreate container",
        (_, true) => "Run container",
        (_, false) => "Create container",
    };

    let network_options = move || {
        let mut names: Vec<String> = vec!["bridge".into(), "host".into(), "none".into()];
        names.extend(network_names.get());
        let current = form.network.get();
        if !current.is_empty() && !names.contains(&current) {
            names.push(current);
        }
        names
    };

    let form_view = move || {
        view! {
            <form class="form run-form" on:submit=submit novalidate>
                {move || (mode.get() == Mode::Edit).then(|| view! {
                    <div class="banner run-note" role="note">
                        {Icon::Alert.view()}
                        <div class="banner-text">
                            <strong>{move || format!("Saving recreates {}", original.get().unwrap_or_default())}</strong>
                            <p>"berth stops and removes the container, then creates it again with these settings under the same name. Its writable layer is lost; volumes and bind mounts are kept. If the new settings fail, the old container is kept."</p>
                        </div>
                    </div>
                })}
                <section class="card form-section">
                    <h2 class="card-title">"Container"</h2>
                    <div class="form-grid">
                        <div class="field">
                            <label for="run-image">"Image"</label>
                            <input
                                id="run-image"
                                class="input mono"
                                type="text"
                                list="run-image-list"
                                required
                                autocomplete="off"
                                spellcheck="false"
                                placeholder="e.g. nginx:alpine"
                                aria-invalid=invalid(Field::Image)
                                aria-describedby=Field::Image.error_id()
                                bind:value=form.image
                            />
                            <datalist id="run-image-list">
                                <For each=move || images.get() key=|t| t.clone() let(tag)>
                                    <option value=tag></option>
                                </For>
                            </datalist>
                            <p class="field-error" id=Field::Image.error_id() role="alert">{error_of(Field::Image)}</p>
                        </div>
                        <div class="field">
                            <label for="run-name">"Name"</label>
                            <input
                                id="run-name"
                                class="input"
                                type="text"
                                autocomplete="off"
                                spellcheck="false"
                                placeholder="Left empty, the engine picks one"
                                aria-invalid=invalid(Field::Name)
                                aria-describedby=Field::Name.error_id()
                                bind:value=form.name
                            />
                            <p class="field-error" id=Field::Name.error_id() role="alert">{error_of(Field::Name)}</p>
                        </div>
                        <div class="field">
                            <label for="run-command">"Command"</label>
                            <input
                                id="run-command"
                                class="input mono"
                                type="text"
                                autocomplete="off"
                                spellcheck="false"
                                placeholder="The image's, when empty"
                                aria-invalid=invalid(Field::Command)
                                aria-describedby="run-command-hint run-command-error"
                                bind:value=form.command
                            />
                            <p class="field-hint" id="run-command-hint">"One line, split into words as a shell would (quotes work; no pipes or variables)."</p>
                            <p class="field-error" id=Field::Command.error_id() role="alert">{error_of(Field::Command)}</p>
                        </div>
                        <div class="field">
                            <label for="run-entrypoint">"Entrypoint"</label>
                            <input
                                id="run-entrypoint"
                                class="input mono"
                                type="text"
                                autocomplete="off"
                                spellcheck="false"
                                placeholder="The image's, when empty"
                                aria-invalid=invalid(Field::Entrypoint)
                                aria-describedby=Field::Entrypoint.error_id()
                                bind:value=form.entrypoint
                            />
                            <p class="field-error" id=Field::Entrypoint.error_id() role="alert">{error_of(Field::Entrypoint)}</p>
                        </div>
                    </div>
                </section>

                <EnvSection form=form errors=errors/>

                <section class="card form-section" aria-labelledby="run-ports-title">
                    <div class="card-head">
                        <h2 class="card-title" id="run-ports-title">"Ports"</h2>
                        <button type="button" class="btn btn-sm" on:click=move |_| {
                            let row = form.port(None);
                            form.ports.update(|rows| rows.push(row));
                        }>
                            {Icon::Plus.view()}
                            <span>"Add port"</span>
                        </button>
                    </div>
                    <Show when=move || !form.ports.with(Vec::is_empty)>
                        <div class="rows-head rows-ports" aria-hidden="true">
                            <span>"Host IP"</span>
                            <span>"Host port"</span>
                            <span>"Container port"</span>
                            <span>"Protocol"</span>
                            <span></span>
                        </div>
                    </Show>
                    <div class="rows">
                        <For each=move || form.ports.get() key=|r| r.id let(row)>
                            {
                                let index = move || form.ports.with(|rows| rows.iter().position(|r| r.id == row.id).unwrap_or(0) + 1);
                                view! {
                                    <div class="row-fields rows-ports" role="group" aria-label=move || format!("Port {}", index())>
                                        <input class="input mono" type="text" aria-label="Host IP" placeholder="all addresses" autocomplete="off" spellcheck="false" bind:value=row.host_ip/>
                                        <input class="input mono" type="text" aria-label="Host port" placeholder="random" inputmode="numeric" autocomplete="off" title="A port, or a range like 8000-8010" bind:value=row.host_port/>
                                        <input class="input mono" type="text" aria-label="Container port" placeholder="80" inputmode="numeric" autocomplete="off" bind:value=row.container_port/>
                                        <select class="select" aria-label="Protocol" bind:value=row.protocol>
                                            {["tcp", "udp", "sctp"].into_iter().map(|p| view! {
                                                <option value=p selected=move || row.protocol.get() == p>{p}</option>
                                            }).collect_view()}
                                        </select>
                                        <button type="button" class="btn-icon btn-icon-danger" aria-label=move || format!("Remove port {}", index()) title="Remove" on:click=move |_| form.ports.update(|rows| rows.retain(|r| r.id != row.id))>
                                            {Icon::Trash.view()}
                                        </button>
                                    </div>
                                }
                            }
                        </For>
                    </div>
                    <p class="field-hint">"Leave the host port empty for a random one; a range like 8000-8010 lets the engine pick a free port in it."</p>
                    <label class="check">
                        <input type="checkbox" bind:checked=form.publish_all/>
                        <span>"Publish all exposed ports"</span>
                    </label>
                    <p class="field-error" id=Field::Ports.error_id() role="alert">{error_of(Field::Ports)}</p>
                </section>

                <section class="card form-section" aria-labelledby="run-mounts-title">
                    <div class="card-head">
                        <h2 class="card-title" id="run-mounts-title">"Volumes and mounts"</h2>
                        <button type="button" class="btn btn-sm" on:click=move |_| {
                            let row = form.mount(None);
                            form.mounts.update(|rows| rows.push(row));
                        }>
                            {Icon::Plus.view()}
                            <span>"Add mount"</span>
                        </button>
                    </div>
                    <datalist id="run-volume-list">
                        <For each=move || volume_names.get() key=|v| v.clone() let(name)>
                            <option value=name></option>
                        </For>
                    </datalist>
                    <Show when=move || !form.mounts.with(Vec::is_empty)>
                        <div class="rows-head rows-mounts" aria-hidden="true">
                            <span>"Type"</span>
                            <span>"Source"</span>
                            <span>"Target"</span>
                            <span></span>
                            <span></span>
                        </div>
                    </Show>
                    <div class="rows">
                        <For each=move || form.mounts.get() key=|r| r.id let(row)>
                            {
                                let index = move || form.mounts.with(|rows| rows.iter().position(|r| r.id == row.id).unwrap_or(0) + 1);
                                let anonymous = move || row.kind.get() == "anonymous";
                                view! {
                                    <div class="row-fields rows-mounts" role="group" aria-label=move || format!("Mount {}", index())>
                                        <select class="select" aria-label="Mount type" bind:value=row.kind>
                                            {[("volume", "Named volume"), ("bind", "Bind (host path)"), ("anonymous", "Anonymous volume")].into_iter().map(|(value, label)| view! {
                                                <option value=value selected=move || row.kind.get() == value>{label}</option>
                                            }).collect_view()}
                                        </select>
                                        <input
                                            class="input mono"
                                            type="text"
                                            aria-label="Source"
                                            autocomplete="off"
                                            spellcheck="false"
                                            list=move || (row.kind.get() == "volume").then_some("run-volume-list")
                                            placeholder=move || match row.kind.get().as_str() {
                                                "bind" => "/host/path",
                                                "anonymous" => "(a new volume)",
                                                _ => "volume name",
                                            }
                                            disabled=anonymous
                                            bind:value=row.source
                                        />
                                        <input class="input mono" type="text" aria-label="Target" placeholder="/path/in/container" autocomplete="off" spellcheck="false" bind:value=row.target/>
                                        <label class="check">
                                            <input type="checkbox" bind:checked=row.read_only/>
                                            <span>"Read-only"</span>
                                        </label>
                                        <button type="button" class="btn-icon btn-icon-danger" aria-label=move || format!("Remove mount {}", index()) title="Remove" on:click=move |_| form.mounts.update(|rows| rows.retain(|r| r.id != row.id))>
                                            {Icon::Trash.view()}
                                        </button>
                                    </div>
                                }
                            }
                        </For>
                    </div>
                    <p class="field-hint">"A named volume is created if it does not exist. Bind mounts show a host directory or file inside the container."</p>
                    <p class="field-error" id=Field::Mounts.error_id() role="alert">{error_of(Field::Mounts)}</p>
                    {refusal_of(Field::Mounts)}
                </section>

                <section class="card form-section">
                    <h2 class="card-title">"Network and restart"</h2>
                    <div class="form-grid">
                        <div class="field">
                            <label for="run-network">"Network"</label>
                            <select id="run-network" class="select" bind:value=form.network aria-describedby=Field::Network.error_id()>
                                <option value="" selected=move || form.network.get().is_empty()>"Default (bridge)"</option>
                                {move || network_options().into_iter().map(|n| {
                                    let (value, label) = (n.clone(), n.clone());
                                    view! { <option value=n selected=move || form.network.get() == value>{label}</option> }
                                }).collect_view()}
                            </select>
                            <p class="field-error" id=Field::Network.error_id() role="alert">{error_of(Field::Network)}</p>
                            {refusal_of(Field::Network)}
                        </div>
                        <div class="field">
                            <label for="run-restart">"Restart policy"</label>
                            <div class="inline-fields">
                                <select id="run-restart" class="select" bind:value=form.restart aria-describedby=Field::Restart.error_id()>
                                    {[("no", "No (never restart)"), ("always", "Always"), ("unless-stopped", "Unless stopped"), ("on-failure", "On failure")].into_iter().map(|(value, label)| view! {
                                        <option value=value selected=move || form.restart.get() == value>{label}</option>
                                    }).collect_view()}
                                </select>
                                <Show when=move || form.restart.get() == "on-failure">
                                    <label class="sr-only" for="run-retries">"Max retries"</label>
                                    <input id="run-retries" class="input input-narrow" type="number" min="0" placeholder="max retries" title="Max retries (empty: no limit)" bind:value=form.retries/>
                                </Show>
                            </div>
                            <p class="field-error" id=Field::Restart.error_id() role="alert">{error_of(Field::Restart)}</p>
                        </div>
                    </div>
                </section>

                <details class="card form-section advanced" node_ref=advanced>
                    <summary class="card-title">"Advanced"</summary>
                    <div class="form-grid">
                        <div class="field">
                            <label for="run-workdir">"Working directory"</label>
                            <input id="run-workdir" class="input mono" type="text" placeholder="/app" autocomplete="off" spellcheck="false" aria-invalid=invalid(Field::Workdir) bind:value=form.workdir/>
                            <p class="field-error" id=Field::Workdir.error_id() role="alert">{error_of(Field::Workdir)}</p>
                        </div>
                        <div class="field">
                            <label for="run-user">"User"</label>
                            <input id="run-user" class="input mono" type="text" placeholder="uid[:gid] or name" autocomplete="off" spellcheck="false" bind:value=form.user/>
                            <p class="field-error" id=Field::User.error_id() role="alert">{error_of(Field::User)}</p>
                        </div>
                        <div class="field">
                            <label for="run-hostname">"Hostname"</label>
                            <input id="run-hostname" class="input mono" type="text" autocomplete="off" spellcheck="false" bind:value=form.hostname/>
                            <p class="field-error" id=Field::Hostname.error_id() role="alert">{error_of(Field::Hostname)}</p>
                        </div>
                        <div class="field">
                            <label for="run-memory">"Memory limit"</label>
                            <input id="run-memory" class="input mono" type="text" placeholder="e.g. 512m or 1g" autocomplete="off" spellcheck="false" aria-invalid=invalid(Field::Memory) bind:value=form.memory/>
                            <p class="field-error" id=Field::Memory.error_id() role="alert">{error_of(Field::Memory)}</p>
                        </div>
                        <div class="field">
                            <label for="run-cpus">"CPUs"</label>
                            <input id="run-cpus" class="input mono" type="text" inputmode="decimal" placeholder="e.g. 1.5" autocomplete="off" aria-invalid=invalid(Field::Cpus) bind:value=form.cpus/>
                            <p class="field-error" id=Field::Cpus.error_id() role="alert">{error_of(Field::Cpus)}</p>
                        </div>
                        <div class="field">
                            <label for="run-gpus">"GPUs"</label>
                            <div class="inline-fields">
                                <select id="run-gpus" class="select" bind:value=form.gpus>
                                    {[("none", "None"), ("all", "All"), ("count", "A number of GPUs")].into_iter().map(|(value, label)| view! {
                                        <option value=value selected=move || form.gpus.get() == value>{label}</option>
                                    }).collect_view()}
                                </select>
                                <Show when=move || form.gpus.get() == "count">
                                    <label class="sr-only" for="run-gpu-count">"GPU count"</label>
                                    <input id="run-gpu-count" class="input input-narrow" type="number" min="1" bind:value=form.gpu_count/>
                                </Show>
                            </div>
                            <p class="field-error" id=Field::Gpus.error_id() role="alert">{error_of(Field::Gpus)}</p>
                            {refusal_of(Field::Gpus)}
                        </div>
                    </div>
                    <KvRows
                        form=form
                        rows=form.labels
                        errors=errors
                        field=Field::Labels
                        title="Labels"
                        noun="label"
                        key_label="Label key"
                        value_label="Label value"
                    />
                    <div class="checks">
                        <label class="check">
                            <input type="checkbox" bind:checked=form.tty/>
                            <span>"TTY"</span>
                        </label>
                        <label class="check">
                            <input type="checkbox" bind:checked=form.interactive/>
                            <span>"Interactive"</span>
                        </label>
                        <label class="check">
                            <input type="checkbox" bind:checked=form.auto_remove/>
                            <span>"Auto-remove"</span>
                        </label>
                    </div>
                    <p class="field-hint">"TTY allocates a terminal (-t), Interactive keeps stdin open (-i), Auto-remove deletes the container when it exits (--rm)."</p>
                </details>

                {move || error_of(Field::Form)().map(|e| view! { <div class="form-error" id=Field::Form.error_id() role="alert">{e}</div> })}
                {move || {
                    let all = refusals.get();
                    (!all.is_empty()).then(|| view! {
                        <div class="banner banner-warning refusals" role="region" aria-label="Policy refusals">
                            {Icon::Alert.view()}
                            <div class="banner-text">
                                <strong>"This endpoint's policy would refuse this container"</strong>
                                <ul>
                                    {all.into_iter().map(|r| {
                                        let field = if r.field.is_empty() { String::new() } else { format!("{}: ", r.field) };
                                        view! { <li><span class="mono">{field}</span>{r.message}</li> }
                                    }).collect_view()}
                                </ul>
                                <p>"Change the marked settings, or ask an admin to allow them in the endpoint's settings."</p>
                            </div>
                        </div>
                    })
                }}
                <div class="form-actions">
                    <label class="check">
                        <input type="checkbox" bind:checked=form.start/>
                        <span>"Start now"</span>
                    </label>
                    <span class="spacer"></span>
                    <a class="btn" href=move || endpoint_path(&ep.get(), "containers")>"Cancel"</a>
                    <button type="submit" class="btn btn-primary" disabled=busy class:is-loading=busy>
                        {move || if busy.get() { Icon::Refresh.view().into_any() } else { Icon::Play.view().into_any() }}
                        <span>{submit_label}</span>
                    </button>
                </div>
            </form>
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>{heading}</h1>
                    <p class="page-sub">"Everything docker run does, as a form. Paste a docker run line to fill it."</p>
                </div>
            </div>
            {move || match source.get() {
                None => view! { <Loading what="the container's settings"/> }.into_any(),
                Some(Err(error)) => view! {
                    <LoadError error=error endpoint=ep.get() what="the container's settings" on_retry=move |()| load_source()/>
                }
                .into_any(),
                Some(Ok(())) => view! {
                    <div class="run-layout">
                        <div class="run-main">{form_view()}</div>
                        <aside class="run-side">
                            <PasteCommand form=form errors=errors advanced=advanced/>
                            <RunLine preview=preview/>
                        </aside>
                    </div>
                }
                .into_any(),
            }}
        </div>
    }
}

/// Moves focus to the first field with an error, so it is seen and read.
fn focus_error(field: Field) {
    let target = match field {
        Field::Image => "run-image",
        Field::Name => "run-name",
        Field::Command => "run-command",
        Field::Entrypoint => "run-entrypoint",
        Field::Workdir => "run-workdir",
        Field::Memory => "run-memory",
        Field::Cpus => "run-cpus",
        Field::Gpus => "run-gpus",
        Field::Network => "run-network",
        Field::Restart => "run-restart",
        other => other.error_id(),
    };
    // After the error renders.
    request_animation_frame(move || {
        if let Some(el) = document().get_element_by_id(target) {
            use wasm_bindgen::JsCast;
            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                if !target.ends_with("-error") {
                    let _ = el.focus();
                }
                el.scroll_into_view_with_bool(false);
            }
        }
    });
}

/// Environment rows plus a box to paste `.env` lines into.
#[component]
fn EnvSection(form: Form, errors: RwSignal<Errors>) -> impl IntoView {
    let paste = RwSignal::new(String::new());
    let paste_error = RwSignal::new(None::<String>);
    let add = move |_| match parse_env_lines(&paste.get_untracked()) {
        Ok(pairs) if pairs.is_empty() => {
            paste_error.set(Some("No KEY=value lines found".into()));
        }
        Ok(pairs) => {
            form.merge_env(pairs);
            paste.set(String::new());
            paste_error.set(None);
        }
        Err(e) => paste_error.set(Some(e)),
    };
    view! {
        <section class="card form-section">
            <KvRows
                form=form
                rows=form.env
                errors=errors
                field=Field::Env
                title="Environment"
                noun="variable"
                key_label="Variable name"
                value_label="Variable value"
            />
            <details class="paste-env">
                <summary>"Paste .env lines"</summary>
                <div class="field">
                    <label for="run-env-paste">"Paste .env"</label>
                    <textarea
                        id="run-env-paste"
                        class="input textarea mono"
                        rows="4"
                        spellcheck="false"
                        placeholder="KEY=value, one a line; # comments and blank lines are skipped"
                        aria-describedby="run-env-paste-error"
                        bind:value=paste
                    ></textarea>
                    <p class="field-error" id="run-env-paste-error" role="alert">{move || paste_error.get()}</p>
                    <div>
                        <button type="button" class="btn btn-sm" on:click=add>"Add variables"</button>
                    </div>
                </div>
            </details>
        </section>
    }
}

/// Key/value rows with add and remove (environment, labels).
#[component]
fn KvRows(
    form: Form,
    rows: RwSignal<Vec<KvRow>>,
    errors: RwSignal<Errors>,
    field: Field,
    title: &'static str,
    noun: &'static str,
    key_label: &'static str,
    value_label: &'static str,
) -> impl IntoView {
    let title_id = format!("run-{noun}-title");
    let labelled_by = title_id.clone();
    let key_placeholder = if noun == "label" {
        "com.example.role"
    } else {
        "KEY"
    };
    view! {
        <div class="kv-rows" role="group" aria-labelledby=labelled_by>
            <div class="card-head">
                <h3 class="card-title" id=title_id>{title}</h3>
                <button type="button" class="btn btn-sm" on:click=move |_| {
                    let row = form.kv("", "");
                    rows.update(|r| r.push(row));
                }>
                    {Icon::Plus.view()}
                    <span>{format!("Add {noun}")}</span>
                </button>
            </div>
            <div class="rows">
                <For each=move || rows.get() key=|r| r.id let(row)>
                    {
                        let index = move || rows.with(|list| list.iter().position(|r| r.id == row.id).unwrap_or(0) + 1);
                        view! {
                            <div class="row-fields rows-kv" role="group" aria-label=move || format!("{} {}", capitalise(noun), index())>
                                <input class="input mono" type="text" aria-label=key_label placeholder=key_placeholder autocomplete="off" spellcheck="false" bind:value=row.key/>
                                <input class="input mono" type="text" aria-label=value_label placeholder="value" autocomplete="off" spellcheck="false" bind:value=row.value/>
                                <button type="button" class="btn-icon btn-icon-danger" aria-label=move || format!("Remove {noun} {}", index()) title="Remove" on:click=move |_| rows.update(|list| list.retain(|r| r.id != row.id))>
                                    {Icon::Trash.view()}
                                </button>
                            </div>
                        }
                    }
                </For>
            </div>
            <p class="field-error" id=field.error_id() role="alert">{move || errors.with(|e| e.get(&field).cloned())}</p>
        </div>
    }
}

/// "Paste a docker run command": parsed here, in the browser, and put into
/// the form; errors name the flag.
#[component]
fn PasteCommand(
    form: Form,
    errors: RwSignal<Errors>,
    advanced: NodeRef<html::Details>,
) -> impl IntoView {
    let app = use_app();
    let line = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let fill = move |_| match parse_run_command(&line.get_untracked()) {
        Ok(spec) => {
            let start = form.start.get_untracked();
            form.fill(&spec);
            form.start.set(start);
            if form.advanced_used() {
                if let Some(details) = advanced.get_untracked() {
                    let _ = details.set_attribute("open", "");
                }
            }
            error.set(None);
            errors.set(Errors::new());
            app.toasts
                .success("Filled the form from the docker run line");
        }
        Err(e) => error.set(Some(e.message)),
    };
    view! {
        <section class="card">
            <div class="field">
                <label for="run-paste">"Paste a docker run command"</label>
                <textarea
                    id="run-paste"
                    class="input textarea mono"
                    rows="5"
                    spellcheck="false"
                    placeholder="docker run -d --name web -p 8080:80 nginx:alpine"
                    aria-invalid=move || error.with(Option::is_some).then_some("true")
                    aria-describedby="run-paste-error"
                    bind:value=line
                ></textarea>
                <p class="field-error" id="run-paste-error" role="alert">{move || error.get()}</p>
                <div>
                    <button type="button" class="btn" on:click=fill>"Fill form"</button>
                </div>
            </div>
        </section>
    }
}

/// The form as a `docker run` line, to copy.
#[component]
fn RunLine(preview: Memo<Result<String, Errors>>) -> impl IntoView {
    let toasts = use_app().toasts;
    let copy = move |_| {
        if let Ok(line) = preview.get_untracked() {
            if copy_text(&line) {
                toasts.success("Copied the docker run line");
            } else {
                toasts.error("Could not copy: select the line and copy it by hand");
            }
        }
    };
    view! {
        <section class="card">
            <div class="field">
                <label for="run-line">"As a docker run command"</label>
                <textarea
                    id="run-line"
                    class="input textarea mono run-line"
                    rows="5"
                    readonly
                    prop:value=move || preview.get().unwrap_or_default()
                    placeholder="Fill in the image to see the command"
                ></textarea>
                <p class="field-hint">
                    {move || match preview.get() {
                        Ok(_) => "The same container, from a shell.".to_owned(),
                        Err(errors) => errors
                            .values()
                            .next()
                            .cloned()
                            .unwrap_or_default(),
                    }}
                </p>
                <div>
                    <button type="button" class="btn" disabled=move || preview.with(Result::is_err) on:click=copy>
                        {Icon::Copy.view()}
                        <span>"Copy as docker run"</span>
                    </button>
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_lands_on_its_field() {
        assert_eq!(spec_field("mounts[0].source"), Field::Mounts);
        assert_eq!(spec_field("mounts"), Field::Mounts);
        assert_eq!(spec_field("network"), Field::Network);
        assert_eq!(spec_field("device_requests[1]"), Field::Gpus);
        assert_eq!(spec_field("privileged"), Field::Form);
        assert_eq!(spec_field(""), Field::Form);
    }

    #[test]
    fn a_policy_refusal_is_shown_at_the_field_it_names() {
        let at = |d: &str| refused_field(d);
        assert_eq!(
            at("`mounts`: binds the host path / at /host; your role may not ask that of this host"),
            Field::Mounts
        );
        assert_eq!(
            at("`network`: shares the host's network namespace"),
            Field::Network
        );
        assert_eq!(
            at("`device_requests`: requests devices from nvidia"),
            Field::Gpus
        );
        // No control for it here: above the submit button, never a port or
        // image field by a word in the value.
        assert_eq!(
            at("`sysctls`: sets the kernel parameter net.ipv4.ip_unprivileged_port_start=0"),
            Field::Form
        );
        assert_eq!(at("`privileged`: runs with every capability"), Field::Form);
        assert_eq!(at("not allowed by the image policy"), Field::Form);
    }
}
