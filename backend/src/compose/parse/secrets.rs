//! Secrets and configs: the top-level definitions (a file of the stack's
//! folder, a `.env` variable, inline `content`, or `external`) and each
//! service's references, which become files written into the container
//! before it starts, where compose puts them (`/run/secrets/<name>`,
//! `/<name>` for configs) with their uid, gid and mode.

use protocol::InjectedFile;

use super::super::load::{read_stack_file, Source};
use super::super::model::{FileDef, FileSource};
use super::*;

/// The largest secret or config berth writes into a container.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The most secrets and configs one service may mount.
pub const MAX_FILES_PER_SERVICE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Secret,
    Config,
}

impl FileKind {
    fn word(self) -> &'static str {
        match self {
            FileKind::Secret => "secret",
            FileKind::Config => "config",
        }
    }
}

impl Parser {
    pub(super) fn read_file(&self, rel: &str) -> Result<Vec<u8>, String> {
        read_stack_file(
            &Source {
                project_dir: &self.project_dir,
                read_files: self.read_files,
                ..Source::default()
            },
            rel,
        )
    }

    /// The top-level `secrets:` or `configs:`.
    pub(super) fn file_defs(&mut self, node: &Node, kind: FileKind) -> BTreeMap<String, FileDef> {
        let mut out = BTreeMap::new();
        if is_null(node) {
            return out;
        }
        let section = format!("{}s", kind.word());
        let Some(map) = self.map(node, &section) else {
            return out;
        };
        for (k, v) in map.iter() {
            let name = k.as_str();
            let what = format!("{} `{name}`", kind.word());
            let Some(def) = self.map(v, &what) else {
                continue;
            };
            let known: &[&str] = &[
                "file",
                "environment",
                "content",
                "external",
                "name",
                "labels",
                "driver",
                "driver_opts",
                "template_driver",
            ];
            self.check_keys(def, known, &[], &what);
            let mut given = Vec::new();
            let mut source = None;
            let mut def_name = None;
            for (key, val) in def.iter() {
                match key.as_str() {
                    "name" => def_name = self.string(val, "name"),
                    "file" => {
                        given.push("file");
                        let Some(path) = self.string(val, "file") else {
                            continue;
                        };
                        let path = self.expand_home(&path);
                        let read = if path.starts_with('/') {
                            Err(format!("`{path}`: berth reads {section} only from the stack's folder; give a path relative to it"))
                        } else {
                            self.read_file(&path)
                        };
                        match read {
                            Ok(content) if content.len() > MAX_FILE_BYTES => self
                                .issue(at(val), format!("{what}: `{path}` is larger than 1 MiB")),
                            Ok(content) => source = Some(FileSource::File { path, content }),
                            Err(e) => self.issue(at(val), format!("{what}: {e}")),
                        }
                    }
                    "environment" => {
                        given.push("environment");
                        let Some(var) = self.string(val, "environment") else {
                            continue;
                        };
                        match self.vars.get(&var) {
                            Some(content) => {
                                source = Some(FileSource::Environment {
                                    name: var,
                                    content: content.clone().into_bytes(),
                                })
                            }
                            None => self.issue(
                                at(val),
                                format!(
                                    "{what}: the variable `{var}` is not set in the stack's .env"
                                ),
                            ),
                        }
                    }
                    "content" => {
                        given.push("content");
                        if let Some(text) = self.string(val, "content") {
                            if text.len() > MAX_FILE_BYTES {
                                self.issue(
                                    at(val),
                                    format!("{what}: content is larger than 1 MiB"),
                                );
                            } else {
                                source = Some(FileSource::Content(text.into_bytes()));
                            }
                        }
                    }
                    "external" => {
                        given.push("external");
                        let mut ext_name = None;
                        if self.external(val, &mut ext_name) {
                            source = Some(FileSource::External {
                                name: ext_name.unwrap_or_else(|| name.to_string()),
                            });
                        }
                    }
                    "driver" | "driver_opts" | "template_driver" | "labels" => {
                        self.warning(
                            at_key(key),
                            format!(
                                "{what}: `{}` applies to Swarm {section} only; ignored here",
                                key.as_str()
                            ),
                        );
                    }
                    _ => {}
                }
            }
            if given.len() > 1 {
                self.issue(
                    at(v),
                    format!(
                        "{what} takes one of file, environment, content or external, not {}",
                        given.join(" and ")
                    ),
                );
                continue;
            }
            match source {
                Some(source) => {
                    out.insert(
                        name.to_string(),
                        FileDef {
                            name: def_name,
                            source,
                        },
                    );
                }
                None if given.is_empty() => self.issue(
                    at(v),
                    format!(
                        "{what} needs a source: file, environment{}",
                        if kind == FileKind::Config {
                            ", content"
                        } else {
                            ""
                        }
                    ),
                ),
                // The source's own issue says what is wrong.
                None => {}
            }
        }
        out
    }

    /// A service's `secrets:` or `configs:` list.
    pub(super) fn service_files(
        &mut self,
        node: &Node,
        file: &ComposeFile,
        kind: FileKind,
        s: &mut Service,
    ) {
        let Some(items) = node.as_sequence() else {
            self.issue(at(node), format!("{}s must be a list", kind.word()));
            return;
        };
        let defs = match kind {
            FileKind::Secret => &file.secrets,
            FileKind::Config => &file.configs,
        };
        for item in items {
            let mut reference = FileRef::default();
            if let Some(map) = item.as_mapping() {
                self.check_keys(
                    map,
                    &["source", "target", "uid", "gid", "mode"],
                    &[],
                    &format!("a service {}", kind.word()),
                );
                for (k, v) in map.iter() {
                    match k.as_str() {
                        "source" => reference.source = self.string(v, "source"),
                        "target" => reference.target = self.string(v, "target"),
                        "uid" => reference.uid = self.id_number(v, "uid"),
                        "gid" => reference.gid = self.id_number(v, "gid"),
                        "mode" => reference.mode = self.file_mode(v),
                        _ => {}
                    }
                }
            } else {
                reference.source = self.string(item, kind.word());
            }
            let Some(source) = reference.source else {
                self.issue(
                    at(item),
                    format!("a service {} needs a `source`", kind.word()),
                );
                continue;
            };
            let Some(def) = defs.get(&source) else {
                self.issue(
                    at(item),
                    format!(
                        "{} `{source}` is not defined under the top-level `{}s`",
                        kind.word(),
                        kind.word()
                    ),
                );
                continue;
            };
            let content = match &def.source {
                FileSource::File { content, .. }
                | FileSource::Environment { content, .. }
                | FileSource::Content(content) => content.clone(),
                FileSource::External { name } => {
                    self.warning(
                        at(item),
                        format!("{} `{source}` is external (`{name}`): only Swarm services can mount it; not mounted", kind.word()),
                    );
                    continue;
                }
            };
            let target = match (kind, reference.target) {
                (FileKind::Secret, None) => format!("/run/secrets/{source}"),
                (FileKind::Secret, Some(t)) if !t.starts_with('/') => format!("/run/secrets/{t}"),
                (FileKind::Config, None) => format!("/{source}"),
                (FileKind::Config, Some(t)) if !t.starts_with('/') => format!("/{t}"),
                (_, Some(t)) => t,
            };
            if target.split('/').any(|p| p == "..") || target.ends_with('/') {
                self.issue(
                    at(item),
                    format!("{} target `{target}` is not a file path", kind.word()),
                );
                continue;
            }
            if s.options.files.len() >= MAX_FILES_PER_SERVICE {
                self.issue(
                    at(item),
                    format!("a service mounts at most {MAX_FILES_PER_SERVICE} secrets and configs"),
                );
                break;
            }
            s.options.files.push(InjectedFile {
                target,
                content,
                uid: reference.uid.unwrap_or(0),
                gid: reference.gid.unwrap_or(0),
                mode: reference.mode.unwrap_or(0o444),
            });
        }
    }

    fn id_number(&mut self, node: &Node, what: &str) -> Option<u32> {
        let text = self.string(node, what)?;
        match text.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.issue(at(node), format!("{what} must be a number, not {text:?}"));
                None
            }
        }
    }

    /// `0440`, `0o440` (octal, as compose reads them) or `288` (decimal).
    fn file_mode(&mut self, node: &Node) -> Option<u32> {
        let text = self.string(node, "mode")?;
        let parsed = if let Some(oct) = text.strip_prefix("0o") {
            u32::from_str_radix(oct, 8).ok()
        } else if text.len() > 1 && text.starts_with('0') {
            u32::from_str_radix(&text[1..], 8).ok()
        } else {
            text.parse::<u32>().ok()
        };
        match parsed {
            Some(m) if m <= 0o7777 => Some(m),
            _ => {
                self.issue(
                    at(node),
                    format!("mode {text:?} is not a file mode such as 0440"),
                );
                None
            }
        }
    }
}

#[derive(Default)]
struct FileRef {
    source: Option<String>,
    target: Option<String>,
    uid: Option<u32>,
    gid: Option<u32>,
    mode: Option<u32>,
}
