//! Every input bounded: each test tries the attack and sees the refusal
//! (a gzip bomb and a lying tar header on a stack's files, a WebSocket
//! flood, an oversized WebSocket message, one build too many).

use std::io::Write;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::Role;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use berth::limits::{MAX_SOCKETS_PER_USER, MAX_TASKS_PER_USER, MAX_WS_MESSAGE};

use crate::common::*;

const S: &str = "/api/v1/endpoints/local/stacks";
const EVENTS: &str = "/api/v1/endpoints/local/events/ws";

async fn new_stack(admin: &Api, name: &str) {
    let compose = format!("services:\n  app:\n    image: {TEST_IMAGE}\n");
    let r = admin
        .post_json(S, &json!({"name": name, "compose": compose}))
        .await;
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

async fn put_files(api: &Api, name: &str, body: Vec<u8>) -> reqwest::Response {
    api.client
        .put(format!("{}{S}/{name}/files", api.base))
        .header("content-type", "application/x-tar")
        .body(body)
        .send()
        .await
        .expect("upload")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("gzip");
    gz.finish().expect("gzip")
}

fn file_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// The files the stack's folder lists.
async fn listed(api: &Api, name: &str) -> Vec<String> {
    let files: protocol::StackFiles = api.get_json(&format!("{S}/{name}/files")).await;
    files.files.into_iter().map(|f| f.path).collect()
}

/// No staging folder is left in berth's data folder.
fn no_staging_left(app: &TestApp) {
    let left: Vec<String> = std::fs::read_dir(&app.state.config.data_dir)
        .expect("data dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stack-upload-"))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");
}

#[tokio::test]
async fn a_gzip_bomb_on_a_stacks_files_is_refused_early_and_leaves_nothing() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "bomber", Role::Operator).await;
    let name = unique("bomb");
    new_stack(&admin, &name).await;

    // A good file first, then 64 MiB of zeros in 1 MiB entries: about
    // 300 KiB sent.
    let zeros = vec![0u8; 1 << 20];
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = file_header(4);
    tar.append_data(&mut h, "first.txt", &b"good"[..])
        .expect("tar");
    for i in 0..64 {
        let mut h = file_header(zeros.len() as u64);
        tar.append_data(&mut h, format!("zeros/{i}.bin"), &zeros[..])
            .expect("tar");
    }
    let bomb = gzip(&tar.into_inner().expect("tar"));
    assert!(bomb.len() < 1 << 20, "the bomb is {} bytes", bomb.len());

    let started = std::time::Instant::now();
    let r = put_files(&operator, &name, bomb).await;
    let detail = expect_problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(detail.contains("expand"), "{detail}");
    assert!(detail.contains("zeros/"), "names the entry: {detail}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused only after {:?}",
        started.elapsed()
    );
    assert!(listed(&operator, &name).await.is_empty(), "nothing written");
    no_staging_left(&app);

    // The same folder still takes an honest upload.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = file_header(2);
    tar.append_data(&mut h, "web/ok.txt", &b"ok"[..])
        .expect("tar");
    let r = put_files(&operator, &name, gzip(&tar.into_inner().expect("tar"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(listed(&operator, &name).await, vec!["web/ok.txt"]);
    no_staging_left(&app);
}

#[tokio::test]
async fn a_tar_entry_declaring_more_than_the_budget_is_refused_before_it_is_read() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "liar", Role::Operator).await;
    let name = unique("liar");
    new_stack(&admin, &name).await;

    // One header saying 8 GiB, followed by a few bytes: reading it whole
    // would take the memory; it must be refused from the header alone.
    let mut h = file_header(8 << 30);
    h.set_path("huge.bin").expect("path");
    h.set_cksum();
    let mut body = h.as_bytes().to_vec();
    body.extend_from_slice(&[b'x'; 4096]);
    let r = put_files(&operator, &name, body).await;
    let detail = expect_problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(detail.contains("huge.bin"), "{detail}");
    assert!(detail.contains("MiB"), "{detail}");
    assert!(listed(&operator, &name).await.is_empty());
    no_staging_left(&app);
}

/// The status, `Retry-After` and problem detail of a refused upgrade.
fn refusal(e: &tokio_tungstenite::tungstenite::Error) -> (u16, Option<String>, String) {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(r) => (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            r.body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        ),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn a_websocket_flood_is_refused_past_the_per_user_cap() {
    let (app, admin) = TestApp::start_set_up().await;
    let _operator = app.user(&admin, "flooder", Role::Operator).await;
    let cookie = app.login_cookie("flooder", "flooder-password-1").await;

    let mut open = Vec::new();
    for i in 0..MAX_SOCKETS_PER_USER {
        let ws = app
            .ws(EVENTS, &cookie)
            .await
            .unwrap_or_else(|e| panic!("socket {i}: {e}"));
        open.push(ws);
    }
    let err = app.ws(EVENTS, &cookie).await.expect_err("one too many");
    let (status, retry_after, body) = refusal(&err);
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some(), "a Retry-After header");
    assert!(body.contains("events"), "names what is open: {body}");
    assert!(
        body.contains(&MAX_SOCKETS_PER_USER.to_string()),
        "says the cap: {body}"
    );

    // Another user is not held to this user's sockets.
    let admin_cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut theirs = app.ws(EVENTS, &admin_cookie).await.expect("admin's socket");
    let _ = theirs.close(None).await;

    // Closing one gives its place back.
    let mut one = open.pop().expect("a socket");
    one.close(None).await.expect("close");
    drop(one);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match app.ws(EVENTS, &cookie).await {
            Ok(ws) => {
                open.push(ws);
                break;
            }
            Err(e) => {
                assert_eq!(refusal(&e).0, 429);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the closed socket's place never came back"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    for mut ws in open {
        let _ = ws.close(None).await;
    }
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_the_socket_with_1009() {
    let (app, _admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut ws = app.ws(EVENTS, &cookie).await.expect("socket");
    let big = "x".repeat(MAX_WS_MESSAGE + 1024);
    ws.send(Message::Text(big.into())).await.expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let close = loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    let frame = close.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    assert!(frame.reason.contains("KiB"), "{frame:?}");

    // berth is still there, and a socket within the limit works.
    let me = app.anonymous();
    let r = me.get("/readyz").await;
    assert!(r.status().is_success() || r.status() == StatusCode::SERVICE_UNAVAILABLE);
    let mut ws = app.ws(EVENTS, &cookie).await.expect("a new socket");
    ws.send(Message::Text("x".repeat(1024).into()))
        .await
        .expect("a small message");
    let first: Option<serde_json::Value> = next_json(&mut ws, 10).await;
    assert!(first.is_some(), "the socket still speaks");
    let _ = ws.close(None).await;
}

#[tokio::test]
async fn an_oversized_exec_input_ends_the_session_with_1009_and_the_audit_says_why() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("bigpaste"));
    let r = admin
        .post_json(
            "/api/v1/endpoints/local/containers",
            &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut ws = app
        .ws(
            &format!("/api/v1/endpoints/local/containers/{name}/exec/ws?cmd=sh"),
            &cookie,
        )
        .await
        .expect("exec socket");
    // A paste past the limit, in one message.
    ws.send(Message::Binary(vec![b'a'; MAX_WS_MESSAGE * 2].into()))
        .await
        .expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let frame = loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.expect("a close code"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");

    let mut target = String::new();
    for _ in 0..50 {
        let rows: Vec<protocol::AuditEntry> = admin
            .get_json("/api/v1/audit?action=container.exec&limit=1")
            .await;
        target = rows.first().map(|r| r.target.clone()).unwrap_or_default();
        if target.contains("closed by berth") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(target.contains("larger than the 64 KiB"), "{target}");

    // The terminal still opens for a paste within the limit.
    let mut ws = app
        .ws(
            &format!("/api/v1/endpoints/local/containers/{name}/exec/ws?cmd=sh"),
            &cookie,
        )
        .await
        .expect("a new exec socket");
    // Many short lines (a terminal line holds 4 KiB), 20 KiB in all.
    let line = format!("{}echo $((6*7))done\n", "x=1\n".repeat(5_000));
    ws.send(Message::Binary(line.into_bytes().into()))
        .await
        .expect("send");
    let mut out = String::new();
    while !out.contains("42done") {
        match tokio::time::timeout_at(deadline + Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => out.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(_))) => {}
            other => panic!("no echo: {other:?}"),
        }
    }
    let _ = ws.close(None).await;
}

/// A build context whose build takes `secs` seconds.
fn slow_context(secs: u32) -> Vec<u8> {
    let dockerfile = format!("FROM {TEST_IMAGE}\nRUN sleep {secs}\n");
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = file_header(dockerfile.len() as u64);
    tar.append_data(&mut h, "Dockerfile", dockerfile.as_bytes())
        .expect("tar");
    tar.into_inner().expect("tar")
}

async fn start_build(api: &Api, tag: &str) -> reqwest::Response {
    api.client
        .post(format!(
            "{}/api/v1/endpoints/local/images/build?tag={tag}",
            api.base
        ))
        .header("content-type", "application/x-tar")
        .body(slow_context(4))
        .send()
        .await
        .expect("build")
}

#[tokio::test]
async fn a_build_past_the_per_user_cap_gets_429_naming_what_runs() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "builder", Role::Operator).await;
    let prefix = unique("limits-build");
    let tags: Vec<String> = (0..=MAX_TASKS_PER_USER)
        .map(|i| format!("berth-test/{prefix}:{i}"))
        .collect();
    let _cleanup = Images(tags.clone());

    // The first ones are running: their progress has started.
    let mut running = Vec::new();
    for tag in &tags[..MAX_TASKS_PER_USER] {
        let r = start_build(&operator, tag).await;
        assert_eq!(r.status(), StatusCode::OK, "build {tag}");
        running.push(r);
    }
    let r = start_build(&operator, &tags[MAX_TASKS_PER_USER]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"), "a Retry-After");
    let detail = expect_problem(r, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        detail.contains(&format!("build of {}", tags[0])),
        "names what runs: {detail}"
    );

    // Another user may still build while this one waits.
    let other = start_build(&admin, &tags[MAX_TASKS_PER_USER]).await;
    assert_eq!(other.status(), StatusCode::OK);
    let _ = other.text().await;

    // Once a build ends its place comes back.
    for r in running {
        let text = r.text().await.expect("progress");
        assert!(text.contains("\"done\""), "{text}");
    }
    let r = start_build(&operator, &tags[MAX_TASKS_PER_USER]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let _ = r.text().await;
}
