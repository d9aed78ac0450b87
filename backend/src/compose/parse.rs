//! Compose file -> [`ComposeFile`], with every problem reported at its line
//! and column. Nothing unknown is dropped silently: an unknown key is an
//! error, and so is a known one berth does not implement yet.

use std::collections::BTreeMap;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node};
use protocol::run_command::{parse_cpus, parse_memory, parse_publish, parse_restart, split_words};
use protocol::{ComposeIssue, MountKind, PortSpec};

use super::interpolate::{interpolate, parse_env_file};
use super::model::{
    Build, ComposeFile, Condition, Healthcheck, NetworkDef, Service, ServiceVolume, VolumeDef,
};

const TOP_KEYS: &[&str] = &["version", "name", "services", "networks", "volumes"];
const TOP_UNSUPPORTED: &[&str] = &["secrets", "configs", "include"];
const SERVICE_KEYS: &[&str] = &[
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
];
const SERVICE_UNSUPPORTED: &[&str] = &[
    "privileged",
    "cap_add",
    "cap_drop",
    "devices",
    "secrets",
    "configs",
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
];

/// Parses and checks a compose file. `env` is the stack's `.env` text;
/// `project_dir` is where relative bind mounts are rooted.
pub fn parse(text: &str, env: &str, project_dir: &str) -> Result<ComposeFile, Vec<ComposeIssue>> {
    let vars = match parse_env_file(env) {
        Ok(v) => v,
        Err((_, message)) => {
            return Err(vec![ComposeIssue {
                line: 0,
                column: 0,
                message,
            }])
        }
    };
    let root = match marked_yaml::parse_yaml_with_options(
        0,
        text,
        LoaderOptions::default().error_on_duplicate_keys(true),
    ) {
        Ok(root) => root,
        Err(e) => return Err(vec![load_issue(&e)]),
    };
    let mut p = Parser {
        vars,
        issues: Vec::new(),
        project_dir: project_dir.trim_end_matches('/').to_string(),
    };
    let file = p.file(&root);
    if p.issues.is_empty() {
        Ok(file)
    } else {
        p.issues.sort_by_key(|i| (i.line, i.column));
        p.issues.dedup();
        Err(p.issues)
    }
}

fn load_issue(e: &LoadError) -> ComposeIssue {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => (
            Some(m),
            "the file must be a mapping with a `services` key".to_string(),
        ),
        LoadError::TopLevelMustBeSequence(m) => (Some(m), "unexpected sequence".to_string()),
        LoadError::UnexpectedAnchor(m) => {
            (Some(m), "YAML anchors are not supported here".to_string())
        }
        LoadError::MappingKeyMustBeScalar(m) => {
            (Some(m), "a mapping key must be a plain value".to_string())
        }
        LoadError::UnexpectedTag(m) => (Some(m), "YAML tags are not supported".to_string()),
        LoadError::ScanError(m, e) => (Some(m), format!("not valid YAML: {}", e.info())),
        LoadError::DuplicateKey(inner) => {
            let key = &inner.key;
            (
                key.span().start(),
                format!("`{}` is given twice", key.as_str()),
            )
        }
    };
    let (line, column) = marker.map(|m| (m.line(), m.column())).unwrap_or((0, 0));
    ComposeIssue {
        line,
        column,
        message,
    }
}

struct Parser {
    vars: BTreeMap<String, String>,
    issues: Vec<ComposeIssue>,
    project_dir: String,
}

fn at(node: &Node) -> (usize, usize) {
    node.span()
        .start()
        .map(|m| (m.line(), m.column()))
        .unwrap_or((0, 0))
}

fn at_key(key: &MarkedScalarNode) -> (usize, usize) {
    key.span()
        .start()
        .map(|m| (m.line(), m.column()))
        .unwrap_or((0, 0))
}

fn is_null(node: &Node) -> bool {
    node.as_scalar()
        .is_some_and(|s| matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

impl Parser {
    fn issue(&mut self, (line, column): (usize, usize), message: impl Into<String>) {
        self.issues.push(ComposeIssue {
            line,
            column,
            message: message.into(),
        });
    }

    fn map<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a MarkedMappingNode> {
        let m = node.as_mapping();
        if m.is_none() {
            self.issue(at(node), format!("{what} must be a mapping"));
        }
        m
    }

    /// Every key must be known; known-but-unimplemented ones say so.
    fn check_keys(
        &mut self,
        map: &MarkedMappingNode,
        known: &[&str],
        unsupported: &[&str],
        what: &str,
    ) {
        for (key, _) in map.iter() {
            let k = key.as_str();
            if known.contains(&k) || k.starts_with("x-") {
                continue;
            }
            if unsupported.contains(&k) {
                self.issue(
                    at_key(key),
                    format!("`{k}` in {what} is not supported by berth yet"),
                );
            } else {
                self.issue(at_key(key), format!("unknown key `{k}` in {what}"));
            }
        }
    }

    /// A scalar, interpolated.
    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_scalar() {
            Some(s) => match interpolate(s.as_str(), &self.vars) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.issue(at(node), format!("{what}: {e}"));
                    None
                }
            },
            None => {
                self.issue(at(node), format!("{what} must be a single value"));
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        let s = self.string(node, what)?;
        match s.as_str() {
            "true" | "True" | "TRUE" | "yes" | "on" => Some(true),
            "false" | "False" | "FALSE" | "no" | "off" => Some(false),
            _ => {
                self.issue(at(node), format!("{what} must be true or false, not {s:?}"));
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        let s = self.string(node, what)?;
        match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.issue(
                    at(node),
                    format!("{what} must be a whole number, not {s:?}"),
                );
                None
            }
        }
    }

    /// A list of strings, or a single string split as a shell would.
    fn words(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        if let Some(seq) = node.as_sequence() {
            return seq.iter().map(|n| self.string(n, what)).collect();
        }
        let s = self.string(node, what)?;
        match split_words(&s) {
            Ok(w) => Some(w),
            Err(e) => {
                self.issue(at(node), format!("{what}: {}", e.message));
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        if let Some(seq) = node.as_sequence() {
            return seq.iter().filter_map(|n| self.string(n, what)).collect();
        }
        self.string(node, what).into_iter().collect()
    }

    /// `KEY: value` mapping or `KEY=value` list. `None` values (`KEY` alone,
    /// `KEY:` empty) are taken from the stack's .env, as compose takes them
    /// from the shell; unset ones are left out.
    fn key_values(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(map) = node.as_mapping() {
            for (k, v) in map.iter() {
                let key = k.as_str().to_string();
                if is_null(v) {
                    if let Some(val) = self.vars.get(&key) {
                        out.insert(key, val.clone());
                    }
                } else if let Some(val) = self.string(v, what) {
                    out.insert(key, val);
                }
            }
        } else if let Some(seq) = node.as_sequence() {
            for item in seq.iter() {
                let Some(entry) = self.string(item, what) else {
                    continue;
                };
                match entry.split_once('=') {
                    Some((k, v)) => {
                        out.insert(k.to_string(), v.to_string());
                    }
                    None => {
                        if let Some(val) = self.vars.get(&entry) {
                            out.insert(entry.clone(), val.clone());
                        }
                    }
                }
            }
        } else if !is_null(node) {
            self.issue(
                at(node),
                format!("{what} must be a mapping or a list of KEY=value"),
            );
        }
        out
    }

    fn file(&mut self, root: &Node) -> ComposeFile {
        let mut file = ComposeFile::default();
        let Some(top) = self.map(root, "the file") else {
            return file;
        };
        self.check_keys(top, TOP_KEYS, TOP_UNSUPPORTED, "the file");
        if let Some(n) = top.get_node("name") {
            file.name = self.string(n, "name");
        }
        if let Some(nets) = top.get_node("networks").filter(|n| !is_null(n)) {
            if let Some(map) = self.map(nets, "networks") {
                for (k, v) in map.iter() {
                    let def = self.network(v, k.as_str());
                    file.networks.insert(k.as_str().to_string(), def);
                }
            }
        }
        if let Some(vols) = top.get_node("volumes").filter(|n| !is_null(n)) {
            if let Some(map) = self.map(vols, "volumes") {
                for (k, v) in map.iter() {
                    if !valid_name(k.as_str()) {
                        self.issue(
                            at_key(k),
                            format!("`{}` is not a valid volume name", k.as_str()),
                        );
                    }
                    let def = self.volume_def(v, k.as_str());
                    file.volumes.insert(k.as_str().to_string(), def);
                }
            }
        }
        match top.get_node("services") {
            None => self.issue((1, 1), "the file has no `services`"),
            Some(services) => {
                if let Some(map) = self.map(services, "services") {
                    if map.is_empty() {
                        self.issue(at(services), "`services` is empty");
                    }
                    for (k, v) in map.iter() {
                        let name = k.as_str();
                        if !valid_name(name) {
                            self.issue(at_key(k), format!("`{name}` is not a valid service name (letters, digits, `.`, `_`, `-`)"));
                        }
                        let service = self.service(v, name, &file);
                        file.services.insert(name.to_string(), service);
                    }
                }
            }
        }
        self.check_dependencies(top, &file);
        file
    }

    fn network(&mut self, node: &Node, key: &str) -> NetworkDef {
        let mut def = NetworkDef::default();
        if is_null(node) {
            return def;
        }
        let what = format!("network `{key}`");
        let Some(map) = self.map(node, &what) else {
            return def;
        };
        self.check_keys(
            map,
            &[
                "name",
                "driver",
                "external",
                "internal",
                "labels",
                "attachable",
                "driver_opts",
            ],
            &["ipam", "enable_ipv6"],
            &what,
        );
        for (k, v) in map.iter() {
            match k.as_str() {
                "name" => def.name = self.string(v, "name"),
                "driver" => {
                    def.driver = self.string(v, "driver");
                    if let Some(d) = def.driver.as_deref().filter(|d| *d != "bridge") {
                        self.issue(
                            at(v),
                            format!("network driver `{d}`: berth creates bridge networks only"),
                        );
                    }
                }
                "external" => def.external = self.external(v, &mut def.name),
                "internal" => def.internal = self.boolean(v, "internal").unwrap_or(false),
                "labels" => def.labels = self.key_values(v, "labels"),
                _ => {}
            }
        }
        def
    }

    fn volume_def(&mut self, node: &Node, key: &str) -> VolumeDef {
        let mut def = VolumeDef::default();
        if is_null(node) {
            return def;
        }
        let what = format!("volume `{key}`");
        let Some(map) = self.map(node, &what) else {
            return def;
        };
        self.check_keys(
            map,
            &["name", "driver", "external", "labels", "driver_opts"],
            &[],
            &what,
        );
        for (k, v) in map.iter() {
            match k.as_str() {
                "name" => def.name = self.string(v, "name"),
                "driver" => def.driver = self.string(v, "driver"),
                "external" => def.external = self.external(v, &mut def.name),
                "labels" => def.labels = self.key_values(v, "labels"),
                _ => {}
            }
        }
        def
    }

    /// `external: true` or the old `external: {name: x}`.
    fn external(&mut self, node: &Node, name: &mut Option<String>) -> bool {
        if let Some(map) = node.as_mapping() {
            if let Some(n) = map.get_node("name") {
                *name = self.string(n, "external name");
            }
            return true;
        }
        self.boolean(node, "external").unwrap_or(false)
    }

    fn service(&mut self, node: &Node, name: &str, file: &ComposeFile) -> Service {
        let mut s = Service {
            name: name.to_string(),
            replicas: 1,
            ..Default::default()
        };
        let what = format!("service `{name}`");
        let Some(map) = self.map(node, &what) else {
            return s;
        };
        self.check_keys(map, SERVICE_KEYS, SERVICE_UNSUPPORTED, &what);
        let mut env_from_file = BTreeMap::new();
        for (k, v) in map.iter() {
            match k.as_str() {
                "image" => s.image = self.string(v, "image").filter(|i| !i.is_empty()),
                "build" => s.build = self.build(v),
                "command" => s.command = self.words(v, "command"),
                "entrypoint" => s.entrypoint = self.words(v, "entrypoint"),
                "environment" => s.environment = self.key_values(v, "environment"),
                "env_file" => {
                    for f in self.string_list(v, "env_file") {
                        let f = f.trim_start_matches("./");
                        if f == ".env" {
                            env_from_file.extend(self.vars.clone());
                        } else {
                            self.issue(at(v), format!("env_file `{f}`: berth keeps only the stack's .env; put these variables there or in `environment`"));
                        }
                    }
                }
                "ports" => s.ports = self.ports(v),
                "expose" => {}
                "volumes" => s.volumes = self.service_volumes(v, file),
                "networks" => s.networks = self.service_networks(v, file),
                "network_mode" => {
                    let mode = self.string(v, "network_mode");
                    match mode.as_deref() {
                        Some("host" | "none" | "bridge") => s.network_mode = mode,
                        Some(other) => self.issue(
                            at(v),
                            format!("network_mode `{other}`: berth takes host, none or bridge"),
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
                "labels" => s.labels = self.key_values(v, "labels"),
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
                _ => {}
            }
        }
        for (k, v) in env_from_file {
            s.environment.entry(k).or_insert(v);
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

    fn build(&mut self, node: &Node) -> Option<Build> {
        if node.as_scalar().is_some() {
            return self.string(node, "build").map(|context| Build {
                context,
                ..Default::default()
            });
        }
        let map = self.map(node, "build")?;
        self.check_keys(
            map,
            &["context", "dockerfile", "args", "target"],
            &[
                "cache_from",
                "network",
                "labels",
                "shm_size",
                "ssh",
                "secrets",
                "platforms",
            ],
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
                _ => {}
            }
        }
        Some(b)
    }

    fn ports(&mut self, node: &Node) -> Vec<PortSpec> {
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

    fn host_path(&self, source: &str) -> String {
        let joined = if source.starts_with('/') {
            source.to_string()
        } else {
            format!("{}/{}", self.project_dir, source)
        };
        normalize(&joined)
    }

    fn service_volumes(&mut self, node: &Node, file: &ComposeFile) -> Vec<ServiceVolume> {
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
                    ],
                    &["tmpfs", "image"],
                    "a volume",
                );
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
                    other => {
                        self.issue(
                            at(item),
                            format!("volume type `{other}`: berth takes bind or volume"),
                        );
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
                let read_only = match mode {
                    "" | "rw" => false,
                    "ro" => true,
                    m if m.split(',').all(|o| matches!(o, "ro" | "rw" | "z" | "Z")) => {
                        m.split(',').any(|o| o == "ro")
                    }
                    m => {
                        self.issue(
                            at(item),
                            format!("volume {text:?}: mode `{m}` is not ro or rw"),
                        );
                        continue;
                    }
                };
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
                    if source.starts_with('~') {
                        self.issue(at(item), format!("volume {text:?}: berth does not expand `~`; write the absolute path"));
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

    fn service_networks(
        &mut self,
        node: &Node,
        file: &ComposeFile,
    ) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let check = |p: &mut Parser, key: &str, at_: (usize, usize)| {
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
                        &["aliases", "priority"],
                        &[
                            "ipv4_address",
                            "ipv6_address",
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                        ],
                        "a service network",
                    );
                    if let Some(a) = m.get_node("aliases") {
                        aliases = self.string_list(a, "aliases");
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

    fn depends_on(&mut self, node: &Node) -> BTreeMap<String, Condition> {
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

    fn healthcheck(&mut self, node: &Node) -> Option<Healthcheck> {
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
        if h.test.is_empty() {
            self.issue(at(node), "a healthcheck needs a `test`");
            return None;
        }
        Some(h)
    }

    fn duration(&mut self, node: &Node) -> Option<i64> {
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

    fn memory(&mut self, node: &Node) -> Option<i64> {
        let s = self.string(node, "memory")?;
        match parse_memory("memory", &s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.issue(at(node), e.message);
                None
            }
        }
    }

    fn cpus(&mut self, node: &Node) -> Option<i64> {
        let s = self.string(node, "cpus")?;
        match parse_cpus("cpus", &s) {
            Ok(n) => Some(n),
            Err(e) => {
                self.issue(at(node), e.message);
                None
            }
        }
    }

    fn deploy(&mut self, node: &Node, s: &mut Service) {
        let Some(map) = self.map(node, "deploy") else {
            return;
        };
        self.check_keys(
            map,
            &["replicas", "resources"],
            &[
                "mode",
                "placement",
                "update_config",
                "rollback_config",
                "restart_policy",
                "endpoint_mode",
                "labels",
            ],
            "deploy",
        );
        if let Some(r) = map.get_node("replicas") {
            match self.integer(r, "replicas") {
                Some(n) if (0..=100).contains(&n) => s.replicas = n as u32,
                Some(n) => self.issue(at(r), format!("replicas {n}: berth runs 0 to 100 replicas")),
                None => {}
            }
        }
        if let Some(res) = map.get_node("resources") {
            let Some(res) = self.map(res, "resources") else {
                return;
            };
            self.check_keys(res, &["limits", "reservations"], &[], "resources");
            if let Some(limits) = res.get_node("limits") {
                let Some(limits) = self.map(limits, "limits") else {
                    return;
                };
                self.check_keys(limits, &["cpus", "memory"], &["pids", "devices"], "limits");
                if let Some(c) = limits.get_node("cpus") {
                    s.nano_cpus = self.cpus(c);
                }
                if let Some(m) = limits.get_node("memory") {
                    s.memory_bytes = self.memory(m);
                }
            }
        }
    }

    fn check_dependencies(&mut self, top: &MarkedMappingNode, file: &ComposeFile) {
        let Some(services) = top.get_node("services").and_then(Node::as_mapping) else {
            return;
        };
        for (k, v) in services.iter() {
            let Some(s) = file.services.get(k.as_str()) else {
                continue;
            };
            let pos = v
                .as_mapping()
                .and_then(|m| m.get_node("depends_on"))
                .map(at)
                .unwrap_or_else(|| at_key(k));
            for dep in s.depends_on.keys() {
                if !file.services.contains_key(dep) {
                    self.issue(
                        pos,
                        format!(
                            "service `{}` depends on `{dep}`, which the file does not define",
                            s.name
                        ),
                    );
                } else if dep == &s.name {
                    self.issue(pos, format!("service `{}` depends on itself", s.name));
                }
            }
            if let Some(cycle) = find_cycle(file, &s.name) {
                self.issue(
                    pos,
                    format!("depends_on has a cycle: {}", cycle.join(" -> ")),
                );
            }
        }
    }
}

fn find_cycle(file: &ComposeFile, start: &str) -> Option<Vec<String>> {
    fn walk(file: &ComposeFile, start: &str, node: &str, path: &mut Vec<String>) -> bool {
        let Some(s) = file.services.get(node) else {
            return false;
        };
        for dep in s.depends_on.keys() {
            if dep == start && !path.is_empty() {
                path.push(dep.clone());
                return true;
            }
            if path.contains(dep) || dep == node {
                continue;
            }
            path.push(dep.clone());
            if walk(file, start, dep, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_string()];
    if walk(file, start, start, &mut path) && path.len() > 2 {
        Some(path)
    } else {
        None
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Go-style durations: `1h2m3s`, `500ms`, `10s`, `1.5s`.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    Some(total as i64)
}

/// Resolves `.` and `..` in an absolute path, without touching the disk.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}
