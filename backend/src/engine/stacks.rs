//! What the engine holds of a compose project, found by its labels, and the
//! project-scoped objects `up` and `down` make and remove.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    StopContainerOptions,
};
use protocol::{ContainerState, COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL};

use super::containers::parse_state;
use super::{Engine, EngineError, EngineResult};

/// A network a stack wants, as the engine is asked for it.
#[derive(Debug, Clone, Default)]
pub struct ProjectNetwork {
    /// `bridge` when `None`.
    pub driver: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub driver_opts: BTreeMap<String, String>,
    pub ipam: Option<ProjectIpam>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectIpam {
    pub driver: Option<String>,
    pub pools: Vec<ProjectIpamPool>,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectIpamPool {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: BTreeMap<String, String>,
}

/// A volume a stack wants.
#[derive(Debug, Clone, Default)]
pub struct ProjectVolume {
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";
pub const HASH_LABEL: &str = "com.docker.compose.config-hash";
pub const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";
pub const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES_LABEL: &str = "com.docker.compose.project.config_files";
pub const NETWORK_LABEL: &str = "com.docker.compose.network";
pub const VOLUME_LABEL: &str = "com.docker.compose.volume";

#[derive(Debug, Clone)]
pub struct ProjectContainer {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    pub state: ContainerState,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectState {
    pub containers: Vec<ProjectContainer>,
    /// Network name -> id, of networks labelled with the project.
    pub networks: BTreeMap<String, String>,
    pub volumes: Vec<String>,
}

impl Engine {
    /// Every container, network and volume labelled with `project`.
    pub async fn project_state(&self, project: &str) -> EngineResult<ProjectState> {
        let docker = self.docker().await?;
        let filter: HashMap<String, Vec<String>> = [(
            "label".to_string(),
            vec![format!("{COMPOSE_PROJECT_LABEL}={project}")],
        )]
        .into_iter()
        .collect();
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await;
        let containers = match containers {
            Ok(c) => c,
            Err(e) => return Err(self.fail(e, "container list").await),
        };
        let networks = match docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filter.clone()),
            }))
            .await
        {
            Ok(n) => n,
            Err(e) => return Err(self.fail(e, "network list").await),
        };
        let volumes = match docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filter),
            }))
            .await
        {
            Ok(v) => v.volumes.unwrap_or_default(),
            Err(e) => return Err(self.fail(e, "volume list").await),
        };
        let mut state = ProjectState::default();
        for c in containers {
            let labels: BTreeMap<String, String> =
                c.labels.unwrap_or_default().into_iter().collect();
            if labels
                .get(ONEOFF_LABEL)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                continue;
            }
            state.containers.push(ProjectContainer {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                service: labels
                    .get(COMPOSE_SERVICE_LABEL)
                    .cloned()
                    .unwrap_or_default(),
                number: labels
                    .get(NUMBER_LABEL)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                state: c
                    .state
                    .map(|s| parse_state(s.as_ref()))
                    .unwrap_or(ContainerState::Unknown),
                labels,
            });
        }
        state
            .containers
            .sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
        for n in networks {
            state
                .networks
                .insert(n.name.unwrap_or_default(), n.id.unwrap_or_default());
        }
        state.volumes = volumes.into_iter().map(|v| v.name).collect();
        state.volumes.sort();
        Ok(state)
    }

    /// Compose projects on the endpoint: project -> its containers' labels.
    pub async fn projects(&self) -> EngineResult<BTreeMap<String, Vec<ProjectContainer>>> {
        let mut out: BTreeMap<String, Vec<ProjectContainer>> = BTreeMap::new();
        for c in self.engine_containers().await? {
            let labels: BTreeMap<String, String> =
                c.labels.unwrap_or_default().into_iter().collect();
            let Some(project) = labels.get(COMPOSE_PROJECT_LABEL).cloned() else {
                continue;
            };
            if labels
                .get(ONEOFF_LABEL)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                continue;
            }
            out.entry(project).or_default().push(ProjectContainer {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                service: labels
                    .get(COMPOSE_SERVICE_LABEL)
                    .cloned()
                    .unwrap_or_default(),
                number: labels
                    .get(NUMBER_LABEL)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                state: c
                    .state
                    .map(|s| parse_state(s.as_ref()))
                    .unwrap_or(ContainerState::Unknown),
                labels,
            });
        }
        Ok(out)
    }

    /// Makes a project network unless it exists; true when made.
    pub async fn ensure_network(&self, name: &str, want: &ProjectNetwork) -> EngineResult<bool> {
        let docker = self.docker().await?;
        if docker.inspect_network(name, None).await.is_ok() {
            return Ok(false);
        }
        let ipam = want.ipam.as_ref().map(|i| Ipam {
            driver: i.driver.clone(),
            config: Some(
                i.pools
                    .iter()
                    .map(|p| IpamConfig {
                        subnet: p.subnet.clone(),
                        ip_range: p.ip_range.clone(),
                        gateway: p.gateway.clone(),
                        auxiliary_addresses: (!p.aux_addresses.is_empty())
                            .then(|| p.aux_addresses.clone().into_iter().collect()),
                    })
                    .collect(),
            ),
            options: (!i.options.is_empty()).then(|| i.options.clone().into_iter().collect()),
        });
        let create = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some(want.driver.clone().unwrap_or_else(|| "bridge".into())),
            internal: Some(want.internal),
            attachable: Some(want.attachable),
            enable_ipv6: want.enable_ipv6.then_some(true),
            options: (!want.driver_opts.is_empty())
                .then(|| want.driver_opts.clone().into_iter().collect()),
            ipam,
            labels: Some(want.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match docker.create_network(create).await {
            Ok(_) => Ok(true),
            Err(e) => Err(self.fail(e, &format!("network {name}")).await),
        }
    }

    pub async fn network_exists(&self, name: &str) -> EngineResult<bool> {
        let docker = self.docker().await?;
        match docker.inspect_network(name, None).await {
            Ok(_) => Ok(true),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(self.fail(e, &format!("network {name}")).await),
        }
    }

    pub async fn volume_exists(&self, name: &str) -> EngineResult<bool> {
        let docker = self.docker().await?;
        match docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(self.fail(e, &format!("volume {name}")).await),
        }
    }

    /// Makes a project volume unless it exists; true when made.
    pub async fn ensure_volume(&self, name: &str, want: &ProjectVolume) -> EngineResult<bool> {
        if self.volume_exists(name).await? {
            return Ok(false);
        }
        let docker = self.docker().await?;
        let create = VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: want.driver.clone(),
            driver_opts: (!want.driver_opts.is_empty())
                .then(|| want.driver_opts.clone().into_iter().collect()),
            labels: Some(want.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match docker.create_volume(create).await {
            Ok(_) => Ok(true),
            Err(e) => Err(self.fail(e, &format!("volume {name}")).await),
        }
    }

    /// Stops and removes a container (and its anonymous volumes).
    pub async fn stop_and_remove(&self, id: &str) -> EngineResult<()> {
        let docker = self.docker().await?;
        let _ = docker
            .stop_container(id, None::<StopContainerOptions>)
            .await;
        match docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    link: false,
                }),
            )
            .await
        {
            Ok(())
            | Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }

    pub async fn remove_network_quietly(&self, name: &str) -> EngineResult<()> {
        let docker = self.docker().await?;
        match docker.remove_network(name).await {
            Ok(())
            | Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(self.fail(e, &format!("network {name}")).await),
        }
    }

    pub async fn remove_volume_quietly(&self, name: &str) -> EngineResult<()> {
        let docker = self.docker().await?;
        match docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(())
            | Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Err(EngineError::Conflict(format!(
                "volume {name} is still in use"
            ))),
            Err(e) => Err(self.fail(e, &format!("volume {name}")).await),
        }
    }

    /// `(running, health, exit code)` of a container, for depends_on waits.
    pub async fn container_condition(
        &self,
        id: &str,
    ) -> EngineResult<(bool, Option<String>, i64, ContainerState)> {
        let d = self.inspect_container(id).await?;
        Ok((
            d.state.running,
            d.state.health.clone(),
            d.state.exit_code,
            d.state.status,
        ))
    }

    /// The id of the image a reference names now, if it is here.
    pub async fn image_id(&self, reference: &str) -> Option<String> {
        let docker = self.docker().await.ok()?;
        docker
            .inspect_image(reference)
            .await
            .ok()
            .and_then(|i| i.id)
    }

    /// The environment an image sets, to tell it apart from a service's own.
    pub async fn image_env(&self, image: &str) -> Vec<String> {
        let Ok(docker) = self.docker().await else {
            return Vec::new();
        };
        docker
            .inspect_image(image)
            .await
            .ok()
            .and_then(|i| i.config)
            .and_then(|c| c.env)
            .unwrap_or_default()
    }
}
