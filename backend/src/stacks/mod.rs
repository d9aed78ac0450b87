//! The stack domain below the API: a stack's source (compose file and .env)
//! with its revisions and folder, what berth shows of a stack, and (in the
//! submodules) deploying, adopting and the folder's other files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use protocol::{
    ComposeCheck, ContainerState, ServiceState, StackDetail, StackInput, StackOrigin, StackPlan,
    StackRevision, StackSummary,
};
use serde::Serialize;

use crate::compose::interpolate::parse_env_file;
use crate::compose::spec::{image_of, Context};
use crate::compose::{self, plan, ComposeFile};
use crate::engine::{ProjectContainer, CONFIG_FILES_LABEL, WORKING_DIR_LABEL};
use crate::error::{AppError, AppResult};
use crate::store::StackRow;
use crate::AppState;

pub mod adopt;
pub mod deploy;
pub mod files;
pub mod snippet;

/// The largest compose file or .env berth takes.
pub const MAX_FILE: usize = 128 * 1024;

/// Compose project names: lower-case letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> AppResult<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "{name:?} is not a valid stack name: use lower-case letters, digits, '-' and '_', starting with a letter or digit"
        )))
    }
}

/// A compose file or .env past [`MAX_FILE`] is refused before it is parsed.
pub fn check_sizes(input: &StackInput) -> AppResult<()> {
    if input.compose.len() > MAX_FILE || input.env.len() > MAX_FILE {
        return Err(AppError::PayloadTooLarge(format!(
            "a compose file or .env may be at most {} KiB",
            MAX_FILE / 1024
        )));
    }
    Ok(())
}

/// Where a berth stack's files live on the host; relative bind mounts are
/// rooted here, and the compose CLI can be pointed at its compose.yaml.
pub fn stack_dir(state: &AppState, ep: &str, name: &str) -> PathBuf {
    state.config.data_dir.join("stacks").join(ep).join(name)
}

/// The stack's folder as an absolute path: the working dir its compose
/// file's relative paths resolve against, and the label its containers get.
pub fn working_dir(state: &AppState, ep: &str, name: &str) -> String {
    absolute(stack_dir(state, ep, name))
}

fn absolute(path: PathBuf) -> String {
    std::path::absolute(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Temporary files berth writes in a stack's folder before renaming them
/// into place; one a crash left behind is removed at the next start.
pub const TEMP_PREFIX: &str = ".berth-tmp-";

/// Writes the stack's source into its folder, where the compose CLI (and
/// berth's builds) can read it beside the other files. Each file is
/// written whole to a temporary file and renamed over the old one, so a
/// crash leaves the old file or the new one, never half of either.
async fn write_files(dir: &Path, compose: &str, env: &str) -> AppResult<()> {
    let dir = dir.to_path_buf();
    let (compose, env) = (compose.to_string(), env.to_string());
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
        replace_file(&dir, "compose.yaml", &compose)?;
        replace_file(&dir, ".env", &env)
    })
    .await
    .map_err(|e| AppError::internal(format!("writing the stack's files failed: {e}")))?
}

/// Writes `text` to `dir/name` atomically: a temporary file in `dir`,
/// flushed to disk, then renamed over `name`.
fn replace_file(dir: &Path, name: &str, text: &str) -> AppResult<()> {
    use std::io::Write;
    let fail = |e: std::io::Error| AppError::internal(format!("cannot write {name}: {e}"));
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(dir.join(name)).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Removes what a crash can leave in the data dir: upload staging folders
/// and half-written temporary files in the stacks' folders. Run at start,
/// before anything else writes there.
pub fn remove_crash_leftovers(data_dir: &Path) {
    files::remove_staging(data_dir);
    let Ok(endpoints) = std::fs::read_dir(data_dir.join("stacks")) else {
        return;
    };
    for stack in endpoints
        .flatten()
        .filter_map(|ep| std::fs::read_dir(ep.path()).ok())
        .flatten()
        .flatten()
    {
        let Ok(inside) = std::fs::read_dir(stack.path()) else {
            continue;
        };
        for entry in inside.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                remove_leftover(&entry.path());
            }
        }
    }
}

/// Removes a file or folder a crash left, saying so in the log.
fn remove_leftover(path: &Path) {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Ok(()) => tracing::info!(path = %path.display(), "removed what a crash left behind"),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove what a crash left behind")
        }
    }
}

/// Parses a stack's file with everything it draws from the stack's
/// folder (`include`, `extends`, `env_file`, secrets' files, the override
/// file); `~` is berth's home.
pub fn parse_in_folder(
    compose: &str,
    env: &str,
    dir: &str,
) -> Result<ComposeFile, Vec<protocol::ComposeIssue>> {
    let home = std::env::var("HOME").ok();
    compose::parse_source(&compose::Source {
        compose,
        env,
        project_dir: dir,
        read_files: true,
        home,
    })
}

/// The saved stack's file as berth resolves it (`docker compose config`),
/// with the file's warnings; a file that does not parse is a 400 naming
/// its first problem.
pub async fn config(state: &AppState, ep: &str, name: &str) -> AppResult<protocol::StackConfig> {
    let source = source(state, ep, name, None, None).await?;
    let dir = working_dir(state, ep, name);
    let file = parse(&source.compose, &source.env, &dir)?;
    let home = std::env::var("HOME").ok();
    let src = compose::Source {
        compose: &source.compose,
        env: &source.env,
        project_dir: &dir,
        read_files: true,
        home,
    };
    let config = compose::config::resolved(&src).map_err(|issues| {
        AppError::BadRequest(
            issues
                .first()
                .map(|i| format!("{}:{}: {}", i.line, i.column, i.message))
                .unwrap_or_default(),
        )
    })?;
    Ok(protocol::StackConfig {
        config,
        warnings: file.warnings,
    })
}

/// The key the contents of secrets and configs are digested with in
/// container labels: derived from berth's secret key, never the key itself.
pub fn files_key(state: &AppState) -> AppResult<Vec<u8>> {
    let key = crate::store::registries::secret_key(&state.config.data_dir)?;
    Ok(compose::spec::keyed_digest(&key, &[b"berth compose files"]).into_bytes())
}

/// Parses, or answers 400 with every issue (first one in the detail).
pub fn parse(compose: &str, env: &str, dir: &str) -> AppResult<ComposeFile> {
    parse_in_folder(compose, env, dir).map_err(|issues| {
        let first = issues
            .first()
            .map(|i| format!("{}:{}: {}", i.line, i.column, i.message))
            .unwrap_or_default();
        let more = if issues.len() > 1 {
            format!(" (and {} more)", issues.len() - 1)
        } else {
            String::new()
        };
        AppError::BadRequest(format!("the compose file is not valid: {first}{more}"))
    })
}

/// The profiles the stack's `.env` turns on (`COMPOSE_PROFILES`).
pub fn profiles(env: &str) -> Vec<String> {
    parse_env_file(env)
        .ok()
        .and_then(|v| v.get("COMPOSE_PROFILES").cloned())
        .map(|p| {
            p.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A stack berth keeps, with its latest revision; 404 when berth has none
/// of that name.
pub async fn row(state: &AppState, ep: &str, name: &str) -> AppResult<StackRow> {
    check_name(name)?;
    state
        .store
        .stack(ep, name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("berth has no stack {name} on endpoint {ep}")))
}

/// The file to plan or deploy, with the stack it belongs to.
pub struct Source {
    pub row: StackRow,
    pub compose: String,
    pub env: String,
}

/// The file to plan or deploy: the body's, a revision, or the latest saved.
pub async fn source(
    state: &AppState,
    ep: &str,
    name: &str,
    body: Option<StackInput>,
    revision: Option<i64>,
) -> AppResult<Source> {
    let row = row(state, ep, name).await?;
    if let Some(input) = body.filter(|b| !b.compose.is_empty()) {
        check_sizes(&input)?;
        return Ok(Source {
            row,
            compose: input.compose,
            env: input.env,
        });
    }
    if let Some(n) = revision {
        let rev = state
            .store
            .stack_revision(row.id, n)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("stack {name} has no revision {n}")))?;
        return Ok(Source {
            row,
            compose: rev.compose,
            env: rev.env,
        });
    }
    let (compose, env) = (row.compose.clone(), row.env.clone());
    Ok(Source { row, compose, env })
}

/// Every stack on the endpoint: berth's own, then the compose projects
/// other tools started, by name.
pub async fn list(state: &AppState, ep: &str) -> AppResult<Vec<StackSummary>> {
    let engine = state.endpoints.get(ep)?;
    let rows = state.store.list_stacks(ep).await?;
    let mut projects = engine.projects().await?;
    let mut out = Vec::new();
    for row in rows {
        let containers = projects.remove(&row.name).unwrap_or_default();
        let services_total = parse(&row.compose, &row.env, "/")
            .map(|f| f.services.len())
            .unwrap_or(0);
        out.push(summary(
            &row.name,
            StackOrigin::Berth,
            &containers,
            services_total,
            Some(row.updated_at),
        ));
    }
    for (project, containers) in projects {
        let mut services: Vec<&str> = containers.iter().map(|c| c.service.as_str()).collect();
        services.sort();
        services.dedup();
        out.push(summary(
            &project,
            StackOrigin::External,
            &containers,
            services.len(),
            None,
        ));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn summary(
    name: &str,
    origin: StackOrigin,
    containers: &[ProjectContainer],
    services_total: usize,
    updated_at: Option<String>,
) -> StackSummary {
    let mut running: Vec<&str> = containers
        .iter()
        .filter(|c| c.state == ContainerState::Running)
        .map(|c| c.service.as_str())
        .collect();
    running.sort();
    running.dedup();
    StackSummary {
        name: name.to_string(),
        origin,
        services_total,
        services_running: running.len(),
        containers: containers.len(),
        updated_at,
        config_files: containers
            .iter()
            .find_map(|c| c.labels.get(CONFIG_FILES_LABEL).cloned()),
        working_dir: containers
            .iter()
            .find_map(|c| c.labels.get(WORKING_DIR_LABEL).cloned()),
    }
}

/// A compose file checked without saving it: every issue, or the services
/// in start order with the file's warnings.
pub fn validate(input: &StackInput) -> AppResult<ComposeCheck> {
    check_sizes(input)?;
    Ok(match compose::parse(&input.compose, &input.env, "/") {
        Ok(file) => ComposeCheck {
            ok: true,
            errors: Vec::new(),
            warnings: file.warnings.clone(),
            services: file.start_order(),
        },
        Err(errors) => ComposeCheck {
            ok: false,
            errors,
            warnings: Vec::new(),
            services: Vec::new(),
        },
    })
}

/// [`validate`], and for a caller who is not an admin, what the endpoint's
/// policy would refuse of the file when it is saved, as an error at its
/// line and column: the editor shows it before the user saves.
pub async fn validate_for(
    state: &AppState,
    ep: &str,
    input: &StackInput,
    who: &crate::auth::Principal,
) -> AppResult<ComposeCheck> {
    let mut check = validate(input)?;
    if !check.ok || who.role >= protocol::Role::Admin {
        return Ok(check);
    }
    // Relative binds resolve in the stack's folder: the named one, or where
    // a new stack of that name would be.
    let name = if check_name(&input.name).is_ok() {
        input.name.as_str()
    } else {
        "unnamed"
    };
    let file = parse(&input.compose, &input.env, &working_dir(state, ep, name))?;
    match check_at_save(state, ep, name, &file, who).await {
        Ok(()) => {}
        Err(AppError::Forbidden(message)) => {
            let (line, column, message) = located(&message);
            check.ok = false;
            check.errors.push(protocol::ComposeIssue {
                line,
                column,
                message,
            });
        }
        Err(e) => return Err(e),
    }
    Ok(check)
}

/// A refusal's `line:column ` prefix, taken off its message.
fn located(message: &str) -> (usize, usize, String) {
    let parsed = message.split_once(' ').and_then(|(at, rest)| {
        let (l, c) = at.split_once(':')?;
        Some((l.parse().ok()?, c.parse().ok()?, rest.to_string()))
    });
    parsed.unwrap_or((0, 0, message.to_string()))
}

/// Saves a new stack (revision 1) and writes its folder; nothing starts.
pub async fn create(
    state: &AppState,
    ep: &str,
    input: &StackInput,
    who: &crate::auth::Principal,
) -> AppResult<StackDetail> {
    let author = who.username.as_str();
    state.endpoints.get(ep)?;
    check_name(&input.name)?;
    check_sizes(input)?;
    let dir = stack_dir(state, ep, &input.name);
    let file = parse(
        &input.compose,
        &input.env,
        &working_dir(state, ep, &input.name),
    )?;
    check_at_save(state, ep, &input.name, &file, who).await?;
    if state
        .endpoints
        .get(ep)?
        .projects()
        .await?
        .contains_key(&input.name)
    {
        return Err(AppError::Conflict(format!(
            "containers of a project named {} already exist; adopt that stack instead",
            input.name
        )));
    }
    let row = state
        .store
        .create_stack(
            ep,
            &input.name,
            &input.compose,
            &input.env,
            author,
            who.user_id,
        )
        .await?;
    // A folder already there belongs to no stack: a crash cut short the
    // deletion of an earlier stack of this name. The new one starts empty.
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => {
            tracing::info!(folder = %dir.display(), "removed the folder a deleted stack left")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(AppError::internal(format!(
                "cannot clear {}: {e}",
                dir.display()
            )))
        }
    }
    write_files(&dir, &row.compose, &row.env).await?;
    detail(state, ep, &input.name).await
}

/// Saves the file and .env as the stack's newest revision.
pub async fn update(
    state: &AppState,
    ep: &str,
    name: &str,
    input: &StackInput,
    who: &crate::auth::Principal,
) -> AppResult<StackDetail> {
    let author = who.username.as_str();
    let row = row(state, ep, name).await?;
    check_sizes(input)?;
    let file = parse(&input.compose, &input.env, &working_dir(state, ep, name))?;
    check_at_save(state, ep, name, &file, who).await?;
    save_revision(state, ep, &row, &input.compose, &input.env, author).await?;
    detail(state, ep, name).await
}

/// Holds a file being saved to the endpoint's policy for its author, so
/// the editor learns of a refusal before `up` (which checks again).
async fn check_at_save(
    state: &AppState,
    ep: &str,
    name: &str,
    file: &ComposeFile,
    who: &crate::auth::Principal,
) -> AppResult<()> {
    let engine = state.endpoints.get(ep)?;
    deploy::check_stack(
        state,
        &engine,
        who,
        name,
        file,
        &working_dir(state, ep, name),
        &files_key(state)?,
    )
    .await
}

/// Stores a new revision of `row`'s stack and writes it into its folder.
async fn save_revision(
    state: &AppState,
    ep: &str,
    row: &StackRow,
    compose: &str,
    env: &str,
    author: &str,
) -> AppResult<()> {
    state
        .store
        .save_revision(row.id, compose, env, author)
        .await?;
    write_files(&stack_dir(state, ep, &row.name), compose, env).await
}

/// Every saved revision of a stack, newest first.
pub async fn revisions(state: &AppState, ep: &str, name: &str) -> AppResult<Vec<StackRevision>> {
    let row = row(state, ep, name).await?;
    state.store.stack_revisions(row.id).await
}

/// What changed between two revisions of a stack, as unified diffs.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RevisionDiff {
    pub from: i64,
    pub to: i64,
    pub compose: String,
    pub env: String,
}

pub async fn diff(
    state: &AppState,
    ep: &str,
    name: &str,
    from: i64,
    to: i64,
) -> AppResult<RevisionDiff> {
    let row = row(state, ep, name).await?;
    let missing = |n: i64| AppError::NotFound(format!("stack {name} has no revision {n}"));
    let a = state
        .store
        .stack_revision(row.id, from)
        .await?
        .ok_or_else(|| missing(from))?;
    let b = state
        .store
        .stack_revision(row.id, to)
        .await?
        .ok_or_else(|| missing(to))?;
    Ok(RevisionDiff {
        from,
        to,
        compose: compose::diff::unified(&a.compose, &b.compose),
        env: compose::diff::unified(&a.env, &b.env),
    })
}

/// What `up` would do with the body's file (or the saved one when the body
/// has none), every orphan removal included.
pub async fn plan(
    state: &AppState,
    ep: &str,
    name: &str,
    input: StackInput,
) -> AppResult<StackPlan> {
    let engine = state.endpoints.get(ep)?;
    let source = source(state, ep, name, Some(input), None).await?;
    let dir = working_dir(state, ep, name);
    let file = parse(&source.compose, &source.env, &dir)?;
    let files_key = files_key(state)?;
    let ctx = Context {
        project: name,
        file: &file,
        working_dir: &dir,
        files_key: &files_key,
    };
    let services = plan::active_services(&file, &profiles(&source.env), &[]);
    let full = plan::plan(&engine, &ctx, &services, true).await?;
    Ok(full.summary())
}

/// A stack as the stack page shows it: berth's file and revision with each
/// service's containers, or, for a project another tool started, its
/// services as its containers tell them.
pub async fn detail(state: &AppState, ep: &str, name: &str) -> AppResult<StackDetail> {
    check_name(name)?;
    let engine = state.endpoints.get(ep)?;
    let row = state.store.stack(ep, name).await?;
    let all = engine.list_containers(true).await?;
    let mine: Vec<protocol::ContainerSummary> = all
        .into_iter()
        .filter(|c| c.project.as_deref() == Some(name))
        .collect();
    let config_files = mine
        .iter()
        .find_map(|c| c.labels.get(CONFIG_FILES_LABEL).cloned());
    let Some(row) = row else {
        if mine.is_empty() {
            return Err(AppError::NotFound(format!(
                "no stack {name} on endpoint {ep}"
            )));
        }
        let mut services: BTreeMap<String, ServiceState> = BTreeMap::new();
        for c in &mine {
            let s = c.service.clone().unwrap_or_default();
            let e = services.entry(s.clone()).or_insert_with(|| ServiceState {
                name: s,
                image: c.image.clone(),
                replicas: 0,
                containers: Vec::new(),
            });
            e.replicas += 1;
            e.containers.push(c.clone());
        }
        return Ok(StackDetail {
            name: name.into(),
            origin: StackOrigin::External,
            compose: String::new(),
            env: String::new(),
            revision: 0,
            updated_at: None,
            updated_by: None,
            services: services.into_values().collect(),
            orphans: Vec::new(),
            config_files,
        });
    };
    let dir = working_dir(state, ep, name);
    // A saved file that no longer parses (berth grew stricter) still shows
    // its containers, as orphans.
    let file = parse_in_folder(&row.compose, &row.env, &dir).unwrap_or_default();
    let mut services = Vec::new();
    for s in file.services.values() {
        services.push(ServiceState {
            name: s.name.clone(),
            image: image_of(name, s),
            replicas: s.replicas,
            containers: mine
                .iter()
                .filter(|c| c.service.as_deref() == Some(s.name.as_str()))
                .cloned()
                .collect(),
        });
    }
    let orphans = mine
        .iter()
        .filter(|c| {
            c.service
                .as_deref()
                .is_none_or(|s| !file.services.contains_key(s))
        })
        .cloned()
        .collect();
    Ok(StackDetail {
        name: name.into(),
        origin: StackOrigin::Berth,
        compose: row.compose,
        env: row.env,
        revision: row.revision,
        updated_at: Some(row.updated_at),
        updated_by: Some(row.updated_by),
        services,
        orphans,
        config_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_stacks_files_are_replaced_whole_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().expect("dir");
        let folder = dir.path().join("stacks/local/web");
        write_files(&folder, "services: {}\n", "A=1\n")
            .await
            .expect("first");
        write_files(&folder, "services:\n  a:\n    image: x\n", "")
            .await
            .expect("second");
        assert_eq!(names(&folder), [".env", "compose.yaml"]);
        assert_eq!(
            std::fs::read_to_string(folder.join("compose.yaml")).expect("read"),
            "services:\n  a:\n    image: x\n"
        );
    }

    #[test]
    fn what_a_crash_left_in_the_data_dir_is_removed_at_start() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path();
        let folder = data.join("stacks/local/web");
        std::fs::create_dir_all(folder.join("sub")).expect("folder");
        std::fs::write(folder.join("compose.yaml"), "services: {}\n").expect("file");
        std::fs::write(folder.join(format!("{TEMP_PREFIX}x1")), "serv").expect("temp");
        // A user's own file of that name further down is theirs.
        std::fs::write(folder.join(format!("sub/{TEMP_PREFIX}keep")), "k").expect("deep");
        let staging = data.join(".stack-upload-abc");
        std::fs::create_dir_all(staging.join("a/b")).expect("staging");
        std::fs::write(staging.join("a/b/c"), "half").expect("staged");
        std::fs::write(data.join("berth.db"), "").expect("db");
        remove_crash_leftovers(data);
        assert_eq!(names(data), ["berth.db", "stacks"]);
        assert_eq!(names(&folder), ["compose.yaml", "sub"]);
        assert_eq!(names(&folder.join("sub")), [format!("{TEMP_PREFIX}keep")]);
        // Nothing to clean, or no stacks folder at all, is fine.
        remove_crash_leftovers(data);
        remove_crash_leftovers(&data.join("missing"));
    }
}
