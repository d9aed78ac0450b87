//! From the stack's files to one compose tree, as `docker compose` builds
//! it before anything is checked: interpolation from `.env` (file by file),
//! the override file beside `compose.yaml`, `include`, and `extends`, merged
//! by the compose specification's rules (`!reset`, `!override`).
//!
//! Other files are read only from the stack's folder, never through a
//! symbolic link out of it, and within bounds: [`MAX_FILES`] files of at
//! most [`MAX_FILE_BYTES`] each, included at most [`MAX_DEPTH`] deep.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use protocol::ComposeIssue;

use super::interpolate::{interpolate, parse_env_file};
use super::yaml::{self, Mapping, Mark, Node, Scalar, Tag, Value};

pub const MAX_FILES: usize = 32;
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
pub const MAX_DEPTH: usize = 8;

/// The files compose merges over `compose.yaml` when they are there.
pub const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// What a stack's compose file is read with.
#[derive(Debug, Clone, Default)]
pub struct Source<'a> {
    pub compose: &'a str,
    /// The text of the stack's `.env`.
    pub env: &'a str,
    /// The stack's folder: relative paths are rooted here.
    pub project_dir: &'a str,
    /// Whether other files (`include`, `extends.file`, `env_file`, the
    /// override file, secrets' files) may be read from `project_dir`.
    /// Off when checking a file that has no folder yet.
    pub read_files: bool,
    /// What `~` means in a path: berth's home.
    pub home: Option<String>,
}

/// The merged tree and what goes with it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub root: Node,
    /// The `.env` variables.
    pub vars: BTreeMap<String, String>,
    /// Files by the index in their marks (0 is `compose.yaml`).
    pub file_names: Vec<String>,
}

pub(crate) struct Loader<'a> {
    pub src: &'a Source<'a>,
    pub file_names: Vec<String>,
    pub issues: Vec<ComposeIssue>,
}

fn issue_at(mark: Mark, message: impl Into<String>) -> ComposeIssue {
    ComposeIssue {
        line: mark.line,
        column: mark.column,
        message: message.into(),
    }
}

/// Loads, interpolates and merges the stack's files into one tree.
pub fn load(src: &Source<'_>) -> Result<Loaded, Vec<ComposeIssue>> {
    let vars = parse_env_file(src.env).map_err(|(line, message)| {
        vec![ComposeIssue {
            line: 0,
            column: 0,
            message: if line > 0 {
                format!(".env line {line}: {message}")
            } else {
                format!(".env: {message}")
            },
        }]
    })?;
    let mut loader = Loader {
        src,
        file_names: vec!["compose.yaml".into()],
        issues: Vec::new(),
    };
    let mut root = match yaml::load(src.compose, 0) {
        Ok(root) => root,
        Err(e) => return Err(vec![e]),
    };
    loader.interpolate(&mut root, &vars);
    if src.read_files {
        for name in OVERRIDE_FILES {
            if loader.exists(name) {
                if let Some(over) = loader.file(name, Mark::default(), &vars) {
                    merge_top(&mut root, over);
                }
                break;
            }
        }
    }
    loader.includes(&mut root, &vars, 0);
    loader.extends_all(&mut root, &vars);
    let issues = loader.finish_issues();
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Loaded {
        root,
        vars,
        file_names: loader.file_names,
    })
}

impl Loader<'_> {
    fn issue(&mut self, mark: Mark, message: impl Into<String>) {
        let message = message.into();
        let message = match self.file_names.get(usize::from(mark.file)) {
            Some(name) if mark.file != 0 => format!("{name}: {message}"),
            _ => message,
        };
        self.issues.push(issue_at(mark, message));
    }

    fn finish_issues(&mut self) -> Vec<ComposeIssue> {
        let mut issues = std::mem::take(&mut self.issues);
        issues.sort_by_key(|i| (i.line, i.column));
        issues.dedup();
        issues
    }

    /// Interpolates every value of a file's tree from `vars`.
    fn interpolate(&mut self, root: &mut Node, vars: &BTreeMap<String, String>) {
        let result = root.walk_scalars_mut(&mut |s: &mut Scalar| {
            if !s.text.contains('$') {
                return Ok(());
            }
            match interpolate(&s.text, vars) {
                Ok(v) => {
                    s.text = v;
                    Ok(())
                }
                Err(e) => Err((s.mark, e)),
            }
        });
        if let Err(errors) = result {
            for (mark, e) in errors {
                self.issue(mark, e);
            }
        }
    }

    pub(crate) fn inside(&self, rel: &str) -> Option<PathBuf> {
        inside(rel)
    }

    pub(crate) fn exists(&self, rel: &str) -> bool {
        self.src.read_files
            && self
                .inside(rel)
                .is_some_and(|p| Path::new(self.src.project_dir).join(p).is_file())
    }

    /// Reads a file of the stack's folder within the bounds; the error says
    /// why in words a user can act on.
    pub(crate) fn read(&mut self, rel: &str) -> Result<String, String> {
        if self.file_names.len() >= MAX_FILES {
            return Err(format!("more than {MAX_FILES} files are included"));
        }
        let bytes = read_stack_file(self.src, rel)?;
        String::from_utf8(bytes).map_err(|_| format!("`{rel}` is not UTF-8 text"))
    }

    /// Loads another compose file of the folder: parsed, interpolated, its
    /// relative paths rebased onto the stack's folder.
    fn file(&mut self, rel: &str, from: Mark, vars: &BTreeMap<String, String>) -> Option<Node> {
        let text = match self.read(rel) {
            Ok(t) => t,
            Err(e) => {
                self.issue(from, e);
                return None;
            }
        };
        let index = self.file_names.len() as u16;
        self.file_names.push(rel.to_string());
        let mut node = match yaml::load(&text, index) {
            Ok(n) => n,
            Err(e) => {
                self.issue(
                    Mark {
                        file: index,
                        line: e.line,
                        column: e.column,
                    },
                    e.message,
                );
                return None;
            }
        };
        self.interpolate(&mut node, vars);
        let dir = Path::new(rel)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.is_empty() {
            rebase(&mut node, &dir);
        }
        Some(node)
    }

    /// `include:` entries: each file (or list of files merged in order)
    /// brings its services, networks, volumes, secrets and configs; a name
    /// defined twice is an error, as in compose.
    fn includes(&mut self, root: &mut Node, vars: &BTreeMap<String, String>, depth: usize) {
        let Some(top) = root.as_mapping_mut() else {
            return;
        };
        let Some(include) = top.remove("include") else {
            return;
        };
        if depth >= MAX_DEPTH {
            self.issue(
                include.mark,
                format!("`include` nests deeper than {MAX_DEPTH} files"),
            );
            return;
        }
        let entries: Vec<Node> = match include.value {
            Value::Sequence(items) => items,
            _ => {
                self.issue(include.mark, "`include` must be a list");
                return;
            }
        };
        for entry in entries {
            let (paths, env_files) = match &entry.value {
                Value::Scalar(s) => (vec![(s.text.clone(), s.mark)], Vec::new()),
                Value::Mapping(m) => {
                    for (k, _) in m.iter() {
                        if !matches!(k.as_str(), "path" | "env_file" | "project_directory") {
                            self.issue(
                                k.mark,
                                format!("unknown key `{}` in an include", k.as_str()),
                            );
                        }
                    }
                    let list = |n: Option<&Node>| -> Vec<(String, Mark)> {
                        match n.map(|n| &n.value) {
                            Some(Value::Scalar(s)) => vec![(s.text.clone(), s.mark)],
                            Some(Value::Sequence(items)) => items
                                .iter()
                                .filter_map(|i| i.as_scalar().map(|s| (s.text.clone(), s.mark)))
                                .collect(),
                            _ => Vec::new(),
                        }
                    };
                    (list(m.get_node("path")), list(m.get_node("env_file")))
                }
                Value::Sequence(_) => {
                    self.issue(entry.mark, "an include is a path or a mapping with `path`");
                    continue;
                }
            };
            if paths.is_empty() {
                self.issue(entry.mark, "an include needs a `path`");
                continue;
            }
            // The included files see their own env files over the stack's.
            let mut inc_vars = vars.clone();
            for (f, mark) in env_files {
                match self.read(&f) {
                    Ok(text) => match parse_env_file(&text) {
                        Ok(v) => inc_vars.extend(v),
                        Err((line, e)) => self.issue(mark, format!("{f} line {line}: {e}")),
                    },
                    Err(e) => self.issue(mark, e),
                }
            }
            let mut merged: Option<Node> = None;
            for (path, mark) in paths {
                if let Some(n) = self.file(&path, mark, &inc_vars) {
                    match merged.as_mut() {
                        None => merged = Some(n),
                        Some(m) => merge_top(m, n),
                    }
                }
            }
            let Some(mut inc) = merged else { continue };
            self.includes(&mut inc, &inc_vars, depth + 1);
            self.extends_all(&mut inc, &inc_vars);
            let Some(inc) = inc.as_mapping() else {
                self.issue(entry.mark, "an included file must be a mapping");
                continue;
            };
            let Some(top) = root.as_mapping_mut() else {
                return;
            };
            for section in ["services", "networks", "volumes", "secrets", "configs"] {
                let Some(theirs) = inc.get_node(section).and_then(Node::as_mapping) else {
                    continue;
                };
                if top.get_node(section).is_none_or(Node::is_null) {
                    top.insert(
                        Scalar::new(section, entry.mark),
                        Node::mapping(Mapping::default(), entry.mark),
                    );
                }
                let Some(ours) = top.get_mut(section).and_then(Node::as_mapping_mut) else {
                    continue;
                };
                let mut clashes = Vec::new();
                for (k, v) in theirs.iter() {
                    if ours.contains_key(k.as_str()) {
                        clashes.push((k.mark, k.text.clone()));
                    } else {
                        ours.insert(k.clone(), v.clone());
                    }
                }
                for (mark, name) in clashes {
                    let what = section.trim_end_matches('s');
                    self.issue(
                        mark,
                        format!(
                            "{what} `{name}` is defined both here and in the file that includes it"
                        ),
                    );
                }
            }
        }
    }

    /// Resolves `extends` in every service of `root`.
    fn extends_all(&mut self, root: &mut Node, vars: &BTreeMap<String, String>) {
        let names: Vec<String> = root
            .as_mapping()
            .and_then(|m| m.get_node("services"))
            .and_then(Node::as_mapping)
            .map(|m| m.iter().map(|(k, _)| k.text.clone()).collect())
            .unwrap_or_default();
        for name in names {
            let mut chain = Vec::new();
            if let Some(resolved) = self.extended(root, &name, vars, &mut chain) {
                if let Some(services) = root
                    .as_mapping_mut()
                    .and_then(|m| m.get_mut("services"))
                    .and_then(Node::as_mapping_mut)
                {
                    if let Some(s) = services.get_mut(&name) {
                        *s = resolved;
                    }
                }
            }
        }
    }

    /// A service of `root` with its `extends` chain merged in; `None` when
    /// it does not extend anything (or the chain is broken, with an issue).
    fn extended(
        &mut self,
        root: &Node,
        name: &str,
        vars: &BTreeMap<String, String>,
        chain: &mut Vec<String>,
    ) -> Option<Node> {
        let service = root
            .as_mapping()?
            .get_node("services")?
            .as_mapping()?
            .get_node(name)?
            .clone();
        let ext = service.as_mapping()?.get_node("extends")?.clone();
        let (base_name, file) = match &ext.value {
            Value::Scalar(s) => (s.text.clone(), None),
            Value::Mapping(m) => {
                for (k, _) in m.iter() {
                    if !matches!(k.as_str(), "service" | "file") {
                        self.issue(k.mark, format!("unknown key `{}` in extends", k.as_str()));
                    }
                }
                let Some(s) = m.get_node("service").and_then(Node::as_scalar) else {
                    self.issue(ext.mark, "extends needs a `service`");
                    return None;
                };
                let file = m
                    .get_node("file")
                    .and_then(Node::as_scalar)
                    .map(|f| (f.text.clone(), f.mark));
                (s.text.clone(), file)
            }
            Value::Sequence(_) => {
                self.issue(ext.mark, "extends is a service name or a mapping");
                return None;
            }
        };
        let key = format!(
            "{}#{base_name}",
            file.as_ref().map(|f| f.0.as_str()).unwrap_or("")
        );
        if chain.contains(&key) || chain.len() > MAX_DEPTH {
            self.issue(
                ext.mark,
                format!("extends of `{name}` loops back to `{base_name}`"),
            );
            return None;
        }
        chain.push(key);
        let other;
        let base_root = match &file {
            None => root,
            Some((f, mark)) => {
                other = self.file(f, *mark, vars)?;
                &other
            }
        };
        let base = match self.extended(base_root, &base_name, vars, chain) {
            Some(b) => b,
            None => {
                let found = base_root
                    .as_mapping()
                    .and_then(|m| m.get_node("services"))
                    .and_then(Node::as_mapping)
                    .and_then(|m| m.get_node(&base_name))
                    .cloned();
                match found {
                    Some(b) => b,
                    None => {
                        let where_ = file
                            .as_ref()
                            .map(|f| format!(" in {}", f.0))
                            .unwrap_or_default();
                        self.issue(
                            ext.mark,
                            format!("extends: service `{base_name}` is not defined{where_}"),
                        );
                        return None;
                    }
                }
            }
        };
        let mut merged = base;
        if let Some(m) = merged.as_mapping_mut() {
            m.remove("extends");
        }
        let mut over = service;
        if let Some(m) = over.as_mapping_mut() {
            m.remove("extends");
        }
        merge_service(&mut merged, over);
        Some(merged)
    }
}

/// A path inside the stack's folder, `..` resolved; `None` when it would
/// leave the folder.
fn inside(rel: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.iter().collect())
}

/// Reads a file of the stack's folder: never outside it (symbolic links
/// resolved), never more than [`MAX_FILE_BYTES`]; the error says why in
/// words a user can act on.
pub fn read_stack_file(src: &Source<'_>, rel: &str) -> Result<Vec<u8>, String> {
    if !src.read_files {
        return Err(format!(
            "`{rel}` would be read from the stack's folder; save the stack and upload the file first"
        ));
    }
    let Some(inner) = inside(rel) else {
        return Err(format!("`{rel}` is outside the stack's folder"));
    };
    let root = Path::new(src.project_dir);
    let real = std::fs::canonicalize(root.join(&inner))
        .map_err(|_| format!("`{rel}` is not in the stack's folder"))?;
    let real_root =
        std::fs::canonicalize(root).map_err(|_| "the stack's folder is missing".to_string())?;
    if !real.starts_with(&real_root) {
        return Err(format!("`{rel}` leads outside the stack's folder"));
    }
    let meta = std::fs::metadata(&real).map_err(|_| format!("`{rel}` cannot be read"))?;
    if !meta.is_file() {
        return Err(format!("`{rel}` is not a file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "`{rel}` is larger than {} KiB",
            MAX_FILE_BYTES / 1024
        ));
    }
    std::fs::read(&real).map_err(|_| format!("`{rel}` cannot be read"))
}

/// Rewrites the relative paths of a file loaded from a subfolder so they
/// stay relative to the stack's folder.
fn rebase(root: &mut Node, dir: &str) {
    let join = |s: &mut Scalar| {
        if s.text.starts_with('.') {
            s.text = format!("{dir}/{}", s.text);
        }
    };
    let Some(top) = root.as_mapping_mut() else {
        return;
    };
    for section in ["secrets", "configs"] {
        if let Some(m) = top.get_mut(section).and_then(Node::as_mapping_mut) {
            for (_, def) in m.entries.iter_mut() {
                if let Some(Value::Scalar(s)) = def
                    .as_mapping_mut()
                    .and_then(|d| d.get_mut("file"))
                    .map(|n| &mut n.value)
                {
                    if !s.text.starts_with('/') {
                        s.text = format!("{dir}/{}", s.text);
                    }
                }
            }
        }
    }
    let Some(services) = top.get_mut("services").and_then(Node::as_mapping_mut) else {
        return;
    };
    for (_, svc) in services.entries.iter_mut() {
        let Some(svc) = svc.as_mapping_mut() else {
            continue;
        };
        match svc.get_mut("build").map(|b| &mut b.value) {
            Some(Value::Scalar(s)) => join(s),
            Some(Value::Mapping(b)) => {
                if let Some(Value::Scalar(s)) = b.get_mut("context").map(|c| &mut c.value) {
                    join(s);
                }
            }
            _ => {}
        }
        let under = |s: &mut Scalar| {
            if !s.text.starts_with('/') && !s.text.starts_with('~') {
                s.text = format!("{dir}/{}", s.text);
            }
        };
        match svc.get_mut("env_file").map(|b| &mut b.value) {
            Some(Value::Scalar(s)) => under(s),
            Some(Value::Sequence(items)) => {
                for i in items {
                    match &mut i.value {
                        Value::Scalar(s) => under(s),
                        Value::Mapping(m) => {
                            if let Some(Value::Scalar(s)) = m.get_mut("path").map(|p| &mut p.value)
                            {
                                under(s);
                            }
                        }
                        Value::Sequence(_) => {}
                    }
                }
            }
            _ => {}
        }
        if let Some(Value::Mapping(e)) = svc.get_mut("extends").map(|b| &mut b.value) {
            if let Some(Value::Scalar(s)) = e.get_mut("file").map(|p| &mut p.value) {
                under(s);
            }
        }
        if let Some(Value::Sequence(vols)) = svc.get_mut("volumes").map(|b| &mut b.value) {
            for v in vols {
                match &mut v.value {
                    Value::Scalar(s) => join(s),
                    Value::Mapping(m) => {
                        if let Some(Value::Scalar(s)) = m.get_mut("source").map(|p| &mut p.value) {
                            join(s);
                        }
                    }
                    Value::Sequence(_) => {}
                }
            }
        }
    }
}

/// Merges an override file's top level into the base file's.
pub fn merge_top(base: &mut Node, over: Node) {
    let (Some(b), Value::Mapping(o)) = (base.as_mapping_mut(), over.value) else {
        return;
    };
    for (k, v) in o.entries {
        if v.tag == Some(Tag::Reset) {
            b.remove(&k.text);
            continue;
        }
        match k.text.as_str() {
            "services" => match (b.get_mut("services"), v) {
                (Some(bs), v) if bs.as_mapping().is_some() && v.as_mapping().is_some() => {
                    let Value::Mapping(vs) = v.value else {
                        continue;
                    };
                    let Some(bm) = bs.as_mapping_mut() else {
                        continue;
                    };
                    for (name, svc) in vs.entries {
                        if svc.tag == Some(Tag::Reset) {
                            bm.remove(&name.text);
                        } else if let Some(existing) = bm.get_mut(&name.text) {
                            merge_service(existing, svc);
                        } else {
                            bm.insert(name, svc);
                        }
                    }
                }
                (_, v) => b.insert(k, v),
            },
            "include" => match (b.get_mut("include").map(|n| &mut n.value), v.value) {
                (Some(Value::Sequence(items)), Value::Sequence(more)) => items.extend(more),
                (_, value) => b.insert(
                    k,
                    Node {
                        value,
                        mark: v.mark,
                        tag: v.tag,
                    },
                ),
            },
            _ => match b.get_mut(&k.text) {
                Some(existing) => merge_node(existing, v, ""),
                None => b.insert(k, v),
            },
        }
    }
}

/// Merges one service definition over another, as override files and
/// `extends` do.
pub fn merge_service(base: &mut Node, over: Node) {
    merge_node(base, over, "")
}

/// Sequences whose entries are replaced whole.
const REPLACE: &[&str] = &["command", "entrypoint", "healthcheck.test"];
/// Sequences or mappings merged as mappings (`KEY=value` lists normalised).
const AS_MAP: &[&str] = &[
    "environment",
    "labels",
    "annotations",
    "sysctls",
    "extra_hosts",
    "build.args",
    "build.labels",
    "build.extra_hosts",
    "deploy.labels",
    "logging.options",
    "driver_opts",
    "depends_on",
    "networks",
    "ulimits",
    "storage_opt",
];
/// Sequences merged by one identity per entry.
fn identity(path: &str, node: &Node) -> Option<String> {
    match path {
        "volumes" => match &node.value {
            Value::Scalar(s) => {
                let parts: Vec<&str> = s.text.split(':').collect();
                Some(if parts.len() >= 2 { parts[1] } else { parts[0] }.to_string())
            }
            Value::Mapping(m) => m
                .get_node("target")
                .and_then(Node::as_scalar)
                .map(|t| t.text.clone()),
            Value::Sequence(_) => None,
        },
        "secrets" | "configs" => match &node.value {
            Value::Scalar(s) => Some(s.text.clone()),
            Value::Mapping(m) => m
                .get_node("source")
                .and_then(Node::as_scalar)
                .map(|t| t.text.clone()),
            Value::Sequence(_) => None,
        },
        "devices"
        | "tmpfs"
        | "dns"
        | "dns_search"
        | "dns_opt"
        | "cap_add"
        | "cap_drop"
        | "security_opt"
        | "expose"
        | "profiles"
        | "group_add"
        | "volumes_from"
        | "links"
        | "external_links"
        | "env_file"
        | "label_file"
        | "ports"
        | "device_cgroup_rules" => Some(format!("{:?}", strip_marks(node))),
        _ => None,
    }
}

fn strip_marks(node: &Node) -> String {
    match &node.value {
        Value::Scalar(s) => s.text.clone(),
        Value::Sequence(items) => format!(
            "[{}]",
            items.iter().map(strip_marks).collect::<Vec<_>>().join(",")
        ),
        Value::Mapping(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", k.text, strip_marks(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// A `KEY=value` / `host:ip` list (or a list of names) as a mapping.
fn as_mapping(node: &Node, path: &str) -> Option<Mapping> {
    match &node.value {
        Value::Mapping(m) => Some(m.clone()),
        Value::Sequence(items) => {
            let mut out = Mapping::default();
            for item in items {
                let s = item.as_scalar()?;
                let split = if path == "extra_hosts" || path == "build.extra_hosts" {
                    s.text.split_once('=').or_else(|| s.text.split_once(':'))
                } else if matches!(path, "depends_on" | "networks") {
                    None
                } else {
                    s.text.split_once('=')
                };
                let (k, v) = match split {
                    Some((k, v)) => (k.to_string(), Node::scalar(v, s.mark)),
                    None => (
                        s.text.clone(),
                        Node {
                            value: Value::Scalar(Scalar {
                                text: String::new(),
                                plain: true,
                                mark: s.mark,
                            }),
                            mark: s.mark,
                            tag: None,
                        },
                    ),
                };
                out.insert(Scalar::new(k, s.mark), v);
            }
            Some(out)
        }
        Value::Scalar(_) => None,
    }
}

fn merge_node(base: &mut Node, over: Node, path: &str) {
    if over.tag == Some(Tag::Override) || REPLACE.contains(&path) {
        *base = Node { tag: None, ..over };
        return;
    }
    if AS_MAP.contains(&path) {
        if let (Some(mut b), Some(o)) = (as_mapping(base, path), as_mapping(&over, path)) {
            merge_mappings(&mut b, o, path);
            *base = Node::mapping(b, base.mark);
            return;
        }
    }
    match (&mut base.value, over.value) {
        (Value::Mapping(b), Value::Mapping(o)) => merge_mappings(b, o, path),
        (Value::Sequence(b), Value::Sequence(o)) => {
            for item in o {
                match identity(path, &item) {
                    Some(id) => match b
                        .iter_mut()
                        .find(|x| identity(path, x).as_deref() == Some(id.as_str()))
                    {
                        Some(existing) => *existing = item,
                        None => b.push(item),
                    },
                    None => b.push(item),
                }
            }
        }
        (_, value) => {
            *base = Node {
                value,
                mark: over.mark,
                tag: None,
            }
        }
    }
}

fn merge_mappings(b: &mut Mapping, o: Mapping, path: &str) {
    for (k, v) in o.entries {
        if v.tag == Some(Tag::Reset) {
            b.remove(&k.text);
            continue;
        }
        let child = if path.is_empty() {
            k.text.clone()
        } else if AS_MAP.contains(&path) {
            // Inside a merged-as-mapping value, entries replace.
            b.insert(k, Node { tag: None, ..v });
            continue;
        } else {
            format!("{path}.{}", k.text)
        };
        match b.get_mut(&k.text) {
            Some(existing) => merge_node(existing, v, &child),
            None => b.insert(k, Node { tag: None, ..v }),
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may panic on a wrong result")]
mod tests {
    use super::*;

    fn load_str(compose: &str, env: &str, dir: Option<&Path>) -> Result<Loaded, Vec<ComposeIssue>> {
        let d = dir
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into());
        let src = Source {
            compose,
            env,
            project_dir: &d,
            read_files: dir.is_some(),
            home: None,
        };
        load(&src)
    }

    fn text(n: &Node, path: &str) -> String {
        let mut cur = n;
        for k in path.split('.') {
            cur = match &cur.value {
                Value::Mapping(m) => m.get_node(k).unwrap_or_else(|| panic!("no {k} in {path}")),
                Value::Sequence(items) => &items[k.parse::<usize>().unwrap()],
                Value::Scalar(_) => panic!("scalar at {k}"),
            };
        }
        strip_marks(cur)
    }

    #[test]
    fn override_file_merges_by_the_spec_rules() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.override.yaml"),
            "services:\n  web:\n    command: [b]\n    environment: [B=2]\n    ports: !reset []\n    volumes: ['./other:/data']\n    labels: !override {only: yes}\n  extra:\n    image: x\n",
        )
        .unwrap();
        let base = "services:\n  web:\n    image: w\n    command: [a, b]\n    environment: {A: '1', B: '1'}\n    ports: ['80:80']\n    volumes: ['./data:/data', 'v:/v']\n    labels: {x: y}\n";
        let l = load_str(base, "", Some(dir.path())).unwrap();
        let web = &l.root;
        assert_eq!(text(web, "services.web.command"), "[b]");
        assert_eq!(text(web, "services.web.environment"), "{A:1,B:2}");
        assert!(l
            .root
            .as_mapping()
            .unwrap()
            .get_node("services")
            .unwrap()
            .as_mapping()
            .unwrap()
            .get_node("web")
            .unwrap()
            .as_mapping()
            .unwrap()
            .get_node("ports")
            .is_none());
        assert_eq!(text(web, "services.web.volumes"), "[./other:/data,v:/v]");
        assert_eq!(text(web, "services.web.labels"), "{only:yes}");
        assert_eq!(text(web, "services.extra.image"), "x");
    }

    #[test]
    fn extends_in_the_same_file_and_another_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("common")).unwrap();
        std::fs::write(
            dir.path().join("common/base.yaml"),
            "services:\n  base:\n    image: b\n    build: ./ctx\n    environment: [FROM=file]\n",
        )
        .unwrap();
        let compose = "services:\n  a:\n    extends: b\n    environment: {A: '1'}\n  b:\n    image: img\n    restart: always\n    environment: {B: '2'}\n  c:\n    extends: {file: common/base.yaml, service: base}\n    image: mine\n";
        let l = load_str(compose, "", Some(dir.path())).unwrap();
        assert_eq!(text(&l.root, "services.a.image"), "img");
        assert_eq!(text(&l.root, "services.a.restart"), "always");
        assert_eq!(text(&l.root, "services.a.environment"), "{B:2,A:1}");
        assert_eq!(text(&l.root, "services.c.image"), "mine");
        assert_eq!(text(&l.root, "services.c.build"), "common/./ctx");
        assert_eq!(text(&l.root, "services.c.environment"), "[FROM=file]");

        let e = load_str(
            "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
            "",
            None,
        )
        .unwrap_err();
        assert!(e[0].message.contains("loops"), "{e:?}");
        let e = load_str("services:\n  a:\n    extends: nope\n", "", None).unwrap_err();
        assert!(e[0].message.contains("`nope` is not defined"), "{e:?}");
    }

    #[test]
    fn include_brings_resources_and_refuses_clashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("db/compose.yaml"), "services:\n  db:\n    image: ${DB_IMAGE}\n    volumes: ['./data:/var/lib/db']\nvolumes:\n  dbdata: {}\n").unwrap();
        std::fs::write(dir.path().join("db/db.env"), "DB_IMAGE=postgres:16\n").unwrap();
        let compose = "include:\n  - path: db/compose.yaml\n    env_file: db/db.env\nservices:\n  web:\n    image: w\n";
        let l = load_str(compose, "", Some(dir.path())).unwrap();
        assert_eq!(text(&l.root, "services.db.image"), "postgres:16");
        assert_eq!(
            text(&l.root, "services.db.volumes.0"),
            "db/./data:/var/lib/db"
        );
        assert_eq!(text(&l.root, "volumes.dbdata"), "{}");

        let clash = "include: [db/compose.yaml]\nservices:\n  db:\n    image: mine\n";
        let e = load_str(clash, "DB_IMAGE=x", Some(dir.path())).unwrap_err();
        assert!(e[0].message.contains("`db` is defined both"), "{e:?}");

        // No folder: nothing is read, and the answer says why.
        let e = load_str("include: [db/compose.yaml]\nservices: {}\n", "", None).unwrap_err();
        assert!(e[0].message.contains("save the stack"), "{e:?}");
        // Nothing outside the folder.
        let e = load_str(
            "include: [../../etc/passwd]\nservices: {}\n",
            "",
            Some(dir.path()),
        )
        .unwrap_err();
        assert!(e[0].message.contains("outside the stack's folder"), "{e:?}");
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        let e = load_str(
            "include: [etc/hostname]\nservices: {}\n",
            "",
            Some(dir.path()),
        )
        .unwrap_err();
        assert!(e[0].message.contains("leads outside"), "{e:?}");
    }

    #[test]
    fn interpolation_errors_point_at_the_value() {
        let e = load_str("services:\n  a:\n    image: ${IMG?set IMG}\n", "", None).unwrap_err();
        assert_eq!((e[0].line, e[0].column), (3, 12), "{e:?}");
        let l = load_str(
            "services:\n  a:\n    image: ${IMG:-busybox}:$$TAG\n",
            "",
            None,
        )
        .unwrap();
        assert_eq!(text(&l.root, "services.a.image"), "busybox:$TAG");
    }
}
