//! Engine-wide facts: version and info.

use protocol::{EngineInfo, EngineVersion};

use super::{Engine, EngineResult};

impl Engine {
    pub async fn version(&self) -> EngineResult<EngineVersion> {
        let docker = self.docker().await?;
        let v = match docker.version().await {
            Ok(v) => v,
            Err(e) => return Err(self.fail(e, "engine version").await),
        };
        Ok(EngineVersion {
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
        })
    }

    pub async fn info(&self) -> EngineResult<EngineInfo> {
        let docker = self.docker().await?;
        let (info, version) = tokio::join!(docker.info(), docker.version());
        let info = match info {
            Ok(i) => i,
            Err(e) => return Err(self.fail(e, "engine info").await),
        };
        let version = match version {
            Ok(v) => v,
            Err(e) => return Err(self.fail(e, "engine version").await),
        };
        Ok(EngineInfo {
            endpoint: self.id.clone(),
            name: info.name.unwrap_or_default(),
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            min_api_version: version.min_api_version.unwrap_or_default(),
            os: info.operating_system.unwrap_or_default(),
            os_type: info.os_type.unwrap_or_default(),
            kernel: info.kernel_version.unwrap_or_default(),
            arch: info.architecture.unwrap_or_default(),
            cpus: info.ncpu.unwrap_or_default(),
            memory_bytes: info.mem_total.unwrap_or_default(),
            storage_driver: info.driver.unwrap_or_default(),
            docker_root_dir: info.docker_root_dir.unwrap_or_default(),
            containers: info.containers.unwrap_or_default(),
            containers_running: info.containers_running.unwrap_or_default(),
            containers_paused: info.containers_paused.unwrap_or_default(),
            containers_stopped: info.containers_stopped.unwrap_or_default(),
            images: info.images.unwrap_or_default(),
        })
    }
}

impl Engine {
    /// Space used by images, containers, volumes and the build cache, like
    /// `docker system df`. Read raw: its shape differs across API versions.
    pub async fn disk_usage(&self) -> EngineResult<protocol::DiskUsage> {
        let df = self.raw_get_json("/system/df").await?;
        Ok(disk_usage_from(&df))
    }
}

fn disk_usage_from(df: &serde_json::Value) -> protocol::DiskUsage {
    use protocol::UsageLine;
    let int =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
    let list = |k: &str| {
        df.get(k)
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default()
    };

    let images = list("Images");
    let images_active: Vec<&serde_json::Value> =
        images.iter().filter(|i| int(i, "Containers") > 0).collect();
    let layers = int(df, "LayersSize");
    // Shared layers count once, as the engine stores them once.
    let active_unique: i64 = images_active
        .iter()
        .map(|i| int(i, "Size") - int(i, "SharedSize").max(0))
        .sum::<i64>()
        + images_active
            .iter()
            .map(|i| int(i, "SharedSize").max(0))
            .max()
            .unwrap_or(0);
    let image_line = UsageLine {
        count: images.len() as i64,
        active: images_active.len() as i64,
        size_bytes: layers,
        reclaimable_bytes: (layers - active_unique).max(0),
    };

    let containers = list("Containers");
    let container_size: i64 = containers.iter().map(|c| int(c, "SizeRw")).sum();
    let running: Vec<&serde_json::Value> = containers
        .iter()
        .filter(|c| c.get("State").and_then(|s| s.as_str()) == Some("running"))
        .collect();
    let container_line = UsageLine {
        count: containers.len() as i64,
        active: running.len() as i64,
        size_bytes: container_size,
        reclaimable_bytes: container_size - running.iter().map(|c| int(c, "SizeRw")).sum::<i64>(),
    };

    let volumes = list("Volumes");
    let usage = |v: &serde_json::Value, k: &str| v.get("UsageData").map(|u| int(u, k)).unwrap_or(0);
    let volume_size: i64 = volumes.iter().map(|v| usage(v, "Size").max(0)).sum();
    let volume_line = UsageLine {
        count: volumes.len() as i64,
        active: volumes.iter().filter(|v| usage(v, "RefCount") > 0).count() as i64,
        size_bytes: volume_size,
        reclaimable_bytes: volumes
            .iter()
            .filter(|v| usage(v, "RefCount") == 0)
            .map(|v| usage(v, "Size").max(0))
            .sum(),
    };

    let cache = list("BuildCache");
    let cache_line = UsageLine {
        count: cache.len() as i64,
        active: cache
            .iter()
            .filter(|c| c.get("InUse").and_then(|b| b.as_bool()) == Some(true))
            .count() as i64,
        size_bytes: cache.iter().map(|c| int(c, "Size")).sum(),
        reclaimable_bytes: cache
            .iter()
            .filter(|c| c.get("InUse").and_then(|b| b.as_bool()) != Some(true))
            .map(|c| int(c, "Size"))
            .sum(),
    };
    protocol::DiskUsage {
        images: image_line,
        containers: container_line,
        volumes: volume_line,
        build_cache: cache_line,
    }
}
