//! Running a stack: deploy (build -> plan -> apply, with progress), down,
//! restart/stop/start of its containers, pulling its images, and deleting
//! it. Each long job is checked first (a bad request fails as a plain 4xx)
//! and then run with a progress channel the API streams to the client.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use protocol::images::{ImageRef, Progress, RegistryLogin};
use protocol::{DownOptions, StackProgress, UpOptions};
use tokio::sync::mpsc;

use super::{check_name, parse, profiles, row, save_revision, source, stack_dir, working_dir};
use crate::compose::model::{Hook, Service};
use crate::compose::spec::{image_of, Context};
use crate::compose::{apply, build, plan, ComposeFile};
use crate::engine::{Engine, Lifecycle};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// Where a running job tells its progress.
type ProgressTx = mpsc::Sender<StackProgress>;

/// A checked `up`: the file is valid, the services exist, build contexts
/// are inside the stack's folder, and (without builds) the plan is made.
pub struct Deployment {
    engine: Arc<Engine>,
    project: String,
    file: ComposeFile,
    folder: PathBuf,
    working_dir: String,
    files_key: Vec<u8>,
    services: Vec<String>,
    to_build: Vec<String>,
    logins: Vec<RegistryLogin>,
    remove_orphans: bool,
    early_plan: Option<plan::FullPlan>,
    /// The revision being deployed, for the audit log.
    pub revision: i64,
}

/// Checks an `up` and prepares it. With `opts.revision`, a rollback: that
/// revision is saved again as the newest before it is deployed.
pub async fn prepare(
    state: &AppState,
    ep: &str,
    name: &str,
    opts: &UpOptions,
    author: &str,
) -> AppResult<Deployment> {
    let engine = state.endpoints.get(ep)?;
    let source = source(state, ep, name, None, opts.revision).await?;
    let folder = stack_dir(state, ep, name);
    let dir = working_dir(state, ep, name);
    let file = parse(&source.compose, &source.env, &dir)?;
    for s in &opts.services {
        if !file.services.contains_key(s) {
            return Err(AppError::BadRequest(format!(
                "the stack has no service {s}"
            )));
        }
    }
    if let Some(n) = opts.revision {
        // A rollback: the old revision becomes the newest.
        save_revision(state, ep, &source.row, &source.compose, &source.env, author).await?;
        tracing::info!(stack = %name, revision = n, "rolling back");
    }
    let services = plan::active_services(&file, &profiles(&source.env), &opts.services);
    let to_build: Vec<String> = services
        .iter()
        .filter(|s| file.services.get(*s).is_some_and(|s| s.build.is_some()))
        .cloned()
        .collect();
    for s in &to_build {
        if let Some(b) = file.services.get(s).and_then(|s| s.build.as_ref()) {
            build::inside(&folder, &b.context).map_err(AppError::BadRequest)?;
        }
    }
    let logins = if to_build.is_empty() {
        Vec::new()
    } else {
        state.store.registry_logins(&state.config.data_dir).await?
    };
    let remove_orphans = opts.remove_orphans && opts.services.is_empty();
    let files_key = super::files_key(state)?;
    // Without builds the plan is made now, so a bad request fails as a
    // plain 4xx; with builds it has to wait for the new images.
    let early_plan = if to_build.is_empty() {
        let ctx = Context {
            project: name,
            file: &file,
            working_dir: &dir,
            files_key: &files_key,
        };
        Some(plan::plan(&engine, &ctx, &services, remove_orphans).await?)
    } else {
        None
    };
    Ok(Deployment {
        engine,
        project: name.to_string(),
        file,
        folder,
        working_dir: dir,
        files_key,
        services,
        to_build,
        logins,
        remove_orphans,
        early_plan,
        revision: source.row.revision,
    })
}

impl Deployment {
    /// Builds the services that have a `build`, plans (unless already
    /// planned), and applies, telling `tx` each step; the last message is
    /// `Done` or `Error`.
    pub async fn run(self, tx: ProgressTx) {
        for s in &self.to_build {
            let Some(service) = self.file.services.get(s) else {
                continue;
            };
            let tag = image_of(&self.project, service);
            if let Err(e) = build::build_service(
                &self.engine,
                &self.folder,
                service,
                &tag,
                self.logins.clone(),
                &tx,
            )
            .await
            {
                failed(&tx, Some(s.clone()), e.to_string()).await;
                return;
            }
        }
        let ctx = Context {
            project: &self.project,
            file: &self.file,
            working_dir: &self.working_dir,
            files_key: &self.files_key,
        };
        let full = match self.early_plan {
            Some(p) => p,
            None => match plan::plan(&self.engine, &ctx, &self.services, self.remove_orphans).await
            {
                Ok(p) => p,
                Err(e) => {
                    failed(&tx, None, e.to_string()).await;
                    return;
                }
            },
        };
        apply::up(&self.engine, &ctx, full, &tx).await;
    }
}

async fn failed(tx: &ProgressTx, service: Option<String>, message: String) {
    let _ = tx.send(StackProgress::Error { service, message }).await;
}

/// A checked `down`: the stack exists (berth's, or a project another tool
/// started), with its services' start order when berth knows its file.
pub struct Teardown {
    engine: Arc<Engine>,
    project: String,
    order: Vec<String>,
    pre_stop: BTreeMap<String, Vec<Hook>>,
    volumes: bool,
}

pub async fn down(
    state: &AppState,
    ep: &str,
    name: &str,
    opts: &DownOptions,
) -> AppResult<Teardown> {
    check_name(name)?;
    let engine = state.endpoints.get(ep)?;
    let (order, pre_stop) = match state.store.stack(ep, name).await? {
        Some(row) => stop_plan(&row.compose, &row.env, &super::working_dir(state, ep, name)),
        None if engine.projects().await?.contains_key(name) => Default::default(),
        None => {
            return Err(AppError::NotFound(format!(
                "no stack {name} on endpoint {ep}"
            )))
        }
    };
    Ok(Teardown {
        engine,
        project: name.to_string(),
        order,
        pre_stop,
        volumes: opts.volumes,
    })
}

impl Teardown {
    /// Removes the stack's containers and networks (and volumes when
    /// asked), telling `tx` each step, then `Done` or `Error`.
    pub async fn run(self, tx: ProgressTx) {
        match apply::down(
            &self.engine,
            &self.project,
            &self.order,
            &self.pre_stop,
            self.volumes,
            &tx,
        )
        .await
        {
            Ok(changed) => {
                let _ = tx.send(StackProgress::Done { changed }).await;
            }
            Err(e) => failed(&tx, None, e.to_string()).await,
        }
    }
}

/// The services in the order they start (and stop in reverse), and their
/// `pre_stop` hooks; empty when the file no longer parses, so down still
/// removes what is there.
fn stop_plan(
    compose_text: &str,
    env: &str,
    dir: &str,
) -> (Vec<String>, BTreeMap<String, Vec<Hook>>) {
    super::parse_in_folder(compose_text, env, dir)
        .map(|f| {
            let hooks = f
                .services
                .values()
                .filter(|s| !s.pre_stop.is_empty())
                .map(|s: &Service| (s.name.clone(), s.pre_stop.clone()))
                .collect();
            (f.start_order(), hooks)
        })
        .unwrap_or_default()
}

/// Takes a berth stack down and forgets it: its revisions and its folder.
pub async fn delete(state: &AppState, ep: &str, name: &str, volumes: bool) -> AppResult<()> {
    let row = row(state, ep, name).await?;
    let engine = state.endpoints.get(ep)?;
    let (order, pre_stop) = stop_plan(&row.compose, &row.env, &super::working_dir(state, ep, name));
    // Nobody watches this down's progress; the channel is drained so the
    // down never waits on it.
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    apply::down(&engine, name, &order, &pre_stop, volumes, &tx).await?;
    drop(tx);
    let _ = drain.await;
    state.store.delete_stack(row.id).await?;
    let _ = tokio::fs::remove_dir_all(stack_dir(state, ep, name)).await;
    Ok(())
}

/// Starts, stops or restarts every container of the stack; 404 when it
/// has none.
pub async fn each_container(
    state: &AppState,
    ep: &str,
    name: &str,
    action: Lifecycle,
) -> AppResult<()> {
    check_name(name)?;
    let engine = state.endpoints.get(ep)?;
    let project = engine.project_state(name).await?;
    if project.containers.is_empty() {
        return Err(AppError::NotFound(format!(
            "stack {name} has no containers"
        )));
    }
    for c in &project.containers {
        engine.container_lifecycle(&c.id, action).await?;
    }
    Ok(())
}

/// A checked pull: every service's image reference, with the registry
/// login berth keeps for its host.
pub struct Pull {
    engine: Arc<Engine>,
    images: Vec<(String, ImageRef, Option<RegistryLogin>)>,
}

pub async fn pull(state: &AppState, ep: &str, name: &str) -> AppResult<Pull> {
    let row = row(state, ep, name).await?;
    let engine = state.endpoints.get(ep)?;
    let file = parse(&row.compose, &row.env, "/")?;
    let mut images = Vec::new();
    for s in file.services.values() {
        if let Some(image) = &s.image {
            let reference = ImageRef::parse(image).map_err(AppError::BadRequest)?;
            let login = state
                .store
                .registry_login_for(&state.config.data_dir, &reference.registry_host())
                .await?;
            images.push((s.name.clone(), reference, login));
        }
    }
    Ok(Pull { engine, images })
}

impl Pull {
    /// Pulls each image in turn, telling `tx` its progress; stops at the
    /// first failure.
    pub async fn run(self, tx: ProgressTx) {
        let mut pulled = 0;
        for (service, reference, login) in self.images {
            let stream = match self.engine.pull_image(&reference, login).await {
                Ok(s) => s,
                Err(e) => {
                    failed(&tx, Some(service), e.to_string()).await;
                    return;
                }
            };
            let mut stream = Box::pin(stream);
            while let Some(p) = stream.next().await {
                let text = match p {
                    Progress::Error { message, .. } => {
                        failed(&tx, Some(service.clone()), message).await;
                        return;
                    }
                    Progress::Done { .. } => break,
                    Progress::Layer { id, status, .. } => format!("{id}: {status}"),
                    Progress::Log { text }
                    | Progress::Status { text }
                    | Progress::Step { text, .. } => text,
                };
                let _ = tx
                    .send(StackProgress::Log {
                        service: service.clone(),
                        text,
                    })
                    .await;
            }
            pulled += 1;
        }
        let _ = tx.send(StackProgress::Done { changed: pulled }).await;
    }
}
