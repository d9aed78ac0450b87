//! Stacks: compose projects berth keeps the file of, and those other tools
//! started, which can be adopted.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::StreamExt;
use protocol::{
    ComposeCheck, ComposeSnippet, DownOptions, FromCommand, Role, StackDetail, StackInput,
    StackPlan, StackProgress, StackRevision, StackSummary, UpOptions,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{redact, AppPath, Route};
use crate::auth::policy::{audit_stream, AuditTarget};
use crate::auth::{Access, Principal};
use crate::engine::Lifecycle;
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::limits::Limits;
use crate::stacks::{self, adopt, deploy, snippet, RevisionDiff};
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);
/// Adopt reads a file a container label names: admins only.
const ADMIN: Access = Access::AtLeast(Role::Admin);

pub fn routes() -> Vec<Route> {
    const S: &str = "/api/v1/endpoints/{ep}/stacks";
    const ONE: &str = "/api/v1/endpoints/{ep}/stacks/{name}";
    vec![
        Route::get(S, VIEWER, "stack.list", "Stacks: berth's own and those other tools started", list).returns::<Vec<protocol::StackSummary>>(200),
        Route::post(S, OPERATOR, "stack.create", "Save a new stack (compose file and .env); it is not started", create).body::<protocol::StackInput>().returns::<protocol::StackDetail>(201).errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/validate", VIEWER, "stack.validate", "Check a compose file (and, for a non-admin, what the endpoint's policy would refuse of it); errors carry line and column", validate).body::<protocol::StackInput>().returns::<protocol::ComposeCheck>(200).unaudited(),
        Route::get(ONE, VIEWER, "stack.get", "A stack: its file, .env, services and containers", get).returns::<protocol::StackDetail>(200),
        Route::get("/api/v1/endpoints/{ep}/stacks/{name}/config", VIEWER, "stack.config", "The stack's file as berth resolves it (interpolation, override file, include, extends, anchors), as `docker compose config` prints it, with its warnings", config).returns::<protocol::StackConfig>(200),
        Route::put(ONE, OPERATOR, "stack.update", "Save a new revision of the file and .env", update).body::<protocol::StackInput>().returns::<protocol::StackDetail>(200).errors(&[409]),
        Route::delete(ONE, OPERATOR, "stack.delete", "Take the stack down and forget it (`volumes=true` also removes its volumes)", delete).query::<DeleteQuery>().no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/plan", VIEWER, "stack.plan", "What `up` would do (for the saved file, or the file in the body)", plan_route).optional_body::<protocol::StackInput>().returns::<protocol::StackPlan>(200),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/up", OPERATOR, "stack.up", "Create or update the stack's networks, volumes and containers (progress as JSON lines)", up).optional_body::<protocol::UpOptions>().streams::<protocol::StackProgress>().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/down", OPERATOR, "stack.down", "Remove the stack's containers and networks (`volumes` too when asked)", down).optional_body::<protocol::DownOptions>().streams::<protocol::StackProgress>().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/restart", OPERATOR, "stack.restart", "Restart every container of the stack", restart).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/stop", OPERATOR, "stack.stop", "Stop every container of the stack", stop).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/start", OPERATOR, "stack.start", "Start every container of the stack", start).no_content().errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/pull", OPERATOR, "stack.pull", "Pull the images of the stack's services (progress as JSON lines)", pull).streams::<protocol::StackProgress>().errors(&[409]),
        Route::get("/api/v1/endpoints/{ep}/stacks/{name}/revisions", VIEWER, "stack.revisions", "Every saved revision, newest first", revisions).returns::<Vec<protocol::StackRevision>>(200),
        Route::get("/api/v1/endpoints/{ep}/stacks/{name}/diff", VIEWER, "stack.diff", "A unified diff between two revisions (`from`, `to`)", diff).query::<DiffQuery>().returns::<crate::stacks::RevisionDiff>(200),
        Route::post("/api/v1/endpoints/{ep}/stacks/{name}/adopt", ADMIN, "stack.adopt", "Take over a stack another tool started: berth keeps its file from now on (read from where its labels say only inside the project's labelled working directory)", adopt).optional_body::<protocol::StackInput>().returns::<protocol::StackDetail>(201).errors(&[409]),
        Route::post("/api/v1/compose/from-run", VIEWER, "compose.from_run", "A `docker run` line as a compose file", from_run).body::<protocol::FromCommand>().returns::<protocol::ComposeSnippet>(200),
        Route::get("/api/v1/endpoints/{ep}/containers/{id}/compose", VIEWER, "container.compose", "A container as a compose file", container_compose).returns::<protocol::ComposeSnippet>(200),
    ]
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
    Ok(AppJson(stacks::list(&state, &ep).await?))
}

async fn validate(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(input): AppJson<StackInput>,
) -> AppResult<AppJson<ComposeCheck>> {
    Ok(AppJson(
        stacks::validate_for(&state, &ep, &input, &me).await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(input): AppJson<StackInput>,
) -> AppResult<Response> {
    let detail = stacks::create(&state, &ep, &input, &me).await?;
    let target = Extension(AuditTarget(format!("stack {}", input.name)));
    Ok((StatusCode::CREATED, target, AppJson(detail)).into_response())
}

async fn get(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<StackDetail>> {
    let mut detail = stacks::detail(&state, &ep, &name).await?;
    if redact::hides_values(&me) {
        redact::stack_detail(&mut detail, &stacks::working_dir(&state, &ep, &name));
    }
    Ok(AppJson(detail))
}

async fn config(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<protocol::StackConfig>> {
    let mut config = stacks::config(&state, &ep, &name).await?;
    if redact::hides_values(&me) {
        // The values the resolved file may print: the current file's.
        let detail = stacks::detail(&state, &ep, &name).await?;
        let dir = stacks::working_dir(&state, &ep, &name);
        let values = redact::stack_values(&detail.compose, &detail.env, &dir);
        redact::config(&mut config, &values);
    }
    Ok(AppJson(config))
}

async fn update(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppJson(input): AppJson<StackInput>,
) -> AppResult<Response> {
    let detail = stacks::update(&state, &ep, &name, &input, &me).await?;
    Ok((
        Extension(AuditTarget(format!(
            "stack {name} revision {}",
            detail.revision
        ))),
        AppJson(detail),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
struct DeleteQuery {
    #[serde(default)]
    volumes: bool,
}

async fn delete(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<DeleteQuery>,
) -> AppResult<Response> {
    deploy::delete(&state, &ep, &name, q.volumes).await?;
    Ok((
        StatusCode::NO_CONTENT,
        Extension(AuditTarget(format!("stack {name}"))),
    )
        .into_response())
}

async fn plan_route(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<AppJson<StackPlan>> {
    let input: StackInput = optional_body(&body)?;
    Ok(AppJson(stacks::plan(&state, &ep, &name, input).await?))
}

/// Streams progress as JSON lines while `work` runs (spawned: it goes on
/// when the client stops reading, and its outcome is audited at the end).
fn progress_stream<F, Fut>(work: F) -> Response
where
    F: FnOnce(mpsc::Sender<StackProgress>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<StackProgress>(64);
    // The work starts when the answer's body is first read: after the
    // policy middleware has written the call's audit row, so a crash can
    // never leave the engine changed by a call the log does not name.
    let work = work(tx);
    let items = futures_util::stream::unfold((rx, Some(work)), |(mut rx, work)| async move {
        if let Some(work) = work {
            tokio::spawn(work);
        }
        let item = rx.recv().await?;
        Some((item, (rx, None)))
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

/// A deploy that builds or pulls images, and a stack's pull, take a place
/// among the user's image tasks (`limits::Limits::tasks`) before they start,
/// and keeps it while the work runs. The work goes on when the client goes
/// away, and so does its place: leaving is no way past the cap.
async fn up(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let opts: UpOptions = optional_body(&body)?;
    let deployment = deploy::prepare(&state, &ep, &name, &opts, &me).await?;
    let slot = if deployment.builds_or_pulls() {
        let what = format!("deploy of stack {name}");
        Some(limits.tasks.acquire(me.user_id, what)?)
    } else {
        None
    };
    let target = Extension(AuditTarget(format!(
        "stack {name} revision {}",
        deployment.revision
    )));
    let work = |tx| async move {
        deployment.run(tx).await;
        drop(slot);
    };
    Ok((target, progress_stream(work)).into_response())
}

async fn down(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let opts: DownOptions = optional_body(&body)?;
    let teardown = deploy::down(&state, &ep, &name, &opts).await?;
    Ok(progress_stream(|tx| teardown.run(tx)))
}

async fn each_container(
    state: AppState,
    ep: String,
    name: String,
    action: Lifecycle,
) -> AppResult<Response> {
    deploy::each_container(&state, &ep, &name, action).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn restart(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    each_container(state, ep, name, Lifecycle::Restart).await
}

async fn stop(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    each_container(state, ep, name, Lifecycle::Stop).await
}

async fn start(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    each_container(state, ep, name, Lifecycle::Start).await
}

async fn revisions(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<Vec<StackRevision>>> {
    let mut revisions = stacks::revisions(&state, &ep, &name).await?;
    if redact::hides_values(&me) {
        let dir = stacks::working_dir(&state, &ep, &name);
        for rev in &mut revisions {
            redact::revision(rev, &dir);
        }
    }
    Ok(AppJson(revisions))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct DiffQuery {
    from: i64,
    to: i64,
}

async fn diff(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<DiffQuery>,
) -> AppResult<AppJson<RevisionDiff>> {
    let diff = stacks::diff(&state, &ep, &name, q.from, q.to).await?;
    if !redact::hides_values(&me) {
        return Ok(AppJson(diff));
    }
    // A diff's lines lose the structure masking needs: diff the masked
    // revisions instead.
    let dir = stacks::working_dir(&state, &ep, &name);
    let mut revisions = stacks::revisions(&state, &ep, &name).await?;
    for rev in &mut revisions {
        redact::revision(rev, &dir);
    }
    let find = |n: i64| {
        revisions
            .iter()
            .find(|r| r.number == n)
            .ok_or_else(|| AppError::NotFound(format!("stack {name} has no revision {n}")))
    };
    let (a, b) = (find(q.from)?, find(q.to)?);
    Ok(AppJson(RevisionDiff {
        from: q.from,
        to: q.to,
        compose: crate::compose::diff::unified(&a.compose, &b.compose),
        env: crate::compose::diff::unified(&a.env, &b.env),
    }))
}

async fn adopt(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    stacks::check_name(&name)?;
    let input: StackInput = optional_body(&body)?;
    let detail = adopt::adopt(&state, &ep, &name, input, &me).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(format!("stack {name} adopted"))),
        AppJson(detail),
    )
        .into_response())
}

async fn from_run(AppJson(req): AppJson<FromCommand>) -> AppResult<AppJson<ComposeSnippet>> {
    Ok(AppJson(snippet::from_run(&req.command)?))
}

async fn container_compose(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<ComposeSnippet>> {
    let mut snippet = snippet::from_container(&state, &ep, &id).await?;
    if redact::hides_values(&me) {
        redact::snippet(&mut snippet);
    }
    Ok(AppJson(snippet))
}

async fn pull(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<Response> {
    let slot = limits
        .tasks
        .acquire(me.user_id, format!("pull of stack {name}"))?;
    let pull = deploy::pull(&state, &ep, &name).await?;
    let work = |tx| async move {
        pull.run(tx).await;
        drop(slot);
    };
    Ok(progress_stream(work))
}
