//! The OpenAPI document, made from the same route list as the router and
//! the policy, so it describes every route and who may call it. Each
//! operation carries `x-berth-access` (`public`, `viewer`, `operator` or
//! `admin`): the access its route declares, for tools and tests. Request
//! bodies, query parameters and answers are the JSON Schemas of the
//! `protocol` types the handlers take and return, the same ones the
//! browser app uses.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use protocol::Problem;
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use super::{Payload, Route};
use crate::auth::Access;

pub fn routes() -> Vec<Route> {
    vec![Route::get(
        "/api/v1/openapi.json",
        Access::Public,
        "openapi",
        "This document",
        serve,
    )
    .replies(200, Payload::Bytes("application/json"))]
}

/// The document, made on first request and kept as its JSON text: an idle
/// berth holds none of it, and a served one a compact copy rather than a
/// tree of values.
static DOCUMENT: OnceLock<Bytes> = OnceLock::new();

async fn serve() -> Response {
    let text = DOCUMENT.get_or_init(|| {
        Bytes::from(serde_json::to_vec(&document(&super::all_routes())).unwrap_or_default())
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text.clone(),
    )
        .into_response()
}

/// Where the schemas of named types go.
const SCHEMAS: &str = "#/components/schemas/";

fn error_text(status: u16) -> &'static str {
    match status {
        400 => "the request is malformed: a path, query or body field is not valid",
        401 => "not signed in, or the session or token is no longer valid",
        403 => "the caller's role or token scope does not allow this",
        404 => "no such object, or the endpoint is not granted to the caller",
        409 => "the request conflicts with the current state",
        413 => "the body is larger than this route accepts",
        415 => "the body is not of a type this route takes",
        429 => "too many requests or tasks; retry after `Retry-After` seconds",
        502 => "the engine answered with an error berth did not expect",
        503 => "the endpoint's engine does not answer",
        _ => "an error",
    }
}

/// The path parameters of a template, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// A path parameter: ids of berth's own rows (users, teams, tokens,
/// registry logins) are integers; names and ids on an endpoint are text.
fn path_param(path: &str, name: &str) -> Value {
    let integer = name == "user_id" || (name == "id" && !path.starts_with("/api/v1/endpoints/"));
    let (schema, what) = match (name, integer) {
        ("ep", _) => (
            json!({"type": "string", "minLength": 1}),
            "the endpoint's name (`local` for berth's own host)",
        ),
        (_, true) => (
            json!({"type": "integer", "format": "int64"}),
            "the row's id",
        ),
        ("name", _) => (json!({"type": "string", "minLength": 1}), "the name"),
        _ => (json!({"type": "string", "minLength": 1}), "a name or an id"),
    };
    json!({"name": name, "in": "path", "required": true, "description": what, "schema": schema})
}

/// A query schema drops `null` from its types: a parameter is left out,
/// never sent as null.
fn without_null(mut schema: Value) -> Value {
    if schema.get("default").is_some_and(Value::is_null) {
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("default");
        }
    }
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            schema["type"] = only;
        }
    }
    if let Some(Value::Array(any)) = schema.get("anyOf").cloned() {
        let rest: Vec<Value> = any
            .into_iter()
            .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if rest.len() == 1 {
            if let (Some(obj), Some(only)) = (schema.as_object_mut(), rest.into_iter().next()) {
                obj.remove("anyOf");
                if let Some(inner) = only.as_object() {
                    for (k, v) in inner {
                        obj.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    schema
}

/// The query parameters of a query type: one per property.
fn query_params(generator: &mut SchemaGenerator, make: super::SchemaFn) -> Vec<Value> {
    let schema = make(generator).to_value();
    let resolved = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => generator
            .definitions()
            .get(r.trim_start_matches(SCHEMAS))
            .cloned()
            .unwrap_or(Value::Null),
        None => schema,
    };
    let required: BTreeSet<&str> = resolved
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = resolved.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let mut prop = without_null(prop.clone());
            let description = prop
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            let mut param = json!({
                "name": name,
                "in": "query",
                "required": required.contains(name.as_str()),
                "schema": prop,
            });
            if description.is_string() {
                param["description"] = description;
            }
            param
        })
        .collect()
}

fn content(generator: &mut SchemaGenerator, payload: Payload) -> Option<Value> {
    Some(match payload {
        Payload::Empty | Payload::WebSocket { .. } => return None,
        Payload::Json(make) => json!({"application/json": {"schema": make(generator).to_value()}}),
        Payload::JsonLines(make) => {
            json!({"application/x-ndjson": {"schema": make(generator).to_value()}})
        }
        Payload::Bytes("application/json") => {
            json!({"application/json": {"schema": {"type": "object"}}})
        }
        Payload::Bytes(media) => {
            json!({media: {"schema": {"type": "string", "format": "binary"}}})
        }
        Payload::BuildContext => json!({
            "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {"type": "string", "format": "binary"}}}
        }),
    })
}

fn reply_text(status: u16, payload: Payload) -> &'static str {
    match (status, payload) {
        (101, _) => "switches to a WebSocket (`Upgrade: websocket`); see `x-berth-websocket` for the frames",
        (204, _) => "done; no body",
        (_, Payload::JsonLines(_)) => "progress as JSON lines (`application/x-ndjson`), one value of the schema a line, until the work ends",
        (201, _) => "created",
        _ => "success",
    }
}

/// The error statuses of a route: those every route of its kind gives,
/// and those it declares.
fn error_statuses(route: &Route) -> BTreeSet<u16> {
    let mut statuses: BTreeSet<u16> = route.docs.errors.iter().copied().collect();
    // A request with a wrong bearer token is refused, and counts toward
    // its address's throttle, on public routes too.
    statuses.extend([401, 429]);
    if let Access::AtLeast(_) = route.access {
        statuses.insert(403);
    }
    let params = path_params(route.path);
    if !params.is_empty() {
        statuses.extend([400, 404]);
    }
    if params.contains(&"ep") {
        statuses.extend([502, 503]);
    }
    if route.docs.query.is_some() {
        statuses.insert(400);
    }
    if let Some(body) = route.docs.body {
        statuses.extend([400, 413]);
        if !matches!(body, Payload::BuildContext) || route.docs.body_required {
            statuses.insert(415);
        }
    }
    if route
        .docs
        .replies
        .iter()
        .any(|(_, p)| matches!(p, Payload::WebSocket { .. }))
    {
        statuses.insert(400);
    }
    statuses
}

pub fn document(routes: &[Route]) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let problem = generator.subschema_for::<Problem>().to_value();

    let mut paths = Map::new();
    for route in routes {
        let mut params: Vec<Value> = path_params(route.path)
            .into_iter()
            .map(|name| path_param(route.path, name))
            .collect();
        if let Some(make) = route.docs.query {
            params.extend(query_params(&mut generator, make));
        }
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
        let mut responses = Map::new();
        let mut websocket = None;
        for &(status, payload) in &route.docs.replies {
            let mut reply = json!({"description": reply_text(status, payload)});
            if let Some(body) = content(&mut generator, payload) {
                reply["content"] = body;
            }
            if let Payload::WebSocket { sends, receives } = payload {
                let mut frames = json!({"sends": sends(&mut generator).to_value()});
                if let Some(receives) = receives {
                    frames["receives"] = receives(&mut generator).to_value();
                }
                websocket = Some(frames);
            }
            responses.insert(status.to_string(), reply);
        }
        for status in error_statuses(route) {
            responses.insert(
                status.to_string(),
                json!({"description": error_text(status),
                       "content": {"application/problem+json": {"schema": problem}}}),
            );
        }
        let mut operation = json!({
            "operationId": route.action,
            "summary": route.summary,
            "description": format!("Who may call it: {who}."),
            "parameters": params,
            "security": security,
            "x-berth-access": access,
            "responses": responses,
        });
        if let Some(payload) = route.docs.body {
            if let Some(body) = content(&mut generator, payload) {
                operation["requestBody"] =
                    json!({"required": route.docs.body_required, "content": body});
            }
        }
        if let Some(frames) = websocket {
            operation["x-berth-websocket"] = frames;
        }
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(route.method.as_str().to_ascii_lowercase(), operation);
        }
    }
    let schemas = generator.take_definitions(true);
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
            "schemas": schemas
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(obj) => {
                for (k, v) in obj {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_documents_its_answers_and_every_ref_resolves() {
        let routes = super::super::all_routes();
        let doc = document(&routes);
        for route in &routes {
            let method = route.method.as_str().to_ascii_lowercase();
            let op = &doc["paths"][route.path][&method];
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2') || s == "101"),
                "{method} {} documents no success answer",
                route.path
            );
            let takes_body = matches!(method.as_str(), "post" | "put" | "patch");
            let has_body = op.get("requestBody").is_some();
            // A POST, PUT or PATCH without a body documents why: its
            // summary or its path says it acts on what the path names.
            if takes_body && !has_body {
                assert!(
                    route.docs.body.is_none(),
                    "{method} {} has a body it does not show",
                    route.path
                );
            }
            for param in path_params(route.path) {
                assert!(
                    op["parameters"]
                        .as_array()
                        .expect("parameters")
                        .iter()
                        .any(|p| p["name"] == param && p["in"] == "path"),
                    "{method} {} lacks its path parameter {param}",
                    route.path
                );
            }
        }
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r
                .strip_prefix(SCHEMAS)
                .unwrap_or_else(|| panic!("{r} is not a component"));
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} does not resolve"
            );
        }
    }
}
