//! From a compose service to the containers it wants, named and labelled
//! the way `docker compose` does it.

use std::collections::BTreeMap;

use protocol::{ContainerSpec, MountKind, MountSpec, COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL};
use sha2::{Digest, Sha256};

use super::model::{ComposeFile, NetworkAttachment, Service};
use crate::engine::{
    CreateExtras, HealthSpec, CONFIG_FILES_LABEL, HASH_LABEL, NUMBER_LABEL, ONEOFF_LABEL,
    WORKING_DIR_LABEL,
};

/// Marks the healthcheck a container was made with, so a change to it alone
/// is seen as a reason to recreate.
pub const HEALTHCHECK_LABEL: &str = "berth.healthcheck";

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
    service
        .networks
        .iter()
        .map(|(key, aliases)| {
            // Every container answers to its service name, as in compose.
            let mut all = vec![service.name.clone()];
            all.extend(aliases.iter().cloned());
            (network_name(project, file, key), all)
        })
        .collect()
}

pub struct Context<'a> {
    pub project: &'a str,
    pub file: &'a ComposeFile,
    pub working_dir: &'a str,
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
            .clone()
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
        options: Default::default(),
    };
    let healthcheck = service.healthcheck.as_ref().map(health_spec);
    let health_text = service
        .healthcheck
        .as_ref()
        .map(|h| format!("{h:?}"))
        .unwrap_or_default();
    let hash = {
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&spec_without_labels).unwrap_or_default());
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
