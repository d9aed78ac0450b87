//! The rest of what `docker run` and a compose service can ask of the
//! engine beyond the everyday fields of [`crate::ContainerSpec`]: security
//! and host reach, process limits, DNS and logging, devices and resources.
//!
//! One type for the run form, a pasted `docker run` line and every compose
//! service, so one function can check what a spec asks of the host
//! ([`ContainerOptions::host_reach`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// A host device given to the container (`--device /dev/x:/dev/y:rwm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceMapping {
    pub host: String,
    /// Where it appears inside; the host path when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    /// `r`, `w`, `m` in any combination; `rwm` when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub permissions: String,
}

/// A request for devices from a driver, such as GPUs from `nvidia`
/// (`--gpus`, compose's `deploy.resources.reservations.devices`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceRequest {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// How many; -1 for all. Ignored when `device_ids` is given.
    #[serde(default)]
    pub count: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    /// Capabilities, such as `[["gpu"]]`: any one inner list must match whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// The resource limits the kernel knows (`ulimit -a`), by the names
/// `--ulimit` and compose's `ulimits` use.
pub const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// A resource limit (`--ulimit nofile=1024:2048`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// A block-IO weight or rate for one device (`--blkio-weight-device`,
/// `--device-read-bps`, ...). `rate` is a weight, bytes or operations a
/// second depending on where it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BlkioDeviceRate {
    pub path: String,
    pub rate: i64,
}

/// A file written into the container before it starts: a compose secret or
/// config, at `target`, owned by `uid:gid` with `mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InjectedFile {
    /// Absolute path inside the container.
    pub target: String,
    #[serde(with = "b64")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub content: Vec<u8>,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    /// Permission bits, e.g. `0o444`.
    #[serde(default = "default_mode")]
    pub mode: u32,
}

fn default_mode() -> u32 {
    0o444
}

mod b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = Vec::with_capacity(text.len() / 4 * 3);
        let mut acc = 0u32;
        let mut bits = 0;
        for c in text.bytes().filter(|c| *c != b'=') {
            let v = ALPHABET
                .iter()
                .position(|a| *a == c)
                .ok_or_else(|| serde::de::Error::custom("content is not base64"))?;
            acc = (acc << 6) | v as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Ok(out)
    }
}

/// Everything beyond the everyday fields. Every field is optional and
/// empty by default; an empty value keeps the engine's (or image's) default.
/// Serialized flat into [`crate::ContainerSpec`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContainerOptions {
    // --- reach into the host -------------------------------------------
    /// `--privileged`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    /// GPUs and other driver devices (in addition to `gpus`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_requests: Vec<DeviceRequest>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// `--security-opt`, e.g. `no-new-privileges:true`, `seccomp=unconfined`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// `host`, `container:<id|name>`, or empty for the container's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// `host`, `private`, `shareable`, `none`, `container:<id|name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// `host`, or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// `host`, or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// `host` or `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroupns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// `<container>[:ro|rw]`: mount every volume of those containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// `<container>[:alias]` (legacy links).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,

    // --- the process ---------------------------------------------------
    /// `--init`: run an init process as PID 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// `--read-only` root filesystem.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds to wait after the stop signal before killing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// Size of `/dev/shm` in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// Path -> mount options (`size=64m,mode=1777`, or empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    /// `runc`, `nvidia`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// `linux/amd64`, ...: which variant of the image to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,

    // --- network -------------------------------------------------------
    /// `host:ip` entries for `/etc/hosts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Fixed addresses on the primary network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// Ports the container exposes without publishing: `80`, `53/udp`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,

    // --- logging -------------------------------------------------------
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_driver: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_opts: BTreeMap<String, String>,

    // --- resources -----------------------------------------------------
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap, bytes; -1 for unlimited swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blkio_weight_device: Vec<BlkioDeviceRate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<BlkioDeviceRate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<BlkioDeviceRate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<BlkioDeviceRate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<BlkioDeviceRate>,

    // --- files ---------------------------------------------------------
    /// Written into the container after it is created and before it
    /// starts (compose secrets and configs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<InjectedFile>,
}

/// A MAC address as the engine takes it: six pairs of hex digits.
pub fn is_mac_address(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// One way a spec reaches beyond its own container into the host, named by
/// the field that asks for it (as the API and compose spell it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HostReach {
    pub field: String,
    pub detail: String,
}

impl crate::ContainerSpec {
    /// Everything this spec asks that reaches beyond its own container into
    /// the host: bind mounts, the host's network or another container's,
    /// and [`ContainerOptions::host_reach`]. The one list a policy checks,
    /// whichever way the spec arrived (the run form, a `docker run` line,
    /// an edit, a compose service).
    pub fn host_reach(&self) -> Vec<HostReach> {
        let mut out = Vec::new();
        for m in self
            .mounts
            .iter()
            .filter(|m| m.kind == crate::MountKind::Bind)
        {
            out.push(HostReach {
                field: "mounts".into(),
                detail: format!("binds the host path {} at {}", m.source, m.target),
            });
        }
        match self.network.as_deref() {
            Some("host") => out.push(HostReach {
                field: "network".into(),
                detail: "shares the host's network namespace".into(),
            }),
            Some(n) if n.starts_with("container:") => out.push(HostReach {
                field: "network".into(),
                detail: format!(
                    "joins the network namespace of {}",
                    &n["container:".len()..]
                ),
            }),
            _ => {}
        }
        if self.gpus.is_some() {
            out.push(HostReach {
                field: "gpus".into(),
                detail: "requests the host's GPUs".into(),
            });
        }
        out.extend(self.options.host_reach());
        out
    }
}

impl ContainerOptions {
    pub fn is_empty(&self) -> bool {
        *self == ContainerOptions::default()
    }

    /// Everything these options ask that widens the container's reach into
    /// the host: privileged, capabilities, devices, host namespaces,
    /// sysctls, security options, cgroup placement. The one list a policy
    /// checks (bind mounts and `network: host` live in the spec itself).
    pub fn host_reach(&self) -> Vec<HostReach> {
        let mut out = Vec::new();
        let mut add = |field: &str, detail: String| {
            out.push(HostReach {
                field: field.to_string(),
                detail,
            })
        };
        if self.privileged {
            add(
                "privileged",
                "runs with every capability and every device".into(),
            );
        }
        for c in &self.cap_add {
            add("cap_add", format!("adds the capability {c}"));
        }
        for d in &self.devices {
            add("devices", format!("gives the host device {}", d.host));
        }
        for r in &self.device_cgroup_rules {
            add(
                "device_cgroup_rules",
                format!("allows devices by the rule {r}"),
            );
        }
        for r in &self.device_requests {
            let what = if r.driver.is_empty() {
                "a device driver"
            } else {
                r.driver.as_str()
            };
            add("device_requests", format!("requests devices from {what}"));
        }
        for (k, v) in &self.sysctls {
            add("sysctls", format!("sets the kernel parameter {k}={v}"));
        }
        for s in &self.security_opt {
            add("security_opt", format!("sets the security option {s}"));
        }
        for (field, value) in [
            ("pid", &self.pid),
            ("ipc", &self.ipc),
            ("uts", &self.uts),
            ("userns_mode", &self.userns_mode),
            ("cgroupns", &self.cgroupns),
        ] {
            if let Some(v) = value {
                if v == "host" {
                    add(field, format!("shares the host's {field} namespace"));
                } else if let Some(c) = v.strip_prefix("container:") {
                    add(
                        field,
                        format!("joins the {field} namespace of container {c}"),
                    );
                }
            }
        }
        if let Some(p) = &self.cgroup_parent {
            add(
                "cgroup_parent",
                format!("places the container under the cgroup {p}"),
            );
        }
        for v in &self.volumes_from {
            add(
                "volumes_from",
                format!("mounts the volumes of container {v}"),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_file_content_round_trips_as_base64() {
        for text in ["", "a", "ab", "abc", "hello secret\n", "\u{0}\u{ff}binary"] {
            let f = InjectedFile {
                target: "/run/secrets/x".into(),
                content: text.as_bytes().to_vec(),
                uid: 1,
                gid: 2,
                mode: 0o400,
            };
            let json = serde_json::to_string(&f).expect("serializes");
            let back: InjectedFile = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, f, "{json}");
        }
        let json = serde_json::to_value(InjectedFile {
            target: "/t".into(),
            content: b"hello".to_vec(),
            uid: 0,
            gid: 0,
            mode: 0o444,
        })
        .expect("serializes");
        assert_eq!(json["content"], "aGVsbG8=");
    }

    #[test]
    fn host_reach_names_each_field() {
        let o = ContainerOptions {
            privileged: true,
            cap_add: vec!["SYS_ADMIN".into()],
            pid: Some("host".into()),
            ipc: Some("container:db".into()),
            sysctls: [("net.core.somaxconn".to_string(), "1024".to_string())].into(),
            ..Default::default()
        };
        let fields: Vec<_> = o.host_reach().into_iter().map(|r| r.field).collect();
        assert_eq!(fields, ["privileged", "cap_add", "sysctls", "pid", "ipc"]);
        assert!(ContainerOptions::default().host_reach().is_empty());
        assert!(ContainerOptions::default().is_empty());
    }
}
