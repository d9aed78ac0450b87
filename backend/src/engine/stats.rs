//! Container stats, computed the way `docker stats` shows them.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures_util::{Stream, StreamExt};
use protocol::StatsSample;

use super::{Engine, EngineError, EngineResult};

impl Engine {
    /// A sample about every second while the stream is read.
    pub async fn stats_stream(
        &self,
        id: &str,
    ) -> EngineResult<impl Stream<Item = EngineResult<StatsSample>> + Send + 'static> {
        let docker = self.docker().await?;
        if let Err(e) = docker.inspect_container(id, None).await {
            return Err(self.fail(e, &format!("container {id}")).await);
        }
        let endpoint = self.id.clone();
        Ok(docker
            .stats(
                id,
                Some(StatsOptions {
                    stream: true,
                    one_shot: false,
                }),
            )
            .map(move |s| match s {
                Ok(s) => Ok(sample(s)),
                Err(e) => Err(EngineError::Unavailable {
                    endpoint: endpoint.clone(),
                    reason: format!("the stats stream broke: {e}"),
                }),
            }))
    }
}

pub fn sample(s: ContainerStatsResponse) -> StatsSample {
    let cpu = s.cpu_stats.unwrap_or_default();
    let pre = s.precpu_stats.unwrap_or_default();
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let online = cpu
        .online_cpus
        .filter(|n| *n > 0)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as u32)
        })
        .unwrap_or(1);
    let cpu_percent = if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * f64::from(online) * 100.0
    } else {
        0.0
    };

    let mem = s.memory_stats.unwrap_or_default();
    let stats = mem.stats.unwrap_or_default();
    // cgroup v2 reports inactive_file; v1 total_inactive_file (docker CLI's rule).
    let cache = stats
        .get("inactive_file")
        .or_else(|| stats.get("total_inactive_file"))
        .copied()
        .unwrap_or(0);
    let usage = mem.usage.unwrap_or(0);
    let memory_bytes = if cache < usage { usage - cache } else { usage };
    let limit = mem.limit.unwrap_or(0);

    let (mut rx, mut tx) = (0, 0);
    for n in s.networks.unwrap_or_default().values() {
        rx += n.rx_bytes.unwrap_or(0);
        tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut read, mut write) = (0, 0);
    for e in s
        .blkio_stats
        .and_then(|b| b.io_service_bytes_recursive)
        .unwrap_or_default()
    {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += e.value.unwrap_or(0),
            Some("write") => write += e.value.unwrap_or(0),
            _ => {}
        }
    }
    StatsSample {
        id: s.id.unwrap_or_default(),
        name: s
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        read: s.read.map(|r| r.to_string()).unwrap_or_default(),
        cpu_percent: (cpu_percent * 100.0).round() / 100.0,
        online_cpus: online,
        memory_bytes,
        memory_limit_bytes: limit,
        memory_percent: if limit > 0 {
            ((memory_bytes as f64 / limit as f64) * 10000.0).round() / 100.0
        } else {
            0.0
        },
        net_rx_bytes: rx,
        net_tx_bytes: tx,
        block_read_bytes: read,
        block_write_bytes: write,
        pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
    }
}
