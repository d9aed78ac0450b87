//! "Own resources only": on an endpoint whose policy sets
//! `own_resources_only`, operators manage only the stacks and containers
//! that they or someone sharing a team with them created; the rest they
//! only see. berth records the creator of a stack in the store and of a
//! container in its [`CREATED_BY_LABEL`] (which berth sets itself on every
//! container it creates, whatever the spec said); a stack's containers
//! belong to the stack's creator. Admins manage everything.
//!
//! Checked in one place for every route under a container or a stack
//! (`auth::policy::enforce` calls [`check_route`]) and, for the bulk
//! route, per container.

use std::collections::BTreeMap;

use protocol::{ContainerSpec, Role, COMPOSE_PROJECT_LABEL};

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// The label on a container that names the id of the user who created it.
pub const CREATED_BY_LABEL: &str = "berth.created-by";

/// Sets the creator of a container about to be created: `creator`, never
/// what the spec itself said.
pub fn stamp(spec: &mut ContainerSpec, creator: i64) {
    spec.labels
        .insert(CREATED_BY_LABEL.to_string(), creator.to_string());
}

/// The users whose resources `who` may manage on `ep`; `None` when the
/// endpoint does not restrict them (or they are an admin).
pub async fn scope(state: &AppState, who: &Principal, ep: &str) -> AppResult<Option<Vec<i64>>> {
    if who.role >= Role::Admin {
        return Ok(None);
    }
    if !state.store.endpoint_policy(ep).await?.own_resources_only {
        return Ok(None);
    }
    Ok(Some(state.store.teammates(who.user_id).await?))
}

fn refuse(what: String) -> AppError {
    AppError::Forbidden(format!(
        "{what} was created by someone outside your teams; on this endpoint operators manage only what they or their team created"
    ))
}

/// The creator of a container with these labels: its stack's, when it is
/// one of a berth stack's, else its label's.
async fn container_owner(
    state: &AppState,
    ep: &str,
    labels: &BTreeMap<String, String>,
) -> AppResult<Option<i64>> {
    if let Some(project) = labels.get(COMPOSE_PROJECT_LABEL) {
        if let Some(creator) = state.store.stack_creator(ep, project).await? {
            return Ok(creator);
        }
    }
    Ok(labels.get(CREATED_BY_LABEL).and_then(|v| v.parse().ok()))
}

/// The creator recorded on container `id`, if it exists and has one.
pub async fn creator_of(state: &AppState, ep: &str, id: &str) -> AppResult<Option<i64>> {
    let engine = state.endpoints.get(ep)?;
    match engine.inspect_container(id).await {
        Ok(d) => container_owner(state, ep, &d.config.labels).await,
        Err(_) => Ok(None),
    }
}

/// May someone whose teams created `mine` manage container `id` on `ep`? A container that does not
/// exist passes: the route answers 404 itself.
pub async fn check_container(state: &AppState, ep: &str, id: &str, mine: &[i64]) -> AppResult<()> {
    let engine = state.endpoints.get(ep)?;
    let Ok(detail) = engine.inspect_container(id).await else {
        return Ok(());
    };
    match container_owner(state, ep, &detail.config.labels).await? {
        Some(owner) if mine.contains(&owner) => Ok(()),
        _ => Err(refuse(format!(
            "container {}",
            detail.name.trim_start_matches('/')
        ))),
    }
}

/// May `who` manage stack `name` on `ep`? A compose project berth does not
/// manage is nobody's; a name that is neither passes (the route answers).
async fn check_stack(state: &AppState, ep: &str, name: &str, mine: &[i64]) -> AppResult<()> {
    match state.store.stack_creator(ep, name).await? {
        Some(Some(creator)) if mine.contains(&creator) => Ok(()),
        Some(_) => Err(refuse(format!("stack {name}"))),
        None => {
            let engine = state.endpoints.get(ep)?;
            if engine.projects().await?.contains_key(name) {
                Err(refuse(format!("stack {name}")))
            } else {
                Ok(())
            }
        }
    }
}

/// The check for a route (by its path template and path parameters) that
/// `who` calls with their role on the route's endpoint: routes that change
/// a container or a stack (those an operator needs) are held to
/// ownership; everything else passes.
pub async fn check_route(
    state: &AppState,
    who: &Principal,
    template: &str,
    needs_operator: bool,
    params: &[(String, String)],
) -> AppResult<()> {
    if !needs_operator || who.role != Role::Operator {
        return Ok(());
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(ep) = param("ep") else {
        return Ok(());
    };
    let container = template.starts_with("/api/v1/endpoints/{ep}/containers/{id}");
    let stack = template.starts_with("/api/v1/endpoints/{ep}/stacks/{name}");
    if !container && !stack {
        return Ok(());
    }
    let Some(mine) = scope(state, who, ep).await? else {
        return Ok(());
    };
    match (container, param("id"), param("name")) {
        (true, Some(id), _) => check_container(state, ep, id, &mine).await,
        (false, _, Some(name)) => check_stack(state, ep, name, &mine).await,
        _ => Ok(()),
    }
}
