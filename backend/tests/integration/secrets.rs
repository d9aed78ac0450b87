//! Secrets stay secret and sessions end sockets: what a viewer may read of
//! environment values, who may export an image or adopt a stack, sockets
//! that close when their user signs out, is demoted or removed, and the
//! audit row every exec session leaves.

use std::time::Duration;

use futures_util::SinkExt;
use protocol::{AuditEntry, ExecEvent, Role};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const C: &str = "/api/v1/endpoints/local/containers";
const S: &str = "/api/v1/endpoints/local/stacks";
const I: &str = "/api/v1/endpoints/local/images";
const SECRET: &str = "TOPSECRET-123";

/// Removes images (forced) when dropped, even when the test failed.
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let reference = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _ = engine()
                    .await
                    .remove_image(
                        &reference,
                        Some(bollard::query_parameters::RemoveImageOptions {
                            force: true,
                            ..Default::default()
                        }),
                        None,
                    )
                    .await;
            });
        })
        .join();
    }
}

async fn created(r: reqwest::Response) {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

/// A body the caller may read, with its status checked.
async fn body(api: &Api, path: &str) -> String {
    let r = api.get(path).await;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
    text
}

const COMPOSE: &str = "x-common: &common\n  ANCHORED_KEY: TOPSECRET-123\nservices:\n  app:\n    image: berth-test/busybox:latest\n    command: [\"sleep\", \"300\"]\n    environment:\n      DB_PASSWORD: TOPSECRET-123\n      FROM_DOTENV: ${TOKEN}\n  other:\n    image: berth-test/busybox:latest\n    environment: *common\n  third:\n    image: berth-test/busybox:latest\n    environment:\n      - LIST_SECRET=TOPSECRET-123\n    labels: {token: \"${TOKEN}\"}\n";

#[tokio::test]
async fn a_viewer_sees_every_name_but_no_secret_value() {
    let (app, admin) = TestApp::start_set_up().await;
    let viewer = app.user(&admin, "vera", Role::Viewer).await;
    let operator = app.user(&admin, "opal", Role::Operator).await;
    let mut clean = Cleanup::default();

    let name = clean.container(&unique("secret"));
    created(
        admin
            .post_json(
                C,
                &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"],
                    "env": {"API_KEY": SECRET}}),
            )
            .await,
    )
    .await;

    let tag = format!("{}:1", unique("secretimg"));
    let _image = ImageGuard(tag.clone());
    let dockerfile = format!("FROM {TEST_IMAGE}\nENV SECRET_TOKEN={SECRET} PLAIN=1\n");
    let form = reqwest::multipart::Form::new().part(
        "Dockerfile",
        reqwest::multipart::Part::bytes(dockerfile.into_bytes()).file_name("Dockerfile"),
    );
    let r = admin
        .post_form(&format!("{I}/build?tag={}", tag.replace(':', "%3A")), form)
        .await;
    let text = r.text().await.unwrap_or_default();
    assert!(text.contains("\"done\""), "build: {text}");
    let image = format!("{I}/{}", tag.replace(':', "%3A"));

    let stack = unique("secretstack");
    created(
        admin
            .post_json(
                S,
                &json!({"name": stack, "compose": COMPOSE, "env": format!("# the token\nTOKEN={SECRET}\n")}),
            )
            .await,
    )
    .await;
    let r = admin
        .client
        .put(format!("{}{S}/{stack}", admin.base))
        .json(
            &json!({"compose": COMPOSE.replace("sleep\", \"300", "sleep\", \"301"),
            "env": format!("TOKEN={SECRET}\nMORE={SECRET}-2\n")}),
        )
        .send()
        .await
        .expect("PUT");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );

    // Every GET a viewer can call about the container, the image and the stack.
    let paths = [
        format!("{C}?all=true"),
        format!("{C}/{name}"),
        format!("{C}/{name}/spec"),
        format!("{C}/{name}/compose"),
        I.to_string(),
        image.clone(),
        S.to_string(),
        format!("{S}/{stack}"),
        format!("{S}/{stack}/config"),
        format!("{S}/{stack}/revisions"),
        format!("{S}/{stack}/diff?from=1&to=2"),
        format!("{S}/{stack}/files"),
        "/api/v1/endpoints/local/ports".to_string(),
    ];
    let mut seen = String::new();
    for path in &paths {
        let text = body(&viewer, path).await;
        assert!(
            !text.contains(SECRET),
            "GET {path} shows a viewer the value: {text}"
        );
        seen.push_str(&text);
    }
    for name in [
        "API_KEY",
        "SECRET_TOKEN",
        "DB_PASSWORD",
        "FROM_DOTENV",
        "TOKEN",
        "LIST_SECRET",
        "ANCHORED_KEY",
        "MORE",
    ] {
        assert!(
            seen.contains(name),
            "a viewer no longer sees the name {name}"
        );
    }
    assert!(seen.contains("API_KEY=••••••"), "masked, not left out");

    // Operators see the values.
    for path in [
        format!("{C}/{name}"),
        format!("{C}/{name}/spec"),
        image.clone(),
        format!("{S}/{stack}"),
        format!("{S}/{stack}/config"),
        format!("{S}/{stack}/revisions"),
    ] {
        let text = body(&operator, &path).await;
        assert!(
            text.contains(SECRET),
            "GET {path} hides the value from an operator: {text}"
        );
    }

    // An image's files are its secrets too; adopting reads host files.
    let detail = expect_problem(
        viewer.get(&format!("{image}/export")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("operator"), "{detail}");
    let detail = expect_problem(
        operator.post(&format!("{S}/{stack}-x/adopt")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail.contains("admin"), "{detail}");
}

#[tokio::test]
async fn sockets_close_when_their_user_signs_out_is_demoted_or_removed() {
    let (app, admin) = TestApp::start_set_up().await;
    let _olga = app.user(&admin, "olga", Role::Operator).await;
    let password = "olga-password-1";
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("revoke"));
    created(
        admin
            .post_json(
                C,
                &json!({"name": name, "image": TEST_IMAGE,
                    "cmd": ["sh", "-c", "while :; do echo tick; sleep 0.2; done"]}),
            )
            .await,
    )
    .await;
    let logs = format!("{C}/{name}/logs/ws?tail=1");

    // Signing out closes the log socket of that session.
    let cookie = app.login_cookie("olga", password).await;
    let mut ws = app.ws(&logs, &cookie).await.expect("upgrade");
    assert!(next_json::<serde_json::Value>(&mut ws, 10).await.is_some());
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/logout", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let reason = closed_within(&mut ws, 5).await;
    assert!(reason.contains("signed out"), "{reason:?}");

    // A lower role closes what it no longer allows: a terminal needs operator.
    let id = user_id(&admin, "olga").await;
    let cookie = app.login_cookie("olga", password).await;
    let mut exec = app
        .ws(&format!("{C}/{name}/exec/ws?cmd=sh"), &cookie)
        .await
        .expect("upgrade");
    assert!(matches!(
        next_json::<ExecEvent>(&mut exec, 10).await,
        Some(ExecEvent::Started { .. })
    ));
    let mut ws = app.ws(&logs, &cookie).await.expect("upgrade");
    assert!(next_json::<serde_json::Value>(&mut ws, 10).await.is_some());
    let r = admin
        .patch_json(&format!("/api/v1/users/{id}"), &json!({"role": "viewer"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let reason = closed_within(&mut exec, 5).await;
    assert!(reason.contains("operator"), "{reason:?}");
    // A viewer may still follow logs: that socket stays.
    let frame = next_json::<serde_json::Value>(&mut ws, 3).await;
    assert!(
        frame.is_some(),
        "the log socket closed although viewers may read logs"
    );

    // Removing the user closes the rest.
    let r = admin.delete(&format!("/api/v1/users/{id}")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    closed_within(&mut ws, 5).await;

    // The terminal berth closed is in the audit log.
    let rows: Vec<AuditEntry> = admin
        .get_json("/api/v1/audit?action=container.exec&actor=olga")
        .await;
    assert!(
        rows.iter().any(|r| r.target.contains("closed by berth")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn an_exec_session_leaves_an_audit_row_with_its_command_and_duration() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("execaudit"));
    created(
        admin
            .post_json(
                C,
                &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
            )
            .await,
    )
    .await;
    let mut ws = app
        .ws(&format!("{C}/{name}/exec/ws?cmd=sh"), &cookie)
        .await
        .expect("upgrade");
    assert!(matches!(
        next_json::<ExecEvent>(&mut ws, 10).await,
        Some(ExecEvent::Started { .. })
    ));
    ws.send(Message::Binary(b"echo audited; exit 4\n".to_vec().into()))
        .await
        .expect("send");
    loop {
        match next_json::<ExecEvent>(&mut ws, 10).await {
            Some(ExecEvent::Exit { code }) => {
                assert_eq!(code, 4);
                break;
            }
            Some(_) => {}
            None => panic!("no exit"),
        }
    }
    let mut rows: Vec<AuditEntry> = Vec::new();
    for _ in 0..50 {
        rows = admin.get_json("/api/v1/audit?action=container.exec").await;
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = rows.first().expect("an exec audit row");
    assert_eq!(row.actor, ADMIN_USER);
    assert!(row.target.contains(&name), "{row:?}");
    assert!(row.target.contains(": sh ("), "the command: {row:?}");
    assert!(row.target.contains("lasted "), "the duration: {row:?}");
    assert!(row.target.contains("exit code 4"), "{row:?}");
}

/// A container the compose CLI might have left, labelled with `dir` and
/// `file`; removed when dropped.
async fn labelled_project(project: &str, dir: Option<&str>, file: &str) -> EngineContainer {
    let mut labels = vec![
        ("com.docker.compose.project", project),
        ("com.docker.compose.service", "app"),
        ("com.docker.compose.project.config_files", file),
    ];
    if let Some(dir) = dir {
        labels.push(("com.docker.compose.project.working_dir", dir));
    }
    EngineContainer::create(
        &format!("{project}-app-1"),
        &["sleep", "300"],
        &labels,
        true,
    )
    .await
}

#[tokio::test]
async fn adopt_reads_only_files_inside_the_labelled_working_directory() {
    let (_app, admin) = TestApp::start_set_up().await;
    let inside = tempfile::tempdir().expect("dir");
    let outside = tempfile::tempdir().expect("dir");
    let compose = format!("services:\n  app:\n    image: {TEST_IMAGE}\n");
    std::fs::write(outside.path().join("compose.yml"), &compose).expect("write");
    std::fs::write(inside.path().join("compose.yml"), &compose).expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("compose.yml"),
        inside.path().join("link.yml"),
    )
    .expect("symlink");
    let dir = inside.path().to_str().expect("utf-8 path");

    let refused = [
        (Some(dir), "/etc/shadow".to_string(), "config_files"),
        (
            Some(dir),
            format!("{dir}/../../../etc/passwd.yml"),
            "config_files",
        ),
        (Some(dir), format!("{dir}/link.yml"), "config_files"),
        (None, format!("{dir}/compose.yml"), "working_dir"),
    ];
    for (working_dir, file, label) in refused {
        let project = unique("adopt");
        let _c = labelled_project(&project, working_dir, &file).await;
        let detail = expect_problem(
            admin.post(&format!("{S}/{project}/adopt")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert!(
            detail.contains(&format!("com.docker.compose.project.{label}")),
            "{file}: {detail}"
        );
    }

    let project = unique("adopt");
    let _c = labelled_project(&project, Some(dir), &format!("{dir}/compose.yml")).await;
    let r = admin.post(&format!("{S}/{project}/adopt")).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
}
