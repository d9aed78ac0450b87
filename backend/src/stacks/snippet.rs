//! Compose files made from what a user already runs: a `docker run` line,
//! or a container on the engine, as one service to paste into a stack.

use protocol::run_command::parse_run_command;
use protocol::{ComposeSnippet, ContainerSpec};

use crate::compose;
use crate::engine::check_reference;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// A `docker run` line as a compose file; the service is named after the
/// container's `--name`, else the image.
pub fn from_run(command: &str) -> AppResult<ComposeSnippet> {
    let spec = parse_run_command(command).map_err(|e| AppError::BadRequest(e.message))?;
    let service = spec
        .name
        .clone()
        .or_else(|| {
            spec.image
                .rsplit('/')
                .next()
                .map(|i| i.split([':', '@']).next().unwrap_or("app").to_string())
        })
        .unwrap_or_else(|| "app".into());
    Ok(snippet(service, &spec))
}

/// A container as a compose file; the service keeps its compose service
/// name when it has one, else the container's name.
pub async fn from_container(state: &AppState, ep: &str, id: &str) -> AppResult<ComposeSnippet> {
    let engine = state.endpoints.get(ep)?;
    check_reference("container", id)?;
    let spec = engine.container_spec(id).await?;
    let service = spec
        .labels
        .get(protocol::COMPOSE_SERVICE_LABEL)
        .cloned()
        .or_else(|| spec.name.clone())
        .unwrap_or_else(|| "app".into());
    Ok(snippet(service, &spec))
}

fn snippet(service: String, spec: &ContainerSpec) -> ComposeSnippet {
    ComposeSnippet {
        yaml: compose::emit::compose_file(&service, spec),
        service,
    }
}
