//! Networks: list with members and addresses, create, inspect, remove,
//! connect and disconnect containers.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::{
    EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest,
};
use bollard::query_parameters::ListNetworksOptions;
use protocol::{
    IpamSubnet, NetworkConnection, NetworkMember, NetworkSummary, NewNetwork, COMPOSE_PROJECT_LABEL,
};

use super::{check_reference, Engine, EngineError, EngineResult};

const BUILTIN: [&str; 3] = ["bridge", "host", "none"];

impl Engine {
    pub async fn list_networks(&self) -> EngineResult<Vec<NetworkSummary>> {
        let docker = self.docker().await?;
        let (networks, containers) = tokio::join!(
            docker.list_networks(None::<ListNetworksOptions>),
            self.engine_containers()
        );
        let networks = match networks {
            Ok(n) => n,
            Err(e) => return Err(self.fail(e, "network list").await),
        };
        // Members come from one container list rather than one inspect per network.
        let mut members: HashMap<String, Vec<NetworkMember>> = HashMap::new();
        for c in containers? {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let id = c.id.clone().unwrap_or_default();
            for (_, ep) in c
                .network_settings
                .and_then(|s| s.networks)
                .unwrap_or_default()
            {
                let Some(network_id) = ep.network_id.clone().filter(|n| !n.is_empty()) else {
                    continue;
                };
                members
                    .entry(network_id)
                    .or_default()
                    .push(member(&id, &name, &ep));
            }
        }
        let mut out: Vec<NetworkSummary> = networks
            .into_iter()
            .map(|n| {
                let id = n.id.unwrap_or_default();
                let name = n.name.unwrap_or_default();
                let labels: std::collections::BTreeMap<String, String> =
                    n.labels.unwrap_or_default().into_iter().collect();
                let mut containers = members.remove(&id).unwrap_or_default();
                containers.sort_by(|a, b| a.container.cmp(&b.container));
                NetworkSummary {
                    builtin: BUILTIN.contains(&name.as_str()),
                    project: labels.get(COMPOSE_PROJECT_LABEL).cloned(),
                    subnets: subnets(n.ipam),
                    id,
                    name,
                    driver: n.driver.unwrap_or_default(),
                    scope: n.scope.unwrap_or_default(),
                    internal: n.internal.unwrap_or_default(),
                    attachable: n.attachable.unwrap_or_default(),
                    created: n.created.map(|d| d.to_string()).unwrap_or_default(),
                    labels,
                    containers,
                }
            })
            .collect();
        out.sort_by(|a, b| (!a.builtin, &a.name).cmp(&(!b.builtin, &b.name)));
        Ok(out)
    }

    /// One network, with its members' aliases.
    pub async fn inspect_network(&self, id: &str) -> EngineResult<NetworkSummary> {
        check_reference("network", id).map_err(|e| EngineError::BadRequest(e.to_string()))?;
        let docker = self.docker().await?;
        let inspected = match docker.inspect_network(id, None).await {
            Ok(n) => n,
            Err(e) => return Err(self.fail(e, &format!("network {id}")).await),
        };
        let full_id = inspected.id.unwrap_or_default();
        let mut network = self
            .list_networks()
            .await?
            .into_iter()
            .find(|n| n.id == full_id)
            .ok_or_else(|| {
                EngineError::NotFound(format!("no network {id} on endpoint {}", self.id))
            })?;
        for m in &mut network.containers {
            if let Ok(c) = docker.inspect_container(&m.container_id, None).await {
                let eps = c
                    .network_settings
                    .and_then(|s| s.networks)
                    .unwrap_or_default();
                if let Some(ep) = eps.get(&network.name) {
                    m.aliases = ep.aliases.clone().unwrap_or_default();
                }
            }
        }
        Ok(network)
    }

    pub async fn create_network(&self, req: &NewNetwork) -> EngineResult<NetworkSummary> {
        check_reference("network", &req.name).map_err(|_| {
            EngineError::BadRequest(format!(
                "{:?} is not a valid network name: use letters, digits, '_', '.' and '-'",
                req.name
            ))
        })?;
        let driver = req
            .driver
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(EngineError::BadRequest(format!(
                "berth creates bridge networks only, not {driver:?}"
            )));
        }
        if let Some(subnet) = req.subnet.as_deref().filter(|s| !s.is_empty()) {
            if !looks_like_cidr(subnet) {
                return Err(EngineError::BadRequest(format!(
                    "subnet {subnet:?} is not in CIDR form, such as 172.30.0.0/24"
                )));
            }
        }
        if let Some(gw) = req.gateway.as_deref().filter(|s| !s.is_empty()) {
            if gw.parse::<std::net::IpAddr>().is_err() {
                return Err(EngineError::BadRequest(format!(
                    "gateway {gw:?} is not an IP address"
                )));
            }
            if req.subnet.as_deref().is_none_or(str::is_empty) {
                return Err(EngineError::BadRequest("a gateway needs a subnet".into()));
            }
        }
        let docker = self.docker().await?;
        if docker.inspect_network(&req.name, None).await.is_ok() {
            return Err(EngineError::Conflict(format!(
                "a network named {} already exists",
                req.name
            )));
        }
        let ipam = req
            .subnet
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|subnet| Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.clone()),
                    gateway: req.gateway.clone().filter(|g| !g.is_empty()),
                    ..Default::default()
                }]),
                ..Default::default()
            });
        let create = NetworkCreateRequest {
            name: req.name.clone(),
            driver: Some(driver),
            internal: Some(req.internal),
            attachable: Some(true),
            ipam,
            labels: Some(req.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match docker.create_network(create).await {
            Ok(created) => self.inspect_network(&created.id).await,
            Err(BollardError::DockerResponseServerError {
                status_code,
                message,
            }) if status_code == 400 || status_code == 403 || message.contains("overlap") => {
                Err(EngineError::BadRequest(format!(
                    "network {}: {}",
                    req.name,
                    super::tidy_engine_message(&message)
                )))
            }
            Err(e) => Err(self.fail(e, &format!("network {}", req.name)).await),
        }
    }

    /// Removes a network; 409 naming the containers still attached.
    pub async fn remove_network(&self, id: &str) -> EngineResult<()> {
        let network = self.inspect_network(id).await?;
        if network.builtin {
            return Err(EngineError::Conflict(format!(
                "{} is made by the engine and cannot be removed",
                network.name
            )));
        }
        if !network.containers.is_empty() {
            let names: Vec<&str> = network
                .containers
                .iter()
                .map(|m| m.container.as_str())
                .collect();
            return Err(EngineError::Conflict(format!(
                "network {} is in use by {}; disconnect or remove them first",
                network.name,
                names.join(", ")
            )));
        }
        let docker = self.docker().await?;
        match docker.remove_network(&network.id).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e, &format!("network {}", network.name)).await),
        }
    }

    pub async fn connect_network(&self, id: &str, req: &NetworkConnection) -> EngineResult<()> {
        check_reference("network", id).map_err(|e| EngineError::BadRequest(e.to_string()))?;
        check_reference("container", &req.container)
            .map_err(|e| EngineError::BadRequest(e.to_string()))?;
        for alias in &req.aliases {
            check_reference("alias", alias).map_err(|_| {
                EngineError::BadRequest(format!("{alias:?} is not a valid network alias"))
            })?;
        }
        let docker = self.docker().await?;
        let connect = NetworkConnectRequest {
            container: req.container.clone(),
            endpoint_config: Some(EndpointSettings {
                aliases: (!req.aliases.is_empty()).then(|| req.aliases.clone()),
                ..Default::default()
            }),
        };
        match docker.connect_network(id, connect).await {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 404,
                message,
            }) => Err(EngineError::NotFound(if message.contains("container") {
                format!("no container {} on endpoint {}", req.container, self.id)
            } else {
                format!("no network {id} on endpoint {}", self.id)
            })),
            Err(BollardError::DockerResponseServerError {
                status_code: 403 | 409 | 400,
                message,
            }) => Err(EngineError::Conflict(format!(
                "cannot connect {} to {id}: {}",
                req.container,
                super::tidy_engine_message(&message)
            ))),
            Err(e) => Err(self.fail(e, &format!("network {id}")).await),
        }
    }

    pub async fn disconnect_network(&self, id: &str, req: &NetworkConnection) -> EngineResult<()> {
        check_reference("network", id).map_err(|e| EngineError::BadRequest(e.to_string()))?;
        check_reference("container", &req.container)
            .map_err(|e| EngineError::BadRequest(e.to_string()))?;
        let docker = self.docker().await?;
        let disconnect = NetworkDisconnectRequest {
            container: req.container.clone(),
            force: Some(req.force),
        };
        match docker.disconnect_network(id, disconnect).await {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(EngineError::NotFound(format!(
                "no network {id} or container {} on endpoint {}",
                req.container, self.id
            ))),
            Err(BollardError::DockerResponseServerError {
                status_code: 403 | 409 | 400,
                message,
            }) => Err(EngineError::Conflict(format!(
                "cannot disconnect {} from {id}: {}",
                req.container,
                super::tidy_engine_message(&message)
            ))),
            Err(e) => Err(self.fail(e, &format!("network {id}")).await),
        }
    }
}

fn member(id: &str, name: &str, ep: &EndpointSettings) -> NetworkMember {
    NetworkMember {
        container_id: id.into(),
        container: name.into(),
        ipv4_address: ep.ip_address.clone().unwrap_or_default(),
        mac_address: ep.mac_address.clone().unwrap_or_default(),
        aliases: ep.aliases.clone().unwrap_or_default(),
    }
}

fn subnets(ipam: Option<Ipam>) -> Vec<IpamSubnet> {
    ipam.and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .map(|c| IpamSubnet {
            subnet: c.subnet.unwrap_or_default(),
            gateway: c.gateway.unwrap_or_default(),
        })
        .collect()
}

fn looks_like_cidr(s: &str) -> bool {
    match s.split_once('/') {
        Some((ip, bits)) => {
            let max = if ip.contains(':') { 128 } else { 32 };
            ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= max)
        }
        None => false,
    }
}
