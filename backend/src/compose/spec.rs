//! From a compose service to the containers it wants, named and labelled
//! the way `docker compose` does it.

use std::collections::BTreeMap;

use protocol::{
    ContainerOptions, ContainerSpec, MountKind, MountSpec, COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
};
use sha2::{Digest, Sha256};

use super::model::{ComposeFile, NetworkAttachment, Service};
use crate::engine::{
    CreateExtras, HealthSpec, CONFIG_FILES_LABEL, HASH_LABEL, NUMBER_LABEL, ONEOFF_LABEL,
    WORKING_DIR_LABEL,
};

/// Marks the healthcheck a container was made with, so a change to it alone
/// is seen as a reason to recreate.
pub const HEALTHCHECK_LABEL: &str = "berth.healthcheck";

/// A short hash per option a container was made with (`cap_add=1a2b3c4d,...`),
/// so the plan can name the key that changed.
pub const OPTIONS_LABEL: &str = "berth.options";

/// One container a service wants.
#[derive(Debug, Clone)]
pub struct Desired {
    pub service: String,
    pub number: u32,
    pub name: String,
    pub spec: ContainerSpec,
    pub extras: CreateExtras,
    pub hash: String,
}

pub fn default_network(project: &str) -> String {
    format!("{project}_default")
}

pub fn network_name(project: &str, file: &ComposeFile, key: &str) -> String {
    match file.networks.get(key).and_then(|n| n.name.clone()) {
        Some(name) => name,
        None if key == "default" => default_network(project),
        None => format!("{project}_{key}"),
    }
}

pub fn volume_name(project: &str, file: &ComposeFile, key: &str) -> String {
    match file.volumes.get(key).and_then(|v| v.name.clone()) {
        Some(name) => name,
        None => format!("{project}_{key}"),
    }
}

/// The image a service runs: its own, or the one `build` makes.
pub fn image_of(project: &str, service: &Service) -> String {
    service
        .image
        .clone()
        .unwrap_or_else(|| format!("{project}-{}", service.name))
}

/// The networks a service joins, as (engine name, aliases); the first is
/// its primary network.
pub fn service_networks(
    project: &str,
    file: &ComposeFile,
    service: &Service,
) -> Vec<(String, Vec<String>)> {
    if service.network_mode.is_some() {
        return Vec::new();
    }
    if service.networks.is_empty() {
        return vec![(default_network(project), vec![service.name.clone()])];
    }
    let primary = primary_network(&service.networks, &service.network_options);
    let mut keys: Vec<&String> = service.networks.keys().collect();
    keys.sort_by_key(|k| Some(*k) != primary.as_ref());
    keys.into_iter()
        .map(|key| {
            // Every container answers to its service name, as in compose.
            let mut all = vec![service.name.clone()];
            all.extend(service.networks[key].iter().cloned());
            (network_name(project, file, key), all)
        })
        .collect()
}

/// The container that `service:<name>` stands for: that service's first.
pub fn first_container(project: &str, file: &ComposeFile, service: &str) -> String {
    file.services
        .get(service)
        .and_then(|s| s.container_name.clone())
        .unwrap_or_else(|| format!("{project}-{service}-1"))
}

/// `service:<name>...` -> `<prefix><container>...`; anything else as it is.
fn resolve(ctx: &Context<'_>, value: &str, prefix: &str) -> String {
    match value.strip_prefix("service:") {
        Some(rest) => {
            let (name, tail) = match rest.split_once(':') {
                Some((n, t)) => (n, format!(":{t}")),
                None => (rest, String::new()),
            };
            format!(
                "{prefix}{}{tail}",
                first_container(ctx.project, ctx.file, name)
            )
        }
        None => value.to_string(),
    }
}

/// The service's options as the engine takes them: other services named by
/// their first container, and the primary network's fixed addresses.
fn engine_options(ctx: &Context<'_>, service: &Service) -> ContainerOptions {
    let mut o = service.options.clone();
    o.volumes_from = o
        .volumes_from
        .iter()
        .map(|v| match v.strip_prefix("container:") {
            Some(c) => c.to_string(),
            None => resolve(ctx, v, ""),
        })
        .collect();
    o.links = o.links.iter().map(|l| resolve(ctx, l, "")).collect();
    o.pid = o.pid.map(|p| resolve(ctx, &p, "container:"));
    o.ipc = o.ipc.map(|p| resolve(ctx, &p, "container:"));
    if service.network_mode.is_none() {
        let primary = primary_network(&service.networks, &service.network_options);
        if let Some(a) = primary.and_then(|p| service.network_options.get(&p)) {
            o.ipv4_address = a.ipv4_address.clone();
            o.ipv6_address = a.ipv6_address.clone();
            if o.mac_address.is_none() {
                o.mac_address = a.mac_address.clone();
            }
        }
    }
    o
}

/// `field=hash,...` for every option that is set, by field name.
pub fn options_label(options: &ContainerOptions) -> String {
    // Labels are readable by anyone who can inspect the container: a secret's
    // content stays out, its place and mode are enough to name the key.
    let mut options = options.clone();
    for f in &mut options.files {
        f.content.clear();
    }
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&options) else {
        return String::new();
    };
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", short_hash(&v.to_string())))
        .collect::<Vec<_>>()
        .join(",")
}

pub struct Context<'a> {
    pub project: &'a str,
    pub file: &'a ComposeFile,
    pub working_dir: &'a str,
    /// berth's secret key: secrets' and configs' contents are digested
    /// with it, so the labels anyone can inspect cannot be brute-forced
    /// back into a weak secret.
    pub files_key: &'a [u8],
}

/// Marks the secrets and configs a container was made with (a keyed
/// digest), so a changed secret alone is a reason to recreate.
pub const FILES_LABEL: &str = "berth.files";

/// HMAC-SHA256 of `parts` under `key`, hex.
pub fn keyed_digest(key: &[u8], parts: &[&[u8]]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update((p.len() as u64).to_be_bytes());
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The keyed digest of every file a spec writes into its container.
pub fn files_digest(key: &[u8], options: &ContainerOptions) -> String {
    if options.files.is_empty() {
        return String::new();
    }
    let meta: Vec<String> = options
        .files
        .iter()
        .map(|f| format!("{}:{}:{}:{:o}", f.target, f.uid, f.gid, f.mode))
        .collect();
    let mut parts: Vec<&[u8]> = Vec::new();
    for (m, f) in meta.iter().zip(&options.files) {
        parts.push(m.as_bytes());
        parts.push(&f.content);
    }
    keyed_digest(key, &parts)
}

pub fn desired(ctx: &Context<'_>, service: &Service, number: u32) -> Desired {
    let name = service
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-{number}", ctx.project, service.name));
    let mut networks = service_networks(ctx.project, ctx.file, service);
    let primary = if networks.is_empty() {
        None
    } else {
        Some(networks.remove(0))
    };
    let mounts = service
        .volumes
        .iter()
        .map(|v| MountSpec {
            kind: v.kind,
            source: match v.kind {
                MountKind::Volume => volume_name(ctx.project, ctx.file, &v.source),
                _ => v.source.clone(),
            },
            target: v.target.clone(),
            read_only: v.read_only,
        })
        .collect();
    let mut labels = service.labels.clone();
    let spec_without_labels = ContainerSpec {
        name: Some(name.clone()),
        image: image_of(ctx.project, service),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: service.environment.clone(),
        ports: service.ports.clone(),
        publish_all: false,
        mounts,
        network: service
            .network_mode
            .as_deref()
            .map(|m| resolve(ctx, m, "container:"))
            .or_else(|| primary.as_ref().map(|(n, _)| n.clone())),
        restart: service.restart.clone(),
        labels: labels.clone(),
        workdir: service.working_dir.clone(),
        user: service.user.clone(),
        hostname: service.hostname.clone(),
        memory_bytes: service.memory_bytes,
        nano_cpus: service.nano_cpus,
        gpus: None,
        tty: service.tty,
        interactive: service.stdin_open,
        auto_remove: false,
        start: true,
        options: engine_options(ctx, service),
    };
    let healthcheck = service.healthcheck.as_ref().map(health_spec);
    let health_text = service
        .healthcheck
        .as_ref()
        .map(|h| format!("{h:?}"))
        .unwrap_or_default();
    let files_digest = files_digest(ctx.files_key, &spec_without_labels.options);
    let hash = {
        // The contents of secrets go into the hash only as their keyed digest.
        let mut hashed = spec_without_labels.clone();
        for f in &mut hashed.options.files {
            f.content.clear();
        }
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&hashed).unwrap_or_default());
        hasher.update(files_digest.as_bytes());
        hasher.update(health_text.as_bytes());
        hasher.update(format!("{primary:?}{networks:?}").as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    labels.insert(COMPOSE_PROJECT_LABEL.into(), ctx.project.into());
    labels.insert(COMPOSE_SERVICE_LABEL.into(), service.name.clone());
    labels.insert(NUMBER_LABEL.into(), number.to_string());
    labels.insert(ONEOFF_LABEL.into(), "False".into());
    labels.insert(HASH_LABEL.into(), hash.clone());
    labels.insert(WORKING_DIR_LABEL.into(), ctx.working_dir.into());
    labels.insert(
        CONFIG_FILES_LABEL.into(),
        format!("{}/compose.yaml", ctx.working_dir),
    );
    if !health_text.is_empty() {
        labels.insert(HEALTHCHECK_LABEL.into(), short_hash(&health_text));
    }
    if !files_digest.is_empty() {
        labels.insert(FILES_LABEL.into(), files_digest);
    }
    // Always set, empty too: it tells berth's containers from the CLI's.
    labels.insert(
        OPTIONS_LABEL.into(),
        options_label(&spec_without_labels.options),
    );
    let spec = ContainerSpec {
        labels,
        ..spec_without_labels
    };
    let extras = CreateExtras {
        healthcheck,
        aliases: primary.map(|(_, a)| a).unwrap_or_default(),
        more_networks: networks,
    };
    Desired {
        service: service.name.clone(),
        number,
        name,
        spec,
        extras,
        hash,
    }
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn health_spec(h: &super::model::Healthcheck) -> HealthSpec {
    HealthSpec {
        test: h.test.clone(),
        interval_ns: h.interval_ns,
        timeout_ns: h.timeout_ns,
        retries: h.retries,
        start_period_ns: h.start_period_ns,
    }
}

/// Labels a user wrote, without the ones compose and berth add.
pub fn user_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| !k.starts_with("com.docker.compose.") && !k.starts_with("berth."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether a service runs with the profiles `COMPOSE_PROFILES` enables.
pub fn enabled(service: &Service, profiles: &[String]) -> bool {
    service.profiles.is_empty()
        || service
            .profiles
            .iter()
            .any(|p| profiles.contains(p) || profiles.iter().any(|q| q == "*"))
}

/// The network a service's container is created on: the highest
/// `priority`, then the first by name (as compose picks it).
pub fn primary_network(
    networks: &BTreeMap<String, Vec<String>>,
    attachments: &BTreeMap<String, NetworkAttachment>,
) -> Option<String> {
    let priority = |k: &String| attachments.get(k).map(|a| a.priority).unwrap_or(0);
    let mut best: Option<&String> = None;
    for key in networks.keys() {
        if best.is_none_or(|b| priority(key) > priority(b)) {
            best = Some(key);
        }
    }
    best.cloned()
}
