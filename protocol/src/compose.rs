//! Stacks (compose projects): the API types.

use serde::{Deserialize, Serialize};

use crate::ContainerSummary;

/// A problem in a compose file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ComposeIssue {
    /// 1-based; 0 when the issue is about the file as a whole.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// `POST .../stacks/validate` and the 400 of a bad save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ComposeCheck {
    pub ok: bool,
    pub errors: Vec<ComposeIssue>,
    /// Keys berth takes but cannot honour on this engine (or that compose
    /// itself ignores outside Swarm): the file still deploys.
    #[serde(default)]
    pub warnings: Vec<ComposeIssue>,
    /// The services the file defines, in start order.
    pub services: Vec<String>,
}

/// `GET .../stacks/{name}/config`: the file as berth resolved it
/// (interpolation, `.env`, anchors, `extends`, `include`, override files,
/// profiles), as `docker compose config` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackConfig {
    /// The resolved compose file, YAML.
    pub config: String,
    #[serde(default)]
    pub warnings: Vec<ComposeIssue>,
}

/// Where a stack comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum StackOrigin {
    /// berth holds its compose file.
    Berth,
    /// Containers labelled by the compose CLI (or another tool) that berth
    /// has no file for yet: it can be adopted.
    External,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackSummary {
    pub name: String,
    pub origin: StackOrigin,
    pub services_total: usize,
    pub services_running: usize,
    pub containers: usize,
    /// RFC 3339; the last saved revision (berth stacks).
    pub updated_at: Option<String>,
    /// The compose file the CLI used, from its labels (external stacks).
    pub config_files: Option<String>,
    pub working_dir: Option<String>,
}

/// `POST .../stacks`, `PUT .../stacks/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackInput {
    #[serde(default)]
    pub name: String,
    pub compose: String,
    #[serde(default)]
    pub env: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ServiceState {
    pub name: String,
    pub image: String,
    pub replicas: u32,
    pub containers: Vec<ContainerSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackDetail {
    pub name: String,
    pub origin: StackOrigin,
    pub compose: String,
    pub env: String,
    pub revision: i64,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    pub services: Vec<ServiceState>,
    /// Containers of this project whose service the file no longer has.
    pub orphans: Vec<ContainerSummary>,
    pub config_files: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum PlanAction {
    Create,
    Recreate,
    Start,
    Remove,
    Keep,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlanStep {
    pub action: PlanAction,
    /// `container`, `network` or `volume`.
    pub kind: String,
    pub name: String,
    pub service: Option<String>,
    /// Why: `image`, `env`, `ports`, `mounts`, `command`, ... for a recreate.
    pub reasons: Vec<String>,
}

/// What `up` would do, before anything changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackPlan {
    pub steps: Vec<PlanStep>,
    /// True when `up` would change nothing.
    pub unchanged: bool,
    /// What the file asks that berth cannot honour here (see
    /// [`ComposeCheck::warnings`]).
    #[serde(default)]
    pub warnings: Vec<ComposeIssue>,
}

/// One line of `up`/`down` progress (JSON lines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StackProgress {
    Step {
        action: PlanAction,
        kind: String,
        name: String,
        service: Option<String>,
    },
    Waiting {
        service: String,
        condition: String,
    },
    /// A line of a service's image build or pull.
    Log {
        service: String,
        text: String,
    },
    Done {
        changed: usize,
    },
    Error {
        service: Option<String>,
        message: String,
    },
}

/// A saved version of a stack's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackRevision {
    pub number: i64,
    pub created_at: String,
    pub author: String,
    pub compose: String,
    pub env: String,
}

/// `POST .../stacks/{name}/up` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpOptions {
    /// Deploy this revision (a rollback) instead of the latest; it becomes the latest.
    #[serde(default)]
    pub revision: Option<i64>,
    /// Only these services (and what they depend on).
    #[serde(default)]
    pub services: Vec<String>,
    /// Remove containers of services the file no longer has.
    #[serde(default = "yes")]
    pub remove_orphans: bool,
}

fn yes() -> bool {
    true
}

/// `POST .../stacks/{name}/down` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DownOptions {
    /// Also remove the stack's named volumes.
    #[serde(default)]
    pub volumes: bool,
}

/// A compose service's YAML, from a `docker run` line or a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ComposeSnippet {
    pub service: String,
    pub yaml: String,
}

/// A file in a stack's folder (its build contexts, files bind-mounted by a
/// relative path, ...), besides the compose file and `.env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackFile {
    /// The path inside the stack's folder, with `/` separators.
    pub path: String,
    pub size: u64,
    /// When it last changed (Unix seconds), when the host says.
    #[serde(default)]
    pub modified: Option<i64>,
}

/// `GET .../stacks/{name}/files`: the stack's folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackFiles {
    /// Files, sorted by path; folders are implied by the paths.
    pub files: Vec<StackFile>,
    /// The sum of the files' sizes.
    pub total_bytes: u64,
    /// The listing stopped at berth's limit: there are more files than shown.
    #[serde(default)]
    pub truncated: bool,
    /// The build contexts the saved compose file names, and whether each
    /// folder is there.
    #[serde(default)]
    pub contexts: Vec<BuildContextState>,
}

/// A service's build context folder in the stack's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BuildContextState {
    pub service: String,
    /// As the compose file writes it, such as `./web`.
    pub context: String,
    /// The folder inside the stack's folder, `/` separated (`web`).
    pub path: String,
    /// Whether the folder is there and holds a Dockerfile (or the file the
    /// service names).
    pub ready: bool,
    /// The folder is there at all.
    pub present: bool,
}

/// `PUT .../stacks/{name}/files`: what the upload unpacked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StackUpload {
    /// How many files were written.
    pub files: usize,
    /// Entries not written: `compose.yaml` and `.env` at the top belong to
    /// the stack's revisions and change only through the editor.
    #[serde(default)]
    pub skipped: Vec<String>,
}
