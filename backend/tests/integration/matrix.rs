//! The route x role x grant matrix: every route berth declares, taken from
//! the same route table the router, the policy and the OpenAPI document are
//! built from, called as anonymous, a viewer granted `local`, an operator
//! without a grant, an operator granted `local` and an admin; each answer
//! is checked against the access the route declares (and, without a grant,
//! every route under `{ep}` answers 404).

use std::collections::BTreeSet;

use berth::auth::Access;
use protocol::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

/// What fills a path parameter that is not `{ep}`: a name nothing has.
const NONE: &str = "berth-matrix-none";

/// Routes not called by the roles the policy lets through, with the
/// reason. The roles it refuses are still called and checked, but only
/// after every other route answered as expected, so that a broken policy
/// fails the test before it could let a refused role through here. The
/// test fails if an entry names no route, so the list stays exactly this.
const SKIPPED: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/auth/logout",
        "would end the caller's session mid-matrix; called for every role after the matrix",
    ),
    (
        "POST",
        "/api/v1/endpoints/{ep}/volumes/prune",
        "would remove every unused volume of the shared engine; it takes no filter",
    ),
    (
        "PUT",
        "/api/v1/endpoints/{ep}/access",
        "an empty body is an empty list of grants: it would take `local` from the matrix's callers",
    ),
];

/// A query added to a route's path so that the call cannot harm the
/// machine, with the reason.
const QUERIES: &[(&str, &str, &str, &str)] = &[(
    "POST",
    "/api/v1/endpoints/{ep}/images/prune",
    "label=berth-matrix-none",
    "prunes only dangling images with a label nothing has, so nothing",
)];

/// Routes that anyone may call, signed in or not (API.md).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/v1/setup"),
    ("POST", "/api/v1/setup"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/openapi.json"),
];

/// One column of the matrix: a role (`None`: anonymous) and whether a
/// grant gives it `local`.
#[derive(Debug, Clone, Copy)]
struct Caller {
    name: &'static str,
    role: Option<Role>,
    granted: bool,
}

/// The callers, lowest first.
const CALLERS: [Caller; 5] = [
    Caller {
        name: "anonymous",
        role: None,
        granted: false,
    },
    Caller {
        name: "viewer",
        role: Some(Role::Viewer),
        granted: true,
    },
    Caller {
        name: "op-nogrant",
        role: Some(Role::Operator),
        granted: false,
    },
    Caller {
        name: "operator",
        role: Some(Role::Operator),
        granted: true,
    },
    Caller {
        name: "admin",
        role: Some(Role::Admin),
        granted: true,
    },
];

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

/// What a caller must get from a route.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A signed-in caller without a grant on the route's endpoint: 404, as
    /// for an endpoint that does not exist.
    NoSuchEndpoint,
    /// Nobody is signed in: 401.
    SignIn,
    /// The role is below the route's access: 403.
    Refused,
    /// The policy let the call through: anything but 401/403.
    Passed,
    /// The policy let a plain GET to a WebSocket route through: the upgrade
    /// check refuses it (axum: 400 without `Connection: upgrade`, 426
    /// without an upgradable connection).
    NoUpgrade,
}

impl Expect {
    fn holds(self, status: StatusCode) -> bool {
        match self {
            Expect::NoSuchEndpoint => status == StatusCode::NOT_FOUND,
            Expect::SignIn => status == StatusCode::UNAUTHORIZED,
            Expect::Refused => status == StatusCode::FORBIDDEN,
            Expect::Passed => status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
            Expect::NoUpgrade => {
                status == StatusCode::BAD_REQUEST || status == StatusCode::UPGRADE_REQUIRED
            }
        }
    }
}

fn expectation(path: &str, access: Access, caller: Caller) -> Expect {
    let who = caller.role;
    let under_endpoint = path.contains("{ep}");
    if who.is_some() && !caller.granted && under_endpoint && access != Access::Public {
        return Expect::NoSuchEndpoint;
    }
    match (allowed(access, who), who) {
        (true, _) if path.ends_with("/ws") => Expect::NoUpgrade,
        (true, _) => Expect::Passed,
        (false, None) => Expect::SignIn,
        (false, Some(_)) => Expect::Refused,
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
        "{:<7} {:<62} {:<9} {:>9} {:>6} {:>10} {:>8} {:>5}",
        "method", "route", "access", "anonymous", "viewer", "op-nogrant", "operator", "admin"
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
            "{:<7} {:<62} {:<9} {:>9} {:>6} {:>10} {:>8} {:>5}",
            row.method.as_str(),
            row.path,
            access_name(row.access),
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4]
        );
    }
}

/// Every answer that is not what the route's access says, readable.
fn wrong_answers(rows: &[Row]) -> Vec<String> {
    let mut wrong = Vec::new();
    for row in rows {
        for (who, got) in CALLERS.iter().zip(&row.got) {
            let Some((status, body)) = got else {
                continue;
            };
            let expected = expectation(row.path, row.access, *who);
            // A caller the policy lets through finds the endpoint.
            let lost = matches!(expected, Expect::Passed | Expect::NoUpgrade)
                && *status == StatusCode::NOT_FOUND
                && body.contains("no endpoint with id");
            if !expected.holds(*status) || lost {
                wrong.push(format!(
                    "{} {} as {}: expected {expected:?}, got {status}: {body}",
                    row.method, row.path, who.name
                ));
            }
        }
    }
    wrong
}

#[tokio::test]
async fn every_route_answers_each_role_as_its_access_says() {
    let (app, admin) = TestApp::start_set_up().await;
    let viewer = app.user(&admin, "matrix-viewer", Role::Viewer).await;
    let ungranted = app
        .user_without_grant(&admin, "matrix-ungranted", Role::Operator)
        .await;
    let operator = app.user(&admin, "matrix-operator", Role::Operator).await;
    let anonymous = app.anonymous();
    let clients = [&anonymous, &viewer, &ungranted, &operator, &admin];

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

    // Every query entry names a route that exists.
    for (method, path, _, reason) in QUERIES {
        assert!(
            routes
                .iter()
                .any(|r| r.method.as_str() == *method && r.path == *path),
            "QUERIES names {method} {path} ({reason}), which is no route"
        );
    }

    // Every skipped entry names a route that exists.
    for (method, path, reason) in SKIPPED {
        assert!(
            routes
                .iter()
                .any(|r| r.method.as_str() == *method && r.path == *path),
            "SKIPPED names {method} {path} ({reason}), which is no route"
        );
    }

    // The routes called by everyone first; the skipped ones (called only by
    // the roles the policy refuses) once the others all answered right.
    let is_skipped = |r: &berth::api::Route| {
        SKIPPED
            .iter()
            .any(|(m, p, _)| r.method.as_str() == *m && r.path == *p)
    };
    let mut rows = Vec::new();
    for skipped in [false, true] {
        for route in routes.iter().filter(|r| is_skipped(r) == skipped) {
            let mut path = fill(route.path);
            for (m, p, query, _) in QUERIES {
                if route.method.as_str() == *m && route.path == *p {
                    path = format!("{path}?{query}");
                }
            }
            let mut got = Vec::new();
            for (who, api) in CALLERS.iter().zip(clients) {
                let refused = matches!(
                    expectation(route.path, route.access, *who),
                    Expect::SignIn | Expect::Refused | Expect::NoSuchEndpoint
                );
                if skipped && !refused {
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
        let wrong = wrong_answers(&rows);
        if !wrong.is_empty() {
            print_matrix(&rows);
            panic!("{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
        }
    }
    print_matrix(&rows);

    let skipped_seen: BTreeSet<(String, &str)> = rows
        .iter()
        .filter(|row| row.got.iter().any(Option::is_none))
        .map(|row| (row.method.as_str().to_string(), row.path))
        .collect();
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
            who.name
        );
        let (status, _) = call(api, &Method::GET, "/api/v1/me").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{} after logout",
            who.name
        );
    }
}
