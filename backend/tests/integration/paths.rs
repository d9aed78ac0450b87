//! Image references in paths the way the engine takes them (raw slashes,
//! a registry's port), under the same policy and audit as the encoded form;
//! and stack deploys and pulls counted among a user's image tasks.

use std::time::Duration;

use protocol::{AuditEntry, ImageDetail, ImageRemoval, Progress, Role, TaggedImage};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const I: &str = "/api/v1/endpoints/local/images";

/// The progress lines of a streamed answer.
async fn progress<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> Vec<T> {
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("progress");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a progress line"))
        .collect()
}

/// How many refusals of `action` by `actor` the audit log counts.
async fn denied(admin: &Api, action: &str, actor: &str) -> u32 {
    let rows: Vec<AuditEntry> = admin
        .get_json(&format!("/api/v1/audit?action={action}&limit=200"))
        .await;
    rows.iter()
        .filter(|r| r.actor == actor && r.outcome == "denied")
        .map(|r| r.count.max(1))
        .sum()
}

/// The status line and body of a request sent as written, without a
/// client's URL clean-up (which would resolve `..` before sending).
async fn raw(app: &TestApp, method: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

#[tokio::test]
async fn an_image_named_with_a_registry_port_and_slashes_works_raw_in_paths() {
    let (app, admin) = TestApp::start_set_up().await;
    let registry = Registry::start().await;
    let ns = unique("paths");
    let name = format!("{}/{ns}/app:1", registry.host);
    let _refs = Images(vec![name.clone()]);

    // Tag the test image (itself a name with a slash) raw.
    let r = admin
        .post_json(
            &format!("{I}/{TEST_IMAGE}/tag"),
            &json!({"reference": name}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let tagged: TaggedImage = r.json().await.expect("tagged");
    assert_eq!(tagged.reference, name);

    // Inspect it raw, and with the slashes encoded and raw mixed.
    let detail: ImageDetail = admin.get_json(&format!("{I}/{name}")).await;
    assert!(detail.repo_tags.contains(&name), "{:?}", detail.repo_tags);
    let mixed = format!("{}%2F{ns}/app:1", registry.host);
    let detail: ImageDetail = admin.get_json(&format!("{I}/{mixed}")).await;
    assert!(detail.repo_tags.contains(&name), "{:?}", detail.repo_tags);

    // Push it raw to the registry.
    let lines: Vec<Progress> = progress(
        admin
            .post_json(&format!("{I}/{name}/push"), &json!({"reference": name}))
            .await,
    )
    .await;
    assert!(
        matches!(lines.last(), Some(Progress::Done { .. })),
        "{lines:?}"
    );
    let tags: serde_json::Value =
        reqwest::get(format!("http://{}/v2/{ns}/app/tags/list", registry.host))
            .await
            .expect("the registry answers")
            .json()
            .await
            .expect("tags");
    assert_eq!(tags["tags"], json!(["1"]), "the registry has it");

    // Export it raw.
    let r = admin.get(&format!("{I}/{name}/export")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-tar")
    );
    let tar = r.bytes().await.expect("tar");
    assert!(
        tar.len() > 1024 && &tar[257..262] == b"ustar",
        "a tar archive"
    );

    // A viewer is refused the push raw exactly as encoded: 403, and one
    // more denied `image.push` in the audit log each time.
    let viewer = app.user(&admin, "vera", Role::Viewer).await;
    let before = denied(&admin, "image.push", "vera").await;
    let r = viewer
        .post_json(&format!("{I}/{name}/push"), &json!({"reference": name}))
        .await;
    expect_problem(r, StatusCode::FORBIDDEN).await;
    assert_eq!(denied(&admin, "image.push", "vera").await, before + 1);
    let encoded = name.replace('/', "%2F");
    let r = viewer
        .post_json(&format!("{I}/{encoded}/push"), &json!({"reference": name}))
        .await;
    expect_problem(r, StatusCode::FORBIDDEN).await;
    assert_eq!(denied(&admin, "image.push", "vera").await, before + 2);
    // And the remove, raw.
    expect_problem(
        viewer.delete(&format!("{I}/{name}")).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Remove it raw; then it is gone.
    let r = admin.delete(&format!("{I}/{name}")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let removal: ImageRemoval = r.json().await.expect("removal");
    assert!(removal.untagged.iter().any(|u| u == &name), "{removal:?}");
    expect_problem(
        admin.get(&format!("{I}/{name}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn ambiguous_image_paths_follow_the_stated_rules() {
    let (app, admin) = TestApp::start_set_up().await;
    let ns = unique("paths");
    // A repository whose last part is an action's name.
    let push_repo = format!("{ns}/push");
    let _refs = Images(vec![format!("{push_repo}:latest")]);
    let r = admin
        .post_json(
            &format!("{I}/{TEST_IMAGE}/tag"),
            &json!({"reference": push_repo}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // GET and DELETE have no `push` action: the path names the image `ns/push`.
    let detail: ImageDetail = admin.get_json(&format!("{I}/{push_repo}")).await;
    assert!(
        detail.repo_tags.contains(&format!("{push_repo}:latest")),
        "{:?}",
        detail.repo_tags
    );
    // POST has: `ns/push` with POST pushes the image `ns` (which does not exist).
    let r = admin
        .post_json(
            &format!("{I}/{push_repo}"),
            &json!({"reference": "127.0.0.1:1/x:1"}),
        )
        .await;
    let detail = expect_problem(r, StatusCode::NOT_FOUND).await;
    assert!(!detail.contains(&push_repo), "{detail}");

    // `..` and `.` parts, raw or encoded, are refused with 400 before
    // anything else; a client that cleans URLs never sends them, so they go raw.
    for path in [
        format!("{I}/{ns}/../app"),
        format!("{I}/../containers/x"),
        format!("{I}/{ns}/%2e%2e/app/push"),
        format!("{I}/{ns}/./app"),
    ] {
        let (status, answer) = raw(&app, "GET", &path).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(answer.contains("`..`"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("x-content-type-options: nosniff"),
            "the refusal carries the security headers: {answer}"
        );
    }

    // An empty part is refused; a trailing slash is no route.
    let detail = expect_problem(
        admin.get(&format!("{I}/{ns}//app")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("empty parts"), "{detail}");
    expect_problem(
        admin.get(&format!("{I}/{push_repo}/")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Remove it raw, by the name that ends in an action.
    let r = admin.delete(&format!("{I}/{push_repo}")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    expect_problem(
        admin.get(&format!("{I}/{push_repo}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn stack_pulls_and_deploys_count_among_the_users_image_tasks() {
    let (app, admin) = TestApp::start_set_up().await;
    let operator = app.user(&admin, "otis", Role::Operator).await;
    // A "registry" that takes connections and never answers: a pull from
    // it runs until the listener goes away.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let name = unique("slot");
    let stacks = "/api/v1/endpoints/local/stacks";
    let compose = format!("services:\n  app:\n    image: 127.0.0.1:{port}/slow/app:1\n");
    let r = operator
        .post_json(
            stacks,
            &json!({"name": name, "compose": compose, "env": ""}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );

    // Two pulls of the stack take the operator's two places.
    let first = operator.post(&format!("{stacks}/{name}/pull")).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = operator.post(&format!("{stacks}/{name}/pull")).await;
    assert_eq!(second.status(), StatusCode::OK);

    // A third image task, or a deploy, is refused with 429 naming them.
    for r in [
        operator.post(&format!("{stacks}/{name}/up")).await,
        operator
            .post_json(&format!("{I}/pull"), &json!({"reference": TEST_IMAGE}))
            .await,
    ] {
        assert!(r.headers().get("retry-after").is_some(), "a Retry-After");
        let detail = expect_problem(r, StatusCode::TOO_MANY_REQUESTS).await;
        assert!(
            detail.contains(&format!("pull of stack {name} ×2")),
            "{detail}"
        );
    }
    // Another user is not held back by them.
    let r = admin.post(&format!("{stacks}/{name}/pull")).await;
    assert_eq!(r.status(), StatusCode::OK);
    drop(r);

    // The client going away does not end the pull, nor give its place back.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = operator.post(&format!("{stacks}/{name}/up")).await;
    expect_problem(r, StatusCode::TOO_MANY_REQUESTS).await;

    // When the registry goes, the pulls end with an error, and the places
    // come back.
    silent.abort();
    let lines: Vec<protocol::StackProgress> = progress(second).await;
    assert!(
        matches!(lines.last(), Some(protocol::StackProgress::Error { .. })) || lines.is_empty(),
        "{lines:?}"
    );
    let mut status = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..100 {
        let r = operator.post(&format!("{stacks}/{name}/up")).await;
        status = r.status();
        if status != StatusCode::TOO_MANY_REQUESTS {
            let _ = r.text().await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, StatusCode::OK, "a deploy once the pulls ended");
    let _ = admin.delete(&format!("{stacks}/{name}")).await;
}
