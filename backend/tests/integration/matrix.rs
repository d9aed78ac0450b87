//! The route x role matrix: every route berth declares, taken from the same
//! route table the router, the policy and the OpenAPI document are built
//! from, called as anonymous, viewer, operator and admin; each answer is
//! checked against the access the route declares.

use std::collections::BTreeSet;

use berth::auth::Access;
use protocol::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

/// What fills a path parameter that is not `{ep}`: a name nothing has.
const NONE: &str = "berth-matrix-none";

/// Routes not called by the roles the policy lets through (the roles it
/// refuses are still called and checked), with the reason. The test fails
/// if an entry here names no route, so the list stays exactly this.
const SKIPPED: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/auth/logout",
        "would end the caller's session mid-matrix; called for every role after the matrix",
    ),
    (
        "POST",
        "/api/v1/endpoints/{ep}/images/prune",
        "would remove unused images from the shared engine, whatever the body",
    ),
    (
        "POST",
        "/api/v1/endpoints/{ep}/volumes/prune",
        "would remove unused volumes from the shared engine, whatever the body",
    ),
];

/// Routes that anyone may call, signed in or not (API.md).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/v1/setup"),
    ("POST", "/api/v1/setup"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/openapi.json"),
];

/// The callers, lowest first; `None` is anonymous.
// Once grants per endpoint exist, two columns go between viewer and admin
// here: "operator without a grant on `local`" (every `{ep}` route then
// answers 404, the other routes as for an operator) and "operator with an
// operator grant on `local`" (as the operator column below).
const CALLERS: [Option<Role>; 4] = [
    None,
    Some(Role::Viewer),
    Some(Role::Operator),
    Some(Role::Admin),
];

fn caller_name(who: Option<Role>) -> &'static str {
    who.map_or("anonymous", Role::as_str)
}

fn access_name(access: Access) -> &'static str {
    match access {
        Access::Public => "public",
        Access::AtLeast(role) => role.as_str(),
    }
}

/// The concrete path: `{ep}` is `local`, every other parameter [`NONE`].
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|seg| {
            if seg == "{ep}" {
                "local"
            } else if seg.starts_with('{') && seg.ends_with('}') {
                NONE
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the policy lets `who` call a route that declares `access`.
fn allowed(access: Access, who: Option<Role>) -> bool {
    match (access, who) {
        (Access::Public, _) => true,
        (Access::AtLeast(_), None) => false,
        (Access::AtLeast(needed), Some(role)) => role >= needed,
    }
}

/// Calls `path` with `method` as `api`: an empty JSON body for writes, a
/// plain GET (no upgrade) for WebSockets. Returns the status and the body.
async fn call(api: &Api, method: &Method, path: &str) -> (StatusCode, String) {
    let url = format!("{}{path}", api.base);
    let mut req = api.client.request(method.clone(), url);
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        req = req.json(&json!({}));
    }
    let r = req.send().await.expect("the server answers");
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    (status, body)
}

/// Every route's declared access and what each caller got.
struct Row {
    method: Method,
    path: &'static str,
    access: Access,
    /// `None` where the call was skipped.
    got: Vec<Option<(StatusCode, String)>>,
}

fn print_matrix(rows: &[Row]) {
    eprintln!(
        "{:<7} {:<62} {:<9} {:>9} {:>6} {:>8} {:>5}",
        "method", "route", "access", "anonymous", "viewer", "operator", "admin"
    );
    for row in rows {
        let cells: Vec<String> = row
            .got
            .iter()
            .map(|g| {
                g.as_ref()
                    .map_or("skip".into(), |(s, _)| s.as_u16().to_string())
            })
            .collect();
        eprintln!(
            "{:<7} {:<62} {:<9} {:>9} {:>6} {:>8} {:>5}",
            row.method.as_str(),
            row.path,
            access_name(row.access),
            cells[0],
            cells[1],
            cells[2],
            cells[3]
        );
    }
}

#[tokio::test]
async fn every_route_answers_each_role_as_its_access_says() {
    let (app, admin) = TestApp::start_set_up().await;
    let viewer = app.user(&admin, "matrix-viewer", Role::Viewer).await;
    let operator = app.user(&admin, "matrix-operator", Role::Operator).await;
    let anonymous = app.anonymous();
    let clients = [&anonymous, &viewer, &operator, &admin];

    let routes = berth::api::all_routes();
    assert!(!routes.is_empty(), "berth declares no routes");

    // The OpenAPI document is built from the same table: it must list every
    // route with the same access, and nothing else.
    let document: Value = anonymous.get_json("/api/v1/openapi.json").await;
    let mut documented = BTreeSet::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let access = op["x-berth-access"].as_str().unwrap_or("(none)");
                documented.insert((
                    method.to_ascii_uppercase(),
                    path.clone(),
                    access.to_string(),
                ));
            }
        }
    }
    let declared: BTreeSet<(String, String, String)> = routes
        .iter()
        .map(|r| {
            (
                r.method.as_str().to_string(),
                r.path.to_string(),
                access_name(r.access).to_string(),
            )
        })
        .collect();
    assert_eq!(
        documented, declared,
        "the OpenAPI document and the route table differ"
    );
    assert_eq!(declared.len(), routes.len(), "a route is declared twice");

    // The routes anyone may call are exactly the ones API.md lists.
    let public: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method.as_str().to_string(), r.path.to_string()))
        .collect();
    let listed: BTreeSet<(String, String)> = PUBLIC
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(public, listed, "the unauthenticated routes changed");

    // Every skipped entry names a route that exists.
    for (method, path, reason) in SKIPPED {
        assert!(
            routes
                .iter()
                .any(|r| r.method.as_str() == *method && r.path == *path),
            "SKIPPED names {method} {path} ({reason}), which is no route"
        );
    }

    let mut rows = Vec::new();
    for route in &routes {
        let path = fill(route.path);
        let skipped = SKIPPED
            .iter()
            .any(|(m, p, _)| route.method.as_str() == *m && route.path == *p);
        let mut got = Vec::new();
        for (who, api) in CALLERS.iter().zip(clients) {
            if skipped && allowed(route.access, *who) {
                got.push(None);
            } else {
                got.push(Some(call(api, &route.method, &path).await));
            }
        }
        rows.push(Row {
            method: route.method.clone(),
            path: route.path,
            access: route.access,
            got,
        });
    }
    print_matrix(&rows);

    let mut wrong = Vec::new();
    let mut skipped_seen = BTreeSet::new();
    for row in &rows {
        for (who, got) in CALLERS.iter().zip(&row.got) {
            let Some((status, body)) = got else {
                skipped_seen.insert((row.method.as_str().to_string(), row.path));
                continue;
            };
            let expected = match (allowed(row.access, *who), who) {
                (true, _) => "anything but 401/403",
                (false, None) => "401",
                (false, Some(_)) => "403",
            };
            // A WebSocket route the policy let through refuses the plain
            // GET at the upgrade check (axum: 400 without `Connection:
            // upgrade`, 426 without an upgradable connection).
            let websocket = row.path.ends_with("/ws");
            let expected = if websocket && expected.starts_with("anything") {
                "400 or 426 (no upgrade)"
            } else {
                expected
            };
            let ok = match expected {
                "401" => *status == StatusCode::UNAUTHORIZED,
                "403" => *status == StatusCode::FORBIDDEN,
                "400 or 426 (no upgrade)" => {
                    *status == StatusCode::BAD_REQUEST || *status == StatusCode::UPGRADE_REQUIRED
                }
                _ => *status != StatusCode::UNAUTHORIZED && *status != StatusCode::FORBIDDEN,
            };
            if !ok {
                wrong.push(format!(
                    "{} {} as {}: expected {expected}, got {status}: {body}",
                    row.method,
                    row.path,
                    caller_name(*who)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    let skipped_expected: BTreeSet<(String, &str)> = SKIPPED
        .iter()
        .map(|(m, p, _)| (m.to_string(), *p))
        .collect();
    assert_eq!(skipped_seen, skipped_expected, "the skipped routes changed");

    // Signing out, the one skip that can be called last: each signed-in
    // caller may, and is signed out afterwards.
    for (who, api) in CALLERS.iter().zip(clients).skip(1) {
        let (status, body) = call(api, &Method::POST, "/api/v1/auth/logout").await;
        assert!(
            status.is_success(),
            "logout as {}: {status} {body}",
            caller_name(*who)
        );
        let (status, _) = call(api, &Method::GET, "/api/v1/me").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{} after logout",
            caller_name(*who)
        );
    }
}
