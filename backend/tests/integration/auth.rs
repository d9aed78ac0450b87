//! First-run setup, sign-in, roles, tokens and the audit trail.

use std::net::{IpAddr, Ipv4Addr};

use protocol::{ApiToken, AuditEntry, CreatedToken, Role, SessionInfo, SetupStatus, User};
use reqwest::{Response, StatusCode};
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

/// A client whose connections come from another loopback address, so berth
/// sees a different peer than the default 127.0.0.1.
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

async fn fail_login(api: &Api, username: &str) {
    let r = login(api, username, "not the password").await;
    expect_problem(r, StatusCode::UNAUTHORIZED).await;
}

/// Asserts a 429 with a `Retry-After` of at most a minute (the first lock)
/// and a detail that says how long to wait; returns the detail.
async fn expect_locked(r: Response) -> String {
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let detail = expect_problem(r, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.contains("try again in "), "{detail}");
    detail
}

#[tokio::test]
async fn five_failed_logins_hold_the_account_back_from_that_address_even_for_the_right_password() {
    let (app, admin) = TestApp::start_set_up().await;
    let api = app.anonymous();
    // Usernames are counted whatever their case.
    for name in ["admin", "Admin", "ADMIN", "admin", "aDmIn"] {
        fail_login(&api, name).await;
    }

    let r = login(&api, ADMIN_USER, ADMIN_PASSWORD).await;
    let detail = expect_locked(r).await;
    assert!(
        detail.contains("for this account from this address"),
        "{detail}"
    );
    assert!(
        api.get("/api/v1/me").await.status() == StatusCode::UNAUTHORIZED,
        "the refused login set no session"
    );
    // Sessions that already exist go on working.
    assert_eq!(admin.me().await.user.username, ADMIN_USER);

    // Every refusal is in the audit log, as a denied login, and no password is.
    expect_locked(login(&api, ADMIN_USER, ADMIN_PASSWORD).await).await;
    let text = admin
        .get("/api/v1/audit?action=auth.login")
        .await
        .text()
        .await
        .expect("audit");
    let rows: Vec<AuditEntry> = serde_json::from_str(&text).expect("audit rows");
    // Refusals of one actor from one address within a minute share a row.
    let refused: Vec<_> = rows.iter().filter(|r| r.status == 429).collect();
    assert_eq!(refused.iter().map(|r| r.count).sum::<u32>(), 2, "{rows:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.actor == ADMIN_USER && r.outcome == "denied"),
        "{rows:?}"
    );
    let failed: u32 = rows
        .iter()
        .filter(|r| r.status == 401)
        .map(|r| r.count)
        .sum();
    assert_eq!(failed, 5, "{rows:?}");
    assert!(!text.contains(ADMIN_PASSWORD) && !text.contains("not the password"));

    // Another address signs in to the same account at once.
    let elsewhere = client_from(&app, 2);
    assert_eq!(
        login(&elsewhere, ADMIN_USER, ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
}

/// Ten usernames that are not berth's, for sprays.
const SPRAY: [&str; 10] = [
    "mallory", "root", "operator", "test", "guest", "oracle", "backup", "support", "deploy",
    "ubuntu",
];

#[tokio::test]
async fn unknown_usernames_are_locked_like_known_ones() {
    let (app, _admin) = TestApp::start_set_up().await;
    let api = app.anonymous();
    for _ in 0..5 {
        fail_login(&api, "ghost").await;
    }
    let detail = expect_locked(login(&api, "ghost", "anything at all").await).await;
    assert!(detail.contains("for this account"), "{detail}");
}

#[tokio::test]
async fn a_spraying_address_is_held_back_for_every_account() {
    let (app, admin) = TestApp::start_set_up().await;
    // alice's password is `alice-password-1`; making her signs her in from
    // 127.0.0.1 before anything fails.
    app.user(&admin, "alice", Role::Viewer).await;
    let here = app.anonymous();
    for name in SPRAY {
        fail_login(&here, name).await;
    }

    // From 127.0.0.1 even a right password for an untouched account is refused...
    let detail = expect_locked(login(&here, "alice", "alice-password-1").await).await;
    assert!(detail.contains("from this address"), "{detail}");
    // ...while another address signs in to the same account.
    let elsewhere = client_from(&app, 2);
    let ok = login(&elsewhere, "alice", "alice-password-1").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(elsewhere.me().await.user.username, "alice");
}

#[tokio::test]
async fn failures_from_other_addresses_do_not_keep_the_owner_out() {
    let (app, _admin) = TestApp::start_set_up().await;
    for n in 2..5 {
        let attacker = client_from(&app, n);
        for _ in 0..5 {
            fail_login(&attacker, ADMIN_USER).await;
        }
        expect_locked(login(&attacker, ADMIN_USER, ADMIN_PASSWORD).await).await;
    }
    let fresh = client_from(&app, 9);
    assert_eq!(
        login(&fresh, ADMIN_USER, ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_successful_login_starts_the_count_over() {
    let (app, _admin) = TestApp::start_set_up().await;
    let api = app.anonymous();
    for _ in 0..4 {
        fail_login(&api, ADMIN_USER).await;
    }
    assert_eq!(
        login(&api, ADMIN_USER, ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
    for _ in 0..4 {
        fail_login(&api, ADMIN_USER).await;
    }
    let ok = login(&api, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(
        ok.status(),
        StatusCode::OK,
        "eight failures, but never five in a row"
    );
}

/// Signs in as a proxy would pass a client's request on: with `headers`
/// (`X-Forwarded-For`, `-Proto`, ...) added.
async fn login_with(
    app: &TestApp,
    headers: &[(&str, &str)],
    username: &str,
    password: &str,
) -> Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": username, "password": password}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("login")
}

async fn audit_rows(admin: &Api, query: &str) -> Vec<AuditEntry> {
    admin.get_json(&format!("/api/v1/audit?{query}")).await
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_not_believed() {
    let (app, admin) = TestApp::start_set_up().await;
    app.user(&admin, "alice", Role::Viewer).await;
    // Each failure claims another client; berth counts them all against
    // the TCP peer, 127.0.0.1.
    for (n, name) in SPRAY.into_iter().enumerate() {
        let forwarded = format!("198.51.100.{n}");
        let r = login_with(&app, &[("x-forwarded-for", &forwarded)], name, "nope").await;
        expect_problem(r, StatusCode::UNAUTHORIZED).await;
    }
    let r = login_with(
        &app,
        &[("x-forwarded-for", "203.0.113.50")],
        "alice",
        "alice-password-1",
    )
    .await;
    let detail = expect_locked(r).await;
    assert!(detail.contains("from this address"), "{detail}");

    let rows = audit_rows(&admin, "action=auth.login").await;
    assert_eq!(rows.len(), 12, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.address.as_deref() == Some("127.0.0.1")),
        "{rows:?}"
    );
    assert!(audit_rows(&admin, "address=198.51.100.1").await.is_empty());
    let mine = audit_rows(&admin, "address=127.0.0.1&action=auth.login").await;
    assert_eq!(mine.len(), 12);
    expect_problem(
        admin.get("/api/v1/audit?address=not-an-address").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own() {
    let (app, admin) = TestApp::start_set_up_behind_proxy().await;
    app.user(&admin, "alice", Role::Viewer).await;
    let client_a = [("x-forwarded-for", "198.51.100.1")];
    for name in SPRAY {
        let r = login_with(&app, &client_a, name, "nope").await;
        expect_problem(r, StatusCode::UNAUTHORIZED).await;
    }
    let r = login_with(&app, &client_a, "alice", "alice-password-1").await;
    let detail = expect_locked(r).await;
    assert!(detail.contains("from this address"), "{detail}");

    // Client B reaches berth through the same proxy (the same TCP peer),
    // and is not locked out by A. What B put left of the proxy's entry is
    // ignored.
    let client_b = [("x-forwarded-for", "198.51.100.1, 198.51.100.2")];
    let r = login_with(&app, &client_b, "alice", "alice-password-1").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Nor is the proxy's own address (the admin's client, forwarding nothing).
    assert_eq!(admin.me().await.user.username, ADMIN_USER);
    assert_eq!(
        login(&app.anonymous(), ADMIN_USER, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    let a = audit_rows(&admin, "address=198.51.100.1").await;
    assert_eq!(a.len(), 11, "{a:?}");
    assert!(a.iter().all(|r| r.action == "auth.login"), "{a:?}");
    assert_eq!(a.iter().filter(|r| r.status == 401).count(), 10);
    assert_eq!(a.iter().filter(|r| r.status == 429).count(), 1);
    let b = audit_rows(&admin, "address=198.51.100.2").await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(
        (b[0].actor.as_str(), b[0].outcome.as_str()),
        ("alice", "ok")
    );
    let direct = audit_rows(&admin, "address=127.0.0.1").await;
    assert!(
        direct.iter().any(|r| r.action == "user.create"),
        "{direct:?}"
    );
}

fn set_cookie(r: &Response) -> String {
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn is_secure(cookie: &str) -> bool {
    cookie
        .split(';')
        .skip(1)
        .any(|attr| attr.trim().eq_ignore_ascii_case("secure"))
}

#[tokio::test]
async fn forwarded_proto_makes_the_cookie_secure_only_from_a_trusted_proxy() {
    let https = [("x-forwarded-proto", "https")];

    let (direct, _admin) = TestApp::start_set_up().await;
    let r = login_with(&direct, &https, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = set_cookie(&r);
    assert!(cookie.starts_with("berth_session="), "{cookie}");
    assert!(!is_secure(&cookie), "an untrusted peer's header: {cookie}");

    let proxied = TestApp::start_behind_proxy().await;
    // First setup signs the admin in too; its cookie follows the same rule.
    let token = proxied.setup_token.clone().expect("setup token");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/setup", proxied.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("setup");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(is_secure(&set_cookie(&r)), "{}", set_cookie(&r));
    let r = login_with(&proxied, &https, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = set_cookie(&r);
    assert!(is_secure(&cookie), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let r = login_with(
        &proxied,
        &[("x-forwarded-proto", "http")],
        ADMIN_USER,
        ADMIN_PASSWORD,
    )
    .await;
    assert!(!is_secure(&set_cookie(&r)), "{}", set_cookie(&r));

    // --secure-cookies marks it whatever the request says.
    let configured = TestApp::start_configured(|args| args.secure_cookies = true).await;
    let token = configured.setup_token.clone().expect("setup token");
    let r = configured
        .anonymous()
        .post_json(
            "/api/v1/setup",
            &json!({"token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = set_cookie(&r);
    assert!(is_secure(&cookie), "{cookie}");
    assert_eq!(cookie.matches("Secure").count(), 1, "marked once: {cookie}");
}
