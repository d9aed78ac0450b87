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
