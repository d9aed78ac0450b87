//! Images and registries: the API types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- images

/// One row of `GET .../images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageSummary {
    /// `sha256:...`.
    pub id: String,
    /// `repository:tag` names; empty for a dangling image.
    pub repo_tags: Vec<String>,
    /// `repository@sha256:...` names of the image in registries it came from or went to.
    pub repo_digests: Vec<String>,
    /// Bytes on disk, shared layers included.
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
    /// Untagged: a leftover of a rebuild or a pull of a newer version.
    pub dangling: bool,
    /// Names of the containers (running or not) made from this image.
    pub containers: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// The settings an image gives the containers made from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageConfig {
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub workdir: String,
    /// Such as `80/tcp`.
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
}

/// One step of an image's history, base image first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageLayer {
    /// The instruction that made this step, in Dockerfile words
    /// (`RUN apt-get update`, `COPY file:... in /app`, `ENV A=1`).
    pub instruction: String,
    /// The engine's own record of it (`/bin/sh -c #(nop)  ENV A=1`).
    pub created_by: String,
    /// Unix seconds.
    pub created: i64,
    /// Bytes this step added.
    pub size: i64,
    pub comment: String,
    /// True for steps that only change settings (ENV, CMD, LABEL, ...) and add no layer.
    pub empty: bool,
    /// The layer's content digest (its diff id), when berth could match the
    /// step to its layer.
    pub layer: Option<String>,
    /// Other local images that hold this very layer (the same stack of
    /// layers up to and including it), so it is stored once for all of them.
    pub shared_with: Vec<String>,
}

/// `GET .../images/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageDetail {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub comment: String,
    /// RFC 3339.
    pub created: String,
    pub author: String,
    pub architecture: String,
    pub os: String,
    pub size: i64,
    pub dangling: bool,
    pub config: ImageConfig,
    /// Base image first, as a Dockerfile reads.
    pub layers: Vec<ImageLayer>,
    /// Names of the containers made from this image.
    pub containers: Vec<String>,
}

/// The query of `POST .../images/build`; the body is the build context, a
/// tar (gzipped or not) holding the Dockerfile. Its `.dockerignore` is
/// honoured as the docker CLI honours it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BuildOptions {
    /// `name[:tag]` for the new image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The Dockerfile's path inside the context (default `Dockerfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Build every step again instead of reusing cached ones.
    #[serde(default)]
    pub nocache: bool,
    /// Build up to this stage of a multi-stage Dockerfile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Build arguments as a JSON object of strings: `{"VERSION":"1.2"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildargs: Option<String>,
    /// Pull newer versions of the base images first.
    #[serde(default)]
    pub pull: bool,
    /// Labels for the image, as a JSON object of strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// The network `RUN` steps use (`host`, `none`, a network name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Size of `/dev/shm` for `RUN` steps, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// `host:ip` entries for `RUN` steps' `/etc/hosts`, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hosts: Option<String>,
    /// Images to take cached layers from, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_from: Option<String>,
}

/// `POST .../images/{id}/tag`, `POST .../images/pull` and `POST .../images/{id}/push`:
/// a reference such as `registry.example.com:5000/team/app:1.2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageReference {
    pub reference: String,
}

/// The answer to tagging an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaggedImage {
    pub id: String,
    pub reference: String,
}

/// The answer to `DELETE .../images/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageRemoval {
    /// References that were removed.
    pub untagged: Vec<String>,
    /// Image and layer ids whose data was deleted.
    pub deleted: Vec<String>,
}

/// What `POST .../images/prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImagePruneReport {
    /// Ids of the images deleted.
    pub deleted: Vec<String>,
    /// References removed on the way (with `all=true`).
    pub untagged: Vec<String>,
    pub space_reclaimed: i64,
}

/// An image `POST .../images/import` loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoadedImage {
    pub id: String,
    /// Its names, the one the archive carried first.
    pub repo_tags: Vec<String>,
}

/// The answer to `POST .../images/import`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportReport {
    pub images: Vec<LoadedImage>,
}

/// Where a layer is in a pull or a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LayerPhase {
    /// Queued behind other layers ("Waiting", "Pulling fs layer", "Preparing").
    Waiting,
    /// Coming down; `current`/`total` are bytes.
    Downloading,
    /// Downloaded and checked, not unpacked yet.
    Downloaded,
    /// Being unpacked; `current`/`total` are bytes.
    Extracting,
    /// Going up; `current`/`total` are bytes.
    Pushing,
    /// Finished: pulled and unpacked, or pushed.
    Done,
    /// Nothing to move: the engine or the registry has it already.
    Exists,
    /// A status berth does not know; `status` says what the engine said.
    #[serde(other)]
    Other,
}

/// One line of a build, pull or push progress stream
/// (`application/x-ndjson`). The last line is `done` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Progress {
    /// A line of build output.
    Log { text: String },
    /// A build step began: `Step 3/7 : RUN make`.
    Step {
        current: u32,
        total: u32,
        /// The instruction, such as `RUN make`.
        text: String,
    },
    /// A layer's progress in a pull or a push (also when a build pulls its base).
    Layer {
        /// The layer's short id.
        id: String,
        phase: LayerPhase,
        /// The engine's words: `Downloading`, `Already exists`, ...
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<i64>,
    },
    /// Anything else the engine reports (`Digest: sha256:...`).
    Status { text: String },
    /// It failed; nothing follows.
    Error {
        message: String,
        /// For a build: the step that failed (`Step 4/7 : RUN make test`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// The HTTP status this failure would have as a plain answer: 401
        /// when the registry refused the credentials, 404 when it has no
        /// such image, 400 for a bad Dockerfile or context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// It worked; nothing follows.
    Done {
        /// The image built, pulled or pushed (`sha256:...`).
        image_id: String,
        /// The reference it was tagged, pulled or pushed as.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The registry's manifest digest, for pulls and pushes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
}

// ---------------------------------------------------------------- registries

/// A registry login berth keeps. The password is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Registry {
    pub id: i64,
    /// The URL as it was given.
    pub url: String,
    /// The registry host (`registry.example.com`, `localhost:5000`,
    /// `docker.io`): pulls and pushes of images on it use this login.
    pub host: String,
    pub username: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /api/v1/registries`: checked against the registry before it is kept.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewRegistry {
    /// `registry.example.com`, `https://registry.example.com`, `localhost:5000`.
    pub url: String,
    pub username: String,
    /// A password or an access token.
    pub password: String,
}

impl std::fmt::Debug for NewRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRegistry")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// The answer to `POST /api/v1/registries/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegistryCheck {
    pub ok: bool,
    /// The registry's answer, such as "Login Succeeded".
    pub message: String,
}

/// A registry login as the server hands it to an engine. Deliberately not
/// serializable: it can never end up in an API answer.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryLogin {
    /// The registry host, as in [`Registry::host`].
    pub host: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for RegistryLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryLogin")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

// ---------------------------------------------------------------- references

/// The registry that images without a registry host come from.
pub const DOCKER_HUB: &str = "docker.io";

/// An image reference taken apart: `[host[:port]/]path[:tag][@sha256:digest]`,
/// checked as strictly as the engine checks it, so that a reference can be
/// put into an engine URL without reaching another route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `registry.example.com:5000`; `None` for Docker Hub.
    pub domain: Option<String>,
    /// `team/app`.
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:...`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `reference`, or says what is wrong with it.
    pub fn parse(reference: &str) -> Result<ImageRef, String> {
        let bad = |why: &str| Err(format!("{reference:?} is not an image reference: {why}"));
        if reference.is_empty() {
            return bad("it is empty");
        }
        if reference.len() > 512 {
            return bad("it is too long");
        }
        let (name_tag, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        if let Some(d) = digest {
            let hex = d.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return bad("a digest is sha256: and 64 hex digits");
            }
        }
        // A `:` after the last `/` starts the tag; one before it is a port.
        let (name, tag) = match name_tag.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (name_tag, None),
        };
        if let Some(t) = tag {
            let first_ok = t
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let rest_ok = t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !first_ok || !rest_ok || t.len() > 128 {
                return bad("a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'");
            }
        }
        if name.len() > 255 {
            return bad("the name is longer than 255 characters");
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        if let Some(d) = domain {
            if !valid_host(d) {
                return bad(
                    "the registry host is not a host name or address with an optional :port",
                );
            }
        }
        if path.is_empty() || !path.split('/').all(valid_path_component) {
            return bad(
                "names are lowercase letters and digits, separated by '/', '.', '_', '__' or '-'",
            );
        }
        Ok(ImageRef {
            domain: domain.map(str::to_string),
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// The registry host whose login a pull or push of this image needs.
    pub fn registry_host(&self) -> String {
        match &self.domain {
            Some(d) => normalize_hub(&d.to_ascii_lowercase()),
            None => DOCKER_HUB.to_string(),
        }
    }

    /// `host/path`, or `path` for Docker Hub: the name without tag or digest.
    pub fn repository(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The tag, `latest` when none was given.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Whether `s` names an image the way an engine path takes it: an id, an id
/// prefix, `sha256:<id>`, or a reference.
pub fn check_image_name(s: &str) -> Result<(), String> {
    if let Some(hex) = s.strip_prefix("sha256:") {
        if !hex.is_empty() && hex.len() <= 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(());
        }
    }
    ImageRef::parse(s)
        .map(|_| ())
        .map_err(|_| format!("{s:?} is not an image id or reference"))
}

/// The registry host a login is for, from what a person typed:
/// `registry.example.com`, `https://registry.example.com/`, `localhost:5000`,
/// `https://index.docker.io/v1/` (Docker Hub is always `docker.io`).
pub fn registry_host(url: &str) -> Result<String, String> {
    let trimmed = url.trim();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) => (h, p.trim_end_matches('/')),
        None => (rest, ""),
    };
    if !matches!(path, "" | "v1" | "v2") {
        return Err(format!(
            "{url:?} is not a registry address: give its host and port, such as registry.example.com or localhost:5000"
        ));
    }
    if !valid_host(host) {
        return Err(format!(
            "{url:?} is not a registry address: give its host and port, such as registry.example.com or localhost:5000"
        ));
    }
    Ok(normalize_hub(&host.to_ascii_lowercase()))
}

fn normalize_hub(host: &str) -> String {
    match host {
        "index.docker.io"
        | "registry-1.docker.io"
        | "registry.hub.docker.com"
        | "hub.docker.com" => DOCKER_HUB.to_string(),
        other => other.to_string(),
    }
}

/// `host[:port]`, where host is DNS labels (letters, digits, '-') joined by '.'.
fn valid_host(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.len() <= 5 && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    });
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    port_ok && labels_ok
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_taken_apart_like_the_engine_does() {
        let r = ImageRef::parse("localhost:5000/team/app:1.2").expect("parse");
        assert_eq!(r.domain.as_deref(), Some("localhost:5000"));
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.registry_host(), "localhost:5000");
        assert_eq!(r.repository(), "localhost:5000/team/app");
        assert_eq!(r.to_string(), "localhost:5000/team/app:1.2");

        let r = ImageRef::parse("busybox").expect("parse");
        assert_eq!((r.domain.as_deref(), r.tag_or_latest()), (None, "latest"));
        assert_eq!(
            ImageRef::parse("library/busybox")
                .expect("parse")
                .registry_host(),
            "docker.io"
        );
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/x")
                .expect("parse")
                .registry_host(),
            "127.0.0.1:5000"
        );
        let digest = format!("app@sha256:{}", "a".repeat(64));
        assert_eq!(
            ImageRef::parse(&digest)
                .expect("parse")
                .digest
                .map(|d| d.len()),
            Some(71)
        );
        assert_eq!(
            ImageRef::parse("index.docker.io/library/busybox:1")
                .expect("parse")
                .registry_host(),
            "docker.io"
        );

        for bad in [
            "",
            "App",
            "app:",
            "app:-x",
            "a//b",
            "../x",
            "x/../y",
            "x?y",
            "x#y",
            "x%2F",
            "/x",
            "x/",
            "a b",
            "app@sha256:12",
            "host:99999/x",
            "a..b",
            "x:y/z",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(check_image_name("sha256:34f7e883").is_ok());
        assert!(check_image_name("34f7e883ce05").is_ok());
        assert!(check_image_name("berth-test/busybox:latest").is_ok());
        assert!(check_image_name("sha256:xyz/../../containers").is_err());
    }

    #[test]
    fn registry_urls_become_hosts() {
        assert_eq!(registry_host("localhost:5000"), Ok("localhost:5000".into()));
        assert_eq!(
            registry_host("https://Registry.Example.com/"),
            Ok("registry.example.com".into())
        );
        assert_eq!(
            registry_host("https://index.docker.io/v1/"),
            Ok("docker.io".into())
        );
        assert_eq!(
            registry_host("http://127.0.0.1:5000/v2/"),
            Ok("127.0.0.1:5000".into())
        );
        assert!(registry_host("https://example.com/some/path").is_err());
        assert!(registry_host("exa mple.com").is_err());
        assert!(registry_host("").is_err());
        assert!(registry_host("host:0").is_err());
    }

    #[test]
    fn progress_lines_are_tagged_by_type() {
        let line = serde_json::to_string(&Progress::Step {
            current: 2,
            total: 5,
            text: "RUN make".into(),
        })
        .expect("json");
        assert_eq!(
            line,
            r#"{"type":"step","current":2,"total":5,"text":"RUN make"}"#
        );
        let done: Progress =
            serde_json::from_str(r#"{"type":"done","image_id":"sha256:ab"}"#).expect("parse");
        assert_eq!(
            done,
            Progress::Done {
                image_id: "sha256:ab".into(),
                reference: None,
                digest: None
            }
        );
        let phase: LayerPhase = serde_json::from_str("\"verifying\"").expect("parse");
        assert_eq!(phase, LayerPhase::Other);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let login = RegistryLogin {
            host: "localhost:5000".into(),
            username: "ci".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let new = NewRegistry {
            url: "localhost:5000".into(),
            username: "ci".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{new:?}").contains("hunter2"));
    }
}
