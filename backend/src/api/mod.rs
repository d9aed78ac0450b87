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
    handler: MethodRouter<AppState>,
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
            handler: on(filter, handler),
        }
    }

    /// A POST that only answers (a check, a validation): not written to
    /// the audit log, which it would flood as the user types.
    pub fn unaudited(mut self) -> Route {
        self.audited = false;
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
    let document = Arc::new(openapi::document(&routes));
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
        .layer(axum::Extension(document))
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
