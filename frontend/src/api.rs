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
    fn network(err: impl std::fmt::Display) -> Self {
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
    Err(match serde_json::from_str::<Problem>(&text) {
        Ok(problem) => ApiError {
            status,
            title: problem.title,
            detail: problem.detail,
        },
        Err(_) => {
            let title = match response.status_text() {
                t if t.is_empty() => format!("HTTP {status}"),
                t => t,
            };
            ApiError {
                status,
                detail: title.clone(),
                title,
            }
        }
    })
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

pub async fn tokens() -> Result<Vec<ApiToken>, ApiError> {
    get("/api/v1/tokens").await
}

pub async fn create_token(name: &str) -> Result<CreatedToken, ApiError> {
    let body = NewToken {
        name: name.to_owned(),
    };
    post("/api/v1/tokens", &body, On401::SignIn).await
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
