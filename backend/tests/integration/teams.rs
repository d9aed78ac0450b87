//! Teams and grants: a non-admin reaches only the endpoints granted to
//! them or their teams, with the lower of their role and the grant's; a
//! lost grant or a disabled account ends their sockets; on an endpoint
//! that keeps operators to their own, they manage only what they or a
//! teammate created.

use std::time::Duration;

use futures_util::StreamExt;
use protocol::{
    BulkResult, ComposeCheck, Endpoint, EndpointAccess, EndpointPolicy, PolicyCheck, Role,
    SessionInfo, Team, User,
};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;
use crate::stacks::{progress, project_name, ProjectCleanup};

const C: &str = "/api/v1/endpoints/local/containers";
const S: &str = "/api/v1/endpoints/local/stacks";
const ACCESS: &str = "/api/v1/endpoints/local/access";

async fn user_id(admin: &Api, name: &str) -> i64 {
    let users: Vec<User> = admin.get_json("/api/v1/users").await;
    users
        .iter()
        .find(|u| u.username == name)
        .map(|u| u.id)
        .expect("the user exists")
}

async fn new_team(admin: &Api, name: &str) -> Team {
    let r = admin
        .post_json("/api/v1/teams", &json!({"name": name}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "create team {name}");
    r.json().await.expect("a team")
}

async fn join(admin: &Api, team: &Team, user: i64) {
    let r = admin
        .put_json(
            &format!("/api/v1/teams/{}/members/{user}", team.id),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "join {}", team.name);
}

async fn set_access(admin: &Api, access: serde_json::Value) {
    let r = admin.put_json(ACCESS, &access).await;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{text}");
}

async fn set_policy(admin: &Api, policy: &EndpointPolicy) {
    let r = admin
        .put_json(
            "/api/v1/endpoints/local/policy",
            &serde_json::to_value(policy).expect("json"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn run(api: &Api, name: &str) -> StatusCode {
    api.post_json(
        C,
        &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"],
            "labels": {"berth.created-by": "1"}}),
    )
    .await
    .status()
}

async fn endpoints(api: &Api) -> Vec<String> {
    let list: Vec<Endpoint> = api.get_json("/api/v1/endpoints").await;
    list.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn a_non_admin_reaches_only_the_endpoints_granted_to_them_or_their_team() {
    let (app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let gina = app.user_without_grant(&admin, "gina", Role::Operator).await;
    let gina_id = user_id(&admin, "gina").await;

    // No grant: no endpoint, and every route under one is 404.
    assert!(endpoints(&gina).await.is_empty());
    let me: SessionInfo = gina.me().await;
    assert!(me.endpoints.is_empty(), "{me:?}");
    for path in [
        C.to_string(),
        S.to_string(),
        "/api/v1/endpoints/local/info".into(),
    ] {
        let detail = expect_problem(gina.get(&path).await, StatusCode::NOT_FOUND).await;
        assert!(detail.contains("no endpoint"), "{path}: {detail}");
    }
    let name = clean.container(&unique("grant"));
    assert_eq!(run(&gina, &name).await, StatusCode::NOT_FOUND);

    // A team, a member, an operator grant to the team.
    let team = new_team(&admin, "deployers").await;
    join(&admin, &team, gina_id).await;
    let teams: Vec<Team> = admin.get_json("/api/v1/teams").await;
    let listed = teams
        .iter()
        .find(|t| t.name == "deployers")
        .expect("listed");
    assert_eq!(listed.members.len(), 1);
    assert_eq!(listed.members[0].username, "gina");
    let users: Vec<User> = admin.get_json("/api/v1/users").await;
    let g = users.iter().find(|u| u.username == "gina").expect("gina");
    assert_eq!(g.teams, vec!["deployers".to_string()]);
    set_access(
        &admin,
        json!({"grants": [{"team": "deployers", "role": "operator"}]}),
    )
    .await;
    let access: EndpointAccess = admin.get_json(ACCESS).await;
    assert_eq!(access.grants.len(), 1);
    assert_eq!(access.grants[0].team.as_deref(), Some("deployers"));

    assert_eq!(endpoints(&gina).await, vec!["local".to_string()]);
    let me: SessionInfo = gina.me().await;
    assert_eq!(me.endpoints.len(), 1);
    assert_eq!(me.endpoints[0].role, Role::Operator);
    assert_eq!(me.user.teams, vec!["deployers".to_string()]);
    assert_eq!(run(&gina, &name).await, StatusCode::CREATED);

    // The role there is the lower of the user's and the grant's.
    set_access(
        &admin,
        json!({"grants": [{"team": "deployers", "role": "viewer"}]}),
    )
    .await;
    let detail = expect_problem(
        gina.post(&format!("{C}/{name}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("operator"), "{detail}");
    let viewer = app.user_without_grant(&admin, "vic", Role::Viewer).await;
    set_access(
        &admin,
        json!({"grants": [{"team": "deployers", "role": "viewer"}, {"user": "vic", "role": "operator"}]}),
    )
    .await;
    let me: SessionInfo = viewer.me().await;
    assert_eq!(
        me.endpoints[0].role,
        Role::Viewer,
        "a viewer stays a viewer"
    );
    expect_problem(
        viewer.post(&format!("{C}/{name}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Bad grants are refused by name, and nothing changes.
    for (bad, says) in [
        (
            json!({"grants": [{"user": "vic", "team": "deployers", "role": "viewer"}]}),
            "grants[0]",
        ),
        (
            json!({"grants": [{"user": "vic", "role": "admin"}]}),
            "viewer or operator",
        ),
        (
            json!({"grants": [{"team": "nobody", "role": "viewer"}]}),
            "no team named",
        ),
        (
            json!({"grants": [{"user": "nobody", "role": "viewer"}]}),
            "no user named",
        ),
    ] {
        let detail =
            expect_problem(admin.put_json(ACCESS, &bad).await, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains(says), "{bad}: {detail}");
    }
    let access: EndpointAccess = admin.get_json(ACCESS).await;
    assert_eq!(access.grants.len(), 2, "a refused PUT changed the grants");
    // Only admins read or change grants and teams.
    expect_problem(viewer.get(ACCESS).await, StatusCode::FORBIDDEN).await;
    expect_problem(gina.get("/api/v1/teams").await, StatusCode::FORBIDDEN).await;

    // Out of the team, out of the endpoint.
    let r = admin
        .delete(&format!("/api/v1/teams/{}/members/{gina_id}", team.id))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(endpoints(&gina).await.is_empty());
    expect_problem(gina.get(C).await, StatusCode::NOT_FOUND).await;
    let r = admin.delete(&format!("/api/v1/teams/{}", team.id)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let access: EndpointAccess = admin.get_json(ACCESS).await;
    assert_eq!(access.grants.len(), 1, "the team's grant went with it");
    let r = admin
        .post_json("/api/v1/teams", &json!({"name": " "}))
        .await;
    expect_problem(r, StatusCode::BAD_REQUEST).await;
}

/// Waits for the server to close `ws`; the close frame's reason.
async fn closed_within(ws: &mut Ws, secs: u64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map(|f| f.reason.to_string()).unwrap_or_default()
            }
            Ok(Some(Ok(_))) => {}
            Ok(None) | Ok(Some(Err(_))) => return String::new(),
            Err(_) => panic!("the socket is still open after {secs} s"),
        }
    }
}

#[tokio::test]
async fn losing_a_grant_or_being_disabled_ends_sockets_sessions_and_tokens() {
    let (app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("ungrant"));
    let r = admin
        .post_json(
            C,
            &json!({"name": name, "image": TEST_IMAGE,
                "cmd": ["sh", "-c", "while :; do echo tick; sleep 0.2; done"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let team = new_team(&admin, "watchers").await;
    let _hal = app.user_without_grant(&admin, "hal", Role::Operator).await;
    let hal_id = user_id(&admin, "hal").await;
    join(&admin, &team, hal_id).await;
    set_access(
        &admin,
        json!({"grants": [{"team": "watchers", "role": "operator"}]}),
    )
    .await;
    let logs = format!("{C}/{name}/logs/ws?tail=1");

    // The team's grant removed: the socket closes, saying why.
    let cookie = app.login_cookie("hal", "hal-password-1").await;
    let mut ws = app.ws(&logs, &cookie).await.expect("upgrade");
    assert!(next_json::<serde_json::Value>(&mut ws, 10).await.is_some());
    set_access(&admin, json!({"grants": []})).await;
    let reason = closed_within(&mut ws, 5).await;
    assert!(reason.contains("no longer granted"), "{reason:?}");
    let err = app
        .ws(&logs, &cookie)
        .await
        .expect_err("no grant, no socket");
    assert_eq!(refused_status(&err), 404);

    // Disabled: the socket closes, the session and the token stop working,
    // and signing in says why.
    set_access(
        &admin,
        json!({"grants": [{"user": "hal", "role": "operator"}]}),
    )
    .await;
    let mut ws = app.ws(&logs, &cookie).await.expect("upgrade");
    assert!(next_json::<serde_json::Value>(&mut ws, 10).await.is_some());
    let hal_api = app.anonymous();
    let r = hal_api
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "hal", "password": "hal-password-1"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = hal_api
        .post_json("/api/v1/tokens", &json!({"name": "ci"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token: serde_json::Value = r.json().await.expect("token");
    let bearer = Api::with_bearer(&app.base, token["token"].as_str().expect("secret"));
    assert_eq!(bearer.get(C).await.status(), StatusCode::OK);

    let r = admin
        .patch_json(
            &format!("/api/v1/users/{hal_id}"),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let shown: User = r.json().await.expect("user");
    assert!(shown.disabled);
    closed_within(&mut ws, 5).await;
    expect_problem(hal_api.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;
    expect_problem(bearer.get(C).await, StatusCode::UNAUTHORIZED).await;
    let detail = expect_problem(
        app.anonymous()
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "hal", "password": "hal-password-1"}),
            )
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("disabled"), "{detail}");
    // A wrong password still says only that.
    let detail = expect_problem(
        app.anonymous()
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "hal", "password": "wrong-password-1"}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(!detail.contains("disabled"), "{detail}");

    // Enabled again: signing in works, the old token too.
    let r = admin
        .patch_json(
            &format!("/api/v1/users/{hal_id}"),
            &json!({"disabled": false}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(bearer.get(C).await.status(), StatusCode::OK);

    // The last admin cannot be disabled.
    let admin_id = user_id(&admin, ADMIN_USER).await;
    let detail = expect_problem(
        admin
            .patch_json(
                &format!("/api/v1/users/{admin_id}"),
                &json!({"disabled": true}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(detail.contains("admin"), "{detail}");
}

#[tokio::test]
async fn on_an_own_resources_endpoint_operators_manage_only_their_teams_work() {
    let (app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let amy = app.user(&admin, "amy", Role::Operator).await;
    let ben = app.user(&admin, "ben", Role::Operator).await;
    let carl = app.user(&admin, "carl", Role::Operator).await;
    let team = new_team(&admin, "blue").await;
    join(&admin, &team, user_id(&admin, "amy").await).await;
    join(&admin, &team, user_id(&admin, "ben").await).await;
    set_policy(
        &admin,
        &EndpointPolicy {
            own_resources_only: true,
            ..Default::default()
        },
    )
    .await;

    let amys = clean.container(&unique("own-amy"));
    let carls = clean.container(&unique("own-carl"));
    let admins = clean.container(&unique("own-admin"));
    // A spec that names someone else as its creator is stamped with the
    // real one.
    assert_eq!(run(&amy, &amys).await, StatusCode::CREATED);
    assert_eq!(run(&carl, &carls).await, StatusCode::CREATED);
    assert_eq!(run(&admin, &admins).await, StatusCode::CREATED);

    // A teammate's container: yes; another team's or an admin's: no.
    assert_eq!(
        ben.post(&format!("{C}/{amys}/stop")).await.status(),
        StatusCode::NO_CONTENT
    );
    let detail = expect_problem(
        carl.post(&format!("{C}/{amys}/start")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("outside your teams"), "{detail}");
    expect_problem(
        amy.post(&format!("{C}/{admins}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        amy.post(&format!("{C}/{carls}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        amy.delete(&format!("{C}/{carls}?force=true")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        carl.post(&format!("{C}/{carls}/stop")).await.status(),
        StatusCode::NO_CONTENT
    );
    // Seeing is still allowed.
    assert_eq!(
        carl.get(&format!("{C}/{amys}")).await.status(),
        StatusCode::OK
    );
    // The bulk route checks each container the same way.
    let r = carl
        .post_json(
            &format!("{C}/bulk"),
            &json!({"action": "start", "ids": [amys, carls]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let results: Vec<BulkResult> = r.json().await.expect("results");
    let of = |n: &str| results.iter().find(|r| r.id == n).expect("a result");
    assert!(
        !of(&amys).ok
            && of(&amys)
                .error
                .as_deref()
                .unwrap_or("")
                .contains("outside your teams")
    );
    assert!(of(&carls).ok, "{results:?}");
    // The admin manages everything.
    assert_eq!(
        admin.post(&format!("{C}/{carls}/stop")).await.status(),
        StatusCode::NO_CONTENT
    );

    // Stacks: the creator's team manages them, nobody else.
    let stack = project_name("own");
    let _p = ProjectCleanup(stack.clone());
    let compose =
        format!("services:\n  app:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"300\"]\n");
    let r = amy
        .post_json(S, &json!({"name": stack, "compose": compose, "env": ""}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let lines = progress(&ben, &format!("{S}/{stack}/up"), json!({})).await;
    crate::stacks::assert_done(&lines);
    let detail = expect_problem(
        carl.post(&format!("{S}/{stack}/down")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains(&format!("stack {stack}")), "{detail}");
    expect_problem(
        carl.put_json(
            &format!("{S}/{stack}"),
            &json!({"name": stack, "compose": compose, "env": ""}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Its containers belong to the stack's creator.
    let containers: Vec<serde_json::Value> = admin.get_json(&format!("{C}?all=true")).await;
    let member = containers
        .iter()
        .find(|c| c["project"].as_str() == Some(stack.as_str()))
        .and_then(|c| c["id"].as_str())
        .expect("the stack's container")
        .to_string();
    expect_problem(
        carl.post(&format!("{C}/{member}/stop")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        ben.post(&format!("{C}/{member}/restart")).await.status(),
        StatusCode::NO_CONTENT
    );

    // With the switch off, operators manage everything on the endpoint again.
    set_policy(&admin, &EndpointPolicy::default()).await;
    assert_eq!(
        carl.post(&format!("{C}/{amys}/stop")).await.status(),
        StatusCode::NO_CONTENT
    );
    let lines = progress(&carl, &format!("{S}/{stack}/down"), json!({})).await;
    crate::stacks::assert_done(&lines);
    let r = admin.delete(&format!("{S}/{stack}")).await;
    assert!(r.status().is_success());
}

#[tokio::test]
async fn the_policy_check_and_stack_validation_show_refusals_before_submitting() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "olive", Role::Operator).await;
    let spec = json!({"name": "x", "image": TEST_IMAGE, "privileged": true,
        "mounts": [{"type": "bind", "source": "/", "target": "/host"}]});
    let check: PolicyCheck = {
        let r = operator.post_json(&format!("{C}/check"), &spec).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("check")
    };
    let fields: Vec<&str> = check.refusals.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields, vec!["mounts", "privileged"], "{check:?}");
    assert!(check.refusals[0].message.contains('/'), "{check:?}");
    let r = admin.post_json(&format!("{C}/check"), &spec).await;
    let check: PolicyCheck = r.json().await.expect("check");
    assert!(check.refusals.is_empty(), "an admin may: {check:?}");
    // Checks are not audited: they are called as the user types.
    let rows: Vec<serde_json::Value> = admin.get_json("/api/v1/audit?action=container.check").await;
    assert!(rows.is_empty(), "{rows:?}");

    let compose =
        format!("services:\n  web:\n    image: {TEST_IMAGE}\n    volumes:\n      - /:/host\n");
    let body = json!({"name": "checked", "compose": compose, "env": ""});
    let r = operator.post_json(&format!("{S}/validate"), &body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let check: ComposeCheck = r.json().await.expect("validate");
    assert!(!check.ok);
    assert_eq!(
        (check.errors[0].line, check.errors[0].column),
        (4, 5),
        "{check:?}"
    );
    assert!(check.errors[0].message.contains("volumes"), "{check:?}");
    let r = admin.post_json(&format!("{S}/validate"), &body).await;
    let check: ComposeCheck = r.json().await.expect("validate");
    assert!(check.ok, "an admin may: {check:?}");
}
