//! The service keys that become [`protocol::ContainerOptions`]: security
//! and host reach, process limits, DNS, logging, devices and resources.

use std::net::IpAddr;

use protocol::{BlkioDeviceRate, DeviceMapping, DeviceRequest, Ulimit};

use super::super::model::Hook;
use super::*;

/// The most entries berth takes in any one list or mapping of a service, so
/// a pasted file cannot make the server hold (or send the engine) a huge one.
pub(super) const MAX_ENTRIES: usize = 1000;

/// Resource limits the kernel knows (`ulimit -a`).
const ULIMITS: &[&str] = protocol::ULIMIT_NAMES;

impl Parser {
    /// Handles one service key that is not one of the everyday ones;
    /// unknown keys were reported by `check_keys` already.
    pub(super) fn option_key(&mut self, key: &str, value: &Node, s: &mut Service) {
        if self.too_many(value, key) {
            return;
        }
        let o = &mut s.options;
        match key {
            "privileged" => o.privileged = self.boolean(value, key).unwrap_or(false),
            "cap_add" => o.cap_add = self.capabilities(value, key),
            "cap_drop" => o.cap_drop = self.capabilities(value, key),
            "devices" => o.devices = self.devices(value),
            "device_cgroup_rules" => o.device_cgroup_rules = self.list(value, key),
            "gpus" => {
                let gpus = self.gpus(value);
                o.device_requests.extend(gpus);
            }
            "sysctls" => o.sysctls = self.key_values(value, key),
            "ulimits" => o.ulimits = self.ulimits(value),
            "logging" => self.logging(value, o),
            "extra_hosts" => o.extra_hosts = self.extra_hosts(value),
            "dns" => o.dns = self.list(value, key),
            "dns_search" => o.dns_search = self.list(value, key),
            "dns_opt" => o.dns_opt = self.list(value, key),
            "domainname" => o.domainname = self.string(value, key),
            "init" => o.init = self.boolean(value, key),
            "tmpfs" => o.tmpfs = self.tmpfs(value),
            "shm_size" => o.shm_size = self.bytes(value, key),
            "read_only" => o.read_only = self.boolean(value, key).unwrap_or(false),
            "stop_signal" => o.stop_signal = self.signal(value),
            "stop_grace_period" => {
                // The engine counts whole seconds; compose rounds down too.
                o.stop_timeout = self.duration(value).map(|ns| ns / 1_000_000_000);
            }
            "platform" => o.platform = self.platform(value),
            "runtime" => o.runtime = self.word(value, key),
            "isolation" => o.isolation = self.word(value, key),
            "cgroup_parent" => o.cgroup_parent = self.word(value, key),
            "pid" => o.pid = self.namespace(value, key, &["host"]),
            "ipc" => {
                o.ipc = self.namespace(value, key, &["host", "private", "shareable", "none"]);
            }
            "uts" => o.uts = self.namespace(value, key, &["host"]),
            "userns_mode" => o.userns_mode = self.namespace(value, key, &["host"]),
            "cgroup" => o.cgroupns = self.namespace(value, key, &["host", "private"]),
            "security_opt" => o.security_opt = self.security_opt(value),
            "volumes_from" => o.volumes_from = self.volumes_from(value),
            "links" => {
                let links = self.links(value, true);
                o.links.extend(links);
            }
            "external_links" => {
                let links = self.links(value, false);
                o.links.extend(links);
            }
            "mac_address" => o.mac_address = self.mac_address(value),
            "group_add" => o.group_add = self.list(value, key),
            "oom_score_adj" => o.oom_score_adj = self.ranged(value, key, -1000, 1000),
            "oom_kill_disable" => o.oom_kill_disable = self.boolean(value, key),
            "pids_limit" => o.pids_limit = self.ranged(value, key, -1, i64::MAX),
            "mem_reservation" => o.memory_reservation = self.bytes(value, key),
            "memswap_limit" => {
                o.memory_swap = match value.as_scalar().map(|s| s.text.as_str()) {
                    Some("-1") => Some(-1),
                    _ => self.bytes(value, key),
                }
            }
            "mem_swappiness" => o.memory_swappiness = self.ranged(value, key, 0, 100),
            "cpu_shares" => o.cpu_shares = self.ranged(value, key, 0, 262_144),
            "cpu_quota" => o.cpu_quota = self.microseconds(value, key),
            "cpu_period" => o.cpu_period = self.microseconds(value, key),
            "cpu_rt_runtime" => o.cpu_rt_runtime = self.microseconds(value, key),
            "cpu_rt_period" => o.cpu_rt_period = self.microseconds(value, key),
            "cpuset" => o.cpuset_cpus = self.cpuset(value),
            "cpu_count" | "cpu_percent" | "credential_spec" => {
                self.warning(
                    at(value),
                    format!("`{key}` applies to Windows containers only; berth ignores it"),
                );
            }
            "blkio_config" => self.blkio(value, o),
            "storage_opt" => o.storage_opt = self.key_values(value, key),
            "annotations" => o.annotations = self.key_values(value, key),
            "expose" => o.expose = self.expose(value),
            "labels_file" => {
                // `labels` wins over a labels file, whichever comes first.
                for (k, v) in self.labels_files(value) {
                    s.labels.entry(k).or_insert(v);
                }
            }
            "attach" if self.boolean(value, key) == Some(false) => {
                self.warning(
                    at(value),
                    "`attach: false`: berth streams every service's logs anyway",
                );
            }
            "pull_policy" => s.pull_policy = self.pull_policy(value),
            "scale" => {
                if let Some(n) = self.ranged(value, key, 0, 100) {
                    s.replicas = n as u32;
                }
            }
            "post_start" => s.post_start = self.hooks(value, key),
            "pre_stop" => s.pre_stop = self.hooks(value, key),
            "develop" => {
                self.warning(
                    at(value),
                    "`develop` (watch mode) is a feature of the compose command line; berth ignores it",
                );
            }
            // Merged in by the loader before the service is parsed.
            "extends" => {}
            _ => {}
        }
    }

    /// Refuses a list or mapping longer than [`MAX_ENTRIES`].
    pub(super) fn too_many(&mut self, node: &Node, what: &str) -> bool {
        let n = node
            .as_sequence()
            .map(Vec::len)
            .or_else(|| node.as_mapping().map(Mapping::len))
            .unwrap_or(0);
        if n > MAX_ENTRIES {
            self.issue(
                at(node),
                format!("{what} has {n} entries; berth takes at most {MAX_ENTRIES}"),
            );
            return true;
        }
        false
    }

    /// A string or a list of strings, with no empty entries.
    fn list(&mut self, node: &Node, what: &str) -> Vec<String> {
        self.marked_list(node, what)
            .into_iter()
            .map(|(v, _)| v)
            .collect()
    }

    /// [`Parser::list`] with each entry's place, for errors about one entry.
    fn marked_list(&mut self, node: &Node, what: &str) -> Vec<(String, Mark)> {
        if node.as_mapping().is_some() {
            self.issue(at(node), format!("{what} must be a list or a single value"));
            return Vec::new();
        }
        let mut out = Vec::new();
        let items: Vec<&Node> = match node.as_sequence() {
            Some(seq) => seq.iter().collect(),
            None => vec![node],
        };
        for item in items {
            match self.string(item, what) {
                Some(v) if v.trim().is_empty() => {
                    self.issue(at(item), format!("{what} has an empty entry"));
                }
                Some(v) => out.push((v, at(item))),
                None => {}
            }
        }
        out
    }

    /// One value without white space (a runtime, a cgroup path, ...).
    fn word(&mut self, node: &Node, what: &str) -> Option<String> {
        let v = self.string(node, what)?;
        if v.is_empty() || v.chars().any(char::is_whitespace) || v.len() > 255 {
            self.issue(at(node), format!("{what} {v:?} must be one word"));
            return None;
        }
        Some(v)
    }

    fn ranged(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        let n = self.integer(node, what)?;
        if n < min || n > max {
            self.issue(
                at(node),
                format!("{what} {n} must be between {min} and {max}"),
            );
            return None;
        }
        Some(n)
    }

    /// A size in bytes: `1024`, `64m`, `1gb`, `1.5GiB` (binary units, as
    /// compose reads them).
    fn bytes(&mut self, node: &Node, what: &str) -> Option<i64> {
        let s = self.string(node, what)?;
        match parse_bytes(&s) {
            Some(n) => Some(n),
            None => {
                self.issue(
                    at(node),
                    format!("{what} {s:?} is not a size such as 64m, 1gb or 1024"),
                );
                None
            }
        }
    }

    /// Microseconds, as a number or a duration such as `400ms`.
    fn microseconds(&mut self, node: &Node, what: &str) -> Option<i64> {
        let s = self.string(node, what)?;
        if let Ok(n) = s.parse::<i64>() {
            return Some(n);
        }
        match parse_duration(&s) {
            Some(ns) => Some(ns / 1000),
            None => {
                self.issue(
                    at(node),
                    format!("{what} {s:?} must be microseconds or a duration such as 400ms"),
                );
                None
            }
        }
    }

    fn capabilities(&mut self, node: &Node, what: &str) -> Vec<String> {
        let caps = self.marked_list(node, what);
        let good = |c: &str| {
            c.len() <= 64
                && c.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
        };
        let mut out = Vec::new();
        for (c, mark) in caps {
            if good(&c) {
                out.push(c);
            } else {
                self.issue(
                    mark,
                    format!("{what}: {c:?} is not a capability such as NET_ADMIN or ALL"),
                );
            }
        }
        out
    }

    /// `host[:container[:permissions]]` or `{source, target, permissions}`.
    fn devices(&mut self, node: &Node) -> Vec<DeviceMapping> {
        let Some(seq) = node.as_sequence() else {
            self.issue(at(node), "devices must be a list");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq {
            let (host, container, permissions) = if let Some(m) = item.as_mapping() {
                self.check_keys(m, &["source", "target", "permissions"], &[], "a device");
                let get = |p: &mut Parser, k: &str| {
                    m.get_node(k)
                        .and_then(|n| p.string(n, k))
                        .unwrap_or_default()
                };
                (
                    get(self, "source"),
                    get(self, "target"),
                    get(self, "permissions"),
                )
            } else {
                let Some(text) = self.string(item, "device") else {
                    continue;
                };
                let parts: Vec<&str> = text.split(':').collect();
                match parts.as_slice() {
                    [h] => (h.to_string(), String::new(), String::new()),
                    [h, p] if is_permissions(p) => (h.to_string(), String::new(), p.to_string()),
                    [h, c] => (h.to_string(), c.to_string(), String::new()),
                    [h, c, p] => (h.to_string(), c.to_string(), p.to_string()),
                    _ => {
                        self.issue(
                            place(item),
                            format!("device {text:?} is not HOST[:CONTAINER[:PERMISSIONS]]"),
                        );
                        continue;
                    }
                }
            };
            if !host.starts_with('/') {
                self.issue(
                    place(item),
                    format!("device {host:?}: give the host device's absolute path (CDI device names need a newer engine)"),
                );
                continue;
            }
            if !container.is_empty() && !container.starts_with('/') {
                self.issue(
                    place(item),
                    format!("device target {container:?} must be an absolute path"),
                );
                continue;
            }
            if !permissions.is_empty() && !is_permissions(&permissions) {
                self.issue(
                    place(item),
                    format!(
                        "device permissions {permissions:?} must be r, w, m in any combination"
                    ),
                );
                continue;
            }
            out.push(DeviceMapping {
                host,
                container,
                permissions,
            });
        }
        out
    }

    /// `gpus: all`, or a list of `{driver, count, device_ids, capabilities,
    /// options}`; each asks for GPUs.
    fn gpus(&mut self, node: &Node) -> Vec<DeviceRequest> {
        if let Some(s) = node.as_scalar() {
            if s.text == "all" {
                return vec![DeviceRequest {
                    count: -1,
                    capabilities: vec![vec!["gpu".into()]],
                    ..Default::default()
                }];
            }
            self.issue(at(node), "gpus must be `all` or a list of device requests");
            return Vec::new();
        }
        let Some(seq) = node.as_sequence() else {
            self.issue(at(node), "gpus must be `all` or a list of device requests");
            return Vec::new();
        };
        seq.iter()
            .filter_map(|item| self.device_request(item, "gpus", true))
            .collect()
    }

    /// One device request: `gpus` entries (capabilities default to `gpu`)
    /// and `deploy.resources.reservations.devices` (capabilities required).
    pub(super) fn device_request(
        &mut self,
        node: &Node,
        what: &str,
        gpu: bool,
    ) -> Option<DeviceRequest> {
        let m = self.map(node, &format!("an entry of {what}"))?;
        self.check_keys(
            m,
            &["driver", "count", "device_ids", "capabilities", "options"],
            &[],
            &format!("an entry of {what}"),
        );
        let mut r = DeviceRequest::default();
        if let Some(d) = m.get_node("driver") {
            r.driver = self.word(d, "driver").unwrap_or_default();
        }
        if let Some(ids) = m.get_node("device_ids") {
            r.device_ids = self.list(ids, "device_ids");
        }
        match m.get_node("count") {
            Some(c) if c.as_scalar().is_some_and(|s| s.text == "all") => r.count = -1,
            Some(c) => {
                if let Some(n) = self.ranged(c, "count", 1, 1024) {
                    r.count = n;
                }
                if !r.device_ids.is_empty() {
                    self.issue(at(c), "give either `count` or `device_ids`, not both");
                }
            }
            // Neither: every device with the capabilities, as compose does.
            None if r.device_ids.is_empty() => r.count = -1,
            None => {}
        }
        match m.get_node("capabilities") {
            Some(c) => {
                let caps = self.list(c, "capabilities");
                if !caps.is_empty() {
                    r.capabilities = vec![caps];
                }
            }
            None if gpu => r.capabilities = vec![vec!["gpu".into()]],
            None => self.issue(
                place(node),
                format!("an entry of {what} needs `capabilities`, such as [gpu]"),
            ),
        }
        if let Some(o) = m.get_node("options") {
            r.options = self.key_values(o, "options");
        }
        Some(r)
    }

    /// `nofile: 1024` or `nofile: {soft: 1024, hard: 2048}`.
    fn ulimits(&mut self, node: &Node) -> Vec<Ulimit> {
        let Some(map) = self.map(node, "ulimits") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map.iter() {
            let name = k.as_str();
            if !ULIMITS.contains(&name) {
                self.issue(
                    at_key(k),
                    format!("`{name}` is not a resource limit ({})", ULIMITS.join(", ")),
                );
                continue;
            }
            let (soft, hard) = if let Some(m) = v.as_mapping() {
                self.check_keys(m, &["soft", "hard"], &[], "a ulimit");
                let soft = m.get_node("soft").and_then(|n| self.integer(n, "soft"));
                let hard = m.get_node("hard").and_then(|n| self.integer(n, "hard"));
                match (soft, hard) {
                    (Some(s), Some(h)) => (s, h),
                    _ => {
                        self.issue(place(v), format!("ulimit `{name}` needs `soft` and `hard`"));
                        continue;
                    }
                }
            } else {
                let Some(n) = self.integer(v, name) else {
                    continue;
                };
                (n, n)
            };
            if soft > hard && hard >= 0 {
                self.issue(
                    at(v),
                    format!("ulimit `{name}`: soft {soft} is above hard {hard}"),
                );
                continue;
            }
            out.push(Ulimit {
                name: name.to_string(),
                soft,
                hard,
            });
        }
        out
    }

    fn logging(&mut self, node: &Node, o: &mut protocol::ContainerOptions) {
        let Some(map) = self.map(node, "logging") else {
            return;
        };
        self.check_keys(map, &["driver", "options"], &[], "logging");
        if let Some(d) = map.get_node("driver") {
            o.log_driver = self.word(d, "logging driver");
        }
        if let Some(opts) = map.get_node("options").filter(|n| !is_null(n)) {
            if !self.too_many(opts, "logging options") {
                o.log_opts = self.key_values(opts, "logging options");
            }
        }
    }

    /// `host:ip` / `host=ip` entries or a `host: ip` mapping, as the engine
    /// takes them (`host:ip`, IPv6 unbracketed).
    fn extra_hosts(&mut self, node: &Node) -> Vec<String> {
        let mut pairs: Vec<(String, String, Mark)> = Vec::new();
        if let Some(map) = node.as_mapping() {
            for (k, v) in map.iter() {
                for ip in self.list(v, "extra_hosts") {
                    pairs.push((k.as_str().to_string(), ip, at(v)));
                }
            }
        } else {
            let items: Vec<&Node> = match node.as_sequence() {
                Some(seq) => seq.iter().collect(),
                None => vec![node],
            };
            for item in items {
                let Some(entry) = self.string(item, "extra_hosts") else {
                    continue;
                };
                let split = entry.split_once('=').or_else(|| entry.split_once(':'));
                match split {
                    Some((h, ip)) => pairs.push((h.to_string(), ip.to_string(), at(item))),
                    None => self.issue(
                        at(item),
                        format!("extra_hosts entry {entry:?} is not HOST=IP or HOST:IP"),
                    ),
                }
            }
        }
        let mut out = Vec::new();
        for (host, ip, mark) in pairs {
            let ip = ip.trim();
            let ip = ip
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .unwrap_or(ip);
            if host.is_empty() || host.contains(char::is_whitespace) {
                self.issue(mark, format!("extra_hosts: {host:?} is not a host name"));
            } else if ip != "host-gateway" && ip.parse::<IpAddr>().is_err() {
                self.issue(
                    mark,
                    format!("extra_hosts: {ip:?} for {host} is not an IP address or host-gateway"),
                );
            } else {
                out.push(format!("{host}:{ip}"));
            }
        }
        out
    }

    /// `/run` or `/run:size=64m,mode=1777`, one or a list.
    fn tmpfs(&mut self, node: &Node) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (entry, mark) in self.marked_list(node, "tmpfs") {
            let (path, options) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
            if !path.starts_with('/') {
                self.issue(
                    mark,
                    format!("tmpfs {path:?} must be an absolute path in the container"),
                );
                continue;
            }
            out.insert(path.to_string(), options.to_string());
        }
        out
    }

    fn signal(&mut self, node: &Node) -> Option<String> {
        let s = self.string(node, "stop_signal")?;
        let name = s.strip_prefix("SIG").unwrap_or(&s);
        let ok = (!name.is_empty()
            && name.len() <= 16
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '+' || c == '-'))
            || s.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n));
        if !ok {
            self.issue(
                at(node),
                format!("stop_signal {s:?} is not a signal such as SIGTERM or 15"),
            );
            return None;
        }
        Some(s)
    }

    fn platform(&mut self, node: &Node) -> Option<String> {
        let p = self.word(node, "platform")?;
        let parts = p.split('/').count();
        if !(2..=3).contains(&parts) || p.split('/').any(str::is_empty) {
            self.issue(
                at(node),
                format!("platform {p:?} is not OS/ARCH[/VARIANT], such as linux/arm64"),
            );
            return None;
        }
        Some(p)
    }

    /// A namespace to join: one of `modes`, `container:<name>`, or
    /// `service:<name>` (resolved to that service's container when planned).
    fn namespace(&mut self, node: &Node, what: &str, modes: &[&str]) -> Option<String> {
        let v = self.string(node, what)?;
        if v.is_empty() || modes.contains(&v.as_str()) {
            return Some(v).filter(|v| !v.is_empty());
        }
        let joins = matches!(what, "pid" | "ipc");
        if joins {
            if let Some(name) = v
                .strip_prefix("service:")
                .or_else(|| v.strip_prefix("container:"))
            {
                if valid_name(name) {
                    return Some(v);
                }
            }
        }
        let mut allowed: Vec<String> = modes.iter().map(|m| format!("`{m}`")).collect();
        if joins {
            allowed.push("`service:NAME`".into());
            allowed.push("`container:NAME`".into());
        }
        self.issue(
            at(node),
            format!("{what} {v:?}: berth takes {}", allowed.join(", ")),
        );
        None
    }

    /// Security options as given; a seccomp profile named by a file of the
    /// stack's folder is read, since the engine takes the profile itself.
    fn security_opt(&mut self, node: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for (opt, mark) in self.marked_list(node, "security_opt") {
            let profile = opt
                .strip_prefix("seccomp=")
                .or_else(|| opt.strip_prefix("seccomp:"));
            match profile {
                Some(p) if p != "unconfined" && !p.trim_start().starts_with('{') => {
                    let rel = p.trim_start_matches("./");
                    let text = if rel.starts_with('/') {
                        Err(format!("`{rel}`: berth reads seccomp profiles only from the stack's folder; give a path relative to it"))
                    } else {
                        self.read_file(rel).and_then(|b| {
                            String::from_utf8(b).map_err(|_| format!("`{rel}` is not UTF-8 text"))
                        })
                    };
                    match text {
                        Ok(json) => out.push(format!("seccomp={json}")),
                        Err(e) => self.issue(mark, format!("security_opt seccomp: {e}")),
                    }
                }
                _ => out.push(opt),
            }
        }
        out
    }

    /// `service:NAME[:ro|rw]`, `container:NAME[:ro|rw]`, or a bare service
    /// name; kept with its prefix so the plan can name the container.
    fn volumes_from(&mut self, node: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for (entry, mark) in self.marked_list(node, "volumes_from") {
            let (kind, rest) = match entry.split_once(':') {
                Some(("service", rest)) => ("service", rest),
                Some(("container", rest)) => ("container", rest),
                _ => ("service", entry.as_str()),
            };
            let (name, mode) = rest.split_once(':').unwrap_or((rest, ""));
            if !valid_name(name) || !matches!(mode, "" | "ro" | "rw") {
                self.issue(
                    mark,
                    format!("volumes_from {entry:?} is not [service:|container:]NAME[:ro|:rw]"),
                );
                continue;
            }
            let mode = if mode.is_empty() {
                String::new()
            } else {
                format!(":{mode}")
            };
            out.push(format!("{kind}:{name}{mode}"));
        }
        out
    }

    /// `links` (`SERVICE[:ALIAS]`, kept as `service:SERVICE:ALIAS`) or
    /// `external_links` (`CONTAINER[:ALIAS]`), as the engine takes them.
    fn links(&mut self, node: &Node, services: bool) -> Vec<String> {
        let what = if services { "links" } else { "external_links" };
        let mut out = Vec::new();
        for (entry, mark) in self.marked_list(node, what) {
            let (name, alias) = entry
                .split_once(':')
                .unwrap_or((entry.as_str(), entry.as_str()));
            if !valid_name(name) || !valid_name(alias) {
                self.issue(mark, format!("{what} {entry:?} is not NAME[:ALIAS]"));
                continue;
            }
            if services {
                out.push(format!("service:{name}:{alias}"));
            } else {
                out.push(format!("{name}:{alias}"));
            }
        }
        out
    }

    fn mac_address(&mut self, node: &Node) -> Option<String> {
        let mac = self.string(node, "mac_address")?;
        if !protocol::is_mac_address(&mac) {
            self.issue(
                at(node),
                format!("mac_address {mac:?} is not six hex pairs like 02:42:ac:11:00:02"),
            );
            return None;
        }
        Some(mac)
    }

    fn cpuset(&mut self, node: &Node) -> Option<String> {
        let v = self.string(node, "cpuset")?;
        let ok = !v.is_empty()
            && v.split(',').all(|part| {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()
            });
        if !ok {
            self.issue(
                at(node),
                format!("cpuset {v:?} is not a CPU list such as 0-3 or 0,2"),
            );
            return None;
        }
        Some(v)
    }

    fn blkio(&mut self, node: &Node, o: &mut protocol::ContainerOptions) {
        let Some(map) = self.map(node, "blkio_config") else {
            return;
        };
        self.check_keys(
            map,
            &[
                "weight",
                "weight_device",
                "device_read_bps",
                "device_write_bps",
                "device_read_iops",
                "device_write_iops",
            ],
            &[],
            "blkio_config",
        );
        for (k, v) in map.iter() {
            let key = k.as_str();
            if key == "weight" {
                o.blkio_weight = self.ranged(v, "weight", 10, 1000).map(|n| n as u16);
                continue;
            }
            if self.too_many(v, key) {
                continue;
            }
            let Some(seq) = v.as_sequence() else {
                self.issue(at(v), format!("{key} must be a list of {{path, rate}}"));
                continue;
            };
            let mut rates = Vec::new();
            for item in seq {
                let Some(m) = self.map(item, &format!("an entry of {key}")) else {
                    continue;
                };
                let field = if key == "weight_device" {
                    "weight"
                } else {
                    "rate"
                };
                self.check_keys(m, &["path", field], &[], &format!("an entry of {key}"));
                let path = m.get_node("path").and_then(|p| self.string(p, "path"));
                let rate = match m.get_node(field) {
                    Some(r) if key == "weight_device" => self.ranged(r, "weight", 10, 1000),
                    Some(r) if key.ends_with("_bps") => self.bytes(r, "rate"),
                    Some(r) => self.ranged(r, "rate", 0, i64::MAX),
                    None => None,
                };
                match (path, rate) {
                    (Some(path), Some(rate)) if path.starts_with('/') => {
                        rates.push(BlkioDeviceRate { path, rate })
                    }
                    (Some(path), Some(_)) => self.issue(
                        at(item),
                        format!("{key}: {path:?} must be the device's absolute path"),
                    ),
                    _ => self.issue(
                        place(item),
                        format!("an entry of {key} needs `path` and `{field}`"),
                    ),
                }
            }
            match key {
                "weight_device" => o.blkio_weight_device = rates,
                "device_read_bps" => o.device_read_bps = rates,
                "device_write_bps" => o.device_write_bps = rates,
                "device_read_iops" => o.device_read_iops = rates,
                "device_write_iops" => o.device_write_iops = rates,
                _ => {}
            }
        }
    }

    /// `80`, `53/udp`, `8000-8010/tcp`.
    fn expose(&mut self, node: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for (entry, mark) in self.marked_list(node, "expose") {
            let (ports, proto) = entry.split_once('/').unwrap_or((entry.as_str(), "tcp"));
            let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
            let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
            match (port(a), port(b)) {
                (Some(a), Some(b)) if a <= b && matches!(proto, "tcp" | "udp" | "sctp") => {
                    out.push(entry.clone())
                }
                _ => self.issue(
                    mark,
                    format!("expose {entry:?} is not PORT[-PORT][/PROTOCOL]"),
                ),
            }
        }
        out
    }

    /// `KEY=VALUE` files of the stack's folder, later files winning.
    fn labels_files(&mut self, node: &Node) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (path, mark) in self.marked_list(node, "labels_file") {
            let rel = self.expand_home(path.trim_start_matches("./"));
            let text = if rel.starts_with('/') {
                Err(format!("`{rel}`: berth reads label files only from the stack's folder; give a path relative to it"))
            } else {
                self.read_file(&rel).and_then(|b| {
                    String::from_utf8(b).map_err(|_| format!("`{rel}` is not UTF-8 text"))
                })
            };
            match text {
                Ok(text) => match super::super::interpolate::parse_env_file(&text) {
                    Ok(vars) if vars.len() > MAX_ENTRIES => self.issue(
                        mark,
                        format!(
                            "labels_file `{rel}` has {} labels; berth takes at most {MAX_ENTRIES}",
                            vars.len()
                        ),
                    ),
                    Ok(vars) => out.extend(vars),
                    Err((line, e)) => {
                        self.issue(mark, format!("labels_file `{rel}` line {line}: {e}"))
                    }
                },
                Err(e) => self.issue(mark, format!("labels_file: {e}")),
            }
        }
        out
    }

    fn pull_policy(&mut self, node: &Node) -> Option<String> {
        let p = self.string(node, "pull_policy")?;
        let ok = matches!(
            p.as_str(),
            "always" | "never" | "missing" | "build" | "if_not_present" | "daily" | "weekly"
        ) || p
            .strip_prefix("every_")
            .is_some_and(|d| parse_duration(d).is_some_and(|ns| ns > 0));
        if !ok {
            self.issue(at(node), format!("pull_policy {p:?}: berth takes always, never, missing, build, daily, weekly or every_<duration>"));
            return None;
        }
        Some(p)
    }

    /// `post_start` / `pre_stop`: a list of commands run in the container.
    fn hooks(&mut self, node: &Node, what: &str) -> Vec<Hook> {
        let Some(seq) = node.as_sequence() else {
            self.issue(at(node), format!("{what} must be a list of hooks"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq {
            let Some(m) = self.map(item, &format!("a {what} hook")) else {
                continue;
            };
            self.check_keys(
                m,
                &[
                    "command",
                    "user",
                    "privileged",
                    "working_dir",
                    "environment",
                ],
                &[],
                &format!("a {what} hook"),
            );
            let mut h = Hook::default();
            for (k, v) in m.iter() {
                match k.as_str() {
                    "command" => h.command = self.words(v, "command").unwrap_or_default(),
                    "user" => h.user = self.string(v, "user"),
                    "privileged" => h.privileged = self.boolean(v, "privileged").unwrap_or(false),
                    "working_dir" => h.working_dir = self.string(v, "working_dir"),
                    "environment" => h.environment = self.key_values(v, "environment"),
                    _ => {}
                }
            }
            if h.command.is_empty() {
                self.issue(place(item), format!("a {what} hook needs a `command`"));
                continue;
            }
            out.push(h);
        }
        out
    }
}

/// The services a service's options name (`service:` in volumes_from,
/// network_mode, pid, ipc, links): it starts after them, as if it
/// depended on them.
pub(super) fn referenced_services(s: &Service) -> Vec<String> {
    let o = &s.options;
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: &str| {
        if let Some(rest) = v.strip_prefix("service:") {
            let name = rest.split(':').next().unwrap_or(rest);
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
    };
    for v in o.volumes_from.iter().chain(o.links.iter()) {
        add(v);
    }
    for v in [&s.network_mode, &o.pid, &o.ipc].into_iter().flatten() {
        add(v);
    }
    out
}

/// Where to point at a node: a mapping's first key rather than its colon.
fn place(node: &Node) -> Mark {
    node.as_mapping()
        .and_then(|m| m.iter().next())
        .map(|(k, _)| at_key(k))
        .unwrap_or_else(|| at(node))
}

fn is_permissions(p: &str) -> bool {
    !p.is_empty() && p.len() <= 3 && p.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

/// Sizes as compose reads them: a number, optional space, and an optional
/// binary unit (`k`, `kb`, `kib`, `m`, ... up to `p`), any case.
pub fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || whole.len() > 18 || frac.len() > 9 || frac.contains('.') {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let unit_bytes: u128 = 1 << shift;
    let bytes = whole * unit_bytes + frac_value * unit_bytes / 10u128.pow(frac.len() as u32);
    i64::try_from(bytes).ok()
}
