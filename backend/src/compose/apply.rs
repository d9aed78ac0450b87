//! Carrying out a plan: networks and volumes first, then containers in
//! `depends_on` order, waiting for health or completion where asked.

use std::collections::BTreeMap;
use std::time::Duration;

use protocol::{ContainerState, PlanAction, StackProgress, COMPOSE_PROJECT_LABEL};
use tokio::sync::mpsc;

use super::model::{Condition, Hook};
use super::plan::{ContainerChange, FullPlan};
use super::spec::Context;
use crate::engine::{
    Engine, EngineError, EngineResult, ExecCommand, Lifecycle, ProjectIpam, ProjectIpamPool,
    ProjectNetwork, ProjectState, ProjectVolume, NETWORK_LABEL, VOLUME_LABEL,
};

/// How long `up` waits for a dependency to become healthy or to finish.
const WAIT_LIMIT: Duration = Duration::from_secs(180);

async fn say(tx: &mpsc::Sender<StackProgress>, p: StackProgress) {
    let _ = tx.send(p).await;
}

/// Applies `plan`. Stops at the first failure, which it reports with the
/// service; what was running before stays running (a failed recreate puts
/// the old container back).
pub async fn up(
    engine: &Engine,
    ctx: &Context<'_>,
    plan: FullPlan,
    tx: &mpsc::Sender<StackProgress>,
) -> usize {
    match run_up(engine, ctx, plan, tx).await {
        Ok(changed) => {
            say(tx, StackProgress::Done { changed }).await;
            changed
        }
        Err((service, e)) => {
            say(
                tx,
                StackProgress::Error {
                    service,
                    message: e.to_string(),
                },
            )
            .await;
            0
        }
    }
}

type UpError = (Option<String>, EngineError);

async fn run_up(
    engine: &Engine,
    ctx: &Context<'_>,
    plan: FullPlan,
    tx: &mpsc::Sender<StackProgress>,
) -> Result<usize, UpError> {
    let mut changed = 0;
    for (name, key, _) in &plan.networks_to_create {
        say(
            tx,
            StackProgress::Step {
                action: PlanAction::Create,
                kind: "network".into(),
                name: name.clone(),
                service: None,
            },
        )
        .await;
        let labels: BTreeMap<String, String> = [
            (COMPOSE_PROJECT_LABEL.to_string(), ctx.project.to_string()),
            (NETWORK_LABEL.to_string(), key.clone()),
        ]
        .into_iter()
        .collect();
        let def = ctx.file.networks.get(key).cloned().unwrap_or_default();
        let mut all_labels = def.labels.clone();
        all_labels.extend(labels);
        let want = ProjectNetwork {
            driver: def.driver.clone(),
            internal: def.internal,
            attachable: def.attachable.unwrap_or(true),
            enable_ipv6: def.enable_ipv6,
            driver_opts: def.driver_opts.clone(),
            ipam: def.ipam.as_ref().map(|i| ProjectIpam {
                driver: i.driver.clone(),
                pools: i
                    .config
                    .iter()
                    .map(|p| ProjectIpamPool {
                        subnet: p.subnet.clone(),
                        ip_range: p.ip_range.clone(),
                        gateway: p.gateway.clone(),
                        aux_addresses: p.aux_addresses.clone(),
                    })
                    .collect(),
                options: i.options.clone(),
            }),
            labels: all_labels,
        };
        engine
            .ensure_network(name, &want)
            .await
            .map_err(|e| (None, e))?;
        changed += 1;
    }
    for (name, key, _) in &plan.volumes_to_create {
        say(
            tx,
            StackProgress::Step {
                action: PlanAction::Create,
                kind: "volume".into(),
                name: name.clone(),
                service: None,
            },
        )
        .await;
        let mut labels: BTreeMap<String, String> = [
            (COMPOSE_PROJECT_LABEL.to_string(), ctx.project.to_string()),
            (VOLUME_LABEL.to_string(), key.clone()),
        ]
        .into_iter()
        .collect();
        let def = ctx.file.volumes.get(key).cloned().unwrap_or_default();
        labels.extend(def.labels.clone());
        let want = ProjectVolume {
            driver: def.driver.clone(),
            driver_opts: def.driver_opts.clone(),
            labels,
        };
        engine
            .ensure_volume(name, &want)
            .await
            .map_err(|e| (None, e))?;
        changed += 1;
    }
    for (service, changes) in plan.services {
        let hooks = ctx.file.services.get(&service);
        if let Some(s) = hooks {
            for (dep, condition) in &s.depends_on {
                wait_for(engine, ctx.project, dep, *condition, tx)
                    .await
                    .map_err(|e| (Some(service.clone()), e))?;
            }
        }
        let post_start: &[Hook] = hooks.map(|s| s.post_start.as_slice()).unwrap_or_default();
        let pre_stop: &[Hook] = hooks.map(|s| s.pre_stop.as_slice()).unwrap_or_default();
        for change in changes {
            let fail = |e: EngineError| (Some(service.clone()), e);
            match change {
                ContainerChange::Create(want) => {
                    say(tx, step(PlanAction::Create, &want.name, &service)).await;
                    let created = engine
                        .run_container_with(&want.spec, &want.extras)
                        .await
                        .map_err(fail)?;
                    changed += 1;
                    if created.started {
                        run_post_start(engine, &service, &created.id, post_start, tx)
                            .await
                            .map_err(fail)?;
                    }
                }
                ContainerChange::Recreate { old, want, .. } => {
                    say(tx, step(PlanAction::Recreate, &want.name, &service)).await;
                    if old.state == ContainerState::Running {
                        run_pre_stop(engine, &service, &old.id, pre_stop, tx).await;
                    }
                    let created = engine
                        .recreate_container_with(&old.id, &want.spec, &want.extras)
                        .await
                        .map_err(fail)?;
                    changed += 1;
                    if created.started {
                        run_post_start(engine, &service, &created.id, post_start, tx)
                            .await
                            .map_err(fail)?;
                    }
                }
                ContainerChange::Start { old, .. } => {
                    say(tx, step(PlanAction::Start, &old.name, &service)).await;
                    engine
                        .container_lifecycle(&old.id, Lifecycle::Start)
                        .await
                        .map_err(fail)?;
                    changed += 1;
                    run_post_start(engine, &service, &old.id, post_start, tx)
                        .await
                        .map_err(fail)?;
                }
                ContainerChange::Keep { .. } => {}
                ContainerChange::Remove(old) => {
                    say(tx, step(PlanAction::Remove, &old.name, &service)).await;
                    if old.state == ContainerState::Running {
                        run_pre_stop(engine, &service, &old.id, pre_stop, tx).await;
                    }
                    engine.stop_and_remove(&old.id).await.map_err(fail)?;
                    changed += 1;
                }
            }
        }
    }
    for orphan in plan.orphans {
        say(tx, step(PlanAction::Remove, &orphan.name, &orphan.service)).await;
        engine
            .stop_and_remove(&orphan.id)
            .await
            .map_err(|e| (Some(orphan.service.clone()), e))?;
        changed += 1;
    }
    Ok(changed)
}

/// How many lines of a failed hook's output its error shows.
const HOOK_OUTPUT_LINES: usize = 10;

fn hook_command(hook: &Hook) -> ExecCommand {
    ExecCommand {
        user: hook.user.clone(),
        privileged: hook.privileged,
        working_dir: hook.working_dir.clone(),
        env: hook
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..ExecCommand::new(hook.command.clone())
    }
}

/// `post_start hook 2 of web (sh -c ...)`, as progress and errors name it.
fn hook_name(kind: &str, index: usize, service: &str, hook: &Hook) -> String {
    format!(
        "{kind} hook {} of {service} ({})",
        index + 1,
        hook.command.join(" ")
    )
}

/// Runs one hook; a non-zero exit is an error naming the hook, its code
/// and the end of its output.
async fn run_hook(
    engine: &Engine,
    kind: &str,
    index: usize,
    service: &str,
    container: &str,
    hook: &Hook,
    tx: &mpsc::Sender<StackProgress>,
) -> EngineResult<()> {
    let name = hook_name(kind, index, service, hook);
    say(
        tx,
        StackProgress::Log {
            service: service.into(),
            text: format!("running {name}"),
        },
    )
    .await;
    let outcome = engine
        .exec_run(container, &hook_command(hook))
        .await
        .map_err(|e| EngineError::Conflict(format!("{name} could not run: {e}")))?;
    if outcome.exit_code == 0 {
        return Ok(());
    }
    let tail = outcome.last_lines(HOOK_OUTPUT_LINES);
    Err(EngineError::Conflict(if tail.is_empty() {
        format!("{name} exited with code {}", outcome.exit_code)
    } else {
        format!(
            "{name} exited with code {}; its output ended with:\n{tail}",
            outcome.exit_code
        )
    }))
}

/// `post_start` hooks in order, once the container runs; the first that
/// fails fails the deploy.
async fn run_post_start(
    engine: &Engine,
    service: &str,
    container: &str,
    hooks: &[Hook],
    tx: &mpsc::Sender<StackProgress>,
) -> EngineResult<()> {
    for (i, hook) in hooks.iter().enumerate() {
        run_hook(engine, "post_start", i, service, container, hook, tx).await?;
    }
    Ok(())
}

/// `pre_stop` hooks in order, before a running container is stopped. A
/// failure is told and the stop goes on: the container is going away
/// either way.
async fn run_pre_stop(
    engine: &Engine,
    service: &str,
    container: &str,
    hooks: &[Hook],
    tx: &mpsc::Sender<StackProgress>,
) {
    for (i, hook) in hooks.iter().enumerate() {
        if let Err(e) = run_hook(engine, "pre_stop", i, service, container, hook, tx).await {
            say(
                tx,
                StackProgress::Log {
                    service: service.into(),
                    text: format!("{e}; stopping anyway"),
                },
            )
            .await;
        }
    }
}

fn step(action: PlanAction, name: &str, service: &str) -> StackProgress {
    StackProgress::Step {
        action,
        kind: "container".into(),
        name: name.into(),
        service: Some(service.into()),
    }
}

/// Waits until every container of `service` meets `condition`.
async fn wait_for(
    engine: &Engine,
    project: &str,
    service: &str,
    condition: Condition,
    tx: &mpsc::Sender<StackProgress>,
) -> EngineResult<()> {
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let mut announced = false;
    loop {
        let state = engine.project_state(project).await?;
        let ids: Vec<String> = state
            .containers
            .iter()
            .filter(|c| c.service == service)
            .map(|c| c.id.clone())
            .collect();
        if ids.is_empty() {
            return Err(EngineError::Conflict(format!(
                "dependency {service} has no container"
            )));
        }
        let mut met = true;
        for id in &ids {
            let (running, health, exit_code, status) = engine.container_condition(id).await?;
            let ok = match condition {
                Condition::Started => running || status == ContainerState::Exited,
                Condition::Healthy => match health.as_deref() {
                    Some("healthy") => true,
                    Some("unhealthy") => {
                        return Err(EngineError::Conflict(format!(
                            "dependency {service} is unhealthy"
                        )));
                    }
                    Some(_) => false,
                    None => {
                        return Err(EngineError::BadRequest(format!(
                            "dependency {service} has no healthcheck, so it cannot become healthy"
                        )))
                    }
                },
                Condition::CompletedSuccessfully => {
                    if status == ContainerState::Exited && exit_code != 0 {
                        return Err(EngineError::Conflict(format!(
                            "dependency {service} exited with code {exit_code}"
                        )));
                    }
                    status == ContainerState::Exited
                }
            };
            met &= ok;
        }
        if met {
            return Ok(());
        }
        if !announced {
            say(
                tx,
                StackProgress::Waiting {
                    service: service.into(),
                    condition: condition.as_str().into(),
                },
            )
            .await;
            announced = true;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(EngineError::Conflict(format!(
                "dependency {service} did not reach {} within {} s",
                condition.as_str(),
                WAIT_LIMIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Removes the project's containers (dependents first) and networks, and
/// its volumes when asked. Each running container's `pre_stop` hooks (from
/// `pre_stop`, by service) run before it stops.
pub async fn down(
    engine: &Engine,
    project: &str,
    order: &[String],
    pre_stop: &BTreeMap<String, Vec<Hook>>,
    volumes: bool,
    tx: &mpsc::Sender<StackProgress>,
) -> EngineResult<usize> {
    let state: ProjectState = engine.project_state(project).await?;
    let mut changed = 0;
    let mut containers = state.containers.clone();
    // Reverse start order; services the file doesn't know go first.
    containers.sort_by_key(|c| {
        std::cmp::Reverse(
            order
                .iter()
                .position(|s| *s == c.service)
                .map(|p| p as i64)
                .unwrap_or(i64::MAX),
        )
    });
    for c in &containers {
        say(tx, step(PlanAction::Remove, &c.name, &c.service)).await;
        if let Some(hooks) = pre_stop.get(&c.service) {
            if c.state == ContainerState::Running {
                run_pre_stop(engine, &c.service, &c.id, hooks, tx).await;
            }
        }
        engine.stop_and_remove(&c.id).await?;
        changed += 1;
    }
    for name in state.networks.keys() {
        say(
            tx,
            StackProgress::Step {
                action: PlanAction::Remove,
                kind: "network".into(),
                name: name.clone(),
                service: None,
            },
        )
        .await;
        engine.remove_network_quietly(name).await?;
        changed += 1;
    }
    if volumes {
        for name in &state.volumes {
            say(
                tx,
                StackProgress::Step {
                    action: PlanAction::Remove,
                    kind: "volume".into(),
                    name: name.clone(),
                    service: None,
                },
            )
            .await;
            engine.remove_volume_quietly(name).await?;
            changed += 1;
        }
    }
    Ok(changed)
}
