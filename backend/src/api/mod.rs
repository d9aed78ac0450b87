//! The REST API, one module per resource. Each module lists its routes with
//! the access they need; [`router`] builds the router, the policy table and
//! the OpenAPI document from those same lists, so no route can exist without
//! a policy or go undocumented.

mod audit;
mod containers;
mod endpoints;
mod health;
mod images;
mod logs;
mod networks;
mod openapi;
mod policy;
mod redact;
pub mod rewrite;
mod session;
mod setup;
mod stack_files;
mod stacks;
mod teams;
mod tokens;
mod users;
mod volumes;

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;

use crate::auth::policy::{enforce, Gate, PolicyTable, RoutePolicy};
use crate::auth::Access;
use crate::error::{engine_text_for_admins, problem, AppError};
use crate::AppState;

/// The largest JSON body the API takes.
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// One API route: where it is, who may call it, and what it is called in the
/// audit log and the OpenAPI document.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub action: &'static str,
    pub summary: &'static str,
    /// See [`RoutePolicy::audited`].
    pub audited: bool,
    /// What it takes and answers, for the OpenAPI document.
    pub docs: Docs,
    handler: MethodRouter<AppState>,
}

/// Writes the JSON Schema of one type (a `$ref` to it once it has a name).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What a request or a response carries.
#[derive(Clone, Copy)]
pub enum Payload {
    /// Nothing (a 204).
    Empty,
    /// `application/json`.
    Json(SchemaFn),
    /// `application/x-ndjson`: one JSON value of this schema a line.
    JsonLines(SchemaFn),
    /// Bytes of this media type (`application/x-tar`, `text/plain`).
    Bytes(&'static str),
    /// A build context: a tar, or a `multipart/form-data` form of files.
    BuildContext,
    /// A WebSocket upgrade (101); the server sends text frames of `sends`,
    /// the client may send frames of `receives`.
    WebSocket {
        sends: SchemaFn,
        receives: Option<SchemaFn>,
    },
}

/// A route's request and answers as the OpenAPI document shows them. The
/// errors every route can give (a bad path, a refused caller, ...) are
/// added from the route itself; `errors` holds the ones it adds.
#[derive(Default)]
pub struct Docs {
    pub body: Option<Payload>,
    pub body_required: bool,
    pub query: Option<SchemaFn>,
    pub replies: Vec<(u16, Payload)>,
    pub errors: Vec<u16>,
}

impl Route {
    fn new<H, T>(
        method: Method,
        path: &'static str,
        access: Access,
        action: &'static str,
        summary: &'static str,
        handler: H,
    ) -> Route
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        Route {
            method,
            path,
            access,
            action,
            summary,
            audited: true,
            docs: Docs::default(),
            handler: on(filter, handler).layer(axum::middleware::map_response(plain_to_problem)),
        }
    }

    /// A POST that only answers (a check, a validation): not written to
    /// the audit log, which it would flood as the user types.
    pub fn unaudited(mut self) -> Route {
        self.audited = false;
        self
    }

    /// Takes a JSON body of `T`.
    pub fn body<T: JsonSchema>(mut self) -> Route {
        self.docs.body = Some(Payload::Json(schema_of::<T>));
        self.docs.body_required = true;
        self
    }

    /// Takes a JSON body of `T`, or none (an empty body means the defaults).
    pub fn optional_body<T: JsonSchema>(mut self) -> Route {
        self.docs.body = Some(Payload::Json(schema_of::<T>));
        self.docs.body_required = false;
        self
    }

    /// Takes a body that is not JSON (a tar, a build context).
    pub fn raw_body(mut self, payload: Payload) -> Route {
        self.docs.body = Some(payload);
        self.docs.body_required = true;
        self
    }

    /// Takes the fields of `Q` as query parameters.
    pub fn query<Q: JsonSchema>(mut self) -> Route {
        self.docs.query = Some(schema_of::<Q>);
        self
    }

    /// Answers `status` with a JSON body of `T`.
    pub fn returns<T: JsonSchema>(self, status: u16) -> Route {
        self.replies(status, Payload::Json(schema_of::<T>))
    }

    /// Answers 204 without a body.
    pub fn no_content(self) -> Route {
        self.replies(204, Payload::Empty)
    }

    /// Answers 200 with JSON lines of `E` as the work goes on.
    pub fn streams<E: JsonSchema>(self) -> Route {
        self.replies(200, Payload::JsonLines(schema_of::<E>))
    }

    /// Upgrades to a WebSocket whose server frames are `S`.
    pub fn websocket<S: JsonSchema>(self) -> Route {
        self.replies(
            101,
            Payload::WebSocket {
                sends: schema_of::<S>,
                receives: None,
            },
        )
    }

    /// Upgrades to a WebSocket whose server frames are `S` and client frames `R`.
    pub fn websocket_both<S: JsonSchema, R: JsonSchema>(self) -> Route {
        self.replies(
            101,
            Payload::WebSocket {
                sends: schema_of::<S>,
                receives: Some(schema_of::<R>),
            },
        )
    }

    /// Answers `status` with `payload`.
    pub fn replies(mut self, status: u16, payload: Payload) -> Route {
        self.docs.replies.push((status, payload));
        self
    }

    /// Error statuses this route gives beyond those every route of its kind
    /// gives (409 for a conflict, 429 for a busy slot, ...).
    pub fn errors(mut self, statuses: &[u16]) -> Route {
        self.docs.errors.extend_from_slice(statuses);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        action: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::GET, path, access, action, summary, h)
    }
    pub fn post<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        action: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::POST, path, access, action, summary, h)
    }
    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        action: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::PATCH, path, access, action, summary, h)
    }
    pub fn put<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        action: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::PUT, path, access, action, summary, h)
    }
    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        action: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::DELETE, path, access, action, summary, h)
    }
}

/// An extractor's own refusal (a WebSocket upgrade without its headers, a
/// `Bytes` body over the limit) is plain text; berth answers problem+json.
async fn plain_to_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !status.is_client_error() || is_problem {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_lowercase()
    } else {
        text
    };
    problem(status, detail)
}

/// Lets a route take a body up to `limit` bytes instead of the API's JSON limit.
pub fn with_body_limit(mut route: Route, limit: usize) -> Route {
    route.handler = route.handler.layer(DefaultBodyLimit::max(limit));
    route
}

/// Every route berth serves, in one list.
pub fn all_routes() -> Vec<Route> {
    [
        health::routes(),
        setup::routes(),
        session::routes(),
        users::routes(),
        tokens::routes(),
        audit::routes(),
        endpoints::routes(),
        policy::routes(),
        teams::routes(),
        containers::routes(),
        volumes::routes(),
        networks::routes(),
        images::routes(),
        logs::routes(),
        stacks::routes(),
        stack_files::routes(),
        crate::ws::routes(),
        openapi::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The API router, every route behind [`enforce`].
pub fn router(state: AppState) -> Router {
    let routes = all_routes();
    let mut table = PolicyTable::default();
    let mut router = Router::new();
    for route in routes {
        table.insert(
            route.method.clone(),
            route.path,
            RoutePolicy {
                access: route.access,
                action: route.action,
                audited: route.audited,
            },
        );
        router = router.route(route.path, route.handler);
    }
    let gate = Gate {
        state: state.clone(),
        table: Arc::new(table),
    };
    router
        // Inside `enforce`, which puts the principal on the request.
        .route_layer(axum::middleware::from_fn(engine_text_for_admins))
        .route_layer(axum::middleware::from_fn_with_state(gate, enforce))
        .layer(crate::limits::layer())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .method_not_allowed_fallback(|| async {
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "this route does not take that method",
            )
        })
        .with_state(state)
}

/// Unknown `/api/...` paths.
pub async fn not_found() -> Response {
    AppError::NotFound("no such API route".into()).into_response()
}

/// `Path` whose rejections are berth's problem+json errors.
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(AppPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(AppError::BadRequest(format!("bad path: {}", e.body_text())))
            }
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}
