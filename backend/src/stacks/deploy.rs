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
use crate::auth::Principal;
use crate::compose::model::{Hook, Service};
use crate::compose::parse::parse_duration;
use crate::compose::spec::{image_of, Context};
use crate::compose::{self, apply, build, plan, ComposeFile};
use crate::engine::{Engine, Lifecycle};
use crate::error::{AppError, AppResult};
use crate::policy::{self, check_spec, check_volume_options, SpecContext};
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
    /// Images the services' `pull_policy` says to pull first.
    to_pull: Vec<ImagePull>,
    logins: Vec<RegistryLogin>,
    remove_orphans: bool,
    early_plan: Option<plan::FullPlan>,
    /// The revision being deployed, for the audit log.
    pub revision: i64,
}

/// Holds every service of a stack's file, and its top-level volumes that
/// bind a host path, to the endpoint's policy for `who`. A refusal names
/// the service's key by line and column: `7:5 service `web`: `privileged`: ...`.
pub async fn check_stack(
    state: &AppState,
    engine: &Engine,
    who: &Principal,
    project: &str,
    file: &ComposeFile,
    working_dir: &str,
    files_key: &[u8],
) -> AppResult<()> {
    if who.role >= protocol::Role::Admin {
        return Ok(());
    }
    let (policy, ctx) = policy::for_endpoint(state, engine).await?;
    let ctx = stack_context(ctx, project, file, working_dir);
    for (key, v) in &file.volumes {
        if v.external {
            continue;
        }
        check_volume_options(
            who,
            &policy,
            v.driver.as_deref(),
            &v.driver_opts,
            &ctx,
            "driver_opts",
        )
        .map_err(|e| match e {
            AppError::Forbidden(m) => AppError::Forbidden(format!("volume `{key}`: {m}")),
            e => e,
        })?;
    }
    let spec_ctx = Context {
        project,
        file,
        working_dir,
        files_key,
    };
    for s in file.services.values() {
        // A privileged hook runs with every capability inside the
        // container: the same as asking for `privileged`.
        let privileged_hook = s.post_start.iter().chain(&s.pre_stop).any(|h| h.privileged);
        if privileged_hook && !policy.allow_privileged {
            let key = if s.post_start.iter().any(|h| h.privileged) {
                "post_start"
            } else {
                "pre_stop"
            };
            let at = s
                .marks
                .get(key)
                .map(|(line, column)| format!("{line}:{column} "))
                .unwrap_or_default();
            return Err(AppError::Forbidden(format!(
                "{at}service `{}`: `{key}`: a privileged hook runs with every capability; this endpoint's policy does not allow privileged",
                s.name
            )));
        }
        let want = compose::spec::desired(&spec_ctx, s, 1);
        check_spec(who, &policy, &want.spec, &ctx).map_err(|e| match e {
            AppError::Forbidden(m) => {
                // Named by the compose key the user wrote, where they wrote it.
                let (at, m) = match policy::refused_field(&m) {
                    Some(field) => {
                        let key = compose_key(field);
                        let at = s
                            .marks
                            .get(key)
                            .map(|(line, column)| format!("{line}:{column} "))
                            .unwrap_or_default();
                        let rest = m.strip_prefix(&format!("`{field}`")).unwrap_or(&m);
                        (at, format!("`{key}`{rest}"))
                    }
                    None => (String::new(), m),
                };
                AppError::Forbidden(format!("{at}service `{}`: {m}", s.name))
            }
            e => e,
        })?;
    }
    Ok(())
}

/// The compose key a spec's field comes from.
fn compose_key(field: &str) -> &str {
    match field {
        "mounts" => "volumes",
        "network" => "network_mode",
        "gpus" | "device_requests" => "deploy",
        "cgroupns" => "cgroup",
        f => f,
    }
}

/// The stack's folder and every container its services make, so its binds
/// inside its folder and `service:` namespaces of its own pass.
fn stack_context(
    ctx: SpecContext,
    project: &str,
    file: &ComposeFile,
    working_dir: &str,
) -> SpecContext {
    let mut containers = Vec::new();
    for s in file.services.values() {
        match &s.container_name {
            Some(c) => containers.push(c.clone()),
            None => {
                for n in 1..=s.replicas.max(1) {
                    containers.push(format!("{project}-{}-{n}", s.name));
                }
            }
        }
    }
    ctx.with_stack(std::path::Path::new(working_dir), containers)
}

/// Checks an `up` and prepares it. With `opts.revision`, a rollback: that
/// revision is saved again as the newest before it is deployed.
pub async fn prepare(
    state: &AppState,
    ep: &str,
    name: &str,
    opts: &UpOptions,
    who: &Principal,
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
    let services = plan::active_services(&file, &profiles(&source.env), &opts.services);
    let files_key = super::files_key(state)?;
    // Every service's container passes the one spec check, as a container
    // from the run form does; an old revision too, before it is saved again.
    check_stack(state, &engine, who, name, &file, &dir, &files_key).await?;
    if let Some(n) = opts.revision {
        // A rollback: the old revision becomes the newest.
        save_revision(
            state,
            ep,
            &source.row,
            &source.compose,
            &source.env,
            &who.username,
        )
        .await?;
        tracing::info!(stack = %name, revision = n, "rolling back");
    } else {
        // The folder holds the file being deployed, also after a crash
        // that came between saving a revision and writing it there.
        super::write_files(&folder, &source.compose, &source.env).await?;
    }
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
    let to_pull = pulls(state, &engine, &file, &services).await?;
    let logins = if to_build.is_empty() {
        Vec::new()
    } else {
        state.store.registry_logins(&state.config.data_dir).await?
    };
    let remove_orphans = opts.remove_orphans && opts.services.is_empty();
    // Without builds or pulls the plan is made now, so a bad request fails
    // as a plain 4xx; otherwise it has to wait for the new images.
    let early_plan = if to_build.is_empty() && to_pull.is_empty() {
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
        to_pull,
        logins,
        remove_orphans,
        early_plan,
        revision: source.row.revision,
    })
}

impl Deployment {
    /// Whether the deploy builds or pulls an image (and so counts among the
    /// user's image tasks).
    pub fn builds_or_pulls(&self) -> bool {
        !self.to_build.is_empty() || !self.to_pull.is_empty()
    }

    /// Builds the services that have a `build`, plans (unless already
    /// planned), and applies, telling `tx` each step; the last message is
    /// `Done` or `Error`.
    pub async fn run(self, tx: ProgressTx) {
        for p in &self.to_pull {
            if let Err(message) = pull_one(&self.engine, p, &tx).await {
                failed(&tx, Some(p.service.clone()), message).await;
                return;
            }
        }
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

/// One image a deploy pulls before it plans, and why.
struct ImagePull {
    service: String,
    reference: ImageRef,
    login: Option<RegistryLogin>,
    reason: &'static str,
}

/// What a service's `pull_policy` asks of `up` for an image that is here
/// (with its age in seconds) or not.
#[derive(Debug, PartialEq)]
enum PullDecision {
    Pull(&'static str),
    Skip,
    /// `never`, and the image is missing.
    Refuse,
}

/// What `policy` (as compose reads it) asks for an image `age` seconds old,
/// or missing (`None`). `daily`, `weekly` and `every_<duration>` pull once
/// the local image is older than that.
fn decide(policy: &str, age: Option<i64>) -> PullDecision {
    let max_age = match policy {
        "always" => return PullDecision::Pull("pull_policy is always"),
        "never" if age.is_none() => return PullDecision::Refuse,
        "never" | "build" => return PullDecision::Skip,
        "daily" => Some(86_400),
        "weekly" => Some(7 * 86_400),
        p => p
            .strip_prefix("every_")
            .and_then(parse_duration)
            .map(|ns| ns / 1_000_000_000),
    };
    match (age, max_age) {
        (None, _) => PullDecision::Pull("the image is not on this host"),
        (Some(age), Some(max)) if age > max => {
            PullDecision::Pull("the local image is older than its pull_policy allows")
        }
        _ => PullDecision::Skip,
    }
}

/// The images to pull before `up`, by each service's `pull_policy`;
/// `never` with a missing image is refused here, before anything changes.
/// Services with `build` are built instead.
async fn pulls(
    state: &AppState,
    engine: &Engine,
    file: &ComposeFile,
    services: &[String],
) -> AppResult<Vec<ImagePull>> {
    let mut out = Vec::new();
    for service in services.iter().filter_map(|s| file.services.get(s)) {
        let policy = service.pull_policy.as_deref().unwrap_or("missing");
        if policy == "build" && service.build.is_none() {
            return Err(AppError::BadRequest(format!(
                "service {} has pull_policy build but nothing to build (no `build` section)",
                service.name
            )));
        }
        let Some(image) = service.image.as_deref().filter(|_| service.build.is_none()) else {
            continue;
        };
        // Reading an image's date costs more than asking whether it is
        // here; only the time-based policies need it.
        let timed = matches!(policy, "daily" | "weekly") || policy.starts_with("every_");
        let age = if timed {
            image_age(engine, image).await
        } else {
            engine.image_id(image).await.map(|_| 0)
        };
        match decide(policy, age) {
            PullDecision::Skip => {}
            PullDecision::Refuse => {
                return Err(AppError::BadRequest(format!(
                    "image {image} is not on this host and pull_policy is never (service {})",
                    service.name
                )))
            }
            PullDecision::Pull(reason) => {
                let reference = ImageRef::parse(image).map_err(|e| {
                    AppError::BadRequest(format!("service {}: image {image:?}: {e}", service.name))
                })?;
                let login = state
                    .store
                    .registry_login_for(&state.config.data_dir, &reference.registry_host())
                    .await?;
                out.push(ImagePull {
                    service: service.name.clone(),
                    reference,
                    login,
                    reason,
                });
            }
        }
    }
    Ok(out)
}

/// Seconds since the local image was made; `None` when it is not here. An
/// image whose date cannot be read counts as new: only `always` and a
/// missing image should force a pull.
async fn image_age(engine: &Engine, image: &str) -> Option<i64> {
    engine.image_id(image).await?;
    let created = engine
        .image_detail(image)
        .await
        .ok()
        .and_then(|d| unix_seconds(&d.created));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Some(created.map(|c| (now - c).max(0)).unwrap_or(0))
}

/// Seconds since 1970 of an RFC 3339 time (`2024-05-01T12:00:00.123Z`,
/// `...+02:00`), as the engine writes them.
fn unix_seconds(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time_end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(time_end);
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    let offset = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), March-based years.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + sec - offset)
}

/// Pulls one image, telling its progress as the service's log lines.
async fn pull_one(engine: &Engine, p: &ImagePull, tx: &ProgressTx) -> Result<(), String> {
    let _ = tx
        .send(StackProgress::Log {
            service: p.service.clone(),
            text: format!("pulling {} ({})", p.reference, p.reason),
        })
        .await;
    let stream = engine
        .pull_image(&p.reference, p.login.clone())
        .await
        .map_err(|e| format!("pulling {} failed: {e}", p.reference))?;
    let mut stream = Box::pin(stream);
    while let Some(progress) = stream.next().await {
        let text = match progress {
            Progress::Error { message, .. } => {
                return Err(format!("pulling {} failed: {message}", p.reference))
            }
            Progress::Done { .. } => return Ok(()),
            Progress::Layer { id, status, .. } => format!("{id}: {status}"),
            Progress::Log { text } | Progress::Status { text } | Progress::Step { text, .. } => {
                text
            }
        };
        let _ = tx
            .send(StackProgress::Log {
                service: p.service.clone(),
                text,
            })
            .await;
    }
    Err(format!(
        "the pull of {} ended without a result",
        p.reference
    ))
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
    images: Vec<ImagePull>,
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
            images.push(ImagePull {
                service: s.name.clone(),
                reference,
                login,
                reason: "asked for",
            });
        }
    }
    Ok(Pull { engine, images })
}

impl Pull {
    /// Pulls each image in turn, telling `tx` its progress; stops at the
    /// first failure.
    pub async fn run(self, tx: ProgressTx) {
        let mut pulled = 0;
        for p in &self.images {
            if let Err(message) = pull_one(&self.engine, p, &tx).await {
                failed(&tx, Some(p.service.clone()), message).await;
                return;
            }
            pulled += 1;
        }
        let _ = tx.send(StackProgress::Done { changed: pulled }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_read_as_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2024-05-01T12:00:00.123456789Z"),
            Some(1_714_564_800)
        );
        assert_eq!(
            unix_seconds("2024-05-01T14:00:00+02:00"),
            Some(1_714_564_800)
        );
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds(""), None);
    }

    #[test]
    fn pull_policies_decide_as_compose_does() {
        use PullDecision::*;
        let day = 86_400;
        assert!(matches!(decide("always", Some(0)), Pull(_)));
        assert!(matches!(decide("always", None), Pull(_)));
        assert_eq!(decide("missing", Some(10 * day)), Skip);
        assert_eq!(decide("if_not_present", Some(10 * day)), Skip);
        assert!(matches!(decide("missing", None), Pull(_)));
        assert_eq!(decide("never", Some(0)), Skip);
        assert_eq!(decide("never", None), Refuse);
        assert_eq!(decide("daily", Some(day - 1)), Skip);
        assert!(matches!(decide("daily", Some(day + 1)), Pull(_)));
        assert_eq!(decide("weekly", Some(6 * day)), Skip);
        assert!(matches!(decide("weekly", Some(8 * day)), Pull(_)));
        assert_eq!(decide("every_12h", Some(3600)), Skip);
        assert!(matches!(decide("every_12h", Some(13 * 3600)), Pull(_)));
        assert!(matches!(decide("every_1h30m", None), Pull(_)));
    }
}
