//! The endpoint security policy: every way a non-admin could reach into
//! the host is refused with a 403 naming the field on a default (deny-all)
//! endpoint, an admin passes, and a policy's allowances open exactly what
//! they say.

use protocol::{EndpointPolicy, Role};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::common::*;
use crate::stacks::{assert_done, progress, ProjectCleanup};

const C: &str = "/api/v1/endpoints/local/containers";
const S: &str = "/api/v1/endpoints/local/stacks";
const P: &str = "/api/v1/endpoints/local/policy";

async fn put_json(api: &Api, path: &str, body: &Value) -> Response {
    api.client
        .put(format!("{}{path}", api.base))
        .json(body)
        .send()
        .await
        .expect("PUT")
}

async fn set_policy(admin: &Api, policy: &EndpointPolicy) {
    let r = put_json(
        admin,
        P,
        &serde_json::to_value(policy).expect("policy json"),
    )
    .await;
    let status = r.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

/// Asserts a 403 whose detail names `field`, and returns the detail.
async fn refused(r: Response, field: &str) -> String {
    let detail = expect_problem(r, StatusCode::FORBIDDEN).await;
    assert!(detail.contains(&format!("`{field}`")), "{field}: {detail}");
    detail
}

async fn not_refused(r: Response, what: &str) {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_ne!(status, StatusCode::FORBIDDEN, "{what}: {text}");
}

#[tokio::test]
async fn the_policy_route_is_admin_only_checked_and_deny_all_by_default() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    let policy: EndpointPolicy = admin.get_json(P).await;
    assert_eq!(policy, EndpointPolicy::default());
    expect_problem(operator.get(P).await, StatusCode::FORBIDDEN).await;
    expect_problem(
        put_json(&operator, P, &json!({"allow_privileged": true})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for (body, field) in [
        (json!({"bind_mount_roots": ["srv"]}), "bind_mount_roots"),
        (
            json!({"bind_mount_roots": ["/srv/../etc"]}),
            "bind_mount_roots",
        ),
        (
            json!({"bind_mount_roots": vec!["/srv"; 65]}),
            "bind_mount_roots",
        ),
        (
            json!({"allowed_capabilities": ["FLY"]}),
            "allowed_capabilities",
        ),
    ] {
        let detail =
            expect_problem(put_json(&admin, P, &body).await, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains(field), "{body}: {detail}");
    }
    let open = EndpointPolicy {
        allow_bind_mounts: true,
        bind_mount_roots: vec!["/srv/data".into()],
        allowed_capabilities: vec!["NET_ADMIN".into()],
        ..Default::default()
    };
    set_policy(&admin, &open).await;
    let got: EndpointPolicy = admin.get_json(P).await;
    assert_eq!(got, open);
    expect_problem(
        admin.get("/api/v1/endpoints/nowhere/policy").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn every_host_option_is_refused_to_an_operator_and_allowed_to_an_admin() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    let mut cleanup = Cleanup::default();
    let other = EngineContainer::create(&unique("pol-other"), &["sleep", "300"], &[], true).await;
    let lines: Vec<(String, &str)> = vec![
        ("-v /:/host".into(), "mounts"),
        ("--privileged".into(), "privileged"),
        ("--cap-add SYS_ADMIN".into(), "cap_add"),
        ("--device /dev/sda".into(), "devices"),
        ("--pid host".into(), "pid"),
        ("--network host".into(), "network"),
        ("--security-opt apparmor=unconfined".into(), "security_opt"),
    ];
    for (flags, field) in &lines {
        let name = cleanup.container(&unique("pol-run"));
        let command = format!("docker run -d --name {name} {flags} {TEST_IMAGE} sleep 300");
        let body = json!({"command": command, "start": false});
        let r = operator
            .post_json(&format!("{C}/from-command"), &body)
            .await;
        refused(r, field).await;
        assert_eq!(
            newest_audit_outcome(&admin, "container.create_from_command", "denied").await,
            "denied"
        );
        let r = admin.post_json(&format!("{C}/from-command"), &body).await;
        not_refused(r, &command).await;
    }

    // The same bind through the JSON form's `mounts`.
    let name = cleanup.container(&unique("pol-json"));
    let body = json!({
        "name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"], "start": false,
        "mounts": [{"type": "bind", "source": "/", "target": "/h"}],
    });
    let detail = refused(operator.post_json(C, &body).await, "mounts").await;
    assert!(detail.contains("does not allow bind mounts"), "{detail}");
    let r = admin.post_json(C, &body).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );

    // Another container's network namespace (a `docker run` line cannot
    // ask for it; the JSON form can).
    let name = cleanup.container(&unique("pol-join"));
    let body = json!({
        "name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"], "start": false,
        "network": format!("container:{}", other.name),
    });
    let detail = refused(operator.post_json(C, &body).await, "network").await;
    assert!(detail.contains(&other.name), "{detail}");
    not_refused(admin.post_json(C, &body).await, "container:").await;
}

#[tokio::test]
async fn the_data_dir_and_the_engine_socket_are_never_bound_and_roots_resolve_symlinks() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    let mut cleanup = Cleanup::default();
    let run = |flags: String, name: String| json!({"command": format!("docker run -d --name {name} {flags} {TEST_IMAGE} sleep 300"), "start": false});
    set_policy(
        &admin,
        &EndpointPolicy {
            allow_bind_mounts: true,
            bind_mount_roots: vec!["/".into()],
            ..Default::default()
        },
    )
    .await;
    let data_dir = app.state.config.data_dir.display().to_string();
    for source in [
        "/".to_string(),
        "/var/run/docker.sock".to_string(),
        "/run".to_string(),
        data_dir.clone(),
        format!("{data_dir}/berth.db"),
        format!("{data_dir}/stacks/../secret.key"),
    ] {
        let name = cleanup.container(&unique("pol-never"));
        let r = operator
            .post_json(
                &format!("{C}/from-command"),
                &run(format!("-v {source}:/h"), name),
            )
            .await;
        let detail = refused(r, "mounts").await;
        assert!(detail.contains("never allowed"), "{source}: {detail}");
    }

    // Roots under /srv: a path there binds; a symlink there to /etc does not.
    let root = format!("/srv/{}", unique("pol-root"));
    struct RemoveDir(String);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _dir = RemoveDir(root.clone());
    std::fs::create_dir_all(format!("{root}/data")).expect("root dir");
    std::os::unix::fs::symlink("/etc", format!("{root}/link")).expect("symlink");
    set_policy(
        &admin,
        &EndpointPolicy {
            allow_bind_mounts: true,
            bind_mount_roots: vec!["/srv/berth-test-none".into(), root.clone()],
            ..Default::default()
        },
    )
    .await;
    let name = cleanup.container(&unique("pol-link"));
    let r = operator
        .post_json(
            &format!("{C}/from-command"),
            &run(format!("-v {root}/link:/h"), name),
        )
        .await;
    let detail = refused(r, "mounts").await;
    assert!(
        detail.contains("/etc") && detail.contains(&root),
        "{detail}"
    );
    let name = cleanup.container(&unique("pol-link"));
    let r = operator
        .post_json(
            &format!("{C}/from-command"),
            &run(format!("-v {root}/link/new:/h"), name),
        )
        .await;
    refused(r, "mounts").await;
    let name = cleanup.container(&unique("pol-ok"));
    let r = operator
        .post_json(
            &format!("{C}/from-command"),
            &run(format!("-v {root}/data:/h"), name),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let name = cleanup.container(&unique("pol-up"));
    let r = operator
        .post_json(
            &format!("{C}/from-command"),
            &run(format!("-v {root}/../etc:/h"), name),
        )
        .await;
    refused(r, "mounts").await;
}

#[tokio::test]
async fn a_bind_volume_is_a_bind_mount_to_the_policy() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    let mut cleanup = Cleanup::default();
    let name = cleanup.volume(&unique("pol-vol"));
    let bind = json!({"name": name, "driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": "/"}});
    let r = operator
        .post_json("/api/v1/endpoints/local/volumes", &bind)
        .await;
    refused(r, "driver_opts").await;
    // An admin may; the engine gets the options.
    let r = admin
        .post_json("/api/v1/endpoints/local/volumes", &bind)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let v = engine()
        .await
        .inspect_volume(&name)
        .await
        .expect("the volume");
    assert_eq!(
        v.options.get("device").map(String::as_str),
        Some("/"),
        "{:?}",
        v.options
    );
    // Options that bind nothing are the operator's to use.
    let plain = cleanup.volume(&unique("pol-vol2"));
    let r = operator
        .post_json(
            "/api/v1/endpoints/local/volumes",
            &json!({"name": plain, "driver": "local", "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

fn stack_with(service_lines: &str, extra: &str) -> String {
    format!(
        "services:\n  app:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"300\"]\n{service_lines}{extra}"
    )
}

#[tokio::test]
async fn a_stack_is_checked_at_save_and_at_up_naming_the_line() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    let other = EngineContainer::create(&unique("pol-other"), &["sleep", "300"], &[], true).await;
    let cases = [
        (
            stack_with("    volumes:\n      - ../../:/h\n", ""),
            "volumes",
            "5:5 service `app`",
        ),
        (
            stack_with("    volumes:\n      - data:/h\n", "volumes:\n  data:\n    driver_opts:\n      type: none\n      o: bind\n      device: /\n"),
            "driver_opts",
            "volume `data`",
        ),
        (
            stack_with(&format!("    network_mode: container:{}\n", other.name), ""),
            "network_mode",
            "5:5 service `app`",
        ),
        (stack_with("    privileged: true\n", ""), "privileged", "5:5 service `app`"),
        (stack_with("    cap_add: [SYS_ADMIN]\n", ""), "cap_add", "5:5"),
        (stack_with("    pid: host\n", ""), "pid", "5:5"),
        (
            stack_with("    post_start:\n      - command: [\"true\"]\n        privileged: true\n", ""),
            "post_start",
            "5:5 service `app`",
        ),
    ];
    for (compose, field, at) in &cases {
        let name = unique("pol-stack");
        let body = json!({"name": name, "compose": compose, "env": ""});
        let detail = refused(operator.post_json(S, &body).await, field).await;
        assert!(detail.contains(at), "{compose}: {detail}");
        assert_eq!(
            newest_audit_outcome(&admin, "stack.create", "denied").await,
            "denied"
        );
        let r = admin.post_json(S, &body).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap_or_default()
        );
        // Saved by an admin, it is still refused when the operator deploys it.
        let r = operator
            .post_json(&format!("{S}/{name}/up"), &json!({}))
            .await;
        refused(r, field).await;
    }

    // A stack's own relative binds stay inside its folder, and its own
    // services' namespaces are its own.
    let name = unique("pol-own");
    let _project = ProjectCleanup(name.clone());
    let compose = format!(
        "services:\n  app:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"300\"]\n    volumes:\n      - ./conf:/conf\n  side:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"300\"]\n    network_mode: service:app\n"
    );
    let r = operator
        .post_json(S, &json!({"name": name, "compose": compose, "env": ""}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert_done(&progress(&operator, &format!("{S}/{name}/up"), json!({})).await);
}

#[tokio::test]
async fn a_rollback_to_a_revision_the_policy_now_refuses_is_refused() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otto", Role::Operator).await;
    set_policy(
        &admin,
        &EndpointPolicy {
            allowed_capabilities: vec!["NET_ADMIN".into()],
            ..Default::default()
        },
    )
    .await;
    let name = unique("pol-back");
    let _project = ProjectCleanup(name.clone());
    let v1 = stack_with("    cap_add: [NET_ADMIN]\n", "");
    let r = operator
        .post_json(S, &json!({"name": name, "compose": v1, "env": ""}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert_done(&progress(&operator, &format!("{S}/{name}/up"), json!({})).await);
    let v2 = stack_with("", "");
    let r = put_json(
        &operator,
        &format!("{S}/{name}"),
        &json!({"compose": v2, "env": ""}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    set_policy(&admin, &EndpointPolicy::default()).await;
    let r = operator
        .post_json(&format!("{S}/{name}/up"), &json!({"revision": 1}))
        .await;
    let detail = refused(r, "cap_add").await;
    assert!(detail.contains("5:5 service `app`"), "{detail}");
    assert_eq!(
        newest_audit_outcome(&admin, "stack.up", "denied").await,
        "denied"
    );
    // The refused rollback saved nothing.
    let revisions: Vec<protocol::StackRevision> =
        admin.get_json(&format!("{S}/{name}/revisions")).await;
    assert_eq!(revisions.len(), 2);
}
