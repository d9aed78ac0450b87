//! Stacks: compose projects berth keeps the file of, and those other tools
//! started, which can be adopted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::StreamExt;
use protocol::run_command::parse_run_command;
use protocol::{
    ComposeCheck, ComposeSnippet, ContainerState, DownOptions, FromCommand, Role, ServiceState,
    StackDetail, StackInput, StackOrigin, StackPlan, StackProgress, StackRevision, StackSummary,
    UpOptions,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{AppPath, Route};
use crate::auth::policy::{audit_stream, AuditTarget};
use crate::auth::{Access, Principal};
use crate::compose::interpolate::parse_env_file;
use crate::compose::spec::{image_of, Context};
use crate::compose::{self, apply, build, plan, ComposeFile};
use crate::engine::{check_reference, Engine, Lifecycle, CONFIG_FILES_LABEL, WORKING_DIR_LABEL};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::store::StackRow;
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);
/// The largest compose file or .env berth takes.
const MAX_FILE: usize = 128 * 1024;

pub fn routes() -> Vec<Route> {
    const S: &str = "/api/v1/endpoints/{ep}/stacks";
    const ONE: &str = "/api/v1/endpoints/{ep}/stacks/{name}";
    vec![
        Route::get(S, VIEWER, "stack.list", "Stacks: berth's own and those other tools started", list),
        Route::post(S, OPERATOR, "stack.create", "Save a new stack (compose file and .env); it is not started", create),
        Route::post("/api/v1/endpoints/{ep}/stacks/validate", VIEWER, "stack.validate", "Check a compose file; errors carry line and column", validate),
        Route::get(ONE, VIEWER, "stack.get", "A stack: its file, .env, services and containers", get),
        Route::put(ONE, OPERATOR, "stack.update", "Save a new revision of the file and .env", update),
        Route::delete(ONE, OPERATOR, "stack.delete", "Take the stack down and forget it (`volumes=true` also removes its volumes)", delete),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/plan", VIEWER, "stack.plan", "What `up` would do (for the saved file, or the file in the body)", plan_route),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/up", OPERATOR, "stack.up", "Create or update the stack's networks, volumes and containers (progress as JSON lines)", up),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/down", OPERATOR, "stack.down", "Remove the stack's containers and networks (`volumes` too when asked)", down),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/restart", OPERATOR, "stack.restart", "Restart every container of the stack", restart),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/stop", OPERATOR, "stack.stop", "Stop every container of the stack", stop),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/start", OPERATOR, "stack.start", "Start every container of the stack", start),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/pull", OPERATOR, "stack.pull", "Pull the images of the stack's services (progress as JSON lines)", pull),
        Route::get("/api/v1/endpoints/{ep}/stacks/{name}/revisions", VIEWER, "stack.revisions", "Every saved revision, newest first", revisions),
        Route::get("/api/v1/endpoints/{ep}/stacks/{name}/diff", VIEWER, "stack.diff", "A unified diff between two revisions (`from`, `to`)", diff),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/adopt", OPERATOR, "stack.adopt", "Take over a stack another tool started: berth keeps its file from now on", adopt),
        Route::post("/api/v1/compose/from-run", VIEWER, "compose.from_run", "A `docker run` line as a compose file", from_run),
        Route::get("/api/v1/endpoints/{ep}/containers/{id}/compose", VIEWER, "container.compose", "A container as a compose file", container_compose),
    ]
}

/// Compose project names: lower-case letters, digits, `-` and `_`.
fn check_stack_name(name: &str) -> AppResult<()> {
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

/// Where a berth stack's files live on the host; relative bind mounts are
/// rooted here, and the compose CLI can be pointed at its compose.yaml.
pub(super) fn stack_dir(state: &AppState, ep: &str, name: &str) -> PathBuf {
    state.config.data_dir.join("stacks").join(ep).join(name)
}

fn absolute(path: PathBuf) -> String {
    std::path::absolute(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

async fn write_files(dir: &PathBuf, compose: &str, env: &str) -> AppResult<()> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
    tokio::fs::write(dir.join("compose.yaml"), compose)
        .await
        .map_err(|e| AppError::internal(format!("cannot write compose.yaml: {e}")))?;
    tokio::fs::write(dir.join(".env"), env)
        .await
        .map_err(|e| AppError::internal(format!("cannot write .env: {e}")))?;
    Ok(())
}

fn check_sizes(input: &StackInput) -> AppResult<()> {
    if input.compose.len() > MAX_FILE || input.env.len() > MAX_FILE {
        return Err(AppError::PayloadTooLarge(format!(
            "a compose file or .env may be at most {} KiB",
            MAX_FILE / 1024
        )));
    }
    Ok(())
}

/// Parses, or answers 400 with every issue (first one in the detail).
fn parse_or_400(compose: &str, env: &str, dir: &str) -> AppResult<ComposeFile> {
    compose::parse(compose, env, dir).map_err(|issues| {
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

fn profiles(env: &str) -> Vec<String> {
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

/// Reads an optional JSON body (empty means the default).
fn optional_body<T: DeserializeOwned + Default>(body: &Bytes) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON for this call: {e}")))
}

async fn list(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
) -> AppResult<AppJson<Vec<StackSummary>>> {
    let engine = state.endpoints.get(&ep)?;
    let rows = state.store.list_stacks(&ep).await?;
    let mut projects = engine.projects().await?;
    let mut out = Vec::new();
    for row in rows {
        let containers = projects.remove(&row.name).unwrap_or_default();
        let services_total = parse_or_400(&row.compose, &row.env, "/")
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
    Ok(AppJson(out))
}

fn summary(
    name: &str,
    origin: StackOrigin,
    containers: &[crate::engine::ProjectContainer],
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

async fn validate(
    AppPath(ep): AppPath<String>,
    AppJson(input): AppJson<StackInput>,
) -> AppResult<AppJson<ComposeCheck>> {
    let _ = ep;
    check_sizes(&input)?;
    let check = match compose::parse(&input.compose, &input.env, "/") {
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
    };
    Ok(AppJson(check))
}

async fn create(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(input): AppJson<StackInput>,
) -> AppResult<Response> {
    state.endpoints.get(&ep)?;
    check_stack_name(&input.name)?;
    check_sizes(&input)?;
    let dir = stack_dir(&state, &ep, &input.name);
    parse_or_400(&input.compose, &input.env, &absolute(dir.clone()))?;
    if state
        .endpoints
        .get(&ep)?
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
        .create_stack(&ep, &input.name, &input.compose, &input.env, &me.username)
        .await?;
    write_files(&dir, &row.compose, &row.env).await?;
    let detail = detail_of(&state, &ep, &input.name).await?;
    let target = Extension(AuditTarget(format!("stack {}", input.name)));
    Ok((StatusCode::CREATED, target, AppJson(detail)).into_response())
}

pub(super) async fn stack_row(state: &AppState, ep: &str, name: &str) -> AppResult<StackRow> {
    check_stack_name(name)?;
    state
        .store
        .stack(ep, name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("berth has no stack {name} on endpoint {ep}")))
}

async fn detail_of(state: &AppState, ep: &str, name: &str) -> AppResult<StackDetail> {
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
        // An external stack: its services as the containers tell them.
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
    let dir = absolute(stack_dir(state, ep, name));
    let file = compose::parse(&row.compose, &row.env, &dir).unwrap_or_default();
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

async fn get(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<StackDetail>> {
    check_stack_name(&name)?;
    Ok(AppJson(detail_of(&state, &ep, &name).await?))
}

async fn update(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppJson(input): AppJson<StackInput>,
) -> AppResult<Response> {
    let row = stack_row(&state, &ep, &name).await?;
    check_sizes(&input)?;
    let dir = stack_dir(&state, &ep, &name);
    parse_or_400(&input.compose, &input.env, &absolute(dir.clone()))?;
    state
        .store
        .save_revision(row.id, &input.compose, &input.env, &me.username)
        .await?;
    write_files(&dir, &input.compose, &input.env).await?;
    let detail = detail_of(&state, &ep, &name).await?;
    Ok((
        Extension(AuditTarget(format!(
            "stack {name} revision {}",
            detail.revision
        ))),
        AppJson(detail),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    volumes: bool,
}

async fn delete(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<DeleteQuery>,
) -> AppResult<Response> {
    let row = stack_row(&state, &ep, &name).await?;
    let engine = state.endpoints.get(&ep)?;
    let order = compose::parse(&row.compose, &row.env, "/")
        .map(|f| f.start_order())
        .unwrap_or_default();
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    apply::down(&engine, &name, &order, q.volumes, &tx).await?;
    drop(tx);
    let _ = drain.await;
    state.store.delete_stack(row.id).await?;
    let _ = tokio::fs::remove_dir_all(stack_dir(&state, &ep, &name)).await;
    Ok((
        StatusCode::NO_CONTENT,
        Extension(AuditTarget(format!("stack {name}"))),
    )
        .into_response())
}

/// The file to plan or deploy: the body's, a revision, or the latest saved.
async fn source(
    state: &AppState,
    ep: &str,
    name: &str,
    body: Option<StackInput>,
    revision: Option<i64>,
) -> AppResult<(StackRow, String, String)> {
    let row = stack_row(state, ep, name).await?;
    if let Some(input) = body.filter(|b| !b.compose.is_empty()) {
        check_sizes(&input)?;
        return Ok((row, input.compose, input.env));
    }
    if let Some(n) = revision {
        let rev = state
            .store
            .stack_revision(row.id, n)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("stack {name} has no revision {n}")))?;
        return Ok((row, rev.compose, rev.env));
    }
    let (c, e) = (row.compose.clone(), row.env.clone());
    Ok((row, c, e))
}

async fn plan_route(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<AppJson<StackPlan>> {
    let input: StackInput = optional_body(&body)?;
    let engine = state.endpoints.get(&ep)?;
    let (_, compose_text, env) = source(&state, &ep, &name, Some(input), None).await?;
    let dir = absolute(stack_dir(&state, &ep, &name));
    let file = parse_or_400(&compose_text, &env, &dir)?;
    let ctx = Context {
        project: &name,
        file: &file,
        working_dir: &dir,
    };
    let services = plan::active_services(&file, &profiles(&env), &[]);
    let full = plan::plan(&engine, &ctx, &services, true).await?;
    Ok(AppJson(full.summary()))
}

/// Streams progress as JSON lines while `work` runs.
fn progress_stream<F>(work: F) -> Response
where
    F: FnOnce(mpsc::Sender<StackProgress>) -> tokio::task::JoinHandle<()>,
{
    let (tx, rx) = mpsc::channel::<StackProgress>(64);
    let _handle = work(tx);
    let items = futures_util::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        Some((item, rx))
    });
    let (items, later) = audit_stream(items, |p| matches!(p, StackProgress::Error { .. }));
    let lines = items.map(|item| {
        let mut line = serde_json::to_vec(&item).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::convert::Infallible>(Bytes::from(line))
    });
    let mut response = Body::from_stream(lines).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response.extensions_mut().insert(later);
    response
}

async fn up(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let opts: UpOptions = optional_body(&body)?;
    let engine = state.endpoints.get(&ep)?;
    let (row, compose_text, env) = source(&state, &ep, &name, None, opts.revision).await?;
    let dir_path = stack_dir(&state, &ep, &name);
    let dir = absolute(dir_path.clone());
    let file = parse_or_400(&compose_text, &env, &dir)?;
    for s in &opts.services {
        if !file.services.contains_key(s) {
            return Err(AppError::BadRequest(format!(
                "the stack has no service {s}"
            )));
        }
    }
    if let Some(n) = opts.revision {
        // A rollback: the old revision becomes the newest.
        state
            .store
            .save_revision(row.id, &compose_text, &env, &me.username)
            .await?;
        write_files(&dir_path, &compose_text, &env).await?;
        tracing::info!(stack = %name, revision = n, "rolling back");
    }
    let services = plan::active_services(&file, &profiles(&env), &opts.services);
    let to_build: Vec<String> = services
        .iter()
        .filter(|s| file.services.get(*s).is_some_and(|s| s.build.is_some()))
        .cloned()
        .collect();
    for s in &to_build {
        if let Some(b) = file.services.get(s).and_then(|s| s.build.as_ref()) {
            build::inside(&dir_path, &b.context).map_err(AppError::BadRequest)?;
        }
    }
    let logins = if to_build.is_empty() {
        Vec::new()
    } else {
        state.store.registry_logins(&state.config.data_dir).await?
    };
    let remove_orphans = opts.remove_orphans && opts.services.is_empty();
    // Without builds the plan is made now, so a bad request fails as a
    // plain 4xx; with builds it has to wait for the new images.
    let early_plan = if to_build.is_empty() {
        let ctx = Context {
            project: &name,
            file: &file,
            working_dir: &dir,
        };
        Some(plan::plan(&engine, &ctx, &services, remove_orphans).await?)
    } else {
        None
    };
    let ctx_name = name.clone();
    let target = Extension(AuditTarget(format!(
        "stack {name} revision {}",
        row.revision
    )));
    let response = progress_stream(move |tx| {
        tokio::spawn(async move {
            for s in &to_build {
                let Some(service) = file.services.get(s) else {
                    continue;
                };
                let tag = image_of(&ctx_name, service);
                if let Err(e) =
                    build::build_service(&engine, &dir_path, service, &tag, logins.clone(), &tx)
                        .await
                {
                    let _ = tx
                        .send(StackProgress::Error {
                            service: Some(s.clone()),
                            message: e.to_string(),
                        })
                        .await;
                    return;
                }
            }
            let ctx = Context {
                project: &ctx_name,
                file: &file,
                working_dir: &dir,
            };
            let full = match early_plan {
                Some(p) => p,
                None => match plan::plan(&engine, &ctx, &services, remove_orphans).await {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx
                            .send(StackProgress::Error {
                                service: None,
                                message: e.to_string(),
                            })
                            .await;
                        return;
                    }
                },
            };
            apply::up(&engine, &ctx, full, &tx).await;
        })
    });
    Ok((target, response).into_response())
}

async fn down(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let opts: DownOptions = optional_body(&body)?;
    check_stack_name(&name)?;
    let engine = state.endpoints.get(&ep)?;
    let order = match state.store.stack(&ep, &name).await? {
        Some(row) => compose::parse(&row.compose, &row.env, "/")
            .map(|f| f.start_order())
            .unwrap_or_default(),
        None if engine.projects().await?.contains_key(&name) => Vec::new(),
        None => {
            return Err(AppError::NotFound(format!(
                "no stack {name} on endpoint {ep}"
            )))
        }
    };
    Ok(progress_stream(move |tx| {
        tokio::spawn(async move {
            match apply::down(&engine, &name, &order, opts.volumes, &tx).await {
                Ok(changed) => {
                    let _ = tx.send(StackProgress::Done { changed }).await;
                }
                Err(e) => {
                    let _ = tx
                        .send(StackProgress::Error {
                            service: None,
                            message: e.to_string(),
                        })
                        .await;
                }
            }
        })
    }))
}

async fn each_container(engine: &Engine, name: &str, action: Lifecycle) -> AppResult<Response> {
    let state = engine.project_state(name).await?;
    if state.containers.is_empty() {
        return Err(AppError::NotFound(format!(
            "stack {name} has no containers"
        )));
    }
    for c in &state.containers {
        engine.container_lifecycle(&c.id, action).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn restart(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    check_stack_name(&name)?;
    let engine = state.endpoints.get(&ep)?;
    each_container(&engine, &name, Lifecycle::Restart).await
}

async fn stop(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    check_stack_name(&name)?;
    let engine = state.endpoints.get(&ep)?;
    each_container(&engine, &name, Lifecycle::Stop).await
}

async fn start(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    check_stack_name(&name)?;
    let engine = state.endpoints.get(&ep)?;
    each_container(&engine, &name, Lifecycle::Start).await
}

async fn revisions(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<Vec<StackRevision>>> {
    let row = stack_row(&state, &ep, &name).await?;
    Ok(AppJson(state.store.stack_revisions(row.id).await?))
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    from: i64,
    to: i64,
}

#[derive(Debug, serde::Serialize)]
struct DiffAnswer {
    from: i64,
    to: i64,
    compose: String,
    env: String,
}

async fn diff(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<DiffQuery>,
) -> AppResult<AppJson<DiffAnswer>> {
    let row = stack_row(&state, &ep, &name).await?;
    let missing = |n: i64| AppError::NotFound(format!("stack {name} has no revision {n}"));
    let a = state
        .store
        .stack_revision(row.id, q.from)
        .await?
        .ok_or_else(|| missing(q.from))?;
    let b = state
        .store
        .stack_revision(row.id, q.to)
        .await?
        .ok_or_else(|| missing(q.to))?;
    Ok(AppJson(DiffAnswer {
        from: q.from,
        to: q.to,
        compose: compose::diff::unified(&a.compose, &b.compose),
        env: compose::diff::unified(&a.env, &b.env),
    }))
}

async fn adopt(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    check_stack_name(&name)?;
    let input: StackInput = optional_body(&body)?;
    check_sizes(&input)?;
    let engine = state.endpoints.get(&ep)?;
    if state.store.stack(&ep, &name).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "berth already manages stack {name}"
        )));
    }
    let projects = engine.projects().await?;
    let Some(containers) = projects.get(&name) else {
        return Err(AppError::NotFound(format!(
            "no containers of a project {name} on endpoint {ep}"
        )));
    };
    let (compose_text, env) = if !input.compose.is_empty() {
        (input.compose, input.env)
    } else {
        // The compose CLI labels its containers with the file it used; read
        // it when berth can see it (same host), else ask for it.
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
                Ok(m) if m.len() as usize <= MAX_FILE => {
                    tokio::fs::read_to_string(&first).await.ok()
                }
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
        let env_path = std::path::Path::new(&first).with_file_name(".env");
        let env = tokio::fs::read_to_string(env_path)
            .await
            .unwrap_or_default();
        (text, env)
    };
    let working_dir = containers
        .iter()
        .find_map(|c| c.labels.get(WORKING_DIR_LABEL).cloned());
    let dir = working_dir
        .clone()
        .unwrap_or_else(|| absolute(stack_dir(&state, &ep, &name)));
    parse_or_400(&compose_text, &env, &dir)?;
    state
        .store
        .create_stack(&ep, &name, &compose_text, &env, &me.username)
        .await?;
    write_files(&stack_dir(&state, &ep, &name), &compose_text, &env).await?;
    let detail = detail_of(&state, &ep, &name).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(format!("stack {name} adopted"))),
        AppJson(detail),
    )
        .into_response())
}

async fn from_run(AppJson(req): AppJson<FromCommand>) -> AppResult<AppJson<ComposeSnippet>> {
    let spec = parse_run_command(&req.command).map_err(|e| AppError::BadRequest(e.message))?;
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
    Ok(AppJson(ComposeSnippet {
        yaml: compose::emit::compose_file(&service, &spec),
        service,
    }))
}

async fn container_compose(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<ComposeSnippet>> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let spec = engine.container_spec(&id).await?;
    let service = spec
        .labels
        .get(protocol::COMPOSE_SERVICE_LABEL)
        .cloned()
        .or_else(|| spec.name.clone())
        .unwrap_or_else(|| "app".into());
    Ok(AppJson(ComposeSnippet {
        yaml: compose::emit::compose_file(&service, &spec),
        service,
    }))
}

async fn pull(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    use protocol::images::{ImageRef, Progress};
    let row = stack_row(&state, &ep, &name).await?;
    let engine = state.endpoints.get(&ep)?;
    let file = parse_or_400(&row.compose, &row.env, "/")?;
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
    Ok(progress_stream(move |tx| {
        tokio::spawn(async move {
            let mut pulled = 0;
            for (service, reference, login) in images {
                let stream = match engine.pull_image(&reference, login).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx
                            .send(StackProgress::Error {
                                service: Some(service),
                                message: e.to_string(),
                            })
                            .await;
                        return;
                    }
                };
                let mut stream = Box::pin(stream);
                while let Some(p) = stream.next().await {
                    let text = match p {
                        Progress::Error { message, .. } => {
                            let _ = tx
                                .send(StackProgress::Error {
                                    service: Some(service.clone()),
                                    message,
                                })
                                .await;
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
        })
    }))
}
