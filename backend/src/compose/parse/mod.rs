//! Compose file -> [`ComposeFile`], with every problem reported at its line
//! and column. Nothing unknown is dropped silently: an unknown key is an
//! error, and so is a known one berth does not implement yet.

use std::collections::BTreeMap;

use protocol::run_command::{parse_cpus, parse_memory, parse_publish, parse_restart, split_words};
use protocol::{ComposeIssue, MountKind, PortSpec};

use super::load::{load, Source};
use super::model::{
    Build, ComposeFile, Condition, Healthcheck, Ipam, IpamPool, NetworkDef, Service, ServiceVolume,
    VolumeDef,
};
use super::yaml::{Mapping, Mark, Node, Scalar};

mod options;
mod secrets;
mod service;

use secrets::FileKind;

const TOP_KEYS: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include",
];
const TOP_UNSUPPORTED: &[&str] = &[];

/// Parses and checks a compose file on its own, reading no other file.
/// `env` is the stack's `.env` text; `project_dir` is where relative bind
/// mounts are rooted.
pub fn parse(text: &str, env: &str, project_dir: &str) -> Result<ComposeFile, Vec<ComposeIssue>> {
    parse_source(&Source {
        compose: text,
        env,
        project_dir,
        read_files: false,
        home: None,
    })
}

/// Parses and checks a stack's compose file with everything it draws in
/// (see [`Source`]).
pub fn parse_source(src: &Source<'_>) -> Result<ComposeFile, Vec<ComposeIssue>> {
    let loaded = load(src)?;
    let mut p = Parser {
        vars: loaded.vars,
        issues: Vec::new(),
        project_dir: src.project_dir.trim_end_matches('/').to_string(),
        file_names: loaded.file_names,
        read_files: src.read_files,
        home: src.home.clone(),
        warnings: Vec::new(),
        tmpfs_mounts: BTreeMap::new(),
    };
    let mut file = p.file(&loaded.root);
    if p.issues.is_empty() {
        p.warnings.sort_by_key(|i| (i.line, i.column));
        p.warnings.dedup();
        file.warnings = p.warnings;
        Ok(file)
    } else {
        p.issues.sort_by_key(|i| (i.line, i.column));
        p.issues.dedup();
        Err(p.issues)
    }
}

struct Parser {
    vars: BTreeMap<String, String>,
    issues: Vec<ComposeIssue>,
    project_dir: String,
    file_names: Vec<String>,
    read_files: bool,
    home: Option<String>,
    warnings: Vec<ComposeIssue>,
    /// `type: tmpfs` entries of the service's `volumes` being read.
    tmpfs_mounts: BTreeMap<String, String>,
}

fn at(node: &Node) -> Mark {
    node.mark
}

fn at_key(key: &Scalar) -> Mark {
    key.mark
}

fn is_null(node: &Node) -> bool {
    node.is_null()
}

impl Parser {
    fn issue(&mut self, mark: Mark, message: impl Into<String>) {
        let message = message.into();
        let message = match self.file_names.get(usize::from(mark.file)) {
            Some(name) if mark.file != 0 => format!("{name}: {message}"),
            _ => message,
        };
        self.issues.push(ComposeIssue {
            line: mark.line,
            column: mark.column,
            message,
        });
    }

    /// Something berth takes but cannot honour here: the file still deploys.
    fn warning(&mut self, mark: Mark, message: impl Into<String>) {
        let message = message.into();
        let message = match self.file_names.get(usize::from(mark.file)) {
            Some(name) if mark.file != 0 => format!("{name}: {message}"),
            _ => message,
        };
        self.warnings.push(ComposeIssue {
            line: mark.line,
            column: mark.column,
            message,
        });
    }

    /// `~` and `~/x` as berth's home; other paths as they are.
    fn expand_home(&self, path: &str) -> String {
        match (path.strip_prefix('~'), &self.home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", home.trim_end_matches('/'))
            }
            _ => path.to_string(),
        }
    }

    fn map<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a Mapping> {
        let m = node.as_mapping();
        if m.is_none() {
            self.issue(at(node), format!("{what} must be a mapping"));
        }
        m
    }

    /// Every key must be known; known-but-unimplemented ones say so.
    fn check_keys(&mut self, map: &Mapping, known: &[&str], unsupported: &[&str], what: &str) {
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

    /// A scalar (already interpolated when the files were loaded).
    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_scalar() {
            Some(s) => Some(s.text.clone()),
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
        if let Some(n) = top.get_node("secrets") {
            file.secrets = self.file_defs(n, FileKind::Secret);
        }
        if let Some(n) = top.get_node("configs") {
            file.configs = self.file_defs(n, FileKind::Config);
        }
        match top.get_node("services") {
            None => self.issue(
                Mark {
                    file: 0,
                    line: 1,
                    column: 1,
                },
                "the file has no `services`",
            ),
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
                "ipam",
                "enable_ipv6",
                "enable_ipv4",
            ],
            &[],
            &what,
        );
        for (k, v) in map.iter() {
            match k.as_str() {
                "name" => def.name = self.string(v, "name"),
                "driver" => def.driver = self.string(v, "driver"),
                "external" => def.external = self.external(v, &mut def.name),
                "internal" => def.internal = self.boolean(v, "internal").unwrap_or(false),
                "attachable" => def.attachable = self.boolean(v, "attachable"),
                "enable_ipv6" => def.enable_ipv6 = self.boolean(v, "enable_ipv6").unwrap_or(false),
                "enable_ipv4" if self.boolean(v, "enable_ipv4") == Some(false) => {
                    self.warning(
                        at(v),
                        "enable_ipv4: false needs Docker API 1.47; the network gets IPv4",
                    );
                }
                "labels" => def.labels = self.key_values(v, "labels"),
                "driver_opts" => def.driver_opts = self.key_values(v, "driver_opts"),
                "ipam" => def.ipam = self.ipam(v),
                _ => {}
            }
        }
        def
    }

    fn ipam(&mut self, node: &Node) -> Option<Ipam> {
        let map = self.map(node, "ipam")?;
        self.check_keys(map, &["driver", "config", "options"], &[], "ipam");
        let mut ipam = Ipam::default();
        for (k, v) in map.iter() {
            match k.as_str() {
                "driver" => ipam.driver = self.string(v, "driver"),
                "options" => ipam.options = self.key_values(v, "options"),
                "config" => {
                    let Some(items) = v.as_sequence() else {
                        self.issue(at(v), "ipam config must be a list");
                        continue;
                    };
                    for item in items.iter().take(64) {
                        let Some(m) = self.map(item, "an ipam config") else {
                            continue;
                        };
                        self.check_keys(
                            m,
                            &["subnet", "ip_range", "gateway", "aux_addresses"],
                            &[],
                            "an ipam config",
                        );
                        let mut pool = IpamPool::default();
                        for (pk, pv) in m.iter() {
                            match pk.as_str() {
                                "subnet" => pool.subnet = self.cidr(pv, "subnet"),
                                "ip_range" => pool.ip_range = self.cidr(pv, "ip_range"),
                                "gateway" => {
                                    pool.gateway = self.string(pv, "gateway");
                                    if let Some(g) = &pool.gateway {
                                        if g.parse::<std::net::IpAddr>().is_err() {
                                            self.issue(
                                                at(pv),
                                                format!("gateway `{g}` is not an IP address"),
                                            );
                                        }
                                    }
                                }
                                "aux_addresses" => {
                                    pool.aux_addresses = self.key_values(pv, "aux_addresses")
                                }
                                _ => {}
                            }
                        }
                        ipam.config.push(pool);
                    }
                }
                _ => {}
            }
        }
        Some(ipam)
    }

    fn cidr(&mut self, node: &Node, what: &str) -> Option<String> {
        let s = self.string(node, what)?;
        let ok = s.split_once('/').is_some_and(|(ip, bits)| {
            ip.parse::<std::net::IpAddr>().is_ok_and(|ip| {
                bits.parse::<u8>()
                    .is_ok_and(|b| b <= if ip.is_ipv4() { 32 } else { 128 })
            })
        });
        if !ok {
            self.issue(
                at(node),
                format!("{what} `{s}` is not an address range such as 172.28.0.0/16"),
            );
            return None;
        }
        Some(s)
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
                "driver_opts" => def.driver_opts = self.key_values(v, "driver_opts"),
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

    fn check_dependencies(&mut self, top: &Mapping, file: &ComposeFile) {
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
