//! berth's one error type. Every handler returns it; it turns into an
//! `application/problem+json` body. A 5xx body is generic: the cause goes to
//! the log, never to the client. An engine's own refusal (whose text may
//! name host paths) reaches admins only; a 503 names no socket path.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use protocol::Role;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::auth::Principal;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Refused for now; the client may retry after `retry_after_secs`
    /// (also sent as `Retry-After`).
    #[error("{message}; try again in {retry_after_secs} s")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// An endpoint's engine cannot be reached; says which and why (without
    /// any path: see [`scrub_paths`]).
    #[error("endpoint {endpoint} is unreachable: {reason}")]
    Unavailable { endpoint: String, reason: String },
    /// The engine refused a call about `what` (such as "container web")
    /// with a client error and its own `text`. The text may name host paths
    /// and the engine's internals: only admins are shown it (see
    /// [`engine_text_for_admins`]), everybody else a generic message with
    /// the same status, and the log gets it whole.
    #[error("{what}: {text}")]
    Engine {
        status: StatusCode,
        what: String,
        text: String,
    },
    /// Anything berth did not expect; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Engine { status, .. } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told: the message, except for 5xx internals.
    pub fn public_detail(&self) -> String {
        match self {
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "berth hit an internal error; the details are in its log".to_string()
            }
            AppError::Unavailable { endpoint, reason } => {
                format!(
                    "endpoint {endpoint} is unreachable: {}",
                    scrub_paths(reason)
                )
            }
            AppError::Engine { status, what, .. } => format!(
                "{what}: the engine refused this ({}); an admin can see its reason",
                status.as_u16()
            ),
            other => other.to_string(),
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{message}"))
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

/// Writes a problem+json response.
pub fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = protocol::Problem {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        detail: detail.into(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let engine_text = match &self {
            AppError::Unavailable { .. } => {
                tracing::warn!("{self}");
                None
            }
            AppError::Engine { .. } => {
                tracing::info!(status = status.as_u16(), "the engine refused: {self}");
                Some(EngineText(self.to_string()))
            }
            _ => None,
        };
        let retry_after = match &self {
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => Some(HeaderValue::from(*retry_after_secs)),
            _ => None,
        };
        let detail = self.public_detail();
        let mut response = problem(status, detail);
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let Some(text) = engine_text {
            response.extensions_mut().insert(text);
        }
        response
    }
}

/// The whole text of an engine's refusal, carried on the response (never in
/// its body) for [`engine_text_for_admins`].
#[derive(Debug, Clone)]
pub struct EngineText(pub String);

/// Middleware inside the policy's (it needs the [`Principal`] that
/// `auth::policy::enforce` puts on the request): an admin's engine refusal
/// shows the engine's own text instead of the generic message. Admin is the
/// role the request acts with: on an endpoint's route, the role there.
pub async fn engine_text_for_admins(request: Request, next: Next) -> Response {
    let admin = request
        .extensions()
        .get::<Principal>()
        .is_some_and(|p| p.role == Role::Admin);
    let mut response = next.run(request).await;
    let Some(EngineText(text)) = response.extensions_mut().remove::<EngineText>() else {
        return response;
    };
    if !admin {
        return response;
    }
    let mut shown = problem(response.status(), text);
    *shown.extensions_mut() = std::mem::take(response.extensions_mut());
    shown
}

/// `text` with every word that looks like a filesystem path or a socket
/// URL replaced by `<path>`, so an error names no place on the host.
pub fn scrub_paths(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let start = word
                .find(|c: char| !matches!(c, '"' | '\'' | '`' | '(' | '[' | '<'))
                .unwrap_or(word.len());
            let (lead, rest) = word.split_at(start);
            let path_like = rest.starts_with('/')
                || rest.starts_with("~/")
                || rest.starts_with("./")
                || rest.contains("://")
                || rest.starts_with("unix:")
                || rest.starts_with("npipe:");
            if !path_like {
                return word.to_string();
            }
            let end = rest
                .find(['"', '\'', '`', ')', ']', '>', ',', ';'])
                .unwrap_or(rest.len());
            let rest = &rest[end..];
            format!("{lead}<path>{rest}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Json` whose rejections are berth's problem+json errors.
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
            "expected a JSON body with `Content-Type: application/json`".into(),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge("the request body is larger than berth accepts".into())
        }
        JsonRejection::JsonDataError(e) => AppError::BadRequest(format!(
            "the JSON body does not have the expected fields: {}",
            e.body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        )),
        JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(format!(
            "the body is not valid JSON: {}",
            e.body_text()
                .trim_start_matches("Failed to parse the request body as JSON: ")
        )),
        other => AppError::BadRequest(other.body_text()),
    }
}

/// `Query` whose rejections are berth's problem+json errors.
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(AppQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> AppError {
    AppError::BadRequest(format!("bad query string: {}", rejection.body_text()))
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use axum::Router;

    use super::*;
    use crate::auth::policy::Credential;

    #[test]
    fn paths_and_socket_urls_are_scrubbed() {
        assert_eq!(
            scrub_paths("no Docker socket at /run/user/1000/docker.sock (is dockerd running?)"),
            "no Docker socket at <path> (is dockerd running?)"
        );
        assert_eq!(
            scrub_paths("cannot reach unix:///var/run/docker.sock, try again"),
            "cannot reach <path>, try again"
        );
        assert_eq!(
            scrub_paths(r#"mount "/srv/secret/data": no such file"#),
            r#"mount "<path>": no such file"#
        );
        assert_eq!(
            scrub_paths("bind source path does not exist: /home/alice/x"),
            "bind source path does not exist: <path>"
        );
        assert_eq!(
            scrub_paths("the engine did not answer in time"),
            "the engine did not answer in time"
        );
    }

    #[test]
    fn a_503_names_the_endpoint_but_no_socket_path() {
        let e = AppError::Unavailable {
            endpoint: "local".into(),
            reason: "no Docker socket at /tmp/x/nothing.sock (is dockerd running?)".into(),
        };
        let detail = e.public_detail();
        assert!(detail.contains("endpoint local is unreachable"), "{detail}");
        assert!(detail.contains("dockerd"), "{detail}");
        assert!(!detail.contains("/tmp"), "{detail}");
    }

    fn refusal() -> AppError {
        AppError::Engine {
            status: StatusCode::BAD_REQUEST,
            what: "container web".into(),
            text: "invalid mount config: bind source path does not exist: /srv/secret".into(),
        }
    }

    async fn detail_for(role: Option<Role>) -> (StatusCode, String) {
        let mut app = Router::new()
            .route("/", get(|| async { refusal() }))
            .layer(axum::middleware::from_fn(engine_text_for_admins));
        if let Some(role) = role {
            let principal = Principal {
                user_id: 1,
                username: "someone".into(),
                role,
                user_role: role,
                credential: Credential::Session,
                endpoint: None,
            };
            app = app.layer(axum::Extension(principal));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let response = reqwest::get(format!("http://{addr}/"))
            .await
            .expect("response");
        server.abort();
        let status = response.status();
        let problem: protocol::Problem = response.json().await.expect("problem+json");
        (status, problem.detail)
    }

    #[tokio::test]
    async fn only_admins_see_the_engines_text() {
        let (status, detail) = detail_for(Some(Role::Admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(detail.contains("/srv/secret"), "{detail}");

        for role in [Some(Role::Operator), Some(Role::Viewer), None] {
            let (status, detail) = detail_for(role).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "the status is kept");
            assert!(!detail.contains("/srv"), "{detail}");
            assert!(!detail.contains("mount"), "no engine text: {detail}");
            assert!(
                detail.starts_with("container web: the engine refused this (400)"),
                "{detail}"
            );
        }
    }
}
