//! Running containers from a [`ContainerSpec`]: the checks `docker run` does
//! (and a few it doesn't, like port conflicts found before the engine is
//! asked), the create and start, and reading a spec back from a container
//! so it can be duplicated or edited.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, DeviceRequest, HostConfig, Mount, MountType, PortBinding as EngineBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, RenameContainerOptions,
    StopContainerOptions, UploadToContainerOptions,
};
use bollard::Docker;
use protocol::{
    ContainerSpec, ContainerState, CreatedContainer, GpuRequest, MountKind, MountSpec, PortSpec,
};

use super::{check_reference, Engine, EngineError, EngineResult};

// Declared here rather than in `engine/mod.rs` because it is the options
// half of running a container; it lives beside this file.
#[path = "options.rs"]
mod options;

pub use options::EngineDefaults;
use options::{apply_options, read_device_requests, read_options, validate_options, ApiVersion};

impl Engine {
    /// Creates (and, when asked, starts) a container. Nothing is left behind
    /// when a step fails: a container that was created but could not start
    /// is removed again, and the error says why.
    pub async fn run_container(&self, spec: &ContainerSpec) -> EngineResult<CreatedContainer> {
        self.run_container_with(spec, &CreateExtras::default())
            .await
    }

    /// What this engine would leave out of `spec` for want of API version
    /// (the warnings a create would answer), known before anything is made.
    pub async fn create_warnings(&self, spec: &ContainerSpec) -> EngineResult<Vec<String>> {
        let docker = self.docker().await?;
        let api = docker.client_version();
        Ok(to_create_body(spec, (api.major_version, api.minor_version)).1)
    }

    /// [`Engine::run_container`] with what compose adds: a healthcheck,
    /// aliases, and more than one network.
    pub async fn run_container_with(
        &self,
        spec: &ContainerSpec,
        extras: &CreateExtras,
    ) -> EngineResult<CreatedContainer> {
        validate(spec)?;
        self.check_port_conflicts(spec, None).await?;
        let docker = self.docker().await?;
        if let Err(e) = docker.inspect_image(&spec.image).await {
            return Err(match e {
                BollardError::DockerResponseServerError {
                    status_code: 404, ..
                } => EngineError::NotFound(format!(
                    "image {} is not on endpoint {}; pull or build it first",
                    spec.image, self.id
                )),
                e => self.fail(e, &format!("image {}", spec.image)).await,
            });
        }
        let api = docker.client_version();
        let options = CreateContainerOptions {
            name: spec.name.clone(),
            platform: spec.options.platform.clone().unwrap_or_default(),
        };
        let (mut body, mut warnings) = to_create_body(spec, (api.major_version, api.minor_version));
        apply_extras(&mut body, spec, extras);
        let created = match docker.create_container(Some(options), body).await {
            Ok(c) => c,
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => {
                return Err(EngineError::Conflict(format!(
                    "the name {} is already taken by another container",
                    spec.name.as_deref().unwrap_or("")
                )))
            }
            Err(e) => return Err(self.fail(e, "new container").await),
        };
        let name = match &spec.name {
            Some(n) => n.clone(),
            None => self
                .inspect_container(&created.id)
                .await
                .map(|d| d.name)
                .unwrap_or_default(),
        };
        for join in &extras.more_networks {
            let connect = bollard::models::NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(join.endpoint()),
            };
            if let Err(e) = docker.connect_network(&join.network, connect).await {
                let reason = self.fail(e, &format!("network {}", join.network)).await;
                remove_quietly(&docker, &created.id).await;
                return Err(reason);
            }
        }
        if let Err(reason) = self.write_files(&docker, &created.id, spec).await {
            remove_quietly(&docker, &created.id).await;
            return Err(reason);
        }
        if spec.start {
            if let Err(e) = docker.start_container(&created.id, None).await {
                let reason = self.start_failure(e, &name).await;
                remove_quietly(&docker, &created.id).await;
                return Err(reason);
            }
        }
        warnings.extend(created.warnings);
        Ok(CreatedContainer {
            id: created.id,
            name,
            started: spec.start,
            warnings,
        })
    }

    /// Writes the spec's `files` into a created container that has not
    /// started yet, as one archive unpacked at `/`.
    async fn write_files(
        &self,
        docker: &Docker,
        id: &str,
        spec: &ContainerSpec,
    ) -> EngineResult<()> {
        let files = &spec.options.files;
        if files.is_empty() {
            return Ok(());
        }
        let owned = files.clone();
        let archive = tokio::task::spawn_blocking(move || options::files_archive(&owned))
            .await
            .map_err(|e| EngineError::Other(format!("packing files: {e}")))?
            .map_err(|e| EngineError::Other(format!("packing files: {e}")))?;
        let upload = UploadToContainerOptions {
            path: "/".into(),
            ..Default::default()
        };
        match docker
            .upload_to_container(id, Some(upload), bollard::body_full(archive.into()))
            .await
        {
            Ok(()) => Ok(()),
            // The engine refuses to write into a read-only root filesystem,
            // and says so only as a server error.
            Err(_) if spec.options.read_only => Err(EngineError::BadRequest(
                "files cannot be written into a container whose root filesystem is read_only"
                    .into(),
            )),
            Err(e) => {
                let targets: Vec<&str> = files.iter().map(|f| f.target.as_str()).collect();
                Err(self.fail(e, &format!("files {}", targets.join(", "))).await)
            }
        }
    }

    /// What the engine fills in by itself, so a read-back spec leaves it out.
    async fn engine_defaults(&self, docker: &Docker) -> EngineDefaults {
        let info = docker.info().await.unwrap_or_default();
        EngineDefaults {
            logging_driver: info.logging_driver.unwrap_or_else(|| "json-file".into()),
            runtime: info.default_runtime.unwrap_or_else(|| "runc".into()),
            cgroupns: match info.cgroup_version.map(|v| v.to_string()).as_deref() {
                Some("2") => "private".into(),
                _ => "host".into(),
            },
        }
    }

    /// Why a start failed, with the cases people hit named plainly.
    async fn start_failure(&self, e: BollardError, name: &str) -> EngineError {
        if let BollardError::DockerResponseServerError { message, .. } = &e {
            if message.contains("address already in use")
                || message.contains("port is already allocated")
            {
                return EngineError::Conflict(format!(
                    "container {name} could not start: a host port it publishes is already in use by another program"
                ));
            }
            // An engine that itself runs confined (in a container, rootless)
            // cannot grant what privileged or added capabilities ask.
            if message.contains("operation not permitted") && message.contains("caps") {
                return EngineError::BadRequest(format!(
                    "container {name} could not start: this engine is not allowed to grant \
                     the capabilities it asks for (privileged, cap_add)"
                ));
            }
            if message.contains("executable file not found")
                || message.contains("no such file or directory")
            {
                return EngineError::BadRequest(format!(
                    "container {name} could not start: its command was not found in the image"
                ));
            }
        }
        self.fail(e, &format!("container {name}")).await
    }

    /// 409 naming the container that already publishes a requested host
    /// port. `ignore` is a container being replaced.
    pub async fn check_port_conflicts(
        &self,
        spec: &ContainerSpec,
        ignore: Option<&str>,
    ) -> EngineResult<()> {
        let wanted: Vec<&PortSpec> = spec
            .ports
            .iter()
            .filter(|p| p.host_port.is_some())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let docker = self.docker().await?;
        let options = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let containers = match docker.list_containers(Some(options)).await {
            Ok(c) => c,
            Err(e) => return Err(self.fail(e, "container list").await),
        };
        for c in containers {
            let id = c.id.clone().unwrap_or_default();
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            if ignore.is_some_and(|i| id.starts_with(i) || i == name) {
                continue;
            }
            let state = c
                .state
                .map(|s| super::containers::parse_state(s.as_ref()))
                .unwrap_or(ContainerState::Unknown);
            // Only running containers hold their ports; for the others,
            // read the bindings they would take when started.
            let held: Vec<(String, u16, String)> = if matches!(
                state,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            ) {
                c.ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        Some((
                            p.ip.unwrap_or_default(),
                            p.public_port?,
                            p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
                        ))
                    })
                    .collect()
            } else {
                continue;
            };
            for want in &wanted {
                let (lo, hi) = host_range(want);
                let ip = want.host_ip.clone().unwrap_or_default();
                if let Some((_, port, proto)) = held.iter().find(|(hip, port, proto)| {
                    *proto == want.protocol && (lo..=hi).contains(port) && ips_overlap(hip, &ip)
                }) {
                    // A range only conflicts when every port of it is taken.
                    if hi > lo {
                        let taken = held
                            .iter()
                            .filter(|(hip, p, pr)| {
                                *pr == want.protocol
                                    && (lo..=hi).contains(p)
                                    && ips_overlap(hip, &ip)
                            })
                            .count();
                        if taken < usize::from(hi - lo) + 1 {
                            continue;
                        }
                    }
                    return Err(EngineError::Conflict(format!(
                        "host port {port}/{proto} is already published by container {name}"
                    )));
                }
            }
        }
        Ok(())
    }

    pub async fn rename_container(&self, id: &str, new_name: &str) -> EngineResult<()> {
        check_name(new_name)?;
        let docker = self.docker().await?;
        match docker
            .rename_container(
                id,
                RenameContainerOptions {
                    name: new_name.into(),
                },
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Err(EngineError::Conflict(format!(
                "the name {new_name} is already taken by another container"
            ))),
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }

    /// The spec that would make this container again: for "duplicate" and "edit".
    pub async fn container_spec(&self, id: &str) -> EngineResult<ContainerSpec> {
        let docker = self.docker().await?;
        let c = match docker.inspect_container(id, None).await {
            Ok(c) => c,
            Err(e) => return Err(self.fail(e, &format!("container {id}")).await),
        };
        let defaults = self.engine_defaults(&docker).await;
        let config = c.config.clone().unwrap_or_default();
        let host = c.host_config.clone().unwrap_or_default();
        let image_name = config.image.clone().unwrap_or_default();
        // Keep only what differs from the image, as `docker run` was given it.
        let image = docker
            .inspect_image(&image_name)
            .await
            .ok()
            .and_then(|i| i.config);
        let image_env: Vec<String> = image
            .as_ref()
            .and_then(|i| i.env.clone())
            .unwrap_or_default();
        let image_cmd = image.as_ref().and_then(|i| i.cmd.clone());
        let published: Vec<String> = host
            .port_bindings
            .as_ref()
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        let network_mode = host.network_mode.clone();
        let options = read_options(
            &c,
            image.as_ref(),
            network_mode
                .as_deref()
                .filter(|n| !n.is_empty() && *n != "default"),
            &published,
            &defaults,
        );
        let image_entrypoint = image.as_ref().and_then(|i| i.entrypoint.clone());
        let image_workdir = image
            .as_ref()
            .and_then(|i| i.working_dir.clone())
            .unwrap_or_default();
        let image_user = image
            .as_ref()
            .and_then(|i| i.user.clone())
            .unwrap_or_default();
        let image_labels = image
            .as_ref()
            .and_then(|i| i.labels.clone())
            .unwrap_or_default();

        let env = config
            .env
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !image_env.contains(e))
            .filter_map(|e| {
                e.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let labels = config
            .labels
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, v)| image_labels.get(k) != Some(v))
            .collect();

        let mut ports = Vec::new();
        for (key, bindings) in host.port_bindings.unwrap_or_default() {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(container_port) = port.parse::<u16>() else {
                continue;
            };
            for b in bindings.unwrap_or_default() {
                let host_port_text = b.host_port.unwrap_or_default();
                let (start, end) = match host_port_text.split_once('-') {
                    Some((a, b)) => (a.parse().ok(), b.parse().ok()),
                    None => (host_port_text.parse().ok(), None),
                };
                ports.push(PortSpec {
                    host_ip: b.host_ip.filter(|ip| !ip.is_empty()),
                    host_port: start,
                    host_port_end: end,
                    container_port,
                    protocol: proto.to_string(),
                });
            }
        }
        ports.sort();

        let mut mounts = Vec::new();
        for bind in host.binds.unwrap_or_default() {
            let parts: Vec<&str> = bind.split(':').collect();
            if parts.len() < 2 {
                continue;
            }
            let read_only = parts
                .get(2)
                .is_some_and(|o| o.split(',').any(|o| o == "ro"));
            let kind = if parts[0].starts_with('/') {
                MountKind::Bind
            } else {
                MountKind::Volume
            };
            mounts.push(MountSpec {
                kind,
                source: parts[0].into(),
                target: parts[1].into(),
                read_only,
            });
        }
        for m in host.mounts.unwrap_or_default() {
            let kind = match m.typ {
                Some(MountType::BIND) => MountKind::Bind,
                Some(MountType::VOLUME) if m.source.as_deref().is_some_and(|s| !s.is_empty()) => {
                    MountKind::Volume
                }
                Some(MountType::VOLUME) => MountKind::Anonymous,
                _ => continue,
            };
            mounts.push(MountSpec {
                kind,
                source: if kind == MountKind::Anonymous {
                    String::new()
                } else {
                    m.source.unwrap_or_default()
                },
                target: m.target.unwrap_or_default(),
                read_only: m.read_only.unwrap_or_default(),
            });
        }

        let restart = host.restart_policy.and_then(|r| {
            let name = r.name.map(|n| n.to_string()).unwrap_or_default();
            match name.as_str() {
                "" | "no" => None,
                "on-failure" => match r.maximum_retry_count.unwrap_or_default() {
                    0 => Some(name),
                    n => Some(format!("on-failure:{n}")),
                },
                _ => Some(name),
            }
        });
        let network = host
            .network_mode
            .filter(|n| !n.is_empty() && n != "default" && n != "bridge");
        let (gpus, _) = read_device_requests(host.device_requests.clone().unwrap_or_default());
        let container_hostname = config.hostname.clone().unwrap_or_default();
        let short_id =
            c.id.as_deref()
                .unwrap_or_default()
                .get(..12)
                .unwrap_or_default()
                .to_string();

        Ok(ContainerSpec {
            name: c.name.map(|n| n.trim_start_matches('/').to_string()),
            image: image_name,
            cmd: config.cmd.filter(|c| Some(c) != image_cmd.as_ref()),
            entrypoint: config
                .entrypoint
                .filter(|e| Some(e) != image_entrypoint.as_ref()),
            env,
            ports,
            publish_all: host.publish_all_ports.unwrap_or_default(),
            mounts,
            network,
            restart,
            labels,
            workdir: config
                .working_dir
                .filter(|w| !w.is_empty() && *w != image_workdir),
            user: config.user.filter(|u| !u.is_empty() && *u != image_user),
            hostname: (!container_hostname.is_empty() && container_hostname != short_id)
                .then_some(container_hostname),
            memory_bytes: host.memory.filter(|m| *m > 0),
            nano_cpus: host.nano_cpus.filter(|n| *n > 0),
            gpus,
            tty: config.tty.unwrap_or_default(),
            interactive: config.open_stdin.unwrap_or_default(),
            auto_remove: host.auto_remove.unwrap_or_default(),
            start: true,
            options,
        })
    }

    /// Replaces container `id` by one made from `spec`, under the same name.
    /// The old one is stopped and set aside first and only removed once the
    /// new one runs; if anything fails it is put back as it was.
    pub async fn recreate_container(
        &self,
        id: &str,
        spec: &ContainerSpec,
    ) -> EngineResult<CreatedContainer> {
        self.recreate_container_with(id, spec, &CreateExtras::default())
            .await
    }

    /// [`Engine::recreate_container`] with compose's extras.
    pub async fn recreate_container_with(
        &self,
        id: &str,
        spec: &ContainerSpec,
        extras: &CreateExtras,
    ) -> EngineResult<CreatedContainer> {
        validate(spec)?;
        let old = self.inspect_container(id).await?;
        let name = spec.name.clone().unwrap_or_else(|| old.name.clone());
        let mut spec = spec.clone();
        spec.name = Some(name.clone());
        self.check_port_conflicts(&spec, Some(&old.id)).await?;
        let docker = self.docker().await?;
        let was_running = old.state.running;
        let aside = format!(
            "{}-berth-replaced-{}",
            old.name,
            &old.id[..8.min(old.id.len())]
        );
        if was_running {
            if let Err(e) = docker
                .stop_container(&old.id, None::<StopContainerOptions>)
                .await
            {
                return Err(self.fail(e, &format!("container {}", old.name)).await);
            }
        }
        if let Err(e) = docker
            .rename_container(
                &old.id,
                RenameContainerOptions {
                    name: aside.clone(),
                },
            )
            .await
        {
            let err = self.fail(e, &format!("container {}", old.name)).await;
            self.restore(&old.id, &old.name, None, was_running).await;
            return Err(err);
        }
        match self.run_container_with(&spec, extras).await {
            Ok(created) => {
                let _ = docker
                    .remove_container(
                        &old.id,
                        Some(RemoveContainerOptions {
                            force: true,
                            v: false,
                            link: false,
                        }),
                    )
                    .await;
                Ok(created)
            }
            Err(e) => {
                self.restore(&old.id, &aside, Some(&old.name), was_running)
                    .await;
                Err(e)
            }
        }
    }

    /// Puts a set-aside container back under its name and state.
    async fn restore(&self, id: &str, current: &str, original: Option<&str>, start: bool) {
        let Ok(docker) = self.docker().await else {
            return;
        };
        if let Some(original) = original {
            if let Err(e) = docker
                .rename_container(
                    id,
                    RenameContainerOptions {
                        name: original.into(),
                    },
                )
                .await
            {
                tracing::error!(container = current, error = %e, "could not give the old container its name back");
            }
        }
        if start {
            if let Err(e) = docker.start_container(id, None).await {
                tracing::error!(container = current, error = %e, "could not restart the old container");
            }
        }
    }
}

/// Settings a [`ContainerSpec`] does not carry, used by compose.
#[derive(Debug, Clone, Default)]
pub struct CreateExtras {
    pub healthcheck: Option<HealthSpec>,
    /// Aliases on the primary network (`spec.network`).
    pub aliases: Vec<String>,
    /// Link-local addresses and driver options on the primary network
    /// (its fixed addresses are in the spec's options).
    pub link_local_ips: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    /// Further networks to join before start.
    pub more_networks: Vec<NetworkJoin>,
}

/// A network a container joins after it is made, and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkJoin {
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub mac_address: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
}

impl NetworkJoin {
    fn endpoint(&self) -> bollard::models::EndpointSettings {
        let ipam = (self.ipv4_address.is_some()
            || self.ipv6_address.is_some()
            || !self.link_local_ips.is_empty())
        .then(|| bollard::models::EndpointIpamConfig {
            ipv4_address: self.ipv4_address.clone(),
            ipv6_address: self.ipv6_address.clone(),
            link_local_ips: (!self.link_local_ips.is_empty()).then(|| self.link_local_ips.clone()),
        });
        bollard::models::EndpointSettings {
            aliases: (!self.aliases.is_empty()).then(|| self.aliases.clone()),
            ipam_config: ipam,
            mac_address: self.mac_address.clone(),
            driver_opts: (!self.driver_opts.is_empty())
                .then(|| self.driver_opts.clone().into_iter().collect()),
            ..Default::default()
        }
    }
}

/// A container healthcheck: `["CMD", ...]`, `["CMD-SHELL", "..."]` or
/// `["NONE"]`, and its timings in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthSpec {
    pub test: Vec<String>,
    pub interval_ns: Option<i64>,
    pub timeout_ns: Option<i64>,
    pub retries: Option<i64>,
    pub start_period_ns: Option<i64>,
}

fn apply_extras(body: &mut ContainerCreateBody, spec: &ContainerSpec, extras: &CreateExtras) {
    body.healthcheck = extras
        .healthcheck
        .as_ref()
        .map(|h| bollard::models::HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval_ns,
            timeout: h.timeout_ns,
            retries: h.retries,
            start_period: h.start_period_ns,
            start_interval: None,
        });
    if let Some(network) = spec.network.as_ref() {
        if !extras.aliases.is_empty() {
            options::primary_endpoint(body, network).aliases = Some(extras.aliases.clone());
        }
        if !extras.link_local_ips.is_empty() {
            let endpoint = options::primary_endpoint(body, network);
            endpoint
                .ipam_config
                .get_or_insert_with(Default::default)
                .link_local_ips = Some(extras.link_local_ips.clone());
        }
        if !extras.driver_opts.is_empty() {
            options::primary_endpoint(body, network).driver_opts =
                Some(extras.driver_opts.clone().into_iter().collect());
        }
    }
}

/// Removes a container berth just made and could not finish; the error that
/// stopped it is what the caller reports.
async fn remove_quietly(docker: &Docker, id: &str) {
    let _ = docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                link: false,
            }),
        )
        .await;
}

fn host_range(p: &PortSpec) -> (u16, u16) {
    let lo = p.host_port.unwrap_or(0);
    (lo, p.host_port_end.unwrap_or(lo).max(lo))
}

/// Two host addresses overlap when either is "all interfaces" or they are equal.
fn ips_overlap(a: &str, b: &str) -> bool {
    let any = |ip: &str| ip.is_empty() || ip == "0.0.0.0" || ip == "::";
    any(a) || any(b) || a == b
}

fn check_name(name: &str) -> EngineResult<()> {
    check_reference("container", name).map_err(|_| {
        EngineError::BadRequest(format!(
            "{name:?} is not a valid container name: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        ))
    })
}

/// The checks that need no engine: clear messages before anything is asked.
pub fn validate(spec: &ContainerSpec) -> EngineResult<()> {
    let bad = |m: String| Err(EngineError::BadRequest(m));
    if spec.image.trim().is_empty() {
        return bad("an image is needed".into());
    }
    if spec.image.chars().any(char::is_whitespace) {
        return bad(format!("{:?} is not an image reference", spec.image));
    }
    if let Some(name) = &spec.name {
        check_name(name)?;
    }
    for p in &spec.ports {
        if p.container_port == 0 {
            return bad("container port 0 is not a port".into());
        }
        if p.host_port == Some(0) {
            return bad(format!("host port 0 for container port {} is not a port; leave it empty to let the engine pick one", p.container_port));
        }
        if let (Some(lo), Some(hi)) = (p.host_port, p.host_port_end) {
            if hi < lo {
                return bad(format!("host port range {lo}-{hi} ends before it starts"));
            }
        }
        if !matches!(p.protocol.as_str(), "tcp" | "udp" | "sctp") {
            return bad(format!(
                "port protocol {:?} is not tcp, udp or sctp",
                p.protocol
            ));
        }
        if let Some(ip) = &p.host_ip {
            if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
                return bad(format!("host IP {ip:?} is not an IP address"));
            }
        }
    }
    for m in &spec.mounts {
        if !m.target.starts_with('/') {
            return bad(format!(
                "mount target {:?} must be an absolute path in the container",
                m.target
            ));
        }
        match m.kind {
            MountKind::Bind if !m.source.starts_with('/') => {
                return bad(format!(
                    "bind mount source {:?} must be an absolute host path",
                    m.source
                ));
            }
            MountKind::Volume if check_reference("volume", &m.source).is_err() => {
                return bad(format!("{:?} is not a valid volume name", m.source));
            }
            _ => {}
        }
    }
    if let Some(restart) = &spec.restart {
        parse_restart(restart)?;
    }
    if let Some(m) = spec.memory_bytes {
        if m < 6 * 1024 * 1024 {
            return bad("the memory limit must be at least 6 MB".into());
        }
    }
    if spec.nano_cpus.is_some_and(|n| n <= 0) {
        return bad("the CPU limit must be more than 0".into());
    }
    match &spec.gpus {
        Some(GpuRequest::All(s)) if s != "all" => {
            return bad(format!("gpus {s:?}: use \"all\" or a count"))
        }
        Some(GpuRequest::Count(n)) if *n < 1 => {
            return bad("the GPU count must be at least 1".into())
        }
        _ => {}
    }
    if let Some(w) = &spec.workdir {
        if !w.is_empty() && !w.starts_with('/') {
            return bad(format!(
                "the working directory {w:?} must be an absolute path"
            ));
        }
    }
    for k in spec.env.keys() {
        if k.is_empty() || k.contains('=') {
            return bad(format!("{k:?} is not an environment variable name"));
        }
    }
    validate_options(&spec.options).map_err(EngineError::BadRequest)?;
    if let Some(swap) = spec.options.memory_swap.filter(|s| *s > 0) {
        match spec.memory_bytes {
            None => {
                return bad("memory_swap needs a memory limit too (memory_bytes)".into());
            }
            Some(m) if swap < m => {
                return bad(format!(
                    "memory_swap ({swap} bytes) is memory plus swap: it must be at least the memory limit ({m} bytes)"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_restart(restart: &str) -> EngineResult<(RestartPolicyNameEnum, Option<i64>)> {
    match restart.split_once(':') {
        None => match restart {
            "" | "no" => Ok((RestartPolicyNameEnum::NO, None)),
            "always" => Ok((RestartPolicyNameEnum::ALWAYS, None)),
            "unless-stopped" => Ok((RestartPolicyNameEnum::UNLESS_STOPPED, None)),
            "on-failure" => Ok((RestartPolicyNameEnum::ON_FAILURE, None)),
            _ => Err(EngineError::BadRequest(format!(
                "restart policy {restart:?} is not one of no, always, unless-stopped, on-failure[:N]"
            ))),
        },
        Some(("on-failure", n)) => match n.parse::<i64>() {
            Ok(n) if n >= 0 => Ok((RestartPolicyNameEnum::ON_FAILURE, Some(n))),
            _ => Err(EngineError::BadRequest(format!("on-failure:{n}: the retry count must be a whole number"))),
        },
        Some(_) => Err(EngineError::BadRequest(format!(
            "restart policy {restart:?} is not one of no, always, unless-stopped, on-failure[:N]"
        ))),
    }
}

/// The engine's create body for a validated spec, speaking API version
/// `api`, and what that version could not carry.
fn to_create_body(spec: &ContainerSpec, api: ApiVersion) -> (ContainerCreateBody, Vec<String>) {
    let mut port_bindings: HashMap<String, Option<Vec<EngineBinding>>> = HashMap::new();
    let mut exposed = Vec::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let host_port = match (p.host_port, p.host_port_end) {
            (Some(lo), Some(hi)) if hi > lo => Some(format!("{lo}-{hi}")),
            (Some(lo), _) => Some(lo.to_string()),
            (None, _) => Some(String::new()),
        };
        port_bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(EngineBinding {
                host_ip: Some(p.host_ip.clone().unwrap_or_default()),
                host_port,
            });
    }
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &spec.mounts {
        match m.kind {
            // `-v` semantics: a missing host dir is created, a missing named
            // volume too.
            MountKind::Bind | MountKind::Volume => binds.push(format!(
                "{}:{}{}",
                m.source,
                m.target,
                if m.read_only { ":ro" } else { "" }
            )),
            MountKind::Anonymous => mounts.push(Mount {
                target: Some(m.target.clone()),
                typ: Some(MountType::VOLUME),
                read_only: Some(m.read_only),
                ..Default::default()
            }),
        }
    }
    let restart_policy = spec
        .restart
        .as_deref()
        .and_then(|r| parse_restart(r).ok())
        .map(|(name, count)| RestartPolicy {
            name: Some(name),
            maximum_retry_count: count,
        });
    let device_requests = spec.gpus.as_ref().map(|g| {
        vec![DeviceRequest {
            driver: Some(String::new()),
            count: Some(match g {
                GpuRequest::All(_) => -1,
                GpuRequest::Count(n) => *n,
            }),
            capabilities: Some(vec![vec!["gpu".into()]]),
            ..Default::default()
        }]
    });
    let host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        publish_all_ports: spec.publish_all.then_some(true),
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode: spec.network.clone(),
        restart_policy,
        memory: spec.memory_bytes,
        nano_cpus: spec.nano_cpus,
        device_requests,
        auto_remove: spec.auto_remove.then_some(true),
        ..Default::default()
    };
    let mut body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.cmd.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: (!spec.env.is_empty())
            .then(|| spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: (!spec.labels.is_empty()).then(|| spec.labels.clone().into_iter().collect()),
        working_dir: spec.workdir.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: spec.tty.then_some(true),
        open_stdin: spec.interactive.then_some(true),
        host_config: Some(host_config),
        ..Default::default()
    };
    let warnings = apply_options(&mut body, &spec.options, spec.network.as_deref(), api);
    (body, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            image: "busybox".into(),
            start: true,
            ..Default::default()
        }
    }

    #[test]
    fn bad_specs_get_clear_reasons() {
        let cases: Vec<(ContainerSpec, &str)> = vec![
            (
                ContainerSpec {
                    image: "".into(),
                    ..spec()
                },
                "an image is needed",
            ),
            (
                ContainerSpec {
                    name: Some("bad name".into()),
                    ..spec()
                },
                "not a valid container name",
            ),
            (
                ContainerSpec {
                    ports: vec![PortSpec {
                        container_port: 0,
                        protocol: "tcp".into(),
                        ..Default::default()
                    }],
                    ..spec()
                },
                "port 0",
            ),
            (
                ContainerSpec {
                    ports: vec![PortSpec {
                        container_port: 80,
                        protocol: "icmp".into(),
                        ..Default::default()
                    }],
                    ..spec()
                },
                "not tcp, udp or sctp",
            ),
            (
                ContainerSpec {
                    ports: vec![PortSpec {
                        host_ip: Some("localhost".into()),
                        host_port: Some(80),
                        container_port: 80,
                        protocol: "tcp".into(),
                        ..Default::default()
                    }],
                    ..spec()
                },
                "not an IP address",
            ),
            (
                ContainerSpec {
                    mounts: vec![MountSpec {
                        kind: MountKind::Bind,
                        source: "data".into(),
                        target: "/d".into(),
                        read_only: false,
                    }],
                    ..spec()
                },
                "absolute host path",
            ),
            (
                ContainerSpec {
                    mounts: vec![MountSpec {
                        kind: MountKind::Volume,
                        source: "v".into(),
                        target: "d".into(),
                        read_only: false,
                    }],
                    ..spec()
                },
                "absolute path in the container",
            ),
            (
                ContainerSpec {
                    restart: Some("sometimes".into()),
                    ..spec()
                },
                "restart policy",
            ),
            (
                ContainerSpec {
                    restart: Some("on-failure:x".into()),
                    ..spec()
                },
                "retry count",
            ),
            (
                ContainerSpec {
                    memory_bytes: Some(1024),
                    ..spec()
                },
                "at least 6 MB",
            ),
        ];
        for (s, want) in cases {
            let err = validate(&s).expect_err(want).to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
        assert!(validate(&spec()).is_ok());
    }

    #[test]
    fn the_create_body_carries_every_setting() {
        let s = ContainerSpec {
            ports: vec![
                PortSpec {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(8080),
                    container_port: 80,
                    protocol: "tcp".into(),
                    ..Default::default()
                },
                PortSpec {
                    host_port: Some(9000),
                    host_port_end: Some(9010),
                    container_port: 53,
                    protocol: "udp".into(),
                    ..Default::default()
                },
            ],
            mounts: vec![
                MountSpec {
                    kind: MountKind::Bind,
                    source: "/srv".into(),
                    target: "/srv".into(),
                    read_only: true,
                },
                MountSpec {
                    kind: MountKind::Anonymous,
                    source: String::new(),
                    target: "/cache".into(),
                    read_only: false,
                },
            ],
            restart: Some("on-failure:3".into()),
            gpus: Some(GpuRequest::All("all".into())),
            ..spec()
        };
        let (body, _) = to_create_body(&s, (1, 41));
        let host = body.host_config.expect("host config");
        let bindings = host.port_bindings.expect("bindings");
        assert_eq!(
            bindings["80/tcp"].as_ref().expect("80")[0]
                .host_port
                .as_deref(),
            Some("8080")
        );
        assert_eq!(
            bindings["53/udp"].as_ref().expect("53")[0]
                .host_port
                .as_deref(),
            Some("9000-9010")
        );
        assert_eq!(host.binds, Some(vec!["/srv:/srv:ro".to_string()]));
        assert_eq!(
            host.mounts.expect("mounts")[0].target.as_deref(),
            Some("/cache")
        );
        assert_eq!(
            host.restart_policy.expect("restart").maximum_retry_count,
            Some(3)
        );
        assert_eq!(host.device_requests.expect("gpus")[0].count, Some(-1));
    }
}
