//! Containers: list, inspect and lifecycle, converted to `protocol` types.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{ContainerInspectResponse, ContainerSummary as EngineSummary, PortMap};
use bollard::query_parameters::{
    KillContainerOptions, ListContainersOptions, RemoveContainerOptions, RestartContainerOptions,
    StopContainerOptions,
};
use protocol::{
    ContainerConfig, ContainerDetail, ContainerHostConfig, ContainerState, ContainerStateDetail,
    ContainerSummary, MountPoint, NetworkAttachment, PortBinding, PortMapping,
    COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL,
};

use super::{Engine, EngineError, EngineResult};

/// What a lifecycle call asks of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Start,
    Stop,
    Restart,
    Pause,
    Unpause,
}

impl Engine {
    pub async fn list_containers(&self, all: bool) -> EngineResult<Vec<ContainerSummary>> {
        let docker = self.docker().await?;
        let options = ListContainersOptions {
            all,
            ..Default::default()
        };
        match docker.list_containers(Some(options)).await {
            Ok(list) => Ok(list.into_iter().map(convert_summary).collect()),
            Err(e) => Err(self.fail(e, "container list").await),
        }
    }

    pub async fn inspect_container(&self, id: &str) -> EngineResult<ContainerDetail> {
        let docker = self.docker().await?;
        match docker.inspect_container(id, None).await {
            Ok(c) => Ok(convert_detail(c)),
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }

    pub async fn container_lifecycle(&self, id: &str, action: Lifecycle) -> EngineResult<()> {
        let docker = self.docker().await?;
        let result = match action {
            Lifecycle::Start => docker.start_container(id, None).await,
            Lifecycle::Stop => {
                docker
                    .stop_container(id, None::<StopContainerOptions>)
                    .await
            }
            Lifecycle::Restart => {
                docker
                    .restart_container(id, None::<RestartContainerOptions>)
                    .await
            }
            Lifecycle::Pause => docker.pause_container(id).await,
            Lifecycle::Unpause => docker.unpause_container(id).await,
        };
        match result {
            Ok(()) => Ok(()),
            // 304: already in the asked-for state, which is what the user wanted.
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }

    /// Sends a signal (`SIGKILL` by default) to a running container.
    pub async fn kill_container(&self, id: &str, signal: &str) -> EngineResult<()> {
        let valid = !signal.is_empty()
            && signal.len() <= 16
            && signal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+');
        if !valid {
            return Err(EngineError::BadRequest(format!(
                "{signal:?} is not a signal name or number"
            )));
        }
        let docker = self.docker().await?;
        match docker
            .kill_container(
                id,
                Some(KillContainerOptions {
                    signal: signal.into(),
                }),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }

    /// Every published host port, with the container that holds it.
    pub async fn list_ports(&self) -> EngineResult<Vec<PortMapping>> {
        let containers = self.list_containers(true).await?;
        let mut ports: Vec<PortMapping> = containers
            .into_iter()
            .flat_map(|c| {
                c.ports
                    .iter()
                    .filter_map(|p| {
                        Some(PortMapping {
                            host_ip: p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into()),
                            host_port: p.host_port?,
                            protocol: p.protocol.clone(),
                            container_port: p.container_port,
                            container_id: c.id.clone(),
                            container: c.name.clone(),
                            state: c.state,
                            project: c.project.clone(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        ports.sort_by(|a, b| {
            (a.host_port, &a.protocol, &a.host_ip).cmp(&(b.host_port, &b.protocol, &b.host_ip))
        });
        Ok(ports)
    }

    /// Removes a container. A running one is refused with 409 unless `force`.
    pub async fn remove_container(&self, id: &str, force: bool, volumes: bool) -> EngineResult<()> {
        let docker = self.docker().await?;
        let options = RemoveContainerOptions {
            force,
            v: volumes,
            link: false,
        };
        match docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("running") || message.contains("stop the container") => {
                Err(EngineError::Conflict(format!(
                    "container {id} is running: stop it first, or remove it with force=true"
                )))
            }
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }
}

pub(crate) fn parse_state(s: &str) -> ContainerState {
    match s {
        "created" => ContainerState::Created,
        "running" => ContainerState::Running,
        "paused" => ContainerState::Paused,
        "restarting" => ContainerState::Restarting,
        "removing" => ContainerState::Removing,
        "exited" => ContainerState::Exited,
        "dead" => ContainerState::Dead,
        _ => ContainerState::Unknown,
    }
}

fn sorted(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

fn convert_summary(c: EngineSummary) -> ContainerSummary {
    let labels = sorted(c.labels);
    let mut ports: Vec<PortBinding> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| PortBinding {
            host_ip: p.ip.filter(|ip| !ip.is_empty()),
            host_port: p.public_port,
            container_port: p.private_port,
            protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
        })
        .collect();
    ports.sort();
    ports.dedup();
    let name = c
        .names
        .unwrap_or_default()
        .first()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    ContainerSummary {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        image_id: c.image_id.unwrap_or_default(),
        command: c.command.unwrap_or_default(),
        state: c
            .state
            .map(|s| parse_state(s.as_ref()))
            .unwrap_or(ContainerState::Unknown),
        status: c.status.unwrap_or_default(),
        ports,
        created: c.created.unwrap_or_default(),
        project: labels.get(COMPOSE_PROJECT_LABEL).cloned(),
        service: labels.get(COMPOSE_SERVICE_LABEL).cloned(),
        labels,
    }
}

/// Published ports from a port map such as `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`.
fn convert_port_map(map: Option<PortMap>) -> Vec<PortBinding> {
    let mut ports = Vec::new();
    for (key, bindings) in map.unwrap_or_default() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        match bindings {
            Some(bindings) if !bindings.is_empty() => {
                for b in bindings {
                    ports.push(PortBinding {
                        host_ip: b.host_ip.filter(|ip| !ip.is_empty()),
                        host_port: b.host_port.and_then(|p| p.parse().ok()),
                        container_port,
                        protocol: protocol.to_string(),
                    });
                }
            }
            _ => ports.push(PortBinding {
                host_ip: None,
                host_port: None,
                container_port,
                protocol: protocol.to_string(),
            }),
        }
    }
    ports.sort();
    ports
}

fn convert_detail(c: ContainerInspectResponse) -> ContainerDetail {
    let config = c.config.unwrap_or_default();
    let host = c.host_config.unwrap_or_default();
    let state = c.state.unwrap_or_default();
    let network = c.network_settings.unwrap_or_default();
    let labels = sorted(config.labels);
    let restart = host.restart_policy.unwrap_or_default();

    let mut networks: Vec<NetworkAttachment> = network
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(name, ep)| NetworkAttachment {
            network: name,
            ip_address: ep.ip_address.unwrap_or_default(),
            gateway: ep.gateway.unwrap_or_default(),
            mac_address: ep.mac_address.unwrap_or_default(),
            aliases: ep.aliases.unwrap_or_default(),
        })
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));

    let mounts = c
        .mounts
        .unwrap_or_default()
        .into_iter()
        .map(|m| MountPoint {
            kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
            name: m.name.filter(|n| !n.is_empty()),
            source: m.source.unwrap_or_default(),
            destination: m.destination.unwrap_or_default(),
            read_only: !m.rw.unwrap_or(true),
        })
        .collect();

    let status = state
        .status
        .map(|s| parse_state(s.as_ref()))
        .unwrap_or(ContainerState::Unknown);
    let health = state
        .health
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty() && s != "none");

    ContainerDetail {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.clone().unwrap_or_default(),
        image_id: c.image.unwrap_or_default(),
        created: c.created.map(|d| d.to_string()).unwrap_or_default(),
        restart_count: c.restart_count.unwrap_or_default(),
        state: ContainerStateDetail {
            status,
            running: state.running.unwrap_or_default(),
            paused: state.paused.unwrap_or_default(),
            restarting: state.restarting.unwrap_or_default(),
            oom_killed: state.oom_killed.unwrap_or_default(),
            pid: state.pid.unwrap_or_default(),
            exit_code: state.exit_code.unwrap_or_default(),
            error: state.error.unwrap_or_default(),
            started_at: state.started_at.unwrap_or_default(),
            finished_at: state.finished_at.unwrap_or_default(),
            health,
        },
        config: ContainerConfig {
            hostname: config.hostname.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            env: config.env.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            entrypoint: config.entrypoint.unwrap_or_default(),
            workdir: config.working_dir.unwrap_or_default(),
            tty: config.tty.unwrap_or_default(),
            exposed_ports: {
                let mut p = config.exposed_ports.unwrap_or_default();
                p.sort();
                p
            },
            labels: labels.clone(),
        },
        host_config: ContainerHostConfig {
            restart_policy: restart
                .name
                .map(|n| n.to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "no".into()),
            restart_max_retries: restart.maximum_retry_count.unwrap_or_default(),
            network_mode: host.network_mode.unwrap_or_default(),
            memory_bytes: host.memory.unwrap_or_default(),
            nano_cpus: host.nano_cpus.unwrap_or_default(),
            privileged: host.privileged.unwrap_or_default(),
            auto_remove: host.auto_remove.unwrap_or_default(),
        },
        ports: convert_port_map(network.ports),
        mounts,
        networks,
        project: labels.get(COMPOSE_PROJECT_LABEL).cloned(),
        service: labels.get(COMPOSE_SERVICE_LABEL).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::PortBinding as EngineBinding;

    #[test]
    fn port_maps_list_published_and_exposed_ports() {
        let mut map = PortMap::new();
        map.insert(
            "80/tcp".into(),
            Some(vec![EngineBinding {
                host_ip: Some("0.0.0.0".into()),
                host_port: Some("8080".into()),
            }]),
        );
        map.insert("53/udp".into(), None);
        let ports = convert_port_map(Some(map));
        assert_eq!(ports.len(), 2);
        assert!(ports.contains(&PortBinding {
            host_ip: Some("0.0.0.0".into()),
            host_port: Some(8080),
            container_port: 80,
            protocol: "tcp".into()
        }));
        assert!(ports.contains(&PortBinding {
            host_ip: None,
            host_port: None,
            container_port: 53,
            protocol: "udp".into()
        }));
    }
}
