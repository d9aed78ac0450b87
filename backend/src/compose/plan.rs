//! What `up` would do: compare what the file wants with what the engine
//! has, object by object, and say why anything must be recreated.

use std::collections::BTreeMap;

use protocol::{
    ContainerSpec, ContainerState, MountKind, PlanAction, PlanStep, PortSpec, StackPlan,
};

use super::model::ComposeFile;
use super::spec::{self, desired, Context, Desired, HEALTHCHECK_LABEL, OPTIONS_LABEL};
use crate::engine::{
    Engine, EngineError, EngineResult, ProjectContainer, ProjectState, HASH_LABEL,
};

/// A planned change to a container, with what it needs to be carried out.
#[derive(Debug, Clone)]
pub enum ContainerChange {
    Create(Desired),
    Recreate {
        old: ProjectContainer,
        want: Desired,
        reasons: Vec<String>,
    },
    Start {
        old: ProjectContainer,
        want: Desired,
    },
    Keep {
        old: ProjectContainer,
        want: Desired,
    },
    Remove(ProjectContainer),
}

#[derive(Debug, Clone, Default)]
pub struct FullPlan {
    pub networks_to_create: Vec<(String, String, bool)>,
    pub volumes_to_create: Vec<(String, String, Option<String>)>,
    /// Per service in start order.
    pub services: Vec<(String, Vec<ContainerChange>)>,
    pub orphans: Vec<ProjectContainer>,
    /// The file's warnings, shown with the plan.
    pub warnings: Vec<protocol::ComposeIssue>,
}

impl FullPlan {
    pub fn summary(&self) -> StackPlan {
        let mut steps = Vec::new();
        for (name, _, _) in &self.networks_to_create {
            steps.push(step(PlanAction::Create, "network", name, None, Vec::new()));
        }
        for (name, _, _) in &self.volumes_to_create {
            steps.push(step(PlanAction::Create, "volume", name, None, Vec::new()));
        }
        for (service, changes) in &self.services {
            for c in changes {
                let s = Some(service.clone());
                steps.push(match c {
                    ContainerChange::Create(d) => {
                        step(PlanAction::Create, "container", &d.name, s, Vec::new())
                    }
                    ContainerChange::Recreate { old, reasons, .. } => step(
                        PlanAction::Recreate,
                        "container",
                        &old.name,
                        s,
                        reasons.clone(),
                    ),
                    ContainerChange::Start { old, .. } => {
                        step(PlanAction::Start, "container", &old.name, s, Vec::new())
                    }
                    ContainerChange::Keep { old, .. } => {
                        step(PlanAction::Keep, "container", &old.name, s, Vec::new())
                    }
                    ContainerChange::Remove(old) => step(
                        PlanAction::Remove,
                        "container",
                        &old.name,
                        s,
                        vec!["scaled down".into()],
                    ),
                });
            }
        }
        for o in &self.orphans {
            steps.push(step(
                PlanAction::Remove,
                "container",
                &o.name,
                Some(o.service.clone()),
                vec!["orphan: its service is no longer in the file".into()],
            ));
        }
        let unchanged = steps.iter().all(|s| s.action == PlanAction::Keep);
        StackPlan {
            steps,
            unchanged,
            warnings: self.warnings.clone(),
        }
    }
}

fn step(
    action: PlanAction,
    kind: &str,
    name: &str,
    service: Option<String>,
    reasons: Vec<String>,
) -> PlanStep {
    PlanStep {
        action,
        kind: kind.into(),
        name: name.into(),
        service,
        reasons,
    }
}

/// The services to run, in start order, with COMPOSE_PROFILES applied and
/// `only` (plus what they depend on) when given.
pub fn active_services(file: &ComposeFile, profiles: &[String], only: &[String]) -> Vec<String> {
    let mut wanted: Vec<String> = if only.is_empty() {
        file.services
            .values()
            .filter(|s| spec::enabled(s, profiles))
            .map(|s| s.name.clone())
            .collect()
    } else {
        let mut set = Vec::new();
        let mut stack: Vec<String> = only.to_vec();
        while let Some(name) = stack.pop() {
            if set.contains(&name) {
                continue;
            }
            if let Some(s) = file.services.get(&name) {
                stack.extend(s.depends_on.keys().cloned());
                set.push(name);
            }
        }
        set
    };
    let order = file.start_order();
    wanted.sort_by_key(|n| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
    wanted
}

pub async fn plan(
    engine: &Engine,
    ctx: &Context<'_>,
    services: &[String],
    remove_orphans: bool,
) -> EngineResult<FullPlan> {
    let state: ProjectState = engine.project_state(ctx.project).await?;
    let mut plan = FullPlan {
        warnings: ctx.file.warnings.clone(),
        ..FullPlan::default()
    };

    // Networks and volumes the active services use.
    let mut network_keys: Vec<String> = Vec::new();
    let mut volume_keys: Vec<String> = Vec::new();
    for name in services {
        let Some(s) = ctx.file.services.get(name) else {
            continue;
        };
        if s.network_mode.is_none() {
            if s.networks.is_empty() {
                network_keys.push("default".into());
            }
            network_keys.extend(s.networks.keys().cloned());
        }
        volume_keys.extend(
            s.volumes
                .iter()
                .filter(|v| v.kind == MountKind::Volume)
                .map(|v| v.source.clone()),
        );
    }
    network_keys.sort();
    network_keys.dedup();
    volume_keys.sort();
    volume_keys.dedup();
    for key in network_keys {
        let def = ctx.file.networks.get(&key).cloned().unwrap_or_default();
        let name = spec::network_name(ctx.project, ctx.file, &key);
        let exists = state.networks.contains_key(&name) || engine.network_exists(&name).await?;
        if def.external {
            if !exists {
                return Err(EngineError::NotFound(format!(
                    "external network {name} does not exist; create it first"
                )));
            }
        } else if !exists {
            plan.networks_to_create.push((name, key, def.internal));
        }
    }
    for key in volume_keys {
        let def = ctx.file.volumes.get(&key).cloned().unwrap_or_default();
        let name = spec::volume_name(ctx.project, ctx.file, &key);
        let exists = state.volumes.contains(&name) || engine.volume_exists(&name).await?;
        if def.external {
            if !exists {
                return Err(EngineError::NotFound(format!(
                    "external volume {name} does not exist; create it first"
                )));
            }
        } else if !exists {
            plan.volumes_to_create.push((name, key, def.driver.clone()));
        }
    }

    for name in services {
        let Some(service) = ctx.file.services.get(name) else {
            continue;
        };
        let mut changes = Vec::new();
        // What this engine cannot carry (its API version), said before `up`.
        if service.replicas > 0 {
            let first = desired(ctx, service, 1);
            for w in engine.create_warnings(&first.spec).await? {
                plan.warnings.push(protocol::ComposeIssue {
                    line: 0,
                    column: 0,
                    message: format!("service `{name}`: {w}"),
                });
            }
        }
        let existing: Vec<&ProjectContainer> = state
            .containers
            .iter()
            .filter(|c| &c.service == name)
            .collect();
        for number in 1..=service.replicas {
            let want = desired(ctx, service, number);
            let old = existing.iter().find(|c| c.number == number).or_else(|| {
                // A container named as wanted but numbered otherwise (another tool's).
                existing.iter().find(|c| c.name == want.name)
            });
            let change = match old {
                None => ContainerChange::Create(want),
                Some(old) => {
                    let old = (*old).clone();
                    let running = matches!(
                        old.state,
                        ContainerState::Running
                            | ContainerState::Restarting
                            | ContainerState::Paused
                    );
                    // A rebuilt or newly pulled image under the same name
                    // counts, as it does for compose.
                    let running_image = engine
                        .inspect_container(&old.id)
                        .await
                        .map(|d| d.image_id)
                        .unwrap_or_default();
                    let current_image = engine.image_id(&want.spec.image).await;
                    let image_moved = current_image.is_some_and(|id| id != running_image);
                    let mut reasons = if old.labels.get(HASH_LABEL) == Some(&want.hash) {
                        Vec::new()
                    } else {
                        differences(engine, &old, &want).await?
                    };
                    if image_moved && !reasons.iter().any(|r| r == "image") {
                        reasons.insert(0, "image".to_string());
                    }
                    if !reasons.is_empty() {
                        ContainerChange::Recreate { old, want, reasons }
                    } else if running {
                        ContainerChange::Keep { old, want }
                    } else {
                        ContainerChange::Start { old, want }
                    }
                }
            };
            changes.push(change);
        }
        for extra in existing.iter().filter(|c| c.number > service.replicas) {
            changes.push(ContainerChange::Remove((*extra).clone()));
        }
        plan.services.push((name.clone(), changes));
    }
    if remove_orphans {
        plan.orphans = state
            .containers
            .iter()
            .filter(|c| !ctx.file.services.contains_key(&c.service))
            .cloned()
            .collect();
    }
    Ok(plan)
}

/// Why an existing container does not match what the file wants. Reads the
/// container itself, so it also works for containers made by another tool.
async fn differences(
    engine: &Engine,
    old: &ProjectContainer,
    want: &Desired,
) -> EngineResult<Vec<String>> {
    let have: ContainerSpec = engine.container_spec(&old.id).await?;
    let w = &want.spec;
    let mut reasons = Vec::new();
    if have.image != w.image {
        reasons.push("image".to_string());
    }
    // The container's command/entrypoint read back as None when they are the image's.
    let image_env = engine.image_env(&w.image).await;
    if w.cmd.is_some() && have.cmd != w.cmd || w.cmd.is_none() && have.cmd.is_some() {
        reasons.push("command".into());
    }
    if w.entrypoint.is_some() && have.entrypoint != w.entrypoint
        || w.entrypoint.is_none() && have.entrypoint.is_some()
    {
        reasons.push("entrypoint".into());
    }
    let want_env: BTreeMap<String, String> = w
        .env
        .iter()
        .filter(|(k, v)| !image_env.contains(&format!("{k}={v}")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if want_env != have.env {
        reasons.push("environment".into());
    }
    if normalized_ports(&have.ports) != normalized_ports(&w.ports) {
        reasons.push("ports".into());
    }
    let mounts = |m: &[protocol::MountSpec]| {
        let mut v: Vec<(String, String, String, bool)> = m
            .iter()
            .map(|m| {
                (
                    format!("{:?}", m.kind),
                    if m.kind == MountKind::Anonymous {
                        String::new()
                    } else {
                        m.source.clone()
                    },
                    m.target.clone(),
                    m.read_only,
                )
            })
            .collect();
        v.sort();
        v
    };
    if mounts(&have.mounts) != mounts(&w.mounts) {
        reasons.push("volumes".into());
    }
    if have.network != w.network.clone().filter(|n| n != "bridge") {
        reasons.push("networks".into());
    }
    if have.restart != w.restart.clone().filter(|r| r != "no") {
        reasons.push("restart".into());
    }
    if spec::user_labels(&have.labels) != spec::user_labels(&w.labels) {
        reasons.push("labels".into());
    }
    if old.labels.get(HEALTHCHECK_LABEL) != w.labels.get(HEALTHCHECK_LABEL)
        && old.labels.contains_key(HASH_LABEL)
    {
        reasons.push("healthcheck".into());
    }
    if have.workdir != w.workdir {
        reasons.push("working_dir".into());
    }
    if have.user != w.user {
        reasons.push("user".into());
    }
    if w.hostname.is_some() && have.hostname != w.hostname {
        reasons.push("hostname".into());
    }
    if have.memory_bytes != w.memory_bytes || have.nano_cpus != w.nano_cpus {
        reasons.push("resources".into());
    }
    for key in option_differences(old, &have.options, w) {
        if !reasons.contains(&key) {
            reasons.push(key);
        }
    }
    Ok(reasons)
}

/// The compose keys whose options differ. A container berth made carries
/// a hash per option (`berth.options`); one without it (the compose CLI's,
/// or berth's from before options) is read back, and only the options the file sets are compared, since the
/// engine reports its defaults for the rest.
fn option_differences(
    old: &ProjectContainer,
    have: &protocol::ContainerOptions,
    want: &ContainerSpec,
) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut add = |field: &str| {
        let key = compose_key(field).to_string();
        if !keys.contains(&key) {
            keys.push(key);
        }
    };
    if old.labels.contains_key(OPTIONS_LABEL) {
        let parse = |text: Option<&String>| -> BTreeMap<String, String> {
            text.map(|t| {
                t.split(',')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
        };
        let was = parse(old.labels.get(OPTIONS_LABEL));
        let now = parse(want.labels.get(OPTIONS_LABEL));
        for field in was.keys().chain(now.keys()) {
            if was.get(field) != now.get(field) {
                add(field);
            }
        }
        // A secret's content changed: only the keyed digest tells.
        if old.labels.get(spec::FILES_LABEL) != want.labels.get(spec::FILES_LABEL) {
            add("files");
        }
    } else {
        let (Ok(serde_json::Value::Object(have)), Ok(serde_json::Value::Object(wanted))) = (
            serde_json::to_value(have),
            serde_json::to_value(&want.options),
        ) else {
            return keys;
        };
        for (field, value) in &wanted {
            // Files are written into the container, not read back.
            if field != "files" && have.get(field) != Some(value) {
                add(field);
            }
        }
    }
    keys
}

/// The compose key a [`protocol::ContainerOptions`] field comes from.
fn compose_key(field: &str) -> &str {
    match field {
        "cgroupns" => "cgroup",
        "stop_timeout" => "stop_grace_period",
        "log_driver" | "log_opts" => "logging",
        "cpuset_cpus" | "cpuset_mems" => "cpuset",
        "memory_reservation" => "mem_reservation",
        "memory_swap" => "memswap_limit",
        "memory_swappiness" => "mem_swappiness",
        "device_requests" => "gpus",
        "files" => "secrets/configs",
        "ipv4_address" | "ipv6_address" => "networks",
        f if f.starts_with("blkio_")
            || f.starts_with("device_read_")
            || f.starts_with("device_write_") =>
        {
            "blkio_config"
        }
        f => f,
    }
}

/// A port as compared: host IP ("" for all), host port, range end, container port, protocol.
type PortKey = (String, Option<u16>, Option<u16>, u16, String);

fn normalized_ports(ports: &[PortSpec]) -> Vec<PortKey> {
    let mut v: Vec<_> = ports
        .iter()
        .map(|p| {
            let ip = p
                .host_ip
                .clone()
                .filter(|ip| !ip.is_empty() && ip != "0.0.0.0")
                .unwrap_or_default();
            (
                ip,
                p.host_port,
                p.host_port_end.filter(|e| Some(*e) != p.host_port),
                p.container_port,
                p.protocol.clone(),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ContainerOptions;

    fn container(labels: &[(&str, &str)]) -> ProjectContainer {
        ProjectContainer {
            id: "id".into(),
            name: "demo-a-1".into(),
            service: "a".into(),
            number: 1,
            state: ContainerState::Running,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn wanted(options: ContainerOptions) -> ContainerSpec {
        let label = spec::options_label(&options);
        ContainerSpec {
            image: "x".into(),
            labels: [(OPTIONS_LABEL.to_string(), label)].into(),
            options,
            ..Default::default()
        }
    }

    #[test]
    fn a_changed_option_is_named_by_its_compose_key() {
        let before = ContainerOptions {
            cap_add: vec!["NET_ADMIN".into()],
            log_driver: Some("local".into()),
            ..Default::default()
        };
        let old = container(&[(OPTIONS_LABEL, &spec::options_label(&before))]);
        let after = ContainerOptions {
            cap_add: vec!["NET_ADMIN".into()],
            log_driver: Some("json-file".into()),
            stop_timeout: Some(30),
            ..Default::default()
        };
        let reasons = option_differences(&old, &ContainerOptions::default(), &wanted(after));
        assert_eq!(reasons, ["logging", "stop_grace_period"]);
        // Dropping an option is a change too.
        let reasons = option_differences(&old, &before, &wanted(ContainerOptions::default()));
        assert_eq!(reasons, ["cap_add", "logging"]);
    }

    #[test]
    fn a_container_without_the_label_is_compared_on_what_the_file_sets() {
        let old = container(&[(HASH_LABEL, "cli")]);
        let have = ContainerOptions {
            cap_add: vec!["NET_ADMIN".into()],
            // The engine reports its defaults for what the file leaves out.
            shm_size: Some(64 << 20),
            ..Default::default()
        };
        let same = ContainerOptions {
            cap_add: vec!["NET_ADMIN".into()],
            ..Default::default()
        };
        assert!(option_differences(&old, &have, &wanted(same)).is_empty());
        let more = ContainerOptions {
            cap_add: vec!["NET_ADMIN".into()],
            memory_swappiness: Some(10),
            ..Default::default()
        };
        assert_eq!(
            option_differences(&old, &have, &wanted(more)),
            ["mem_swappiness"]
        );
    }
}
