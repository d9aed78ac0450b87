//! First-run setup, sign-in, roles, tokens and the audit trail.

use protocol::{ApiToken, AuditEntry, CreatedToken, Role, SessionInfo, SetupStatus, User};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn setup_needs_the_printed_token_and_happens_once() {
    let app = TestApp::start().await;
    let api = app.anonymous();
    let token = app
        .setup_token
        .clone()
        .expect("a fresh berth makes a setup token");

    let status: SetupStatus = api.get_json("/api/v1/setup").await;
    assert!(status.needed);
    // Nothing is reachable before setup.
    expect_problem(api.get("/api/v1/endpoints").await, StatusCode::UNAUTHORIZED).await;

    let wrong = api
        .post_json(
            "/api/v1/setup",
            &json!({"token": "not-the-token", "username": "root", "password": ADMIN_PASSWORD}),
        )
        .await;
    let detail = expect_problem(wrong, StatusCode::FORBIDDEN).await;
    assert!(detail.contains("setup token"), "{detail}");
    assert!(
        api.get_json::<SetupStatus>("/api/v1/setup").await.needed,
        "a wrong token creates nobody"
    );

    let weak = api
        .post_json(
            "/api/v1/setup",
            &json!({"token": token, "username": "root", "password": "short"}),
        )
        .await;
    expect_problem(weak, StatusCode::BAD_REQUEST).await;

    let ok = api
        .post_json(
            "/api/v1/setup",
            &json!({"token": token, "username": "root", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let cookie = ok
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(cookie.starts_with("berth_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let body: SessionInfo = ok.json().await.expect("body");
    assert_eq!(body.user.username, "root");
    assert_eq!(body.user.role, Role::Admin);
    // The setup response signed the admin in.
    assert_eq!(api.me().await.user.username, "root");
    assert!(!api.get_json::<SetupStatus>("/api/v1/setup").await.needed);

    // Twice: 409, even with the right token, and from someone else.
    let again = app
        .anonymous()
        .post_json(
            "/api/v1/setup",
            &json!({"token": token, "username": "mallory", "password": ADMIN_PASSWORD}),
        )
        .await;
    expect_problem(again, StatusCode::CONFLICT).await;
    let users: Vec<User> = api.get_json("/api/v1/users").await;
    assert_eq!(users.len(), 1);
}

#[tokio::test]
async fn login_logout_and_me() {
    let (app, _admin) = TestApp::start_set_up().await;
    let api = app.anonymous();
    expect_problem(api.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;

    let wrong = api
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": "wrong password"}),
        )
        .await;
    let detail = expect_problem(wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(detail, "wrong username or password");
    let nobody = api
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "nobody", "password": "wrong password"}),
        )
        .await;
    assert_eq!(
        expect_problem(nobody, StatusCode::UNAUTHORIZED).await,
        detail,
        "unknown users look the same"
    );

    let ok = api
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: SessionInfo = ok.json().await.expect("body");
    assert_eq!(body.user.username, ADMIN_USER);
    assert_eq!(api.me().await.user.role, Role::Admin);

    assert_eq!(
        api.post("/api/v1/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(api.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_stolen_cookie_stops_working_after_logout() {
    let (app, admin) = TestApp::start_set_up().await;
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await;
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let pair = cookie.split(';').next().unwrap_or("").to_string();
    let raw = reqwest::Client::new();
    let me = raw
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", &pair)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    raw.post(format!("{}/api/v1/auth/logout", app.base))
        .header("cookie", &pair)
        .send()
        .await
        .expect("logout");
    let me = raw
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", &pair)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // The other session is untouched.
    assert_eq!(admin.me().await.user.username, ADMIN_USER);
}

#[tokio::test]
async fn roles_limit_what_each_user_may_do() {
    let (app, admin) = TestApp::start_set_up().await;
    let viewer = app.user(&admin, "vera", Role::Viewer).await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    let name = unique("roles");
    let c = EngineContainer::create(&name, &["sleep", "300"], &[], true).await;

    // Everyone may read.
    let list: Vec<protocol::ContainerSummary> = viewer
        .get_json("/api/v1/endpoints/local/containers?all=true")
        .await;
    assert!(list.iter().any(|s| s.name == name));

    // A viewer may not act.
    let denied = viewer
        .post(&format!("/api/v1/endpoints/local/containers/{name}/stop"))
        .await;
    let detail = expect_problem(denied, StatusCode::FORBIDDEN).await;
    assert!(detail.contains("operator"), "{detail}");
    assert_eq!(c.running().await, Some(true), "the denied stop did nothing");

    // An operator may act on containers, but not manage people.
    let stopped = operator
        .post(&format!("/api/v1/endpoints/local/containers/{name}/stop"))
        .await;
    assert_eq!(stopped.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.running().await, Some(false));
    let r = operator
        .post_json(
            "/api/v1/users",
            &json!({"username": "eve", "password": "eve-password", "role": "admin"}),
        )
        .await;
    expect_problem(r, StatusCode::FORBIDDEN).await;
    expect_problem(operator.get("/api/v1/audit").await, StatusCode::FORBIDDEN).await;

    // The audit log names who was refused and who did it.
    let rows: Vec<AuditEntry> = admin.get_json("/api/v1/audit?action=container.stop").await;
    assert!(
        rows.iter().any(|r| r.actor == "vera"
            && r.outcome == "denied"
            && r.status == 403
            && r.target.contains(&name)),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.actor == "otto" && r.outcome == "ok" && r.target.contains(&name)),
        "{rows:?}"
    );
    let rows: Vec<AuditEntry> = admin
        .get_json("/api/v1/audit?actor=otto&action=user.create")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "denied");
}

#[tokio::test]
async fn admins_manage_users_and_keep_one_admin() {
    let (app, admin) = TestApp::start_set_up().await;
    let r = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "ann", "password": "ann-password", "role": "operator"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ann: User = r.json().await.expect("user");
    assert_eq!(ann.role, Role::Operator);

    let dup = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "ANN", "password": "ann-password", "role": "viewer"}),
        )
        .await;
    let detail = expect_problem(dup, StatusCode::CONFLICT).await;
    assert!(detail.contains("already exists"), "{detail}");
    let bad_role = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "bob", "password": "bob-password", "role": "root"}),
        )
        .await;
    expect_problem(bad_role, StatusCode::BAD_REQUEST).await;

    let r = admin
        .patch_json(
            &format!("/api/v1/users/{}", ann.id),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ann_api = app.anonymous();
    ann_api
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "ann-password"}),
        )
        .await;
    assert_eq!(ann_api.me().await.user.role, Role::Viewer);

    // A new password ends the old sessions.
    admin
        .patch_json(
            &format!("/api/v1/users/{}", ann.id),
            &json!({"password": "another-password"}),
        )
        .await;
    expect_problem(ann_api.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;

    let me = admin.me().await.user;
    let last = admin.delete(&format!("/api/v1/users/{}", me.id)).await;
    let detail = expect_problem(last, StatusCode::CONFLICT).await;
    assert!(detail.contains("at least one admin"), "{detail}");
    assert_eq!(
        admin
            .delete(&format!("/api/v1/users/{}", ann.id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(
        admin.delete(&format!("/api/v1/users/{}", ann.id)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        admin.delete("/api/v1/users/not-a-number").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn api_tokens_act_as_their_user_and_are_shown_once() {
    let (app, admin) = TestApp::start_set_up().await;
    let r = admin
        .post_json("/api/v1/tokens", &json!({"name": "ci"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: CreatedToken = r.json().await.expect("token");
    assert!(created.token.starts_with("berth_") && created.token.len() > 40);

    let script = Api::with_bearer(&app.base, &created.token);
    assert_eq!(script.me().await.user.username, ADMIN_USER);
    let listed = admin
        .get("/api/v1/tokens")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !listed.contains(&created.token),
        "the secret is never listed"
    );
    let tokens: Vec<ApiToken> = serde_json::from_str(&listed).expect("tokens");
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].last_used_at.is_some());

    let dup = admin
        .post_json("/api/v1/tokens", &json!({"name": "ci"}))
        .await;
    expect_problem(dup, StatusCode::CONFLICT).await;

    let bogus = Api::with_bearer(&app.base, "berth_not-a-real-token");
    expect_problem(bogus.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;

    assert_eq!(
        admin
            .delete(&format!("/api/v1/tokens/{}", created.id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(script.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;
}
