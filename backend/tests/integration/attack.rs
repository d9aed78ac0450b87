//! Attacks from someone who can reach berth's port: an audit flood, a login
//! lockout of the admin, setup and API token guessing, and reading what the
//! errors and `/readyz` give away. Each one is tried and refused.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures_util::StreamExt;
use protocol::{AuditEntry, Role};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

/// A client whose connections come from `127.0.0.<last_octet>`.
fn client_from(app: &TestApp, last_octet: u8) -> Api {
    Api {
        base: app.base.clone(),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
            .build()
            .expect("client"),
        bearer: None,
    }
}

async fn login(api: &Api, username: &str, password: &str) -> Response {
    api.post_json(
        "/api/v1/auth/login",
        &json!({"username": username, "password": password}),
    )
    .await
}

/// Asserts a 429 problem+json with a `Retry-After`; returns its seconds and
/// the detail.
async fn expect_throttled(r: Response) -> (u64, String) {
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!(retry_after >= 1, "{retry_after}");
    let detail = expect_problem(r, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.contains("try again in "), "{detail}");
    (retry_after, detail)
}

async fn audit_rows(admin: &Api, query: &str) -> Vec<AuditEntry> {
    admin
        .get_json(&format!("/api/v1/audit?limit=1000&{query}"))
        .await
}

#[tokio::test]
async fn an_audit_flood_adds_a_few_counted_rows() {
    let (app, admin) = TestApp::start_set_up().await;
    let attacker = client_from(&app, 20);

    // 1,000 anonymous writes, refused with 401, sixteen at a time.
    let path = "/api/v1/endpoints/local/containers/flood/stop";
    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..1000)
        .map(|_| async { attacker.post(path).await.status() })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    let rows = audit_rows(&admin, "address=127.0.0.20").await;
    assert!(rows.len() <= 3, "{} rows: {rows:?}", rows.len());
    assert_eq!(rows.iter().map(|r| r.count).sum::<u32>(), 1000, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r.actor == "anonymous" && r.outcome == "denied" && r.status == 401));

    // A made-up username of 100,000 characters is kept as 64 and a mark.
    let sprayer = client_from(&app, 21);
    let huge = "x".repeat(100_000);
    expect_problem(
        login(&sprayer, &huge, "nope").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let rows = audit_rows(&admin, "address=127.0.0.21").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].actor, format!("{}…", "x".repeat(64)));

    // Once the address is held back, each refused login has another name:
    // they still share a row.
    for n in 0..9 {
        let r = login(&sprayer, &format!("spray{n}"), "nope").await;
        expect_problem(r, StatusCode::UNAUTHORIZED).await;
    }
    for n in 0..200 {
        let r = login(&sprayer, &format!("more{n}"), "nope").await;
        expect_throttled(r).await;
    }
    let refused: Vec<_> = audit_rows(&admin, "address=127.0.0.21")
        .await
        .into_iter()
        .filter(|r| r.status == 429)
        .collect();
    assert!(refused.len() <= 2, "{refused:?}");
    assert_eq!(refused.iter().map(|r| r.count).sum::<u32>(), 200);
}

#[tokio::test]
async fn an_attacker_cannot_keep_the_admin_out() {
    let (app, _admin) = TestApp::start_set_up().await;
    let attacker = client_from(&app, 30);
    for _ in 0..5 {
        let r = login(&attacker, ADMIN_USER, "guess").await;
        expect_problem(r, StatusCode::UNAUTHORIZED).await;
    }
    let (wait, detail) = expect_throttled(login(&attacker, ADMIN_USER, "guess").await).await;
    assert!(
        detail.contains("for this account from this address"),
        "{detail}"
    );
    // Even the right password waits there.
    expect_throttled(login(&attacker, ADMIN_USER, ADMIN_PASSWORD).await).await;

    // The admin, from a new address, at once.
    let admin_elsewhere = client_from(&app, 31);
    let r = login(&admin_elsewhere, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(admin_elsewhere.me().await.user.username, ADMIN_USER);

    // And from the attacker's address once the wait is over.
    assert!(wait <= 2, "the first wait is short: {wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = login(&attacker, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn setup_token_guessing_is_checked_first_and_throttled() {
    let app = TestApp::start().await;
    let token = app.setup_token.clone().expect("a setup token");
    let guesser = client_from(&app, 40);
    let setup = |api: &Api, token: &str, password: &str| {
        let body = json!({"token": token, "username": "root", "password": password});
        let api = Api {
            base: api.base.clone(),
            client: api.client.clone(),
            bearer: None,
        };
        async move { api.post_json("/api/v1/setup", &body).await }
    };

    // The token is checked before the password: a wrong token with a
    // password too weak to hash is refused for its token.
    let detail = expect_problem(
        setup(&guesser, "wrong-0", "short").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("setup token"), "{detail}");
    for n in 1..5 {
        let r = setup(&guesser, &format!("wrong-{n}"), ADMIN_PASSWORD).await;
        expect_problem(r, StatusCode::FORBIDDEN).await;
    }
    let (_, detail) = expect_throttled(setup(&guesser, "wrong-5", ADMIN_PASSWORD).await).await;
    assert!(detail.contains("setup tokens"), "{detail}");
    // Held back before the token is looked at, even the right one.
    expect_throttled(setup(&guesser, &token, ADMIN_PASSWORD).await).await;

    // The owner of the token, elsewhere: a weak password is refused for
    // its password now, and then setup goes through.
    let owner = client_from(&app, 41);
    let detail = expect_problem(
        setup(&owner, &token, "short").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("password"), "{detail}");
    let r = setup(&owner, &token, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn invalid_api_tokens_are_throttled_per_address() {
    let (app, admin) = TestApp::start_set_up().await;
    let created: Value = admin
        .post_json("/api/v1/tokens", &json!({"name": unique("attack")}))
        .await
        .json()
        .await
        .expect("token");
    let secret = created["token"].as_str().expect("the secret").to_string();

    let guesser = |n: u8, token: &str| {
        let mut api = client_from(&app, n);
        api.bearer = Some(token.to_string());
        api
    };
    for n in 0..10 {
        let r = guesser(50, &format!("guess-{n}")).get("/api/v1/me").await;
        let detail = expect_problem(r, StatusCode::UNAUTHORIZED).await;
        assert!(detail.contains("not valid"), "{detail}");
    }
    let r = guesser(50, "guess-10").get("/api/v1/me").await;
    let (_, detail) = expect_throttled(r).await;
    assert!(detail.contains("invalid API tokens"), "{detail}");
    // Refused before any lookup: the valid token waits too from there...
    expect_throttled(guesser(50, &secret).get("/api/v1/me").await).await;
    // ...and works from anywhere else.
    let me: Value = guesser(51, &secret).get_json("/api/v1/me").await;
    assert_eq!(me["user"]["username"], ADMIN_USER);
}

#[tokio::test]
async fn readyz_tells_strangers_only_whether_berth_is_ready() {
    let (app, admin) = TestApp::start_set_up().await;
    let r = app.anonymous().get("/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body, json!({"status": "ready"}));
    assert!(
        !text.contains("unix://") && !text.contains("docker.sock"),
        "{text}"
    );

    // Signed in, every endpoint's state, URL and engine version.
    let viewer = app.user(&admin, &unique("viewer"), Role::Viewer).await;
    for api in [&admin, &viewer] {
        let ready: Value = api.get_json("/readyz").await;
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["store"], "ok");
        assert_eq!(ready["endpoints"][0]["id"], "local");
        assert!(ready["endpoints"][0]["url"].is_string(), "{ready}");
        assert!(
            ready["endpoints"][0]["engine"]["version"].is_string(),
            "{ready}"
        );
    }
}

#[tokio::test]
async fn a_non_admin_sees_no_engine_text_and_an_admin_does() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, &unique("op"), Role::Operator).await;
    // A container whose command the engine cannot find: starting it makes
    // the engine refuse with a text that names a path.
    let name = unique("nocmd");
    let _c = EngineContainer::create(&name, &["/berth-attack/no-such-binary"], &[], false).await;
    let start = format!("/api/v1/endpoints/local/containers/{name}/start");

    let r = operator.post(&start).await;
    let status = r.status();
    assert!(status.is_client_error(), "{status}");
    let detail = expect_problem(r, status).await;
    assert!(!detail.contains("/berth-attack"), "{detail}");
    assert!(!detail.contains("no such file"), "{detail}");
    assert!(detail.contains("the engine refused this"), "{detail}");
    assert!(detail.contains(&status.as_u16().to_string()), "{detail}");

    let r = admin.post(&start).await;
    assert_eq!(r.status(), status, "the same status for the admin");
    let detail = expect_problem(r, status).await;
    assert!(detail.contains("/berth-attack/no-such-binary"), "{detail}");
}

#[tokio::test]
async fn audit_rows_older_than_the_retention_are_pruned() {
    let (app, admin) = TestApp::start_set_up().await;
    let before = audit_rows(&admin, "").await;
    assert!(!before.is_empty(), "setup was audited");
    // The default keeps 90 days: nothing written today goes.
    assert_eq!(app.state.store.prune_audit(90).await.expect("prune"), 0);
    assert_eq!(audit_rows(&admin, "").await.len(), before.len());
    // Zero days keeps nothing older than now.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pruned = app.state.store.prune_audit(0).await.expect("prune");
    assert_eq!(pruned, before.len() as u64);
    assert!(audit_rows(&admin, "").await.is_empty());
}
