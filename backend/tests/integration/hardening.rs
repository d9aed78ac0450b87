//! Bad input, hostile requests and the contract's error shapes.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test]
async fn health_is_open_and_everything_else_needs_a_session() {
    let app = TestApp::start().await;
    let api = app.anonymous();
    let health: Value = api.get_json("/healthz").await;
    assert_eq!(health, json!({"status": "ok"}));
    let ready = api.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    for path in [
        "/api/v1/me",
        "/api/v1/endpoints",
        "/api/v1/endpoints/local/info",
        "/api/v1/endpoints/local/containers?all=true",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/audit",
    ] {
        expect_problem(api.get(path).await, StatusCode::UNAUTHORIZED).await;
    }
    expect_problem(
        api.post("/api/v1/endpoints/local/containers/x/stop").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_bodies_are_refused_clearly() {
    let (app, admin) = TestApp::start_set_up().await;
    let r = admin
        .post_raw(
            "/api/v1/users",
            "application/json",
            b"{\"username\": \"x\",".to_vec(),
        )
        .await;
    let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
    assert!(detail.contains("not valid JSON"), "{detail}");

    let r = admin
        .post_raw(
            "/api/v1/users",
            "application/json",
            b"{\"username\": \"x\"}".to_vec(),
        )
        .await;
    let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
    assert!(
        detail.contains("password"),
        "names the missing field: {detail}"
    );

    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = admin
        .post_raw("/api/v1/tokens", "application/json", big.into_bytes())
        .await;
    expect_problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;

    let r = admin
        .post_raw(
            "/api/v1/tokens",
            "text/plain",
            b"{\"name\": \"t\"}".to_vec(),
        )
        .await;
    expect_problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let login = app
        .anonymous()
        .post_raw("/api/v1/auth/login", "application/json", b"[]".to_vec())
        .await;
    expect_problem(login, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let (_app, admin) = TestApp::start_set_up().await;
    expect_problem(
        admin.get("/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        admin.delete("/api/v1/endpoints").await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
}

#[tokio::test]
async fn a_container_reference_cannot_reach_other_engine_routes() {
    let (_app, admin) = TestApp::start_set_up().await;
    for id in ["..%2F..%2Fimages%2Fjson", "x%3Fall%3D1", "a%2Fb", "-rf"] {
        let r = admin
            .get(&format!("/api/v1/endpoints/local/containers/{id}"))
            .await;
        let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains("not a valid container"), "{detail}");
    }
}

#[tokio::test]
async fn cross_origin_writes_with_a_session_are_refused() {
    let (app, admin) = TestApp::start_set_up().await;
    let r = admin
        .client
        .post(format!("{}/api/v1/tokens", app.base))
        .header("origin", "http://evil.example")
        .json(&json!({"name": "stolen"}))
        .send()
        .await
        .expect("post");
    let detail = expect_problem(r, StatusCode::FORBIDDEN).await;
    assert!(detail.contains("cross-origin"), "{detail}");
    let r = admin
        .client
        .post(format!("{}/api/v1/tokens", app.base))
        .header("origin", app.base.clone())
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_who_may_call_it() {
    let app = TestApp::start().await;
    let doc: Value = app.anonymous().get_json("/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for route in berth::api::all_routes() {
        let op = &paths[route.path][route.method.as_str().to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is documented",
            route.method,
            route.path
        );
        assert!(op["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Who may call it")));
    }
    assert!(paths.contains_key("/api/v1/endpoints/{ep}/containers/{id}/stop"));
}

#[tokio::test]
async fn pages_are_served_with_a_strict_content_security_policy() {
    let app = TestApp::start().await;
    for path in ["/", "/endpoints/local/containers"] {
        let r = app.anonymous().get(path).await;
        let csp = r
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(
            r.headers()
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
    }
    let missing = app.anonymous().get("/no-such-file.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_store_keeps_only_hashes_of_secrets() {
    let (app, admin) = TestApp::start_set_up().await;
    let created: protocol::CreatedToken = admin
        .post_json("/api/v1/tokens", &json!({"name": "ci"}))
        .await
        .json()
        .await
        .expect("token");
    let db_dir = app.state.config.data_dir.clone();
    let mut bytes = Vec::new();
    for file in ["berth.db", "berth.db-wal"] {
        if let Ok(b) = std::fs::read(db_dir.join(file)) {
            bytes.extend(b);
        }
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        !haystack.contains(&created.token),
        "the API token is not stored in clear"
    );
    assert!(
        !haystack.contains(ADMIN_PASSWORD),
        "the password is not stored in clear"
    );
    assert!(
        haystack.contains("$argon2id$"),
        "the password is stored as an argon2id hash"
    );
}

/// A write and a WebSocket upgrade with the session of `admin`, from a
/// browser on `https://berth.example` whose proxy says so in
/// `X-Forwarded-Host`; returns the write's and the upgrade's statuses.
async fn from_forwarded_origin(app: &TestApp, admin: &Api) -> (StatusCode, u16) {
    let r = admin
        .client
        .post(format!("{}/api/v1/tokens", app.base))
        .header("origin", "https://berth.example")
        .header("x-forwarded-host", "berth.example")
        .header("x-forwarded-proto", "https")
        .json(&json!({"name": unique("fwd")}))
        .send()
        .await
        .expect("post");
    let write = r.status();
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let upgrade = match app
        .ws_with(
            "/api/v1/endpoints/local/events/ws",
            &[
                ("cookie", &cookie),
                ("origin", "https://berth.example"),
                ("x-forwarded-host", "berth.example"),
            ],
        )
        .await
    {
        Ok(_) => 101,
        Err(e) => refused_status(&e),
    };
    (write, upgrade)
}

#[tokio::test]
async fn forwarded_host_satisfies_the_origin_check_only_from_a_trusted_proxy() {
    let (direct, admin) = TestApp::start_set_up().await;
    assert_eq!(
        from_forwarded_origin(&direct, &admin).await,
        (StatusCode::FORBIDDEN, 403),
        "an untrusted peer's X-Forwarded-Host is not the host"
    );

    let (proxied, admin) = TestApp::start_set_up_behind_proxy().await;
    assert_eq!(
        from_forwarded_origin(&proxied, &admin).await,
        (StatusCode::CREATED, 101)
    );
    // Without the proxy's header the Origin must match Host, as before.
    let r = admin
        .client
        .post(format!("{}/api/v1/tokens", proxied.base))
        .header("origin", "https://berth.example")
        .json(&json!({"name": "no-forwarded-host"}))
        .send()
        .await
        .expect("post");
    expect_problem(r, StatusCode::FORBIDDEN).await;
    let r = admin
        .client
        .post(format!("{}/api/v1/tokens", proxied.base))
        .header("origin", proxied.base.clone())
        .json(&json!({"name": "direct"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CREATED);
}
