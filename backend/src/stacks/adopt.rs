//! Adopting a compose project another tool (the compose CLI) started:
//! berth takes its file, pasted or read from where the CLI's labels say,
//! and keeps it as the stack's first revision.

use std::path::Path;

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
    author: &str,
) -> AppResult<StackDetail> {
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
        .create_stack(ep, name, &compose_text, &env, author)
        .await?;
    write_files(&stack_dir(state, ep, name), &compose_text, &env).await?;
    detail(state, ep, name).await
}

/// The compose file (and the `.env` beside it) that the compose CLI labels
/// its containers with, when berth can see it (same host); else a 400 that
/// asks for the file to be pasted.
async fn read_labelled_file(
    ep: &str,
    containers: &[ProjectContainer],
) -> AppResult<(String, String)> {
    let path = containers
        .iter()
        .find_map(|c| c.labels.get(CONFIG_FILES_LABEL).cloned())
        .unwrap_or_default();
    let mut first = path.split(',').next().unwrap_or("").to_string();
    // docker-compose 1.x labels the file name relative to its working dir.
    if !first.is_empty() && !first.starts_with('/') {
        if let Some(dir) = containers
            .iter()
            .find_map(|c| c.labels.get(WORKING_DIR_LABEL).cloned())
        {
            first = format!("{}/{first}", dir.trim_end_matches('/'));
        }
    }
    let readable = ep == crate::LOCAL_ENDPOINT
        && (first.ends_with(".yml") || first.ends_with(".yaml"))
        && first.starts_with('/');
    let text = if readable {
        match tokio::fs::metadata(&first).await {
            Ok(m) if m.len() as usize <= MAX_FILE => tokio::fs::read_to_string(&first).await.ok(),
            _ => None,
        }
    } else {
        None
    };
    let Some(text) = text else {
        return Err(AppError::BadRequest(format!(
            "berth cannot read this stack's compose file ({}); paste it in `compose`",
            if first.is_empty() {
                "no file is named in its labels"
            } else {
                first.as_str()
            }
        )));
    };
    let env_path = Path::new(&first).with_file_name(".env");
    let env = tokio::fs::read_to_string(env_path)
        .await
        .unwrap_or_default();
    Ok((text, env))
}
