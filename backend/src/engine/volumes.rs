//! Volumes: list with their users, create, inspect, remove, prune.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::{ContainerSummary as EngineSummary, VolumeCreateRequest};
use bollard::query_parameters::{
    ListContainersOptions, ListVolumesOptions, PruneVolumesOptions, RemoveVolumeOptions,
};
use protocol::{NewVolume, PruneReport, VolumeSummary, VolumeUser, COMPOSE_PROJECT_LABEL};

use super::{check_reference, Engine, EngineError, EngineResult};

impl Engine {
    /// All containers, as the engine lists them (for who-uses-what).
    pub(crate) async fn engine_containers(&self) -> EngineResult<Vec<EngineSummary>> {
        let docker = self.docker().await?;
        match docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                ..Default::default()
            }))
            .await
        {
            Ok(c) => Ok(c),
            Err(e) => Err(self.fail(e, "container list").await),
        }
    }

    pub async fn list_volumes(&self) -> EngineResult<Vec<VolumeSummary>> {
        let docker = self.docker().await?;
        let (volumes, containers) = tokio::join!(
            docker.list_volumes(None::<ListVolumesOptions>),
            self.engine_containers()
        );
        let volumes = match volumes {
            Ok(v) => v.volumes.unwrap_or_default(),
            Err(e) => return Err(self.fail(e, "volume list").await),
        };
        let users = volume_users(&containers?);
        let mut out: Vec<VolumeSummary> = volumes
            .into_iter()
            .map(|v| {
                let used_by = users.get(&v.name).cloned().unwrap_or_default();
                let anonymous = v.name.len() == 64 && v.name.chars().all(|c| c.is_ascii_hexdigit());
                VolumeSummary {
                    project: v.labels.get(COMPOSE_PROJECT_LABEL).cloned(),
                    labels: v.labels.into_iter().collect(),
                    name: v.name,
                    driver: v.driver,
                    mountpoint: v.mountpoint,
                    created_at: v.created_at.map(|d| d.to_string()).unwrap_or_default(),
                    scope: v.scope.map(|s| s.to_string()).unwrap_or_default(),
                    used_by,
                    anonymous,
                }
            })
            .collect();
        out.sort_by(|a, b| (a.anonymous, &a.name).cmp(&(b.anonymous, &b.name)));
        Ok(out)
    }

    pub async fn inspect_volume(&self, name: &str) -> EngineResult<VolumeSummary> {
        check_reference("volume", name).map_err(|e| EngineError::BadRequest(e.to_string()))?;
        self.list_volumes()
            .await?
            .into_iter()
            .find(|v| v.name == name)
            .ok_or_else(|| {
                EngineError::NotFound(format!("no volume {name} on endpoint {}", self.id))
            })
    }

    pub async fn create_volume(&self, req: &NewVolume) -> EngineResult<VolumeSummary> {
        check_reference("volume", &req.name).map_err(|_| {
            EngineError::BadRequest(format!(
                "{:?} is not a valid volume name: use letters, digits, '_', '.' and '-'",
                req.name
            ))
        })?;
        let docker = self.docker().await?;
        // The engine answers an existing name with that volume; berth says so instead.
        if docker.inspect_volume(&req.name).await.is_ok() {
            return Err(EngineError::Conflict(format!(
                "a volume named {} already exists",
                req.name
            )));
        }
        let create = VolumeCreateRequest {
            name: Some(req.name.clone()),
            driver: req.driver.clone().filter(|d| !d.is_empty()),
            driver_opts: (!req.driver_opts.is_empty())
                .then(|| req.driver_opts.clone().into_iter().collect()),
            labels: Some(req.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        if let Err(e) = docker.create_volume(create).await {
            return Err(self.fail(e, &format!("volume {}", req.name)).await);
        }
        self.inspect_volume(&req.name).await
    }

    /// Removes a volume; 409 naming the containers that still use it.
    pub async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        check_reference("volume", name).map_err(|e| EngineError::BadRequest(e.to_string()))?;
        let users = volume_users(&self.engine_containers().await?);
        if let Some(users) = users.get(name).filter(|u| !u.is_empty()) {
            let names: Vec<&str> = users.iter().map(|u| u.container.as_str()).collect();
            return Err(EngineError::Conflict(format!(
                "volume {name} is in use by container{} {}; remove {} first",
                if names.len() > 1 { "s" } else { "" },
                names.join(", "),
                if names.len() > 1 { "them" } else { "it" }
            )));
        }
        let docker = self.docker().await?;
        match docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: false }))
            .await
        {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Err(EngineError::Conflict(format!("volume {name} is in use"))),
            Err(e) => Err(self.fail(e, &format!("volume {name}")).await),
        }
    }

    /// Removes every volume no container uses.
    pub async fn prune_volumes(&self) -> EngineResult<PruneReport> {
        let docker = self.docker().await?;
        match docker.prune_volumes(None::<PruneVolumesOptions>).await {
            Ok(r) => Ok(PruneReport {
                deleted: r.volumes_deleted.unwrap_or_default(),
                space_reclaimed: r.space_reclaimed.unwrap_or_default(),
            }),
            Err(e) => Err(self.fail(e, "volume prune").await),
        }
    }
}

/// Volume name -> the containers mounting it.
fn volume_users(containers: &[EngineSummary]) -> HashMap<String, Vec<VolumeUser>> {
    let mut users: HashMap<String, Vec<VolumeUser>> = HashMap::new();
    for c in containers {
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default();
        for m in c.mounts.iter().flatten() {
            let Some(volume) = m.name.clone().filter(|n| !n.is_empty()) else {
                continue;
            };
            users.entry(volume).or_default().push(VolumeUser {
                container_id: c.id.clone().unwrap_or_default(),
                container: name.clone(),
                destination: m.destination.clone().unwrap_or_default(),
                read_only: !m.rw.unwrap_or(true),
            });
        }
    }
    users
}
