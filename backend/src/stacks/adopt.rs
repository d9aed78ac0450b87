//! Adopting a compose project another tool (the compose CLI) started:
//! berth takes its file, pasted or read from where the CLI's labels say,
//! and keeps it as the stack's first revision.

use std::path::{Component, Path, PathBuf};

use protocol::{StackDetail, StackInput};

use super::{
    check_name, check_sizes, detail, parse, stack_dir, working_dir, write_files, MAX_FILE,
};
use crate::engine::{ProjectContainer, CONFIG_FILES_LABEL, WORKING_DIR_LABEL};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// Makes the project `name` a berth stack. Its file is `input`'s when one
/// is given, else the one its containers' labels name (when berth can read
/// it). Relative paths keep resolving against the project's own folder.
pub async fn adopt(
    state: &AppState,
    ep: &str,
    name: &str,
    input: StackInput,
    who: &crate::auth::Principal,
) -> AppResult<StackDetail> {
    let author = who.username.as_str();
    check_name(name)?;
    check_sizes(&input)?;
    let engine = state.endpoints.get(ep)?;
    if state.store.stack(ep, name).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "berth already manages stack {name}"
        )));
    }
    let projects = engine.projects().await?;
    let Some(containers) = projects.get(name) else {
        return Err(AppError::NotFound(format!(
            "no containers of a project {name} on endpoint {ep}"
        )));
    };
    let (compose_text, env) = if !input.compose.is_empty() {
        (input.compose, input.env)
    } else {
        read_labelled_file(ep, containers).await?
    };
    let dir = containers
        .iter()
        .find_map(|c| c.labels.get(WORKING_DIR_LABEL).cloned())
        .unwrap_or_else(|| working_dir(state, ep, name));
    parse(&compose_text, &env, &dir)?;
    state
        .store
        .create_stack(ep, name, &compose_text, &env, author, who.user_id)
        .await?;
    write_files(&stack_dir(state, ep, name), &compose_text, &env).await?;
    detail(state, ep, name).await
}

/// The compose file (and the `.env` beside it) that the compose CLI labels
/// its containers with, when berth can see it (same host); else a 400 that
/// asks for the file to be pasted. A label can name any file: berth reads it
/// only when it resolves (symlinks and `..` included) inside the project's
/// labelled working directory, else 403 naming the label.
async fn read_labelled_file(
    ep: &str,
    containers: &[ProjectContainer],
) -> AppResult<(String, String)> {
    let path = containers
        .iter()
        .find_map(|c| c.labels.get(CONFIG_FILES_LABEL).cloned())
        .unwrap_or_default();
    let working_dir = containers
        .iter()
        .find_map(|c| c.labels.get(WORKING_DIR_LABEL).cloned());
    let mut first = path.split(',').next().unwrap_or("").to_string();
    // docker-compose 1.x labels the file name relative to its working dir.
    if !first.is_empty() && !first.starts_with('/') {
        if let Some(dir) = &working_dir {
            first = format!("{}/{first}", dir.trim_end_matches('/'));
        }
    }
    let cannot_read = || {
        AppError::BadRequest(format!(
            "berth cannot read this stack's compose file ({}); paste it in `compose`",
            if first.is_empty() {
                "no file is named in its labels"
            } else {
                first.as_str()
            }
        ))
    };
    if ep != crate::LOCAL_ENDPOINT || !first.starts_with('/') {
        return Err(cannot_read());
    }
    let Some(dir) = working_dir.filter(|d| d.starts_with('/')) else {
        return Err(AppError::Forbidden(format!(
            "berth reads a labelled compose file only inside the project's `{WORKING_DIR_LABEL}`, \
             and this project has none; paste the file in `compose`"
        )));
    };
    let dir = resolved(&dir).await;
    let file = resolved(&first).await;
    // A working directory of `/` would make the rule say nothing.
    if dir == Path::new("/") || !file.starts_with(&dir) || file == dir {
        return Err(AppError::Forbidden(format!(
            "`{CONFIG_FILES_LABEL}` names {first}, which is not inside the project's \
             `{WORKING_DIR_LABEL}` ({}); paste the file in `compose`",
            dir.display()
        )));
    }
    let yaml = file.extension().is_some_and(|e| e == "yml" || e == "yaml");
    if !yaml {
        return Err(cannot_read());
    }
    let text = match tokio::fs::metadata(&file).await {
        Ok(m) if m.is_file() && m.len() as usize <= MAX_FILE => {
            tokio::fs::read_to_string(&file).await.ok()
        }
        _ => None,
    };
    let Some(text) = text else {
        return Err(cannot_read());
    };
    // The `.env` beside it, under the same rule; one outside is left out.
    let env = match tokio::fs::canonicalize(Path::new(&first).with_file_name(".env")).await {
        Ok(env_path) if env_path.starts_with(&dir) => match tokio::fs::metadata(&env_path).await {
            Ok(m) if m.is_file() && m.len() as usize <= MAX_FILE => {
                tokio::fs::read_to_string(&env_path)
                    .await
                    .unwrap_or_default()
            }
            _ => String::new(),
        },
        _ => String::new(),
    };
    Ok((text, env))
}

/// `path` with its symlinks resolved when it exists; else with `.` and `..`
/// worked out by hand, so a missing file still gets judged by where it
/// would be.
async fn resolved(path: &str) -> PathBuf {
    if let Ok(real) = tokio::fs::canonicalize(path).await {
        return real;
    }
    let mut out = PathBuf::from("/");
    for part in Path::new(path).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resolved;

    #[tokio::test]
    async fn works_out_dots_of_paths_that_do_not_exist() {
        assert_eq!(
            resolved("/nonexistent-berth/a/../../etc/shadow").await,
            std::path::PathBuf::from("/etc/shadow")
        );
    }
}
