//! A compose service's keys -> [`Service`].

use super::super::model::NetworkAttachment;
use super::*;

pub(super) const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "network_mode",
    "depends_on",
    "restart",
    "labels",
    "healthcheck",
    "working_dir",
    "user",
    "hostname",
    "container_name",
    "deploy",
    "profiles",
    "tty",
    "stdin_open",
    "mem_limit",
    "cpus",
    "stop_grace_period",
    "secrets",
    "configs",
    "privileged",
    "cap_add",
    "cap_drop",
    "devices",
    "extra_hosts",
    "logging",
    "dns",
    "dns_search",
    "ulimits",
    "sysctls",
    "security_opt",
    "pid",
    "ipc",
    "links",
    "external_links",
    "extends",
    "init",
    "shm_size",
    "tmpfs",
    "stop_signal",
    "platform",
    "pull_policy",
    "domainname",
    "mac_address",
    "userns_mode",
    "cgroup_parent",
    "read_only",
    "isolation",
    "scale",
    "gpus",
    "runtime",
    "group_add",
    "volumes_from",
    "blkio_config",
    "cpu_shares",
    "cpuset",
    "mem_reservation",
    "memswap_limit",
    "oom_score_adj",
    "labels_file",
    "annotations",
    "attach",
    "develop",
    "post_start",
    "pre_stop",
    "storage_opt",
    "device_cgroup_rules",
    "uts",
    "cgroup",
    "dns_opt",
    "oom_kill_disable",
    "pids_limit",
    "mem_swappiness",
    "cpu_quota",
    "cpu_period",
    "cpu_rt_runtime",
    "cpu_rt_period",
    "cpu_count",
    "cpu_percent",
    "credential_spec",
];

impl Parser {
    pub(super) fn service(&mut self, node: &Node, name: &str, file: &ComposeFile) -> Service {
        let mut s = Service {
            name: name.to_string(),
            replicas: 1,
            ..Default::default()
        };
        let what = format!("service `{name}`");
        let Some(map) = self.map(node, &what) else {
            return s;
        };
        self.check_keys(map, SERVICE_KEYS, &[], &what);
        let mut env_from_file = BTreeMap::new();
        for (k, v) in map.iter() {
            s.marks
                .insert(k.as_str().to_string(), (k.mark.line, k.mark.column));
            match k.as_str() {
                "image" => s.image = self.string(v, "image").filter(|i| !i.is_empty()),
                "build" => s.build = self.build(v),
                "command" => s.command = self.words(v, "command"),
                "entrypoint" => s.entrypoint = self.words(v, "entrypoint"),
                "environment" => s.environment = self.key_values(v, "environment"),
                "env_file" => self.env_files(v, &mut env_from_file),
                "ports" => s.ports = self.ports(v),
                "volumes" => {
                    s.volumes = self.service_volumes(v, file);
                    s.options
                        .tmpfs
                        .extend(std::mem::take(&mut self.tmpfs_mounts));
                }
                "networks" => s.networks = self.service_networks(v, file, &mut s.network_options),
                "network_mode" => {
                    let mode = self.string(v, "network_mode");
                    match mode.as_deref() {
                        Some("host" | "none" | "bridge") => s.network_mode = mode,
                        Some(other)
                            if other
                                .strip_prefix("service:")
                                .or_else(|| other.strip_prefix("container:"))
                                .is_some_and(valid_name) =>
                        {
                            s.network_mode = mode
                        }
                        Some(other) => self.issue(
                            at(v),
                            format!("network_mode `{other}`: berth takes host, none, bridge, service:NAME or container:NAME"),
                        ),
                        None => {}
                    }
                }
                "depends_on" => s.depends_on = self.depends_on(v),
                "restart" => {
                    if let Some(r) = self.string(v, "restart") {
                        match parse_restart("restart", &r) {
                            Ok(r) => s.restart = Some(r),
                            Err(e) => self.issue(at(v), e.message),
                        }
                    }
                }
                // Over whatever a `labels_file` gave, whichever came first.
                "labels" => {
                    let labels = self.key_values(v, "labels");
                    s.labels.extend(labels);
                }
                "healthcheck" => s.healthcheck = self.healthcheck(v),
                "working_dir" => s.working_dir = self.string(v, "working_dir"),
                "user" => s.user = self.string(v, "user"),
                "hostname" => s.hostname = self.string(v, "hostname"),
                "container_name" => {
                    s.container_name = self.string(v, "container_name");
                    if let Some(n) = &s.container_name {
                        if !valid_name(n) {
                            self.issue(
                                at(v),
                                format!("container_name `{n}` is not a valid container name"),
                            );
                        }
                    }
                }
                "deploy" => self.deploy(v, &mut s),
                "profiles" => s.profiles = self.string_list(v, "profiles"),
                "tty" => s.tty = self.boolean(v, "tty").unwrap_or(false),
                "stdin_open" => s.stdin_open = self.boolean(v, "stdin_open").unwrap_or(false),
                "mem_limit" => s.memory_bytes = self.memory(v),
                "cpus" => s.nano_cpus = self.cpus(v),
                "secrets" => self.service_files(v, file, FileKind::Secret, &mut s),
                "configs" => self.service_files(v, file, FileKind::Config, &mut s),
                other => self.option_key(other, v, &mut s),
            }
        }
        for (k, v) in env_from_file {
            s.environment.entry(k).or_insert(v);
        }
        // A service that joins another's volumes or namespaces starts after
        // it, as compose orders them; `check_dependencies` then reports a
        // name the file does not define.
        for other in options::referenced_services(&s) {
            s.depends_on.entry(other).or_insert(Condition::Started);
        }
        // A key whose value failed already has its own issue.
        if s.image.is_none()
            && s.build.is_none()
            && map.get_node("image").is_none()
            && map.get_node("build").is_none()
        {
            self.issue(
                at(node),
                format!("service `{name}` needs an `image` or a `build`"),
            );
        }
        if s.options.read_only && !s.options.files.is_empty() {
            let mark = map
                .get_node("read_only")
                .map(at)
                .unwrap_or_else(|| at(node));
            self.issue(
                mark,
                format!("service `{name}`: berth writes secrets and configs into the container before it starts, which `read_only: true` forbids; drop read_only, or bind-mount the file with `volumes`"),
            );
        }
        let scale = map.get_node("scale").and_then(Node::as_scalar);
        let replicas = map
            .get_node("deploy")
            .and_then(Node::as_mapping)
            .and_then(|d| d.get_node("replicas"))
            .and_then(Node::as_scalar);
        if let (Some(a), Some(b)) = (scale, replicas) {
            if a.text != b.text {
                self.issue(
                    a.mark,
                    format!(
                        "service `{name}`: scale ({}) and deploy.replicas ({}) disagree; keep one",
                        a.text, b.text
                    ),
                );
            }
        }
        if s.container_name.is_some() && s.replicas > 1 {
            self.issue(
                at(node),
                format!(
                    "service `{name}` has a container_name, so it cannot have {} replicas",
                    s.replicas
                ),
            );
        }
        s
    }

    pub(super) fn build(&mut self, node: &Node) -> Option<Build> {
        if node.as_scalar().is_some() {
            return self.string(node, "build").map(|context| Build {
                context,
                ..Default::default()
            });
        }
        let map = self.map(node, "build")?;
        self.check_keys(
            map,
            &[
                "context",
                "dockerfile",
                "dockerfile_inline",
                "args",
                "target",
                "labels",
                "network",
                "shm_size",
                "extra_hosts",
                "cache_from",
                "cache_to",
                "no_cache",
                "pull",
                "platforms",
                "tags",
                "ssh",
                "secrets",
                "additional_contexts",
                "isolation",
                "privileged",
                "ulimits",
                "entitlements",
            ],
            &[],
            "build",
        );
        let mut b = Build {
            context: ".".into(),
            ..Default::default()
        };
        for (k, v) in map.iter() {
            match k.as_str() {
                "context" => b.context = self.string(v, "context").unwrap_or_default(),
                "dockerfile" => b.dockerfile = self.string(v, "dockerfile"),
                "args" => b.args = self.key_values(v, "args"),
                "target" => b.target = self.string(v, "target"),
                "dockerfile_inline" => b.dockerfile_inline = self.string(v, "dockerfile_inline"),
                "labels" => b.labels = self.key_values(v, "labels"),
                "network" => b.network = self.string(v, "network"),
                "shm_size" => b.shm_size = self.memory(v),
                "extra_hosts" => {
                    b.extra_hosts = match v.as_mapping() {
                        Some(_) => self
                            .key_values(v, "extra_hosts")
                            .into_iter()
                            .map(|(h, ip)| format!("{h}:{ip}"))
                            .collect(),
                        None => self.string_list(v, "extra_hosts"),
                    }
                }
                "cache_from" => b.cache_from = self.string_list(v, "cache_from"),
                "no_cache" => b.no_cache = self.boolean(v, "no_cache").unwrap_or(false),
                "pull" => b.pull = self.boolean(v, "pull").unwrap_or(false),
                "tags" => b.tags = self.string_list(v, "tags"),
                "platforms" => {
                    let p = self.string_list(v, "platforms");
                    if p.len() > 1 {
                        self.warning(at(v), "build platforms: the classic builder makes one platform; berth builds for the engine's");
                    }
                }
                // Features of BuildKit, which this engine's classic builder lacks.
                "ssh"
                | "secrets"
                | "additional_contexts"
                | "cache_to"
                | "entitlements"
                | "privileged"
                | "ulimits"
                | "isolation" => {
                    self.warning(at_key(k), format!("build `{}`: needs BuildKit; berth builds with the engine's classic builder without it", k.as_str()));
                }
                _ => {}
            }
        }
        Some(b)
    }

    pub(super) fn ports(&mut self, node: &Node) -> Vec<PortSpec> {
        let Some(seq) = node.as_sequence() else {
            self.issue(at(node), "ports must be a list");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            if let Some(map) = item.as_mapping() {
                self.check_keys(
                    map,
                    &[
                        "target",
                        "published",
                        "host_ip",
                        "protocol",
                        "mode",
                        "name",
                        "app_protocol",
                    ],
                    &[],
                    "a port",
                );
                let target = map
                    .get_node("target")
                    .and_then(|t| self.integer(t, "target"));
                let Some(target) = target
                    .and_then(|t| u16::try_from(t).ok())
                    .filter(|t| *t > 0)
                else {
                    self.issue(
                        at(item),
                        "a long-form port needs a `target` between 1 and 65535",
                    );
                    continue;
                };
                let protocol = map
                    .get_node("protocol")
                    .and_then(|p| self.string(p, "protocol"))
                    .unwrap_or_else(|| "tcp".into());
                let mut text = format!("{target}/{protocol}");
                if let Some(p) = map
                    .get_node("published")
                    .and_then(|p| self.string(p, "published"))
                    .filter(|p| !p.is_empty())
                {
                    text = format!("{p}:{text}");
                    if let Some(ip) = map
                        .get_node("host_ip")
                        .and_then(|i| self.string(i, "host_ip"))
                        .filter(|i| !i.is_empty())
                    {
                        let ip = if ip.contains(':') {
                            format!("[{ip}]")
                        } else {
                            ip
                        };
                        text = format!("{ip}:{text}");
                    }
                }
                match parse_publish("port", &text) {
                    Ok(p) => out.extend(p),
                    Err(e) => self.issue(at(item), e.message),
                }
            } else if let Some(text) = self.string(item, "port") {
                match parse_publish(&format!("port {text:?}"), &text) {
                    Ok(p) => out.extend(p),
                    Err(e) => self.issue(at(item), e.message),
                }
            }
        }
        out
    }

    pub(super) fn host_path(&self, source: &str) -> String {
        let source = self.expand_home(source);
        let source = source.as_str();
        let joined = if source.starts_with('/') {
            source.to_string()
        } else {
            format!("{}/{}", self.project_dir, source)
        };
        normalize(&joined)
    }

    pub(super) fn service_volumes(
        &mut self,
        node: &Node,
        file: &ComposeFile,
    ) -> Vec<ServiceVolume> {
        let Some(seq) = node.as_sequence() else {
            self.issue(at(node), "volumes must be a list");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            let volume = if let Some(map) = item.as_mapping() {
                self.check_keys(
                    map,
                    &[
                        "type",
                        "source",
                        "target",
                        "read_only",
                        "volume",
                        "bind",
                        "consistency",
                        "tmpfs",
                        "image",
                    ],
                    &[],
                    "a volume",
                );
                for (sub, what) in [("bind", "bind"), ("volume", "volume"), ("tmpfs", "tmpfs")] {
                    if let Some(m) = map.get_node(sub).and_then(Node::as_mapping) {
                        let known: &[&str] = match what {
                            "bind" => &["propagation", "create_host_path", "selinux"],
                            "volume" => &["nocopy", "subpath"],
                            _ => &["size", "mode"],
                        };
                        self.check_keys(m, known, &[], &format!("a volume's `{sub}`"));
                        for (k, _) in m.iter() {
                            if matches!(
                                k.as_str(),
                                "propagation" | "selinux" | "nocopy" | "subpath"
                            ) {
                                self.warning(
                                    at_key(k),
                                    format!(
                                        "volume `{sub}.{}`: berth mounts without it",
                                        k.as_str()
                                    ),
                                );
                            }
                        }
                    }
                }
                let kind = map
                    .get_node("type")
                    .and_then(|t| self.string(t, "type"))
                    .unwrap_or_default();
                let source = map
                    .get_node("source")
                    .and_then(|s| self.string(s, "source"))
                    .unwrap_or_default();
                let Some(target) = map
                    .get_node("target")
                    .and_then(|t| self.string(t, "target"))
                else {
                    self.issue(at(item), "a long-form volume needs a `target`");
                    continue;
                };
                let read_only = map
                    .get_node("read_only")
                    .and_then(|r| self.boolean(r, "read_only"))
                    .unwrap_or(false);
                match kind.as_str() {
                    "bind" => ServiceVolume {
                        kind: MountKind::Bind,
                        source: self.host_path(&source),
                        target,
                        read_only,
                    },
                    "volume" if source.is_empty() => ServiceVolume {
                        kind: MountKind::Anonymous,
                        source,
                        target,
                        read_only,
                    },
                    "volume" => ServiceVolume {
                        kind: MountKind::Volume,
                        source,
                        target,
                        read_only,
                    },
                    "tmpfs" => {
                        let mut opts = Vec::new();
                        if let Some(t) = map.get_node("tmpfs").and_then(Node::as_mapping) {
                            if let Some(size) =
                                t.get_node("size").and_then(|n| self.string(n, "size"))
                            {
                                match parse_memory("size", &size) {
                                    Ok(b) => opts.push(format!("size={b}")),
                                    Err(e) => self.issue(at(item), e.message),
                                }
                            }
                            if let Some(mode) =
                                t.get_node("mode").and_then(|n| self.string(n, "mode"))
                            {
                                opts.push(format!("mode={mode}"));
                            }
                        }
                        if read_only {
                            opts.push("ro".into());
                        }
                        if !target.starts_with('/') {
                            self.issue(
                                at(item),
                                format!("tmpfs target `{target}` must be an absolute path"),
                            );
                        } else {
                            self.tmpfs_mounts.insert(target, opts.join(","));
                        }
                        continue;
                    }
                    other => {
                        let why = match other {
                            "npipe" => "named pipes exist only on Windows hosts",
                            "image" => "image mounts need Docker API 1.47",
                            "cluster" => "cluster volumes exist only in Swarm",
                            _ => "berth takes bind, volume or tmpfs",
                        };
                        self.issue(at(item), format!("volume type `{other}`: {why}"));
                        continue;
                    }
                }
            } else {
                let Some(text) = self.string(item, "volume") else {
                    continue;
                };
                let parts: Vec<&str> = text.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [t] => ("", *t, ""),
                    [s, t] => (*s, *t, ""),
                    [s, t, m] => (*s, *t, *m),
                    _ => {
                        self.issue(
                            at(item),
                            format!("volume {text:?} is not SOURCE:TARGET[:ro]"),
                        );
                        continue;
                    }
                };
                // Compose's short-syntax flags: access, SELinux labels,
                // macOS consistency, propagation and nocopy.
                let flags: Vec<&str> = mode.split(',').filter(|o| !o.is_empty()).collect();
                if let Some(bad) = flags.iter().find(|o| {
                    !matches!(
                        **o,
                        "ro" | "rw"
                            | "z"
                            | "Z"
                            | "cached"
                            | "delegated"
                            | "consistent"
                            | "nocopy"
                            | "shared"
                            | "rshared"
                            | "slave"
                            | "rslave"
                            | "private"
                            | "rprivate"
                    )
                }) {
                    self.issue(
                        at(item),
                        format!("volume {text:?}: `{bad}` is not a volume option (ro, rw, z, Z, cached, delegated, nocopy, a propagation)"),
                    );
                    continue;
                }
                let read_only = flags.contains(&"ro");
                if let Some(f) = flags.iter().find(|o| {
                    matches!(
                        **o,
                        "z" | "Z"
                            | "nocopy"
                            | "shared"
                            | "rshared"
                            | "slave"
                            | "rslave"
                            | "private"
                            | "rprivate"
                    )
                }) {
                    self.warning(
                        at(item),
                        format!("volume {text:?}: berth mounts without `{f}`"),
                    );
                }
                if source.is_empty() {
                    ServiceVolume {
                        kind: MountKind::Anonymous,
                        source: String::new(),
                        target: target.to_string(),
                        read_only,
                    }
                } else if source.starts_with('/')
                    || source.starts_with('.')
                    || source.starts_with('~')
                {
                    if source.starts_with('~') && self.home.is_none() {
                        self.issue(at(item), format!("volume {text:?}: berth's home is not known here to expand `~`; write the absolute path"));
                        continue;
                    }
                    ServiceVolume {
                        kind: MountKind::Bind,
                        source: self.host_path(source),
                        target: target.to_string(),
                        read_only,
                    }
                } else {
                    ServiceVolume {
                        kind: MountKind::Volume,
                        source: source.to_string(),
                        target: target.to_string(),
                        read_only,
                    }
                }
            };
            if !volume.target.starts_with('/') {
                self.issue(
                    at(item),
                    format!(
                        "volume target `{}` must be an absolute path in the container",
                        volume.target
                    ),
                );
                continue;
            }
            if volume.kind == MountKind::Volume && !file.volumes.contains_key(&volume.source) {
                self.issue(
                    at(item),
                    format!(
                        "named volume `{}` is not declared under the top-level `volumes`",
                        volume.source
                    ),
                );
                continue;
            }
            out.push(volume);
        }
        out
    }

    pub(super) fn service_networks(
        &mut self,
        node: &Node,
        file: &ComposeFile,
        attachments: &mut BTreeMap<String, NetworkAttachment>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let check = |p: &mut Parser, key: &str, at_: Mark| {
            if key != "default" && !file.networks.contains_key(key) {
                p.issue(
                    at_,
                    format!("network `{key}` is not declared under the top-level `networks`"),
                );
                false
            } else {
                true
            }
        };
        if let Some(seq) = node.as_sequence() {
            for item in seq.iter() {
                if let Some(key) = self.string(item, "network") {
                    if check(self, &key, at(item)) {
                        out.insert(key, Vec::new());
                    }
                }
            }
        } else if let Some(map) = node.as_mapping() {
            for (k, v) in map.iter() {
                if !check(self, k.as_str(), at_key(k)) {
                    continue;
                }
                let mut aliases = Vec::new();
                if let Some(m) = v.as_mapping() {
                    self.check_keys(
                        m,
                        &[
                            "aliases",
                            "priority",
                            "ipv4_address",
                            "ipv6_address",
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                            "gw_priority",
                            "interface_name",
                        ],
                        &[],
                        "a service network",
                    );
                    if let Some(a) = m.get_node("aliases") {
                        if !self.too_many(a, "aliases") {
                            aliases = self.string_list(a, "aliases");
                        }
                    }
                    let attachment = self.network_attachment(m);
                    if attachment != NetworkAttachment::default() {
                        attachments.insert(k.as_str().to_string(), attachment);
                    }
                } else if !is_null(v) {
                    self.issue(at(v), "a service network takes `aliases` or nothing");
                }
                out.insert(k.as_str().to_string(), aliases);
            }
        } else {
            self.issue(at(node), "networks must be a list or a mapping");
        }
        out
    }

    fn network_attachment(&mut self, m: &Mapping) -> NetworkAttachment {
        let mut a = NetworkAttachment::default();
        for (k, v) in m.iter() {
            match k.as_str() {
                "ipv4_address" => {
                    a.ipv4_address = self.ip(v, "ipv4_address", |ip| ip.is_ipv4());
                }
                "ipv6_address" => {
                    a.ipv6_address = self.ip(v, "ipv6_address", |ip| ip.is_ipv6());
                }
                "link_local_ips" if !self.too_many(v, "link_local_ips") => {
                    a.link_local_ips = self.string_list(v, "link_local_ips");
                }
                "mac_address" => a.mac_address = self.string(v, "mac_address"),
                "priority" => a.priority = self.integer(v, "priority").unwrap_or(0),
                "driver_opts" if !self.too_many(v, "driver_opts") => {
                    a.driver_opts = self.key_values(v, "driver_opts");
                }
                _ => {}
            }
        }
        a
    }

    fn ip(
        &mut self,
        node: &Node,
        what: &str,
        kind: impl Fn(&std::net::IpAddr) -> bool,
    ) -> Option<String> {
        let v = self.string(node, what)?;
        match v.parse::<std::net::IpAddr>() {
            Ok(ip) if kind(&ip) => Some(v),
            _ => {
                self.issue(
                    at(node),
                    format!(
                        "{what} {v:?} is not an {} address",
                        if what == "ipv4_address" {
                            "IPv4"
                        } else {
                            "IPv6"
                        }
                    ),
                );
                None
            }
        }
    }

    pub(super) fn depends_on(&mut self, node: &Node) -> BTreeMap<String, Condition> {
        let mut out = BTreeMap::new();
        if let Some(seq) = node.as_sequence() {
            for item in seq.iter() {
                if let Some(name) = self.string(item, "depends_on") {
                    out.insert(name, Condition::Started);
                }
            }
        } else if let Some(map) = node.as_mapping() {
            for (k, v) in map.iter() {
                let mut cond = Condition::Started;
                if let Some(m) = v.as_mapping() {
                    self.check_keys(m, &["condition", "restart", "required"], &[], "depends_on");
                    if let Some(c) = m.get_node("condition") {
                        match self.string(c, "condition").as_deref() {
                            Some("service_started") => cond = Condition::Started,
                            Some("service_healthy") => cond = Condition::Healthy,
                            Some("service_completed_successfully") => cond = Condition::CompletedSuccessfully,
                            Some(other) => self.issue(at(c), format!("condition `{other}` is not service_started, service_healthy or service_completed_successfully")),
                            None => {}
                        }
                    }
                } else if !is_null(v) {
                    self.issue(at(v), "depends_on entries take a `condition`");
                }
                out.insert(k.as_str().to_string(), cond);
            }
        } else {
            self.issue(at(node), "depends_on must be a list or a mapping");
        }
        out
    }

    pub(super) fn healthcheck(&mut self, node: &Node) -> Option<Healthcheck> {
        let map = self.map(node, "healthcheck")?;
        self.check_keys(
            map,
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "start_interval",
                "disable",
            ],
            &[],
            "healthcheck",
        );
        let mut h = Healthcheck::default();
        for (k, v) in map.iter() {
            match k.as_str() {
                "test" => {
                    h.test = if let Some(seq) = v.as_sequence() {
                        seq.iter().filter_map(|n| self.string(n, "test")).collect()
                    } else {
                        match self.string(v, "test") {
                            Some(t) if t == "NONE" => vec!["NONE".into()],
                            Some(t) => vec!["CMD-SHELL".into(), t],
                            None => Vec::new(),
                        }
                    };
                    if let Some(first) = h.test.first() {
                        if !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE") {
                            self.issue(
                                at(v),
                                "a healthcheck test list starts with CMD, CMD-SHELL or NONE",
                            );
                        }
                    }
                }
                "interval" => h.interval_ns = self.duration(v),
                "timeout" => h.timeout_ns = self.duration(v),
                "start_period" => h.start_period_ns = self.duration(v),
                "start_interval" => {}
                "retries" => h.retries = self.integer(v, "retries"),
                "disable" if self.boolean(v, "disable") == Some(true) => {
                    h.test = vec!["NONE".into()];
                }
                "disable" => {}
                _ => {}
            }
        }
        // No test: the image's own, with these timings (or nothing at all).
        if h.test.is_empty()
            && h.interval_ns.is_none()
            && h.timeout_ns.is_none()
            && h.retries.is_none()
            && h.start_period_ns.is_none()
        {
            return None;
        }
        Some(h)
    }

    pub(super) fn duration(&mut self, node: &Node) -> Option<i64> {
        let s = self.string(node, "duration")?;
        match parse_duration(&s) {
            Some(ns) => Some(ns),
            None => {
                self.issue(
                    at(node),
                    format!("{s:?} is not a duration such as 10s, 1m30s or 500ms"),
                );
                None
            }
        }
    }

    pub(super) fn memory(&mut self, node: &Node) -> Option<i64> {
        let s = self.string(node, "memory")?;
        match parse_memory("memory", &s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.issue(at(node), e.message);
                None
            }
        }
    }

    pub(super) fn cpus(&mut self, node: &Node) -> Option<i64> {
        let s = self.string(node, "cpus")?;
        match parse_cpus("cpus", &s) {
            Ok(n) => Some(n),
            Err(e) => {
                self.issue(at(node), e.message);
                None
            }
        }
    }

    pub(super) fn deploy(&mut self, node: &Node, s: &mut Service) {
        let Some(map) = self.map(node, "deploy") else {
            return;
        };
        self.check_keys(
            map,
            &[
                "replicas",
                "resources",
                "restart_policy",
                "mode",
                "placement",
                "update_config",
                "rollback_config",
                "endpoint_mode",
                "labels",
            ],
            &[],
            "deploy",
        );
        for (k, v) in map.iter() {
            match k.as_str() {
                "replicas" => match self.integer(v, "replicas") {
                    Some(n) if (0..=100).contains(&n) => s.replicas = n as u32,
                    Some(n) => {
                        self.issue(at(v), format!("replicas {n}: berth runs 0 to 100 replicas"))
                    }
                    None => {}
                },
                "resources" => self.resources(v, s),
                "restart_policy" => self.restart_policy(v, s),
                "mode" => match self.string(v, "mode").as_deref() {
                    Some("replicated") | None => {}
                    Some("global") => self.warning(
                        at(v),
                        "`deploy.mode: global` is for Swarm; berth runs the service's replicas on this host",
                    ),
                    Some(other) => self.issue(
                        at(v),
                        format!("deploy mode `{other}` is not replicated or global"),
                    ),
                },
                other => self.warning(
                    at_key(k),
                    format!("`deploy.{other}` applies to Swarm only; berth ignores it"),
                ),
            }
        }
    }

    fn resources(&mut self, node: &Node, s: &mut Service) {
        let Some(res) = self.map(node, "resources") else {
            return;
        };
        self.check_keys(res, &["limits", "reservations"], &[], "resources");
        if let Some(limits) = res.get_node("limits") {
            let Some(limits) = self.map(limits, "limits") else {
                return;
            };
            self.check_keys(limits, &["cpus", "memory", "pids"], &[], "limits");
            if let Some(c) = limits.get_node("cpus") {
                s.nano_cpus = self.cpus(c);
            }
            if let Some(m) = limits.get_node("memory") {
                s.memory_bytes = self.memory(m);
            }
            if let Some(p) = limits.get_node("pids") {
                s.options.pids_limit = self.integer(p, "pids");
            }
        }
        if let Some(reservations) = res.get_node("reservations") {
            let Some(r) = self.map(reservations, "reservations") else {
                return;
            };
            self.check_keys(
                r,
                &["cpus", "memory", "devices", "generic_resources"],
                &[],
                "reservations",
            );
            if let Some(m) = r.get_node("memory") {
                s.options.memory_reservation = self.memory(m);
            }
            if let Some(c) = r.get_node("cpus") {
                // The engine has no CPU reservation outside Swarm.
                self.cpus(c);
                self.warning(
                    at(c),
                    "`reservations.cpus` applies to Swarm only; berth ignores it",
                );
            }
            if let Some(g) = r.get_node("generic_resources") {
                self.warning(
                    at(g),
                    "`generic_resources` applies to Swarm only; berth ignores it",
                );
            }
            if let Some(d) = r.get_node("devices") {
                if self.too_many(d, "devices") {
                    return;
                }
                let Some(seq) = d.as_sequence() else {
                    self.issue(at(d), "reservations.devices must be a list");
                    return;
                };
                for item in seq {
                    if let Some(req) = self.device_request(item, "reservations.devices", false) {
                        s.options.device_requests.push(req);
                    }
                }
            }
        }
    }

    /// `deploy.restart_policy`, used when the service has no `restart`.
    fn restart_policy(&mut self, node: &Node, s: &mut Service) {
        let Some(m) = self.map(node, "restart_policy") else {
            return;
        };
        self.check_keys(
            m,
            &["condition", "delay", "max_attempts", "window"],
            &[],
            "restart_policy",
        );
        let attempts = m
            .get_node("max_attempts")
            .and_then(|n| self.integer(n, "max_attempts"));
        let policy = match m.get_node("condition") {
            None => Some("always".to_string()),
            Some(c) => match self.string(c, "condition").as_deref() {
                Some("none") => Some("no".to_string()),
                Some("any") => Some("always".to_string()),
                Some("on-failure") => Some(match attempts {
                    Some(n) if n > 0 => format!("on-failure:{n}"),
                    _ => "on-failure".to_string(),
                }),
                Some(other) => {
                    self.issue(
                        at(c),
                        format!(
                            "restart_policy condition `{other}` is not none, on-failure or any"
                        ),
                    );
                    None
                }
                None => None,
            },
        };
        for key in ["delay", "window"] {
            if let Some(n) = m.get_node(key) {
                self.duration(n);
                self.warning(
                    at(n),
                    format!("`restart_policy.{key}` applies to Swarm only; berth ignores it"),
                );
            }
        }
        // `restart` wins, whichever comes first in the file; the service
        // sets it over this when it is read later.
        if s.restart.is_none() {
            s.restart = policy;
        }
    }

    /// `env_file:` a path, a list of paths, or `{path, required}` entries,
    /// read from the stack's folder in order (later files win).
    pub(super) fn env_files(&mut self, node: &Node, out: &mut BTreeMap<String, String>) {
        let items: Vec<&Node> = match node.as_sequence() {
            Some(seq) => seq.iter().collect(),
            None => vec![node],
        };
        for item in items {
            let (path, required) = if let Some(m) = item.as_mapping() {
                self.check_keys(m, &["path", "required", "format"], &[], "env_file");
                let path = m.get_node("path").and_then(|p| self.string(p, "path"));
                let required = m
                    .get_node("required")
                    .and_then(|r| self.boolean(r, "required"))
                    .unwrap_or(true);
                (path, required)
            } else {
                (self.string(item, "env_file"), true)
            };
            let Some(path) = path else {
                self.issue(at(item), "an env_file entry needs a `path`");
                continue;
            };
            let rel = path.trim_start_matches("./");
            if rel == ".env" {
                out.extend(self.vars.clone());
                continue;
            }
            let rel = self.expand_home(rel);
            let text = if rel.starts_with('/') {
                Err(format!("`{rel}`: berth reads env files only from the stack's folder; give a path relative to it"))
            } else {
                self.read_file(&rel).and_then(|b| {
                    String::from_utf8(b).map_err(|_| format!("`{rel}` is not UTF-8 text"))
                })
            };
            match text {
                Ok(text) => match super::super::interpolate::parse_env_file(&text) {
                    Ok(vars) => out.extend(vars),
                    Err((line, e)) => {
                        self.issue(at(item), format!("env_file `{rel}` line {line}: {e}"))
                    }
                },
                Err(_) if !required => {}
                Err(e) => self.issue(at(item), format!("env_file: {e}")),
            }
        }
    }
}
