//! The one typed client for berth's REST API: every HTTP call of the app goes
//! through here, with same-origin relative URLs and the session cookie, and
//! every failure comes back as an [`ApiError`] parsed from problem+json.

use gloo_net::http::{Request, RequestBuilder, Response};
use protocol::{
    ApiToken, ContainerDetail, ContainerSummary, CreatedToken, Endpoint, EngineInfo, LoginRequest,
    NewToken, NewUser, Problem, Role, SessionInfo, SetupRequest, SetupStatus, User, UserPatch,
};
use serde::{de::DeserializeOwned, Serialize};
use web_sys::RequestCredentials;

/// The window event sent when the server answers 401: the app listens for it
/// and sends the user to the sign-in page.
pub const UNAUTHORIZED_EVENT: &str = "berth:unauthorized";

/// A failed call: the problem+json body, or what stood in for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status; 0 when the request never got an answer.
    pub status: u16,
    pub title: String,
    pub detail: String,
}

impl ApiError {
    pub(crate) fn network(err: impl std::fmt::Display) -> Self {
        ApiError {
            status: 0,
            title: "Network error".into(),
            detail: format!("berth did not answer: {err}"),
        }
    }

    fn decode(err: impl std::fmt::Display) -> Self {
        ApiError {
            status: 0,
            title: "Unexpected answer".into(),
            detail: format!("the server's answer could not be read: {err}"),
        }
    }

    /// The most useful single line for a toast or an inline error.
    pub fn message(&self) -> String {
        if self.detail.is_empty() {
            self.title.clone()
        } else {
            self.detail.clone()
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// The endpoint's engine could not be reached.
    pub fn is_unavailable(&self) -> bool {
        self.status == 503
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Whether a 401 answer means "your session is gone" (redirect to sign-in) or
/// is the expected answer of the call itself (wrong password).
#[derive(Clone, Copy, PartialEq, Eq)]
enum On401 {
    SignIn,
    Report,
}

fn encode(segment: &str) -> String {
    String::from(js_sys::encode_uri_component(segment))
}

async fn send(
    builder: RequestBuilder,
    body: Option<String>,
    on401: On401,
) -> Result<Response, ApiError> {
    let builder = builder
        .credentials(RequestCredentials::SameOrigin)
        .header("Accept", "application/json");
    let request = match body {
        Some(json) => builder
            .header("Content-Type", "application/json")
            .body(json),
        None => builder.build(),
    }
    .map_err(ApiError::network)?;
    let response = request.send().await.map_err(ApiError::network)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    if status == 401 && on401 == On401::SignIn {
        announce_unauthorized();
    }
    let text = response.text().await.unwrap_or_default();
    Err(parse_problem(status, &response.status_text(), &text))
}

fn announce_unauthorized() {
    if let Ok(event) = web_sys::Event::new(UNAUTHORIZED_EVENT) {
        let _ = leptos::prelude::window().dispatch_event(&event);
    }
}

fn to_json<B: Serialize>(body: &B) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(ApiError::decode)
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let text = response.text().await.map_err(ApiError::network)?;
    serde_json::from_str(&text).map_err(ApiError::decode)
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    read(send(Request::get(url), None, On401::SignIn).await?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
    on401: On401,
) -> Result<T, ApiError> {
    read(send(Request::post(url), Some(to_json(body)?), on401).await?).await
}

/// A POST without a body whose answer carries none either (204).
async fn post_empty(url: &str) -> Result<(), ApiError> {
    send(Request::post(url), None, On401::SignIn)
        .await
        .map(drop)
}

async fn delete(url: &str) -> Result<(), ApiError> {
    send(Request::delete(url), None, On401::SignIn)
        .await
        .map(drop)
}

// ------------------------------------------------------------ session

pub async fn setup_status() -> Result<SetupStatus, ApiError> {
    read(send(Request::get("/api/v1/setup"), None, On401::Report).await?).await
}

pub async fn setup(req: &SetupRequest) -> Result<SessionInfo, ApiError> {
    post("/api/v1/setup", req, On401::Report).await
}

pub async fn login(req: &LoginRequest) -> Result<SessionInfo, ApiError> {
    post("/api/v1/auth/login", req, On401::Report).await
}

pub async fn logout() -> Result<(), ApiError> {
    send(Request::post("/api/v1/auth/logout"), None, On401::Report)
        .await
        .map(drop)
}

/// Who is signed in; a 401 here is reported, not redirected, so the caller
/// decides where to go.
pub async fn me() -> Result<SessionInfo, ApiError> {
    read(send(Request::get("/api/v1/me"), None, On401::Report).await?).await
}

// ------------------------------------------------------------ people

/// The audit log, newest first: `actor` and `action` match exactly,
/// `target` is a substring; at most `limit` rows (the server caps it).
pub async fn audit(
    actor: &str,
    action: &str,
    target: &str,
    limit: u32,
) -> Result<Vec<protocol::AuditEntry>, ApiError> {
    let mut url = format!("/api/v1/audit?limit={limit}");
    for (key, value) in [("actor", actor), ("action", action), ("target", target)] {
        let value = value.trim();
        if !value.is_empty() {
            url.push_str(&format!("&{key}={}", encode(value)));
        }
    }
    get(&url).await
}

pub async fn users() -> Result<Vec<User>, ApiError> {
    get("/api/v1/users").await
}

pub async fn create_user(user: &NewUser) -> Result<User, ApiError> {
    post("/api/v1/users", user, On401::SignIn).await
}

pub async fn set_user_role(id: i64, role: Role) -> Result<User, ApiError> {
    let patch = UserPatch {
        role: Some(role),
        ..UserPatch::default()
    };
    let url = format!("/api/v1/users/{id}");
    read(send(Request::patch(&url), Some(to_json(&patch)?), On401::SignIn).await?).await
}

pub async fn delete_user(id: i64) -> Result<(), ApiError> {
    delete(&format!("/api/v1/users/{id}")).await
}

/// Disables a user (they cannot sign in; their sessions, tokens and
/// sockets stop at once) or enables them again.
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<User, ApiError> {
    let patch = UserPatch {
        disabled: Some(disabled),
        ..UserPatch::default()
    };
    let url = format!("/api/v1/users/{id}");
    read(send(Request::patch(&url), Some(to_json(&patch)?), On401::SignIn).await?).await
}

// ------------------------------------------------------------ teams (issue 10)

pub async fn teams() -> Result<Vec<protocol::Team>, ApiError> {
    get("/api/v1/teams").await
}

pub async fn create_team(name: &str) -> Result<protocol::Team, ApiError> {
    let body = protocol::NewTeam {
        name: name.to_owned(),
    };
    post("/api/v1/teams", &body, On401::SignIn).await
}

pub async fn delete_team(id: i64) -> Result<(), ApiError> {
    delete(&format!("/api/v1/teams/{id}")).await
}

/// Adds a user to a team; answers with the team as it now is.
pub async fn add_team_member(team: i64, user: i64) -> Result<protocol::Team, ApiError> {
    let url = format!("/api/v1/teams/{team}/members/{user}");
    read(send(Request::put(&url), None, On401::SignIn).await?).await
}

/// Takes a user out of a team; answers with the team as it now is.
pub async fn remove_team_member(team: i64, user: i64) -> Result<protocol::Team, ApiError> {
    let url = format!("/api/v1/teams/{team}/members/{user}");
    read(send(Request::delete(&url), None, On401::SignIn).await?).await
}

pub async fn tokens() -> Result<Vec<ApiToken>, ApiError> {
    get("/api/v1/tokens").await
}

pub async fn create_token(body: &NewToken) -> Result<CreatedToken, ApiError> {
    post("/api/v1/tokens", body, On401::SignIn).await
}

pub async fn delete_token(id: i64) -> Result<(), ApiError> {
    delete(&format!("/api/v1/tokens/{id}")).await
}

// ------------------------------------------------------------ endpoints

pub async fn endpoints() -> Result<Vec<Endpoint>, ApiError> {
    get("/api/v1/endpoints").await
}

pub async fn engine_info(ep: &str) -> Result<EngineInfo, ApiError> {
    get(&format!("/api/v1/endpoints/{}/info", encode(ep))).await
}

/// What non-admins may use on the endpoint (admins only).
pub async fn endpoint_policy(ep: &str) -> Result<protocol::EndpointPolicy, ApiError> {
    get(&format!("/api/v1/endpoints/{}/policy", encode(ep))).await
}

/// Replaces the endpoint's policy and answers with the one kept; a 400's
/// detail names the field it refuses.
pub async fn set_endpoint_policy(
    ep: &str,
    policy: &protocol::EndpointPolicy,
) -> Result<protocol::EndpointPolicy, ApiError> {
    put(&format!("/api/v1/endpoints/{}/policy", encode(ep)), policy).await
}

/// Who may reach the endpoint besides admins (admins only).
pub async fn endpoint_access(ep: &str) -> Result<protocol::EndpointAccess, ApiError> {
    get(&format!("/api/v1/endpoints/{}/access", encode(ep))).await
}

/// Replaces the endpoint's grants; a 400's detail names the bad grant.
pub async fn set_endpoint_access(
    ep: &str,
    access: &protocol::EndpointAccess,
) -> Result<protocol::EndpointAccess, ApiError> {
    put(&format!("/api/v1/endpoints/{}/access", encode(ep)), access).await
}

// ------------------------------------------------------------ containers

/// What can be done to a container with a bodiless POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    Start,
    Stop,
    Restart,
}

impl ContainerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerAction::Start => "start",
            ContainerAction::Stop => "stop",
            ContainerAction::Restart => "restart",
        }
    }

    /// The button's word: "Start", "Stop", "Restart".
    pub fn label(self) -> &'static str {
        match self {
            ContainerAction::Start => "Start",
            ContainerAction::Stop => "Stop",
            ContainerAction::Restart => "Restart",
        }
    }

    /// What the container became, for the confirmation toast.
    pub fn done(self) -> &'static str {
        match self {
            ContainerAction::Start => "started",
            ContainerAction::Stop => "stopped",
            ContainerAction::Restart => "restarted",
        }
    }
}

fn container_url(ep: &str, id: &str) -> String {
    format!("/api/v1/endpoints/{}/containers/{}", encode(ep), encode(id))
}

pub async fn containers(ep: &str) -> Result<Vec<ContainerSummary>, ApiError> {
    get(&format!(
        "/api/v1/endpoints/{}/containers?all=true",
        encode(ep)
    ))
    .await
}

pub async fn container(ep: &str, id: &str) -> Result<ContainerDetail, ApiError> {
    get(&container_url(ep, id)).await
}

pub async fn container_action(ep: &str, id: &str, action: ContainerAction) -> Result<(), ApiError> {
    post_empty(&format!("{}/{}", container_url(ep, id), action.as_str())).await
}

/// Removes a container; `force` is needed while it runs.
pub async fn remove_container(ep: &str, id: &str, force: bool) -> Result<(), ApiError> {
    let mut url = container_url(ep, id);
    if force {
        url.push_str("?force=true");
    }
    delete(&url).await
}

// ------------------------------------------------------------ running containers (issue 3)

async fn put<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiError> {
    read(send(Request::put(url), Some(to_json(body)?), On401::SignIn).await?).await
}

/// A POST with a JSON body whose answer carries none (204).
async fn post_unit<B: Serialize>(url: &str, body: &B) -> Result<(), ApiError> {
    send(Request::post(url), Some(to_json(body)?), On401::SignIn)
        .await
        .map(drop)
}

fn endpoint_url(ep: &str, rest: &str) -> String {
    format!("/api/v1/endpoints/{}/{rest}", encode(ep))
}

/// Creates (and, when `spec.start`, starts) a container: 201.
pub async fn create_container(
    ep: &str,
    spec: &protocol::ContainerSpec,
) -> Result<protocol::CreatedContainer, ApiError> {
    post(&endpoint_url(ep, "containers"), spec, On401::SignIn).await
}

/// What the endpoint's policy would refuse of `spec` for the caller, field
/// by field; empty when it may run (always, for admins). Not audited.
pub async fn check_container(
    ep: &str,
    spec: &protocol::ContainerSpec,
) -> Result<protocol::PolicyCheck, ApiError> {
    post(&endpoint_url(ep, "containers/check"), spec, On401::SignIn).await
}

/// Creates a container from a `docker run ...` line.
pub async fn create_from_command(
    ep: &str,
    command: &str,
    start: bool,
) -> Result<protocol::CreatedContainer, ApiError> {
    let body = protocol::FromCommand {
        command: command.to_owned(),
        start,
    };
    post(
        &endpoint_url(ep, "containers/from-command"),
        &body,
        On401::SignIn,
    )
    .await
}

/// The settings that would create this container again (duplicate, edit).
pub async fn container_spec(ep: &str, id: &str) -> Result<protocol::ContainerSpec, ApiError> {
    get(&format!("{}/spec", container_url(ep, id))).await
}

/// Recreates a container under the same name with new settings; on failure
/// the old one is kept.
pub async fn recreate_container(
    ep: &str,
    id: &str,
    spec: &protocol::ContainerSpec,
) -> Result<protocol::CreatedContainer, ApiError> {
    put(&container_url(ep, id), spec).await
}

/// A bodiless lifecycle POST by its verb: `pause`, `unpause`, ...
pub async fn container_verb(ep: &str, id: &str, verb: &str) -> Result<(), ApiError> {
    post_empty(&format!("{}/{verb}", container_url(ep, id))).await
}

/// Sends a signal (`SIGKILL` when `None`).
pub async fn kill_container(ep: &str, id: &str, signal: Option<&str>) -> Result<(), ApiError> {
    let mut url = format!("{}/kill", container_url(ep, id));
    if let Some(signal) = signal.filter(|s| !s.is_empty()) {
        url.push_str("?signal=");
        url.push_str(&encode(signal));
    }
    post_empty(&url).await
}

pub async fn rename_container(ep: &str, id: &str, name: &str) -> Result<(), ApiError> {
    let body = protocol::RenameRequest {
        name: name.to_owned(),
    };
    post_unit(&format!("{}/rename", container_url(ep, id)), &body).await
}

/// Removes a container, with force and/or its anonymous volumes.
pub async fn remove_container_with(
    ep: &str,
    id: &str,
    force: bool,
    volumes: bool,
) -> Result<(), ApiError> {
    let mut url = container_url(ep, id);
    let mut sep = '?';
    if force {
        url.push_str("?force=true");
        sep = '&';
    }
    if volumes {
        url.push(sep);
        url.push_str("volumes=true");
    }
    delete(&url).await
}

/// One action on many containers; each gets its own result.
pub async fn bulk_containers(
    ep: &str,
    request: &protocol::BulkRequest,
) -> Result<Vec<protocol::BulkResult>, ApiError> {
    post(&endpoint_url(ep, "containers/bulk"), request, On401::SignIn).await
}

/// The tags of the endpoint's local images, for the image picker. The images
/// API may not exist yet; the caller treats any failure as "no suggestions".
pub async fn image_tags(ep: &str) -> Result<Vec<String>, ApiError> {
    let list: Vec<serde_json::Value> = get(&endpoint_url(ep, "images")).await?;
    let mut tags: Vec<String> = list
        .iter()
        .flat_map(|image| {
            ["tags", "repo_tags", "RepoTags"]
                .iter()
                .filter_map(|key| image.get(*key).and_then(|v| v.as_array()))
                .flatten()
                .filter_map(|t| t.as_str())
                .filter(|t| !t.is_empty() && !t.contains("<none>"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    tags.sort();
    tags.dedup();
    Ok(tags)
}

// ------------------------------------------------------------ volumes

pub async fn volumes(ep: &str) -> Result<Vec<protocol::VolumeSummary>, ApiError> {
    get(&endpoint_url(ep, "volumes")).await
}

pub async fn volume(ep: &str, name: &str) -> Result<protocol::VolumeSummary, ApiError> {
    get(&endpoint_url(ep, &format!("volumes/{}", encode(name)))).await
}

pub async fn create_volume(
    ep: &str,
    volume: &protocol::NewVolume,
) -> Result<protocol::VolumeSummary, ApiError> {
    post(&endpoint_url(ep, "volumes"), volume, On401::SignIn).await
}

/// Removes a volume; 409 names the containers still using it.
pub async fn delete_volume(ep: &str, name: &str) -> Result<(), ApiError> {
    delete(&endpoint_url(ep, &format!("volumes/{}", encode(name)))).await
}

pub async fn prune_volumes(ep: &str) -> Result<protocol::PruneReport, ApiError> {
    let url = endpoint_url(ep, "volumes/prune");
    read(send(Request::post(&url), None, On401::SignIn).await?).await
}

// ------------------------------------------------------------ networks

pub async fn networks(ep: &str) -> Result<Vec<protocol::NetworkSummary>, ApiError> {
    get(&endpoint_url(ep, "networks")).await
}

pub async fn create_network(
    ep: &str,
    network: &protocol::NewNetwork,
) -> Result<protocol::NetworkSummary, ApiError> {
    post(&endpoint_url(ep, "networks"), network, On401::SignIn).await
}

/// Removes a network; 409 while containers are attached.
pub async fn delete_network(ep: &str, id: &str) -> Result<(), ApiError> {
    delete(&endpoint_url(ep, &format!("networks/{}", encode(id)))).await
}

pub async fn connect_network(
    ep: &str,
    id: &str,
    connection: &protocol::NetworkConnection,
) -> Result<(), ApiError> {
    let url = endpoint_url(ep, &format!("networks/{}/connect", encode(id)));
    post_unit(&url, connection).await
}

pub async fn disconnect_network(
    ep: &str,
    id: &str,
    connection: &protocol::NetworkConnection,
) -> Result<(), ApiError> {
    let url = endpoint_url(ep, &format!("networks/{}/disconnect", encode(id)));
    post_unit(&url, connection).await
}

// ------------------------------------------------------------ ports, disk

pub async fn ports(ep: &str) -> Result<Vec<protocol::PortMapping>, ApiError> {
    get(&endpoint_url(ep, "ports")).await
}

pub async fn disk_usage(ep: &str) -> Result<protocol::DiskUsage, ApiError> {
    get(&endpoint_url(ep, "disk-usage")).await
}

// ------------------------------------------------------------ stacks (issue 6)

fn stack_url(ep: &str, name: &str, rest: &str) -> String {
    let base = endpoint_url(ep, &format!("stacks/{}", encode(name)));
    if rest.is_empty() {
        base
    } else {
        format!("{base}/{rest}")
    }
}

/// A POST whose JSON body may be absent (an empty body means "the default").
async fn post_maybe<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let body = body.map(to_json).transpose()?;
    read(send(Request::post(url), body, On401::SignIn).await?).await
}

/// Two revisions compared: unified diffs of the compose file and the `.env`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct StackDiff {
    pub from: i64,
    pub to: i64,
    pub compose: String,
    pub env: String,
}

pub async fn stacks(ep: &str) -> Result<Vec<protocol::StackSummary>, ApiError> {
    get(&endpoint_url(ep, "stacks")).await
}

pub async fn stack(ep: &str, name: &str) -> Result<protocol::StackDetail, ApiError> {
    get(&stack_url(ep, name, "")).await
}

/// Saves a new stack (not started): 201.
pub async fn create_stack(
    ep: &str,
    input: &protocol::StackInput,
) -> Result<protocol::StackDetail, ApiError> {
    post(&endpoint_url(ep, "stacks"), input, On401::SignIn).await
}

/// Saves a new revision of the file and `.env`.
pub async fn update_stack(
    ep: &str,
    name: &str,
    input: &protocol::StackInput,
) -> Result<protocol::StackDetail, ApiError> {
    put(&stack_url(ep, name, ""), input).await
}

/// The files in the stack's folder besides its compose file and `.env`.
pub async fn stack_files(ep: &str, name: &str) -> Result<protocol::StackFiles, ApiError> {
    get(&stack_url(ep, name, "files")).await
}

/// Unpacks a tar (a `Blob` or `File`, gzip allowed) into the stack's
/// folder, under `into` when it is not empty.
pub async fn upload_stack_files(
    ep: &str,
    name: &str,
    into: &str,
    archive: &wasm_bindgen::JsValue,
    on_sent: impl Fn(crate::xhr::Sent) + 'static,
) -> Result<protocol::StackUpload, ApiError> {
    let mut url = stack_url(ep, name, "files");
    if !into.is_empty() {
        url.push_str(&format!("?into={}", encode(into)));
    }
    crate::xhr::send_json("PUT", &url, "application/x-tar", archive, on_sent).await
}

/// Removes a file or a folder from the stack's folder.
pub async fn remove_stack_file(ep: &str, name: &str, path: &str) -> Result<(), ApiError> {
    delete(&format!(
        "{}?path={}",
        stack_url(ep, name, "files"),
        encode(path)
    ))
    .await
}

/// Takes the stack down and forgets it; `volumes` removes its volumes too.
pub async fn delete_stack(ep: &str, name: &str, volumes: bool) -> Result<(), ApiError> {
    let mut url = stack_url(ep, name, "");
    if volumes {
        url.push_str("?volumes=true");
    }
    delete(&url).await
}

pub async fn validate_stack(
    ep: &str,
    compose: &str,
    env: &str,
) -> Result<protocol::ComposeCheck, ApiError> {
    let body = protocol::StackInput {
        name: String::new(),
        compose: compose.to_owned(),
        env: env.to_owned(),
    };
    post(&endpoint_url(ep, "stacks/validate"), &body, On401::SignIn).await
}

/// What `up` would do: for the saved file, or for `draft` (unsaved edits).
pub async fn plan_stack(
    ep: &str,
    name: &str,
    draft: Option<&protocol::StackInput>,
) -> Result<protocol::StackPlan, ApiError> {
    post_maybe(&stack_url(ep, name, "plan"), draft).await
}

/// The stack's saved file as berth resolves it (`.env` interpolated,
/// anchors and merge keys expanded, profiles applied), with its warnings.
pub async fn stack_config(ep: &str, name: &str) -> Result<protocol::StackConfig, ApiError> {
    get(&stack_url(ep, name, "config")).await
}

/// `restart`, `stop` or `start` every container of the stack (204).
pub async fn stack_verb(ep: &str, name: &str, verb: &str) -> Result<(), ApiError> {
    post_empty(&stack_url(ep, name, verb)).await
}

pub async fn stack_revisions(
    ep: &str,
    name: &str,
) -> Result<Vec<protocol::StackRevision>, ApiError> {
    get(&stack_url(ep, name, "revisions")).await
}

pub async fn stack_diff(ep: &str, name: &str, from: i64, to: i64) -> Result<StackDiff, ApiError> {
    get(&stack_url(ep, name, &format!("diff?from={from}&to={to}"))).await
}

/// Takes over a stack another tool started. Without `input` berth reads the
/// compose file the containers' labels name; a 400 asks for it instead.
pub async fn adopt_stack(
    ep: &str,
    name: &str,
    input: Option<&protocol::StackInput>,
) -> Result<protocol::StackDetail, ApiError> {
    post_maybe(&stack_url(ep, name, "adopt"), input).await
}

/// A `docker run ...` line as a compose file.
pub async fn compose_from_run(command: &str) -> Result<protocol::ComposeSnippet, ApiError> {
    let body = protocol::FromCommand {
        command: command.to_owned(),
        start: false,
    };
    post("/api/v1/compose/from-run", &body, On401::SignIn).await
}

/// A container's settings as a compose file.
pub async fn container_compose(ep: &str, id: &str) -> Result<protocol::ComposeSnippet, ApiError> {
    get(&format!("{}/compose", container_url(ep, id))).await
}

/// Starts `up` or `down` (`verb`) and hands back the open response, whose
/// body streams `StackProgress` JSON lines. A refusal before the work starts
/// (a bad file, a missing revision) comes back as the usual [`ApiError`].
pub async fn stack_stream<B: Serialize>(
    ep: &str,
    name: &str,
    verb: &str,
    body: &B,
) -> Result<Response, ApiError> {
    send(
        Request::post(&stack_url(ep, name, verb)),
        Some(to_json(body)?),
        On401::SignIn,
    )
    .await
}

// ------------------------------------------------------------ images, registries (issue 5)

fn image_url(ep: &str, id: &str, rest: &str) -> String {
    let base = endpoint_url(ep, &format!("images/{}", encode(id)));
    if rest.is_empty() {
        base
    } else {
        format!("{base}/{rest}")
    }
}

/// Whether a 401 says the caller's own session (or token) is gone, rather
/// than a registry refusing a login: berth's auth says "sign in first".
fn session_gone(error: &ApiError) -> bool {
    error.status == 401
        && matches!(
            error.detail.as_str(),
            "sign in first" | "the API token is not valid"
        )
}

/// [`send`] for calls whose own 401 means "the registry refused the login"
/// (registries, pull, push): that 401 comes back as an error to show, not a
/// trip to the sign-in page; one that says the session is gone still is.
async fn send_no_redirect(
    builder: RequestBuilder,
    body: Option<String>,
) -> Result<Response, ApiError> {
    let result = send(builder, body, On401::Report).await;
    if let Err(e) = &result {
        if session_gone(e) {
            announce_unauthorized();
        }
    }
    result
}

/// The error of a failed answer, from its problem+json.
/// A failed answer as an [`ApiError`]: its problem+json, else its status
/// line. A lost session is announced (the app sends you to sign in).
pub(crate) fn problem_of(status: u16, status_text: &str, text: &str) -> ApiError {
    let error = parse_problem(status, status_text, text);
    if session_gone(&error) {
        announce_unauthorized();
    }
    error
}

fn parse_problem(status: u16, status_text: &str, text: &str) -> ApiError {
    match serde_json::from_str::<Problem>(text) {
        Ok(problem) => ApiError {
            status,
            title: problem.title,
            detail: problem.detail,
        },
        Err(_) => {
            let title = match status_text {
                "" => format!("HTTP {status}"),
                t => t.to_owned(),
            };
            ApiError {
                status,
                detail: title.clone(),
                title,
            }
        }
    }
}

pub async fn images(ep: &str) -> Result<Vec<protocol::ImageSummary>, ApiError> {
    get(&endpoint_url(ep, "images")).await
}

/// One image by id, id prefix or reference.
pub async fn image(ep: &str, id: &str) -> Result<protocol::ImageDetail, ApiError> {
    get(&image_url(ep, id, "")).await
}

/// Removes an image (or the tag named); 409 names the containers that use
/// it unless `force`.
pub async fn remove_image(
    ep: &str,
    id: &str,
    force: bool,
) -> Result<protocol::ImageRemoval, ApiError> {
    let mut url = image_url(ep, id, "");
    if force {
        url.push_str("?force=true");
    }
    read(send(Request::delete(&url), None, On401::SignIn).await?).await
}

pub async fn tag_image(
    ep: &str,
    id: &str,
    reference: &str,
) -> Result<protocol::TaggedImage, ApiError> {
    let body = protocol::ImageReference {
        reference: reference.to_owned(),
    };
    post(&image_url(ep, id, "tag"), &body, On401::SignIn).await
}

/// Removes dangling images, or with `all` every image no container uses.
pub async fn prune_images(ep: &str, all: bool) -> Result<protocol::ImagePruneReport, ApiError> {
    let url = endpoint_url(
        ep,
        if all {
            "images/prune?all=true"
        } else {
            "images/prune"
        },
    );
    read(send(Request::post(&url), None, On401::SignIn).await?).await
}

/// Where the browser downloads the image as a tar (`docker save`); the
/// session cookie goes with a plain link.
pub fn image_export_url(ep: &str, id: &str) -> String {
    image_url(ep, id, "export")
}

/// Loads the images of a `docker save` archive (a `File` or bytes).
pub async fn import_images(
    ep: &str,
    archive: &wasm_bindgen::JsValue,
    on_sent: impl Fn(crate::xhr::Sent) + 'static,
) -> Result<protocol::ImportReport, ApiError> {
    let url = endpoint_url(ep, "images/import");
    crate::xhr::send_json("POST", &url, "application/x-tar", archive, on_sent).await
}

/// Builds an image from a build context (a tar, gzip allowed, as a `File`
/// or `Blob`); `on_sent` hears how much of it has been sent, then the
/// build's progress streams back.
pub async fn build_image(
    ep: &str,
    options: &protocol::BuildOptions,
    context: &wasm_bindgen::JsValue,
    on_sent: impl Fn(crate::xhr::Sent) + 'static,
) -> Result<crate::components::progress::ProgressStream, ApiError> {
    let mut query: Vec<String> = Vec::new();
    let mut add = |key: &str, value: &str| query.push(format!("{key}={}", encode(value)));
    for (key, value) in [
        ("tag", &options.tag),
        ("dockerfile", &options.dockerfile),
        ("target", &options.target),
        ("buildargs", &options.buildargs),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            add(key, value);
        }
    }
    if options.nocache {
        add("nocache", "true");
    }
    if options.pull {
        add("pull", "true");
    }
    let mut url = endpoint_url(ep, "images/build");
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    let request = crate::xhr::send("POST", &url, "application/x-tar", context, on_sent)?;
    Ok(crate::components::progress::ProgressStream::from_xhr(
        request.answer().await?,
    ))
}

/// Pulls an image with per-layer progress, using berth's login for its
/// registry; a refused login is the last line, not a sign-in redirect.
pub async fn pull_image(
    ep: &str,
    reference: &str,
) -> Result<crate::components::progress::ProgressStream, ApiError> {
    let body = protocol::ImageReference {
        reference: reference.to_owned(),
    };
    let url = endpoint_url(ep, "images/pull");
    let response = send_no_redirect(Request::post(&url), Some(to_json(&body)?)).await?;
    crate::components::progress::ProgressStream::new(response)
}

/// Pushes an image as `reference` (tagging it so first).
pub async fn push_image(
    ep: &str,
    id: &str,
    reference: &str,
) -> Result<crate::components::progress::ProgressStream, ApiError> {
    let body = protocol::ImageReference {
        reference: reference.to_owned(),
    };
    let url = image_url(ep, id, "push");
    let response = send_no_redirect(Request::post(&url), Some(to_json(&body)?)).await?;
    crate::components::progress::ProgressStream::new(response)
}

pub async fn registries() -> Result<Vec<protocol::Registry>, ApiError> {
    get("/api/v1/registries").await
}

/// Keeps a registry login after the registry accepted it; a refused one is
/// a 401 whose detail says why (shown by the form, no sign-in redirect).
pub async fn create_registry(
    registry: &protocol::NewRegistry,
) -> Result<protocol::Registry, ApiError> {
    let response = send_no_redirect(
        Request::post("/api/v1/registries"),
        Some(to_json(registry)?),
    )
    .await?;
    read(response).await
}

pub async fn delete_registry(id: i64) -> Result<(), ApiError> {
    delete(&format!("/api/v1/registries/{id}")).await
}

/// Logs in with a kept login; 401 when the registry refuses it.
pub async fn test_registry(id: i64) -> Result<protocol::RegistryCheck, ApiError> {
    let url = format!("/api/v1/registries/{id}/test");
    read(send_no_redirect(Request::post(&url), None).await?).await
}
