//! The engine side of [`ContainerOptions`]: their syntax checks, their place
//! in the engine's create body, the files written into a container before it
//! starts, and reading them back from an inspected container.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, DeviceMapping as EngineDevice,
    DeviceRequest as EngineDeviceRequest, EndpointIpamConfig, EndpointSettings, HostConfig,
    HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, HostConfigLogConfig, ImageConfig,
    NetworkingConfig, ResourcesBlkioWeightDevice, ResourcesUlimits, ThrottleDevice,
};
use protocol::{
    BlkioDeviceRate, ContainerOptions, DeviceMapping, DeviceRequest, GpuRequest, InjectedFile,
    Ulimit,
};

/// The most files one container may be given, and the most each may hold:
/// they travel in one request body held in memory.
pub const MAX_FILES: usize = 64;
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The API version the engine agreed to speak, as (major, minor).
pub type ApiVersion = (usize, usize);

/// The defaults an engine fills in for what a create left empty, so reading
/// a container back does not mistake them for asked-for settings.
#[derive(Debug, Clone, Default)]
pub struct EngineDefaults {
    pub logging_driver: String,
    pub runtime: String,
    /// `host` on cgroup v1, `private` on v2.
    pub cgroupns: String,
}

const ULIMITS: &[&str] = protocol::ULIMIT_NAMES;

const SECURITY_OPTS: &[&str] = &[
    "label",
    "apparmor",
    "seccomp",
    "no-new-privileges",
    "systempaths",
    "writable-cgroups",
];

fn plain(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `host`, `container:<name>`, or one of `also`.
fn check_namespace(field: &str, value: &str, also: &[&str]) -> Result<(), String> {
    if value.is_empty() || value == "host" || also.contains(&value) {
        return Ok(());
    }
    if let Some(c) = value.strip_prefix("container:") {
        if is_name(c) {
            return Ok(());
        }
    }
    let mut allowed = vec!["host"];
    allowed.extend_from_slice(also);
    Err(format!(
        "{field} {value:?} is not one of {}, or container:<name>",
        allowed.join(", ")
    ))
}

fn check_absolute(field: &str, what: &str, path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.contains('\0') {
        return Err(format!("{field}: {what} {path:?} must be an absolute path"));
    }
    Ok(())
}

/// `0-3,5` style CPU or memory-node lists.
fn is_cpu_list(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            matches!((a.parse::<u32>(), b.parse::<u32>()), (Ok(a), Ok(b)) if a <= b)
        })
}

fn is_signal(s: &str) -> bool {
    let name = s.strip_prefix("SIG").unwrap_or(s);
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '+' || c == '-'))
        || s.parse::<u8>().is_ok_and(|n| n > 0)
}

/// `host:ip` (or compose's `host=ip`) as the engine wants it: `host:ip`.
fn extra_host(entry: &str) -> Option<(&str, &str)> {
    let (host, ip) = match (entry.split_once('='), entry.split_once(':')) {
        (Some((h, ip)), _) if !h.contains(':') => (h, ip),
        (_, Some(pair)) => pair,
        _ => return None,
    };
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    (plain(host) && (ip == "host-gateway" || ip.parse::<IpAddr>().is_ok())).then_some((host, ip))
}

/// `80`, `8000-8010`, `53/udp`.
fn check_expose(entry: &str) -> Result<(), String> {
    let (ports, proto) = entry.split_once('/').unwrap_or((entry, "tcp"));
    let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
    let ok = matches!(proto, "tcp" | "udp" | "sctp")
        && matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if lo > 0 && lo <= hi);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expose {entry:?} is not a port, a range like 8000-8010, or either with /tcp, /udp or /sctp"
        ))
    }
}

/// The syntax of every option, each message naming its field.
pub fn validate_options(o: &ContainerOptions) -> Result<(), String> {
    for (field, caps) in [("cap_add", &o.cap_add), ("cap_drop", &o.cap_drop)] {
        for c in caps {
            if c.is_empty() || !c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "{field}: {c:?} is not a capability name like NET_ADMIN"
                ));
            }
        }
    }
    for d in &o.devices {
        if d.host.is_empty() {
            return Err("devices: a device needs its host path, like /dev/fuse".into());
        }
        check_absolute("devices", "the host path", &d.host)?;
        if !d.container.is_empty() {
            check_absolute("devices", "the path in the container", &d.container)?;
        }
        if !d.permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(format!(
                "devices: the permissions {:?} of {} are not a combination of r, w and m",
                d.permissions, d.host
            ));
        }
    }
    for rule in &o.device_cgroup_rules {
        let parts: Vec<&str> = rule.split(' ').collect();
        let number = |s: &str| s == "*" || s.parse::<u32>().is_ok();
        let ok = parts.len() == 3
            && matches!(parts[0], "a" | "b" | "c")
            && parts[1]
                .split_once(':')
                .is_some_and(|(a, b)| number(a) && number(b))
            && !parts[2].is_empty()
            && parts[2].chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
        if !ok {
            return Err(format!(
                "device_cgroup_rules: {rule:?} is not a rule like \"c 189:* rmw\""
            ));
        }
    }
    for r in &o.device_requests {
        if r.count < -1 {
            return Err(format!(
                "device_requests: the count {} is not a number of devices (or -1 for all)",
                r.count
            ));
        }
        if r.capabilities.iter().flatten().any(|c| !plain(c)) {
            return Err("device_requests: a capability is empty or has spaces".into());
        }
    }
    for (k, v) in &o.sysctls {
        if !plain(k) || k.contains('=') {
            return Err(format!(
                "sysctls: {k:?} is not a kernel parameter name; write name=value, like net.ipv4.ip_forward=1"
            ));
        }
        if v.contains(['\n', '\0']) {
            return Err(format!("sysctls: the value of {k} has a line break"));
        }
    }
    for s in &o.security_opt {
        let key = s.split([':', '=']).next().unwrap_or_default();
        if !SECURITY_OPTS.contains(&key) {
            return Err(format!(
                "security_opt: {s:?} is not one of {}, with its value",
                SECURITY_OPTS.join(", ")
            ));
        }
    }
    if let Some(v) = &o.pid {
        check_namespace("pid", v, &[])?;
    }
    if let Some(v) = &o.ipc {
        check_namespace("ipc", v, &["private", "shareable", "none"])?;
    }
    if let Some(v) = &o.uts {
        check_namespace("uts", v, &[]).and_then(|()| {
            if v.starts_with("container:") {
                Err(format!("uts {v:?}: only host is possible"))
            } else {
                Ok(())
            }
        })?;
    }
    if let Some(v) = &o.userns_mode {
        if !v.is_empty() && v != "host" {
            return Err(format!("userns_mode {v:?}: only host is possible"));
        }
    }
    if let Some(v) = &o.cgroupns {
        if !matches!(v.as_str(), "" | "host" | "private") {
            return Err(format!("cgroupns {v:?} is not host or private"));
        }
    }
    if let Some(v) = &o.cgroup_parent {
        if !v.is_empty() && !plain(v) {
            return Err(format!("cgroup_parent {v:?} has spaces"));
        }
    }
    for v in &o.volumes_from {
        let (name, mode) = v.split_once(':').unwrap_or((v, "rw"));
        if !is_name(name) || !matches!(mode, "rw" | "ro") {
            return Err(format!(
                "volumes_from: {v:?} is not a container name, optionally with :ro or :rw"
            ));
        }
    }
    for l in &o.links {
        let (name, alias) = l.split_once(':').unwrap_or((l, l));
        if !is_name(name.trim_start_matches('/')) || !is_name(alias) {
            return Err(format!(
                "links: {l:?} is not a container name, optionally with :alias"
            ));
        }
    }
    if let Some(s) = &o.stop_signal {
        if !is_signal(s) {
            return Err(format!(
                "stop_signal {s:?} is not a signal like SIGTERM, SIGINT or 15"
            ));
        }
    }
    if o.stop_timeout.is_some_and(|t| t < -1) {
        return Err("stop_timeout: write a number of seconds (or -1 to wait forever)".into());
    }
    for u in &o.ulimits {
        if !ULIMITS.contains(&u.name.as_str()) {
            return Err(format!(
                "ulimits: {:?} is not one of {}",
                u.name,
                ULIMITS.join(", ")
            ));
        }
        if u.soft < -1 || u.hard < -1 {
            return Err(format!(
                "ulimits: {} limits are numbers, or -1 for unlimited",
                u.name
            ));
        }
        // -1 is unlimited: larger than any number.
        let unlimited_soft = u.soft == -1 && u.hard != -1;
        if unlimited_soft || (u.hard != -1 && u.soft > u.hard) {
            return Err(format!(
                "ulimits: the soft limit of {} ({}) is above its hard limit ({})",
                u.name, u.soft, u.hard
            ));
        }
    }
    for g in &o.group_add {
        if !plain(g) {
            return Err(format!("group_add: {g:?} is not a group name or id"));
        }
    }
    if o.oom_score_adj
        .is_some_and(|n| !(-1000..=1000).contains(&n))
    {
        return Err("oom_score_adj must be between -1000 and 1000".into());
    }
    if o.shm_size.is_some_and(|n| n < 0) {
        return Err("shm_size must be a size in bytes, not negative".into());
    }
    for (path, opts) in &o.tmpfs {
        check_absolute("tmpfs", "the mount point", path)?;
        if opts.chars().any(char::is_whitespace) {
            return Err(format!("tmpfs: the options {opts:?} of {path} have spaces"));
        }
    }
    for k in o.storage_opt.keys() {
        if !plain(k) {
            return Err(format!("storage_opt: {k:?} is not an option name"));
        }
    }
    if let Some(r) = &o.runtime {
        if !plain(r) {
            return Err(format!("runtime {r:?} is not a runtime name"));
        }
    }
    if let Some(p) = &o.platform {
        let parts: Vec<&str> = p.split('/').collect();
        let ok = parts.len() <= 3
            && parts.iter().all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !ok {
            return Err(format!(
                "platform {p:?} is not os[/arch[/variant]], like linux/amd64"
            ));
        }
    }
    if let Some(i) = &o.isolation {
        if !matches!(i.as_str(), "" | "default" | "process" | "hyperv") {
            return Err(format!("isolation {i:?} is not default, process or hyperv"));
        }
    }
    for k in o.annotations.keys() {
        if !plain(k) {
            return Err(format!("annotations: {k:?} is not a key"));
        }
    }
    for h in &o.extra_hosts {
        if extra_host(h).is_none() {
            return Err(format!(
                "extra_hosts: {h:?} is not host:ip, like db:10.0.0.2 or gw:host-gateway"
            ));
        }
    }
    for d in &o.dns {
        if d.parse::<IpAddr>().is_err() {
            return Err(format!("dns: {d:?} is not an IP address"));
        }
    }
    for (field, list) in [("dns_search", &o.dns_search), ("dns_opt", &o.dns_opt)] {
        if let Some(v) = list.iter().find(|v| !plain(v)) {
            return Err(format!("{field}: {v:?} is empty or has spaces"));
        }
    }
    if let Some(d) = &o.domainname {
        if !d.is_empty()
            && !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err(format!("domainname {d:?} is not a domain name"));
        }
    }
    if let Some(m) = &o.mac_address {
        if !protocol::is_mac_address(m) {
            return Err(format!(
                "mac_address {m:?} is not a MAC address like 02:42:ac:11:00:02"
            ));
        }
    }
    if let Some(ip) = &o.ipv4_address {
        if ip.parse::<Ipv4Addr>().is_err() {
            return Err(format!("ipv4_address {ip:?} is not an IPv4 address"));
        }
    }
    if let Some(ip) = &o.ipv6_address {
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(format!("ipv6_address {ip:?} is not an IPv6 address"));
        }
    }
    for e in &o.expose {
        check_expose(e)?;
    }
    if let Some(d) = &o.log_driver {
        if !plain(d) {
            return Err(format!("log_driver {d:?} is not a logging driver name"));
        }
    }
    for k in o.log_opts.keys() {
        if !plain(k) {
            return Err(format!("log_opts: {k:?} is not an option name"));
        }
    }
    for (field, value) in [
        ("cpu_shares", o.cpu_shares),
        ("cpu_rt_period", o.cpu_rt_period),
        ("cpu_rt_runtime", o.cpu_rt_runtime),
        ("memory_reservation", o.memory_reservation),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(format!("{field} must not be negative"));
        }
    }
    if o.cpu_period
        .is_some_and(|p| p != 0 && !(1000..=1_000_000).contains(&p))
    {
        return Err("cpu_period must be between 1000 and 1000000 microseconds".into());
    }
    if o.cpu_quota.is_some_and(|q| q != 0 && q != -1 && q < 1000) {
        return Err("cpu_quota must be at least 1000 microseconds (or -1 for none)".into());
    }
    for (field, value) in [
        ("cpuset_cpus", &o.cpuset_cpus),
        ("cpuset_mems", &o.cpuset_mems),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            if !is_cpu_list(v) {
                return Err(format!("{field} {v:?} is not a list like 0-3,5"));
            }
        }
    }
    if o.memory_swap.is_some_and(|s| s < -1) {
        return Err("memory_swap must be bytes, or -1 for unlimited swap".into());
    }
    if o.memory_swappiness
        .is_some_and(|s| !(-1..=100).contains(&s))
    {
        return Err("memory_swappiness must be between 0 and 100".into());
    }
    if o.blkio_weight
        .is_some_and(|w| w != 0 && !(10..=1000).contains(&w))
    {
        return Err("blkio_weight must be between 10 and 1000".into());
    }
    for d in &o.blkio_weight_device {
        check_absolute("blkio_weight_device", "the device", &d.path)?;
        if !(10..=1000).contains(&d.rate) {
            return Err(format!(
                "blkio_weight_device: the weight of {} must be between 10 and 1000",
                d.path
            ));
        }
    }
    for (field, list) in [
        ("device_read_bps", &o.device_read_bps),
        ("device_write_bps", &o.device_write_bps),
        ("device_read_iops", &o.device_read_iops),
        ("device_write_iops", &o.device_write_iops),
    ] {
        for d in list {
            check_absolute(field, "the device", &d.path)?;
            if d.rate < 0 {
                return Err(format!(
                    "{field}: the rate of {} must not be negative",
                    d.path
                ));
            }
        }
    }
    if o.files.len() > MAX_FILES {
        return Err(format!(
            "files: at most {MAX_FILES} files can be written into a container, not {}",
            o.files.len()
        ));
    }
    for f in &o.files {
        check_absolute("files", "the target", &f.target)?;
        if f.target.ends_with('/') || f.target.split('/').any(|p| p == "..") {
            return Err(format!(
                "files: the target {:?} must name a file, without ..",
                f.target
            ));
        }
        if f.content.len() > MAX_FILE_BYTES {
            return Err(format!(
                "files: {} is larger than {} MiB",
                f.target,
                MAX_FILE_BYTES >> 20
            ));
        }
        if f.mode > 0o7777 {
            return Err(format!(
                "files: the mode {:o} of {} is not a permission mode like 0444",
                f.mode, f.target
            ));
        }
    }
    Ok(())
}

fn some_vec<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn some_map(m: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.clone().into_iter().collect())
}

fn throttle(list: &[BlkioDeviceRate]) -> Option<Vec<ThrottleDevice>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|d| ThrottleDevice {
                path: Some(d.path.clone()),
                rate: Some(d.rate),
            })
            .collect()
    })
}

/// The endpoint settings of the container's first network, made on demand.
pub fn primary_endpoint<'a>(
    body: &'a mut ContainerCreateBody,
    network: &str,
) -> &'a mut EndpointSettings {
    body.networking_config
        .get_or_insert_with(NetworkingConfig::default)
        .endpoints_config
        .get_or_insert_with(HashMap::new)
        .entry(network.to_string())
        .or_default()
}

/// Puts every option into the create body. Returns what this engine's API
/// version cannot carry, as warnings for the caller; the rest is applied.
pub fn apply_options(
    body: &mut ContainerCreateBody,
    o: &ContainerOptions,
    network: Option<&str>,
    api: ApiVersion,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let speaks = |major: usize, minor: usize| api >= (major, minor);
    let host = body.host_config.get_or_insert_with(HostConfig::default);
    host.privileged = o.privileged.then_some(true);
    host.cap_add = some_vec(&o.cap_add);
    host.cap_drop = some_vec(&o.cap_drop);
    host.devices = (!o.devices.is_empty()).then(|| {
        o.devices
            .iter()
            .map(|d| EngineDevice {
                path_on_host: Some(d.host.clone()),
                path_in_container: Some(if d.container.is_empty() {
                    d.host.clone()
                } else {
                    d.container.clone()
                }),
                cgroup_permissions: Some(if d.permissions.is_empty() {
                    "rwm".into()
                } else {
                    d.permissions.clone()
                }),
            })
            .collect()
    });
    host.device_cgroup_rules = some_vec(&o.device_cgroup_rules);
    if !o.device_requests.is_empty() {
        host.device_requests
            .get_or_insert_with(Vec::new)
            .extend(o.device_requests.iter().map(|r| EngineDeviceRequest {
                driver: Some(r.driver.clone()),
                count: Some(r.count),
                device_ids: some_vec(&r.device_ids),
                capabilities: some_vec(&r.capabilities),
                options: some_map(&r.options),
            }));
    }
    host.sysctls = some_map(&o.sysctls);
    host.security_opt = some_vec(&o.security_opt);
    host.pid_mode = o.pid.clone();
    host.ipc_mode = o.ipc.clone();
    host.uts_mode = o.uts.clone();
    host.userns_mode = o.userns_mode.clone();
    host.cgroupns_mode = o.cgroupns.as_deref().and_then(|c| match c {
        "host" => Some(HostConfigCgroupnsModeEnum::HOST),
        "private" => Some(HostConfigCgroupnsModeEnum::PRIVATE),
        _ => None,
    });
    host.cgroup_parent = o.cgroup_parent.clone();
    host.volumes_from = some_vec(&o.volumes_from);
    host.links = some_vec(&o.links);
    host.init = o.init;
    host.readonly_rootfs = o.read_only.then_some(true);
    host.ulimits = (!o.ulimits.is_empty()).then(|| {
        o.ulimits
            .iter()
            .map(|u| ResourcesUlimits {
                name: Some(u.name.clone()),
                soft: Some(u.soft),
                hard: Some(u.hard),
            })
            .collect()
    });
    host.group_add = some_vec(&o.group_add);
    host.oom_score_adj = o.oom_score_adj;
    host.oom_kill_disable = o.oom_kill_disable;
    host.pids_limit = o.pids_limit;
    host.shm_size = o.shm_size;
    host.tmpfs = some_map(&o.tmpfs);
    host.storage_opt = some_map(&o.storage_opt);
    host.runtime = o.runtime.clone();
    host.isolation = o.isolation.as_deref().and_then(|i| match i {
        "default" => Some(HostConfigIsolationEnum::DEFAULT),
        "process" => Some(HostConfigIsolationEnum::PROCESS),
        "hyperv" => Some(HostConfigIsolationEnum::HYPERV),
        _ => None,
    });
    if !o.annotations.is_empty() {
        if speaks(1, 43) {
            host.annotations = some_map(&o.annotations);
        } else {
            warnings.push(format!(
                "annotations were not set: they need Docker API 1.43; this engine speaks {}.{}",
                api.0, api.1
            ));
        }
    }
    host.extra_hosts = (!o.extra_hosts.is_empty()).then(|| {
        o.extra_hosts
            .iter()
            .filter_map(|h| extra_host(h).map(|(host, ip)| format!("{host}:{ip}")))
            .collect()
    });
    host.dns = some_vec(&o.dns);
    host.dns_search = some_vec(&o.dns_search);
    host.dns_options = some_vec(&o.dns_opt);
    if o.log_driver.is_some() || !o.log_opts.is_empty() {
        host.log_config = Some(HostConfigLogConfig {
            typ: o.log_driver.clone(),
            config: some_map(&o.log_opts),
        });
    }
    host.cpu_shares = o.cpu_shares;
    host.cpu_period = o.cpu_period;
    host.cpu_quota = o.cpu_quota;
    host.cpu_realtime_period = o.cpu_rt_period;
    host.cpu_realtime_runtime = o.cpu_rt_runtime;
    host.cpuset_cpus = o.cpuset_cpus.clone();
    host.cpuset_mems = o.cpuset_mems.clone();
    host.memory_reservation = o.memory_reservation;
    host.memory_swap = o.memory_swap;
    host.memory_swappiness = o.memory_swappiness;
    host.blkio_weight = o.blkio_weight;
    host.blkio_weight_device = (!o.blkio_weight_device.is_empty()).then(|| {
        o.blkio_weight_device
            .iter()
            .map(|d| ResourcesBlkioWeightDevice {
                path: Some(d.path.clone()),
                weight: usize::try_from(d.rate).ok(),
            })
            .collect()
    });
    host.blkio_device_read_bps = throttle(&o.device_read_bps);
    host.blkio_device_write_bps = throttle(&o.device_write_bps);
    host.blkio_device_read_iops = throttle(&o.device_read_iops);
    host.blkio_device_write_iops = throttle(&o.device_write_iops);

    body.stop_signal = o.stop_signal.clone();
    body.stop_timeout = o.stop_timeout;
    body.domainname = o.domainname.clone();
    for e in &o.expose {
        let key = if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        };
        let exposed = body.exposed_ports.get_or_insert_with(Vec::new);
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }

    // Fixed addresses belong to the endpoint on the container's first
    // network; the default bridge is named `bridge` there.
    let network = network.unwrap_or("bridge");
    if o.ipv4_address.is_some() || o.ipv6_address.is_some() {
        primary_endpoint(body, network).ipam_config = Some(EndpointIpamConfig {
            ipv4_address: o.ipv4_address.clone(),
            ipv6_address: o.ipv6_address.clone(),
            ..Default::default()
        });
    }
    if let Some(mac) = &o.mac_address {
        if speaks(1, 44) {
            primary_endpoint(body, network).mac_address = Some(mac.clone());
        } else {
            // Older engines take it only at the top of the create body,
            // where berth's engine client has no field for it.
            warnings.push(format!(
                "mac_address was not set: berth sets it through Docker API 1.44; this engine speaks {}.{}",
                api.0, api.1
            ));
        }
    }
    warnings
}

/// The `--gpus` form berth writes for [`GpuRequest`].
fn is_simple_gpu(r: &EngineDeviceRequest) -> bool {
    r.driver.as_deref().unwrap_or_default().is_empty()
        && r.device_ids.as_ref().is_none_or(Vec::is_empty)
        && r.options.as_ref().is_none_or(HashMap::is_empty)
        && r.capabilities.as_deref() == Some(&[vec!["gpu".to_string()]][..])
}

/// Splits the engine's device requests into the simple `gpus` form (the
/// first one that has it) and the rest.
pub fn read_device_requests(
    requests: Vec<EngineDeviceRequest>,
) -> (Option<GpuRequest>, Vec<DeviceRequest>) {
    let mut gpus = None;
    let mut rest = Vec::new();
    for r in requests {
        if gpus.is_none() && is_simple_gpu(&r) {
            gpus = Some(match r.count {
                Some(-1) | None => GpuRequest::All("all".into()),
                Some(n) => GpuRequest::Count(n),
            });
            continue;
        }
        rest.push(DeviceRequest {
            driver: r.driver.unwrap_or_default(),
            count: r.count.unwrap_or_default(),
            device_ids: r.device_ids.unwrap_or_default(),
            capabilities: r.capabilities.unwrap_or_default(),
            options: r.options.unwrap_or_default().into_iter().collect(),
        });
    }
    (gpus, rest)
}

fn sorted(m: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    m.unwrap_or_default().into_iter().collect()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn positive(n: Option<i64>) -> Option<i64> {
    n.filter(|n| *n > 0)
}

fn rates(list: Option<Vec<ThrottleDevice>>) -> Vec<BlkioDeviceRate> {
    list.unwrap_or_default()
        .into_iter()
        .map(|d| BlkioDeviceRate {
            path: d.path.unwrap_or_default(),
            rate: d.rate.unwrap_or_default(),
        })
        .collect()
}

/// The engine keeps links as `/target:/this/alias`; `docker run` wrote
/// `target:alias`, or just `target` when the alias is the same.
fn read_link(link: &str) -> String {
    let (target, alias) = link.split_once(':').unwrap_or((link, link));
    let target = target.trim_start_matches('/');
    let alias = alias.rsplit('/').next().unwrap_or(alias);
    if alias == target || alias.is_empty() {
        target.to_string()
    } else {
        format!("{target}:{alias}")
    }
}

/// Reads every option back from an inspected container, leaving out what
/// the engine or the image set by itself. `files` cannot be read back.
/// `published` holds the `port/proto` keys the spec publishes, which the
/// engine also lists as exposed.
pub fn read_options(
    c: &ContainerInspectResponse,
    image: Option<&ImageConfig>,
    network: Option<&str>,
    published: &[String],
    defaults: &EngineDefaults,
) -> ContainerOptions {
    let config = c.config.clone().unwrap_or_default();
    let host = c.host_config.clone().unwrap_or_default();
    let image_exposed = image
        .and_then(|i| i.exposed_ports.clone())
        .unwrap_or_default();
    let image_signal = image.and_then(|i| i.stop_signal.clone());
    let (_, device_requests) = read_device_requests(host.device_requests.unwrap_or_default());
    let log = host.log_config.unwrap_or_default();
    let log_opts = sorted(log.config);
    let log_driver =
        non_empty(log.typ).filter(|t| !log_opts.is_empty() || *t != defaults.logging_driver);
    let endpoint = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .and_then(|n| n.get(network.unwrap_or("bridge")))
        .and_then(|e| e.ipam_config.clone())
        .unwrap_or_default();
    let mut expose: Vec<String> = config
        .exposed_ports
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !image_exposed.contains(p) && !published.contains(p))
        .map(|p| p.strip_suffix("/tcp").map(str::to_string).unwrap_or(p))
        .collect();
    expose.sort();
    let memory = host.memory.unwrap_or_default();
    ContainerOptions {
        privileged: host.privileged.unwrap_or_default(),
        cap_add: host.cap_add.unwrap_or_default(),
        cap_drop: host.cap_drop.unwrap_or_default(),
        devices: host
            .devices
            .unwrap_or_default()
            .into_iter()
            .map(|d| {
                let host_path = d.path_on_host.unwrap_or_default();
                let container = d.path_in_container.unwrap_or_default();
                let permissions = d.cgroup_permissions.unwrap_or_default();
                DeviceMapping {
                    container: if container == host_path {
                        String::new()
                    } else {
                        container
                    },
                    permissions: if permissions == "rwm" {
                        String::new()
                    } else {
                        permissions
                    },
                    host: host_path,
                }
            })
            .collect(),
        device_cgroup_rules: host.device_cgroup_rules.unwrap_or_default(),
        device_requests,
        sysctls: sorted(host.sysctls),
        security_opt: host.security_opt.unwrap_or_default(),
        pid: non_empty(host.pid_mode),
        // `private` is the engine's own default since Docker 20.10.
        ipc: non_empty(host.ipc_mode).filter(|m| m != "private"),
        uts: non_empty(host.uts_mode),
        userns_mode: non_empty(host.userns_mode),
        cgroupns: host
            .cgroupns_mode
            .map(|m| m.to_string())
            .filter(|m| !m.is_empty() && *m != defaults.cgroupns),
        cgroup_parent: non_empty(host.cgroup_parent),
        volumes_from: host.volumes_from.unwrap_or_default(),
        links: host
            .links
            .unwrap_or_default()
            .iter()
            .map(|l| read_link(l))
            .collect(),
        init: host.init,
        read_only: host.readonly_rootfs.unwrap_or_default(),
        stop_signal: non_empty(config.stop_signal).filter(|s| Some(s) != image_signal.as_ref()),
        stop_timeout: config.stop_timeout,
        ulimits: host
            .ulimits
            .unwrap_or_default()
            .into_iter()
            .map(|u| Ulimit {
                name: u.name.unwrap_or_default(),
                soft: u.soft.unwrap_or_default(),
                hard: u.hard.unwrap_or_default(),
            })
            .collect(),
        group_add: host.group_add.unwrap_or_default(),
        oom_score_adj: host.oom_score_adj.filter(|n| *n != 0),
        oom_kill_disable: host.oom_kill_disable.filter(|d| *d),
        pids_limit: positive(host.pids_limit),
        // 64 MiB is the engine's default /dev/shm.
        shm_size: positive(host.shm_size).filter(|s| *s != 64 << 20),
        tmpfs: sorted(host.tmpfs),
        storage_opt: sorted(host.storage_opt),
        runtime: non_empty(host.runtime).filter(|r| *r != defaults.runtime),
        platform: None,
        isolation: host
            .isolation
            .map(|i| i.to_string())
            .filter(|i| !i.is_empty()),
        annotations: sorted(host.annotations),
        extra_hosts: host.extra_hosts.unwrap_or_default(),
        dns: host.dns.unwrap_or_default(),
        dns_search: host.dns_search.unwrap_or_default(),
        dns_opt: host.dns_options.unwrap_or_default(),
        domainname: non_empty(config.domainname),
        mac_address: None,
        ipv4_address: non_empty(endpoint.ipv4_address),
        ipv6_address: non_empty(endpoint.ipv6_address),
        expose,
        log_driver,
        log_opts,
        cpu_shares: positive(host.cpu_shares),
        cpu_period: positive(host.cpu_period),
        cpu_quota: host.cpu_quota.filter(|q| *q != 0),
        cpu_rt_period: positive(host.cpu_realtime_period),
        cpu_rt_runtime: positive(host.cpu_realtime_runtime),
        cpuset_cpus: non_empty(host.cpuset_cpus),
        cpuset_mems: non_empty(host.cpuset_mems),
        memory_reservation: positive(host.memory_reservation),
        // The engine doubles a memory limit into memory+swap by itself.
        memory_swap: host
            .memory_swap
            .filter(|s| *s != 0 && !(memory > 0 && *s == memory * 2)),
        memory_swappiness: host.memory_swappiness.filter(|s| *s >= 0),
        blkio_weight: host.blkio_weight.filter(|w| *w > 0),
        blkio_weight_device: host
            .blkio_weight_device
            .unwrap_or_default()
            .into_iter()
            .map(|d| BlkioDeviceRate {
                path: d.path.unwrap_or_default(),
                rate: d
                    .weight
                    .and_then(|w| i64::try_from(w).ok())
                    .unwrap_or_default(),
            })
            .collect(),
        device_read_bps: rates(host.blkio_device_read_bps),
        device_write_bps: rates(host.blkio_device_write_bps),
        device_read_iops: rates(host.blkio_device_read_iops),
        device_write_iops: rates(host.blkio_device_write_iops),
        files: Vec::new(),
    }
}

/// One tar archive, to be unpacked at `/`, holding every file with its
/// owner and mode. Missing parent directories are made by the engine as it
/// unpacks (root-owned, 0755); existing ones are left as they are, which is
/// why the archive holds no directory entries.
pub fn files_archive(files: &[InjectedFile]) -> std::io::Result<Vec<u8>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut tar = tar::Builder::new(Vec::new());
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(f.content.len() as u64);
        header.set_mode(f.mode);
        header.set_uid(u64::from(f.uid));
        header.set_gid(u64::from(f.gid));
        header.set_mtime(now);
        tar.append_data(
            &mut header,
            f.target.trim_start_matches('/'),
            f.content.as_slice(),
        )?;
    }
    tar.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(o: ContainerOptions) -> String {
        validate_options(&o).expect_err("refused")
    }

    #[test]
    fn each_bad_option_is_named() {
        let cases: Vec<(ContainerOptions, &str)> = vec![
            (
                ContainerOptions {
                    ulimits: vec![Ulimit {
                        name: "nofile".into(),
                        soft: 2048,
                        hard: 1024,
                    }],
                    ..Default::default()
                },
                "ulimits: the soft limit of nofile (2048) is above its hard limit (1024)",
            ),
            (
                ContainerOptions {
                    ulimits: vec![Ulimit {
                        name: "files".into(),
                        soft: 1,
                        hard: 1,
                    }],
                    ..Default::default()
                },
                "ulimits: \"files\" is not one of",
            ),
            (
                ContainerOptions {
                    devices: vec![DeviceMapping {
                        host: String::new(),
                        container: "/dev/x".into(),
                        permissions: String::new(),
                    }],
                    ..Default::default()
                },
                "devices: a device needs its host path",
            ),
            (
                ContainerOptions {
                    tmpfs: [("tmp".to_string(), String::new())].into(),
                    ..Default::default()
                },
                "tmpfs: the mount point \"tmp\" must be an absolute path",
            ),
            (
                ContainerOptions {
                    sysctls: [("net.ipv4.ip_forward=1".to_string(), String::new())].into(),
                    ..Default::default()
                },
                "sysctls: \"net.ipv4.ip_forward=1\" is not a kernel parameter name",
            ),
            (
                ContainerOptions {
                    security_opt: vec!["no-new-privs".into()],
                    ..Default::default()
                },
                "security_opt: \"no-new-privs\"",
            ),
            (
                ContainerOptions {
                    pid: Some("shared".into()),
                    ..Default::default()
                },
                "pid \"shared\"",
            ),
            (
                ContainerOptions {
                    extra_hosts: vec!["db".into()],
                    ..Default::default()
                },
                "extra_hosts: \"db\"",
            ),
            (
                ContainerOptions {
                    dns: vec!["resolver".into()],
                    ..Default::default()
                },
                "dns: \"resolver\" is not an IP address",
            ),
            (
                ContainerOptions {
                    mac_address: Some("02:42".into()),
                    ..Default::default()
                },
                "mac_address",
            ),
            (
                ContainerOptions {
                    ipv4_address: Some("10.0.0.300".into()),
                    ..Default::default()
                },
                "ipv4_address",
            ),
            (
                ContainerOptions {
                    expose: vec!["http".into()],
                    ..Default::default()
                },
                "expose \"http\"",
            ),
            (
                ContainerOptions {
                    stop_signal: Some("sigterm please".into()),
                    ..Default::default()
                },
                "stop_signal",
            ),
            (
                ContainerOptions {
                    oom_score_adj: Some(5000),
                    ..Default::default()
                },
                "oom_score_adj",
            ),
            (
                ContainerOptions {
                    cpuset_cpus: Some("0-".into()),
                    ..Default::default()
                },
                "cpuset_cpus",
            ),
            (
                ContainerOptions {
                    device_cgroup_rules: vec!["c 189 rwm".into()],
                    ..Default::default()
                },
                "device_cgroup_rules",
            ),
            (
                ContainerOptions {
                    cap_add: vec!["NET ADMIN".into()],
                    ..Default::default()
                },
                "cap_add",
            ),
            (
                ContainerOptions {
                    isolation: Some("vm".into()),
                    ..Default::default()
                },
                "isolation",
            ),
            (
                ContainerOptions {
                    files: vec![InjectedFile {
                        target: "/run/secrets/../../etc/passwd".into(),
                        content: Vec::new(),
                        uid: 0,
                        gid: 0,
                        mode: 0o444,
                    }],
                    ..Default::default()
                },
                "files: the target",
            ),
            (
                ContainerOptions {
                    files: vec![InjectedFile {
                        target: "/big".into(),
                        content: vec![0; MAX_FILE_BYTES + 1],
                        uid: 0,
                        gid: 0,
                        mode: 0o444,
                    }],
                    ..Default::default()
                },
                "files: /big is larger than 1 MiB",
            ),
        ];
        for (o, want) in cases {
            let got = check(o);
            assert!(got.contains(want), "{got:?} should contain {want:?}");
        }
        let good = ContainerOptions {
            cap_add: vec!["NET_ADMIN".into()],
            ulimits: vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: -1,
            }],
            extra_hosts: vec![
                "db:10.0.0.2".into(),
                "gw=host-gateway".into(),
                "v6:::1".into(),
            ],
            device_cgroup_rules: vec!["c 189:* rmw".into()],
            security_opt: vec!["no-new-privileges:true".into(), "seccomp=unconfined".into()],
            expose: vec!["80".into(), "53/udp".into(), "8000-8010".into()],
            stop_signal: Some("SIGINT".into()),
            ..Default::default()
        };
        assert_eq!(validate_options(&good), Ok(()));
    }

    #[test]
    fn options_land_where_the_engine_reads_them() {
        let o = ContainerOptions {
            privileged: true,
            extra_hosts: vec!["gw=host-gateway".into()],
            expose: vec!["80".into()],
            ipv4_address: Some("172.30.0.9".into()),
            mac_address: Some("02:42:ac:11:00:02".into()),
            annotations: [("a".to_string(), "b".to_string())].into(),
            tmpfs: [("/run".to_string(), "size=1m".to_string())].into(),
            ..Default::default()
        };
        let mut body = ContainerCreateBody::default();
        let warnings = apply_options(&mut body, &o, Some("net"), (1, 41));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("annotations") && warnings[0].contains("1.41"));
        let host = body.host_config.clone().expect("host");
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.extra_hosts, Some(vec!["gw:host-gateway".to_string()]));
        assert_eq!(host.annotations, None);
        assert_eq!(body.exposed_ports, Some(vec!["80/tcp".to_string()]));
        let endpoints = body
            .networking_config
            .clone()
            .and_then(|n| n.endpoints_config)
            .expect("endpoints");
        assert_eq!(
            endpoints["net"]
                .ipam_config
                .as_ref()
                .and_then(|i| i.ipv4_address.as_deref()),
            Some("172.30.0.9")
        );

        let mut body = ContainerCreateBody::default();
        assert!(apply_options(&mut body, &o, Some("net"), (1, 44)).is_empty());
        let endpoints = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("endpoints");
        assert_eq!(
            endpoints["net"].mac_address.as_deref(),
            Some("02:42:ac:11:00:02")
        );
    }

    #[test]
    fn links_read_back_as_written() {
        assert_eq!(read_link("/db:/web/db"), "db");
        assert_eq!(read_link("/db:/web/database"), "db:database");
    }

    #[test]
    fn the_archive_holds_each_file_with_owner_and_mode() {
        let data = files_archive(&[InjectedFile {
            target: "/run/secrets/token".into(),
            content: b"s3cr3t".to_vec(),
            uid: 1000,
            gid: 1001,
            mode: 0o400,
        }])
        .expect("archive");
        let mut archive = tar::Archive::new(data.as_slice());
        let mut entries = archive.entries().expect("entries");
        let entry = entries.next().expect("one").expect("entry");
        let h = entry.header();
        assert_eq!(
            entry.path().expect("path").to_string_lossy(),
            "run/secrets/token"
        );
        assert_eq!(
            (h.uid().ok(), h.gid().ok(), h.mode().ok(), h.size().ok()),
            (Some(1000), Some(1001), Some(0o400), Some(6))
        );
    }
}
