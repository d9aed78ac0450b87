//! API tokens with an expiry and a scope: a read-only token only reads, an
//! endpoint-scoped token finds no other endpoint, an expired token is
//! refused like a wrong one, and a token never acts above its owner's role
//! now; WebSockets opened with a token follow the same rules.

use protocol::{ApiToken, CreatedToken, ExecEvent, Role, TokenScope};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

const C: &str = "/api/v1/endpoints/local/containers";

async fn new_token(api: &Api, body: Value) -> CreatedToken {
    let r = api.post_json("/api/v1/tokens", &body).await;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    serde_json::from_str(&text).expect("a created token")
}

fn bearer(token: &CreatedToken) -> String {
    format!("Bearer {}", token.token)
}

#[tokio::test]
async fn a_read_only_token_reads_but_never_acts_whatever_its_owner_may() {
    let (app, admin) = TestApp::start_set_up().await;
    let name = unique("rotoken");
    let c = EngineContainer::create(&name, &["sleep", "300"], &[], true).await;
    let token = new_token(
        &admin,
        json!({"name": "ro", "scope": {"read_only": true, "endpoints": null}}),
    )
    .await;
    assert!(token.scope.read_only);
    let ro = Api::with_bearer(&app.base, &token.token);

    let list: Vec<protocol::ContainerSummary> = ro.get_json(&format!("{C}?all=true")).await;
    assert!(list.iter().any(|s| s.name == name));

    let detail = expect_problem(
        ro.post(&format!("{C}/{name}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("read-only"), "{detail}");
    assert_eq!(
        c.running().await,
        Some(true),
        "the refused stop did nothing"
    );
    let made = unique("rotoken-new");
    let r = ro
        .post_json(
            C,
            &json!({"name": made, "image": TEST_IMAGE, "cmd": ["true"]}),
        )
        .await;
    expect_problem(r, StatusCode::FORBIDDEN).await;
    assert!(
        engine().await.inspect_container(&made, None).await.is_err(),
        "nothing was created"
    );
    // Nor may it make itself a broader token, or any token.
    let r = ro
        .post_json("/api/v1/tokens", &json!({"name": "wider"}))
        .await;
    expect_problem(r, StatusCode::FORBIDDEN).await;

    // Its sockets: logs yes, a terminal never.
    let auth = bearer(&token);
    app.ws_with(&format!("{C}/{name}/logs/ws"), &[("authorization", &auth)])
        .await
        .expect("a read-only token follows logs");
    let err = app
        .ws_with(
            &format!("{C}/{name}/exec/ws?cmd=sh"),
            &[("authorization", &auth)],
        )
        .await
        .expect_err("a read-only token may not exec");
    assert_eq!(refused_status(&err), 403);

    // The list tells which token is which, and never the secret.
    let text = admin
        .get("/api/v1/tokens")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(!text.contains(&token.token));
    let tokens: Vec<ApiToken> = serde_json::from_str(&text).expect("tokens");
    let listed = tokens.iter().find(|t| t.name == "ro").expect("listed");
    assert!(listed.scope.read_only && !listed.expired);
}

#[tokio::test]
async fn an_endpoint_scoped_token_finds_no_other_endpoint() {
    let (app, admin) = TestApp::start_set_up().await;
    let name = unique("eptoken");
    let _c = EngineContainer::create(&name, &["sleep", "300"], &[], true).await;
    let other = new_token(
        &admin,
        json!({"name": "other", "scope": {"endpoints": ["other"]}}),
    )
    .await;
    assert_eq!(other.scope.endpoints, Some(vec!["other".to_string()]));
    let api = Api::with_bearer(&app.base, &other.token);
    for path in [
        format!("{C}?all=true"),
        format!("{C}/{name}"),
        "/api/v1/endpoints/local/info".to_string(),
    ] {
        let detail = expect_problem(api.get(&path).await, StatusCode::NOT_FOUND).await;
        assert!(detail.contains("local"), "{path}: {detail}");
    }
    let r = api.post(&format!("{C}/{name}/stop")).await;
    expect_problem(r, StatusCode::NOT_FOUND).await;
    let err = app
        .ws_with(
            &format!("{C}/{name}/logs/ws"),
            &[("authorization", &bearer(&other))],
        )
        .await
        .expect_err("another endpoint's socket");
    assert_eq!(refused_status(&err), 404);
    // What belongs to no endpoint still answers.
    assert_eq!(api.get("/api/v1/tokens").await.status(), StatusCode::OK);
    // A token it makes stays within its endpoints.
    let r = api
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "wider", "scope": {"endpoints": ["local"]}}),
        )
        .await;
    let detail = expect_problem(r, StatusCode::FORBIDDEN).await;
    assert!(detail.contains("scope.endpoints"), "{detail}");
    let narrow = new_token(&api, json!({"name": "inherits"})).await;
    assert_eq!(narrow.scope.endpoints, Some(vec!["other".to_string()]));

    // Scoped to `local`, the same routes answer.
    let local = new_token(
        &admin,
        json!({"name": "local", "scope": {"endpoints": ["local"]}}),
    )
    .await;
    let api = Api::with_bearer(&app.base, &local.token);
    let list: Vec<protocol::ContainerSummary> = api.get_json(&format!("{C}?all=true")).await;
    assert!(list.iter().any(|s| s.name == name));

    // Nonsense scopes are refused, naming the field.
    for scope in [json!({"endpoints": []}), json!({"endpoints": [" "]})] {
        let r = admin
            .post_json("/api/v1/tokens", &json!({"name": "bad", "scope": scope}))
            .await;
        let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains("scope.endpoints"), "{detail}");
    }
}

/// Needs `GET /api/v1/endpoints` to leave out what the token does not reach
/// (`api/endpoints.rs`: filter on `TokenLimits::reaches`).
#[tokio::test]
async fn an_endpoint_scoped_token_lists_only_its_endpoints() {
    let (app, admin) = TestApp::start_set_up().await;
    let other = new_token(
        &admin,
        json!({"name": "other", "scope": {"endpoints": ["other"]}}),
    )
    .await;
    let api = Api::with_bearer(&app.base, &other.token);
    let list: Vec<Value> = api.get_json("/api/v1/endpoints").await;
    assert!(list.is_empty(), "{list:?}");
}

#[tokio::test]
async fn tokens_expire_and_an_expired_token_is_refused() {
    let (app, admin) = TestApp::start_set_up().await;

    // Expiry asked for wrongly is refused, naming the field.
    for (body, field) in [
        (
            json!({"name": "t", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"name": "t", "expires_at": "tomorrow"}), "expires_at"),
        (
            json!({"name": "t", "expires_at": "2999-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "t", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "t", "expires_in_days": 3651}),
            "expires_in_days",
        ),
        (
            json!({"name": "t", "expires_in_days": 7, "expires_at": "2030-01-01T00:00:00Z"}),
            "expires_in_days",
        ),
    ] {
        let r = admin.post_json("/api/v1/tokens", &body).await;
        let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains(field), "{body}: {detail}");
    }

    // The default is 90 days; null is never; a time is kept to the second.
    let default = new_token(&admin, json!({"name": "default"})).await;
    let never = new_token(&admin, json!({"name": "never", "expires_at": null})).await;
    let at = new_token(
        &admin,
        json!({"name": "at", "expires_at": "2030-06-30T14:00:00+02:00"}),
    )
    .await;
    assert_eq!(never.expires_at, None);
    assert_eq!(at.expires_at.as_deref(), Some("2030-06-30T12:00:00Z"));
    let days = default.expires_at.clone().expect("the default expires");
    let created = &days[..4].parse::<i32>().expect("a year");
    assert!(*created >= 2024, "{days}");

    let day = new_token(&admin, json!({"name": "day", "expires_in_days": 1})).await;
    let api = Api::with_bearer(&app.base, &day.token);
    assert_eq!(api.get(C).await.status(), StatusCode::OK);

    // A day later (moved in the database), it is refused like a wrong one.
    let owner = user_id(&admin, ADMIN_USER).await;
    app.state
        .store
        .set_token_expiry(owner, day.id, Some("2000-01-01T00:00:00Z"))
        .await
        .expect("move the expiry");
    let detail = expect_problem(api.get(C).await, StatusCode::UNAUTHORIZED).await;
    assert!(detail.contains("expired"), "{detail}");
    let err = app
        .ws_with(
            "/api/v1/endpoints/local/events/ws",
            &[("authorization", &bearer(&day))],
        )
        .await
        .expect_err("an expired token opens no socket");
    assert_eq!(refused_status(&err), 401);

    let tokens: Vec<ApiToken> = admin.get_json("/api/v1/tokens").await;
    let find = |n: &str| tokens.iter().find(|t| t.name == n).expect("listed").clone();
    assert!(find("day").expired);
    assert!(!find("never").expired && find("never").expires_at.is_none());
    assert_eq!(find("default").expires_at, default.expires_at);
    assert_eq!(find("default").scope, TokenScope::default());
}

#[tokio::test]
async fn a_token_follows_its_owner_down_at_once() {
    let (app, admin) = TestApp::start_set_up().await;
    let otto = app.user(&admin, "otto", Role::Operator).await;
    let mut clean = Cleanup::default();
    let first = clean.container(&unique("demote-a"));
    let second = clean.container(&unique("demote-b"));
    let a = EngineContainer::create(&first, &["sleep", "300"], &[], true).await;
    let b = EngineContainer::create(&second, &["sleep", "300"], &[], true).await;
    let token = new_token(&otto, json!({"name": "ci"})).await;
    let api = Api::with_bearer(&app.base, &token.token);

    let r = api.post(&format!("{C}/{first}/stop")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(a.running().await, Some(false));

    // A terminal opened with the token closes when the owner is demoted.
    let auth = bearer(&token);
    let mut exec = app
        .ws_with(
            &format!("{C}/{second}/exec/ws?cmd=sh"),
            &[("authorization", &auth)],
        )
        .await
        .expect("an operator's token may exec");
    assert!(matches!(
        next_json::<ExecEvent>(&mut exec, 10).await,
        Some(ExecEvent::Started { .. })
    ));

    let id = user_id(&admin, "otto").await;
    let r = admin
        .patch_json(&format!("/api/v1/users/{id}"), &json!({"role": "viewer"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let detail = expect_problem(
        api.post(&format!("{C}/{second}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("operator"), "{detail}");
    assert_eq!(
        b.running().await,
        Some(true),
        "the refused stop did nothing"
    );
    let reason = closed_within(&mut exec, 5).await;
    assert!(reason.contains("operator"), "{reason:?}");
    // It still reads, as its owner may.
    assert_eq!(api.get(C).await.status(), StatusCode::OK);

    // A removed owner's token is refused.
    let r = admin.delete(&format!("/api/v1/users/{id}")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    expect_problem(api.get(C).await, StatusCode::UNAUTHORIZED).await;
}
