//! The OpenAPI document, made from the same route list as the router and
//! the policy, so it describes every route and who may call it. Each
//! operation carries `x-berth-access` (`public`, `viewer`, `operator` or
//! `admin`): the access its route declares, for tools and tests.

use std::sync::Arc;

use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use super::Route;
use crate::auth::Access;

pub fn routes() -> Vec<Route> {
    vec![Route::get(
        "/api/v1/openapi.json",
        Access::Public,
        "openapi",
        "This document",
        serve,
    )]
}

async fn serve(Extension(document): Extension<Arc<Value>>) -> Json<Value> {
    Json((*document).clone())
}

pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let access = match route.access {
            Access::Public => "public",
            Access::AtLeast(role) => role.as_str(),
        };
        let (security, who) = match route.access {
            Access::Public => (json!([]), "anyone".to_string()),
            Access::AtLeast(role) => (
                json!([{"session": []}, {"bearer": []}]),
                format!("role {} or above", role.as_str()),
            ),
        };
        let operation = json!({
            "operationId": route.action,
            "summary": route.summary,
            "description": format!("Who may call it: {who}."),
            "parameters": params,
            "security": security,
            "x-berth-access": access,
            "responses": {
                "2XX": {"description": "success"},
                "default": {"description": "an error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(route.method.as_str().to_ascii_lowercase(), operation);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "berth", "version": env!("CARGO_PKG_VERSION"),
                 "description": "REST API of berth, a control plane for Docker hosts."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "berth_session"},
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "schemas": {
                "Problem": {"type": "object", "required": ["status", "title", "detail"],
                    "properties": {"status": {"type": "integer"}, "title": {"type": "string"}, "detail": {"type": "string"}}}
            }
        }
    })
}
