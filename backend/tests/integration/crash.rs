//! Crash safety: berth run as its own process, killed with SIGKILL in the
//! middle of a stack deploy, a build, a pull and a burst of user edits,
//! then started again on the same data dir.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use protocol::{AuditEntry, CreatedToken, PlanAction, Role, StackDetail, User};
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::*;
use crate::stacks::{assert_done, plan_of, progress, project_name, ProjectCleanup};

const S: &str = "/api/v1/endpoints/local/stacks";
const I: &str = "/api/v1/endpoints/local/images";

/// The berth binary of this package, serving from `data` on a free port;
/// killed (SIGKILL) when dropped.
struct Berth {
    child: Child,
    base: String,
    stderr: PathBuf,
}

impl Berth {
    /// Starts berth and waits until it answers; the setup token it printed, if any.
    async fn start(data: &Path, logs: &Path) -> (Berth, Option<String>) {
        let port = free_port();
        let n = std::fs::read_dir(logs).map(|d| d.count()).unwrap_or(0);
        let stdout_path = logs.join(format!("stdout-{n}"));
        let stderr_path = logs.join(format!("stderr-{n}"));
        let stdout = std::fs::File::create(&stdout_path).expect("stdout file");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data)
            .arg("--docker-host")
            .arg(docker_host())
            .env("BERTH_LOG", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("the berth binary starts");
        let mut berth = Berth {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr: stderr_path,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = berth.child.try_wait() {
                panic!("berth exited with {status}: {}", berth.log());
            }
            if let Ok(r) = reqwest::get(format!("{}/healthz", berth.base)).await {
                if r.status() == StatusCode::OK {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "berth did not answer: {}",
                berth.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The token is printed before berth serves, so it is there now.
        let printed = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        let token = printed.lines().find_map(|l| {
            l.split_once("setup token: ")
                .map(|(_, t)| t.trim().to_string())
        });
        (berth, token)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn client(&self) -> Api {
        Api {
            base: self.base.clone(),
            client: Client::builder()
                .cookie_store(true)
                .build()
                .expect("client"),
            bearer: None,
        }
    }

    /// Makes the first admin with the setup token; the admin's client.
    async fn set_up(&self, token: Option<String>) -> Api {
        let api = self.client();
        let r = api
            .post_json(
                "/api/v1/setup",
                &json!({"token": token.expect("a setup token on first start"), "username": ADMIN_USER, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "setup");
        api
    }

    async fn sign_in(&self, username: &str, password: &str) -> Option<Api> {
        let api = self.client();
        let r = api
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": username, "password": password}),
            )
            .await;
        (r.status() == StatusCode::OK).then_some(api)
    }

    async fn admin(&self) -> Api {
        self.sign_in(ADMIN_USER, ADMIN_PASSWORD)
            .await
            .expect("the admin signs in after the restart")
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a streamed answer line by line until `stop` says so (or it ends,
/// or 40 s pass); the lines read.
async fn read_until(mut r: reqwest::Response, stop: impl Fn(&str) -> bool) -> Vec<String> {
    assert_eq!(r.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut buf = String::new();
    let mut lines = Vec::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .unwrap_or_else(|_| panic!("the stream went quiet: {lines:?}"));
        let Ok(Some(chunk)) = chunk else {
            return lines;
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(at) = buf.find('\n') {
            let line: String = buf.drain(..=at).collect();
            let line = line.trim().to_string();
            let done = stop(&line);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }
}

/// Every audit row berth shows, newest first.
async fn audit(admin: &Api) -> Vec<AuditEntry> {
    admin.get_json("/api/v1/audit?limit=1000").await
}

/// `PRAGMA integrity_check` on berth's database, opened read-only.
async fn integrity(data: &Path) -> String {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::ConnectOptions;
    let mut conn = SqliteConnectOptions::from_str("sqlite://")
        .expect("options")
        .filename(data.join("berth.db"))
        .read_only(true)
        .connect()
        .await
        .expect("the database opens read-only");
    let (answer,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity_check");
    answer
}

/// The names in berth's data dir, one level down into folders.
fn entries(data: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(data).expect("data dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if e.path().is_dir() {
            for inner in std::fs::read_dir(e.path()).expect("folder").flatten() {
                out.insert(format!("{name}/{}", inner.file_name().to_string_lossy()));
            }
        }
        out.insert(name);
    }
    out
}

/// A tar of `files`.
fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder
            .append_data(&mut header, name, data.as_bytes())
            .expect("tar entry");
    }
    builder.into_inner().expect("tar")
}

/// Percent-encodes a path segment.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The last line of a progress stream is `done`.
fn finished(lines: &[String]) -> bool {
    lines
        .last()
        .is_some_and(|l| l.contains("\"type\":\"done\""))
}

// ---------------------------------------------------------------- deploy

fn three_services() -> String {
    format!(
        "services:\n  db:\n    image: {TEST_IMAGE}\n    command: [\"sh\", \"-c\", \"sleep 4 && touch /tmp/ready && exec sleep 3600\"]\n    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ready\"]\n      interval: 1s\n      timeout: 1s\n      retries: 30\n  web:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"3600\"]\n    depends_on:\n      db:\n        condition: service_healthy\n  worker:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"3600\"]\n    depends_on:\n      db:\n        condition: service_healthy\n"
    )
}

#[tokio::test]
async fn a_deploy_killed_midway_shows_what_the_engine_has_and_a_redeploy_finishes() {
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("logs");
    let name = project_name("crashup");
    let _cleanup = ProjectCleanup(name.clone());
    let (mut berth, token) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.set_up(token).await;
    let compose = three_services();
    let r = admin
        .post_json(S, &json!({"name": name, "compose": compose, "env": ""}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let before = audit(&admin).await;

    // Killed while `web` and `worker` wait for `db` to be healthy.
    let r = admin.post_json(&format!("{S}/{name}/up"), &json!({})).await;
    let seen = read_until(r, |l| l.contains("\"type\":\"waiting\"")).await;
    assert!(
        seen.iter().any(|l| l.contains("\"type\":\"waiting\"")),
        "{seen:?}"
    );
    berth.kill();
    assert_eq!(
        integrity(data.path()).await,
        "ok",
        "the file as the crash left it"
    );
    // What a crash between saving a revision and writing the stack's folder
    // (or midway through that write) leaves there.
    let folder = data.path().join("stacks/local").join(&name);
    std::fs::write(folder.join("compose.yaml"), "services:\n  d").expect("cut short");
    // What a crash between forgetting a stack and removing its folder leaves.
    let gone = project_name("crashgone");
    let gone_folder = data.path().join("stacks/local").join(&gone);
    std::fs::create_dir_all(&gone_folder).expect("folder");
    std::fs::write(gone_folder.join("secret.txt"), "the old stack's").expect("old file");
    // What an upload killed midway leaves behind.
    let staging = data.path().join(".stack-upload-killed");
    std::fs::create_dir_all(staging.join("inner")).expect("staging");
    std::fs::write(staging.join("inner/part"), "half").expect("staging file");

    let (berth, token) = Berth::start(data.path(), logs.path()).await;
    assert!(token.is_none(), "the store kept its users");
    assert!(
        !staging.exists(),
        "a staging folder left by the crash is removed at start"
    );
    let admin = berth.admin().await;
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.revision, 1);
    assert_eq!(detail.compose, compose);
    let docker = engine().await;
    let mut running = Vec::new();
    for s in &detail.services {
        for c in &s.containers {
            let on_engine = docker
                .inspect_container(&c.name, None)
                .await
                .expect("a container berth shows is on the engine");
            assert_eq!(on_engine.state.and_then(|s| s.running), Some(true));
            running.push(s.name.clone());
        }
    }
    assert_eq!(running, vec!["db".to_string()], "{detail:?}");
    let listed: Vec<protocol::StackSummary> = admin.get_json(S).await;
    let summary = listed
        .iter()
        .find(|s| s.name == name)
        .expect("the stack is listed");
    assert_eq!(
        (summary.services_running, summary.services_total),
        (1, 3),
        "{summary:?}"
    );
    let plan = plan_of(&admin, &name).await;
    let mut to_create: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.action == PlanAction::Create && s.kind == "container")
        .filter_map(|s| s.service.clone())
        .collect();
    to_create.sort();
    assert_eq!(to_create, ["web", "worker"], "{plan:?}");

    // No audit row was lost, and the deploy has its own.
    let after = audit(&admin).await;
    for row in &before {
        let kept = after.iter().find(|a| a.id == row.id);
        assert!(
            kept.is_some_and(|a| (&a.action, &a.actor, &a.target, &a.outcome)
                == (&row.action, &row.actor, &row.target, &row.outcome)),
            "{row:?} after the crash: {kept:?}"
        );
    }
    let up = after
        .iter()
        .find(|a| a.action == "stack.up")
        .expect("the deploy's audit row");
    assert!(up.outcome == "ok" || up.outcome == "failed", "{up:?}");
    assert!(up.target.contains(&name), "{up:?}");

    // A new stack of a deleted one's name does not inherit its files.
    let r = admin
        .post_json(S, &json!({"name": gone, "compose": compose, "env": ""}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let files: protocol::StackFiles = admin.get_json(&format!("{S}/{gone}/files")).await;
    let paths: Vec<&str> = files.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.is_empty(), "{paths:?}");
    assert!(!gone_folder.join("secret.txt").exists());

    // The redeploy finishes the job.
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    for s in &detail.services {
        assert_eq!(s.containers.len(), 1, "{s:?}");
        assert_eq!(
            s.containers[0].state,
            protocol::ContainerState::Running,
            "{s:?}"
        );
    }
    assert!(plan_of(&admin, &name).await.unchanged);
    assert_eq!(
        std::fs::read_to_string(folder.join("compose.yaml")).expect("the folder's file"),
        compose,
        "the deploy wrote the folder again"
    );
    eprintln!(
        "crash figures: deploy: killed after {} lines; restart found db running, web and worker to create; redeploy done",
        seen.len()
    );
}

// ---------------------------------------------------------------- build

#[tokio::test]
async fn a_build_killed_midway_leaves_nothing_behind_and_builds_again() {
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("logs");
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("crashbuild")));
    let (mut berth, token) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.set_up(token).await;
    let before = entries(data.path());
    let context = tar_of(&[(
        "Dockerfile",
        &format!("FROM {TEST_IMAGE}\nRUN sleep 5\nRUN echo built > /built\n"),
    )]);

    let r = admin
        .post_raw(
            &format!("{I}/build?tag={}", enc(&tag)),
            "application/x-tar",
            context.clone(),
        )
        .await;
    let seen = read_until(r, |l| l.contains("sleep 5")).await;
    assert!(seen.iter().any(|l| l.contains("sleep 5")), "{seen:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    berth.kill();
    assert_eq!(integrity(data.path()).await, "ok");

    let (berth, _) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.admin().await;
    let listed: Vec<protocol::ImageSummary> = admin.get_json(I).await;
    assert!(!listed.is_empty());
    let r = admin
        .post_raw(
            &format!("{I}/build?tag={}", enc(&tag)),
            "application/x-tar",
            context,
        )
        .await;
    let lines = read_until(r, |_| false).await;
    assert!(finished(&lines), "{lines:?}");
    let wal = BTreeSet::from(["berth.db-wal".to_string(), "berth.db-shm".to_string()]);
    let stray: Vec<String> = entries(data.path())
        .difference(&before)
        .filter(|e| !wal.contains(*e))
        .cloned()
        .collect();
    assert!(stray.is_empty(), "left in the data dir: {stray:?}");
    eprintln!("crash figures: build: killed in `RUN sleep 5`; restart listed {} images; rebuild done; no stray files", listed.len());
}

// ---------------------------------------------------------------- pull

#[tokio::test]
async fn a_pull_killed_midway_succeeds_after_the_restart() {
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("logs");
    let registry = Registry::start().await;
    let mut images = Images::default();
    let stamp = unique("crashpull");
    let local = images.add(&format!("{stamp}:1"));
    let remote = images.add(&format!("{}/berth/{stamp}:1", registry.host));
    let (mut berth, token) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.set_up(token).await;

    // An image with a layer big enough to take a while, in the registry only.
    let r = admin
        .post_raw(
            &format!("{I}/build?tag={}", enc(&local)),
            "application/x-tar",
            tar_of(&[(
                "Dockerfile",
                &format!("FROM {TEST_IMAGE}\nRUN dd if=/dev/urandom of=/big bs=1M count=64\n"),
            )]),
        )
        .await;
    assert!(finished(&read_until(r, |_| false).await));
    let r = admin
        .post_json(
            &format!("{I}/{}/push", enc(&local)),
            &json!({"reference": remote}),
        )
        .await;
    let pushed = read_until(r, |_| false).await;
    assert!(finished(&pushed), "{pushed:?}");
    let docker = engine().await;
    for r in [&local, &remote] {
        docker
            .remove_image(
                r,
                Some(bollard::query_parameters::RemoveImageOptions {
                    force: true,
                    ..Default::default()
                }),
                None,
            )
            .await
            .expect("remove the local copy");
    }

    let r = admin
        .post_json(&format!("{I}/pull"), &json!({"reference": remote}))
        .await;
    let seen = read_until(r, |l| {
        l.contains("\"downloading\"") || l.contains("\"extracting\"")
    })
    .await;
    berth.kill();
    assert!(
        !finished(&seen),
        "killed before the pull finished: {seen:?}"
    );
    assert_eq!(integrity(data.path()).await, "ok");

    let (berth, _) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.admin().await;
    let listed: Vec<protocol::ImageSummary> = admin.get_json(I).await;
    assert!(!listed.is_empty());
    let r = admin
        .post_json(&format!("{I}/pull"), &json!({"reference": remote}))
        .await;
    let lines = read_until(r, |_| false).await;
    assert!(finished(&lines), "{lines:?}");
    docker
        .inspect_image(&remote)
        .await
        .expect("the pulled image is on the engine");
    eprintln!(
        "crash figures: pull: killed after {} progress lines (the last: {}); restart listed {} images; the pull again done",
        seen.len(),
        seen.last().map(String::as_str).unwrap_or_default(),
        listed.len()
    );
}

// ---------------------------------------------------------------- users

#[tokio::test]
async fn users_edited_while_berth_dies_are_changed_wholly_or_not_at_all() {
    const USERS: usize = 6;
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("logs");
    let (mut berth, token) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.set_up(token).await;
    let mut ids = Vec::new();
    for i in 0..USERS {
        let r = admin
            .post_json(
                "/api/v1/users",
                &json!({"username": format!("crash{i}"), "password": format!("old-password-{i}"), "role": "viewer"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let user: User = r.json().await.expect("user");
        ids.push(user.id);
    }

    // Every edit at once, and tokens made beside them; berth dies as soon
    // as the first edit is answered, with the others in flight.
    #[derive(Debug)]
    enum Done {
        Edit(usize, bool),
        Token(Option<CreatedToken>),
    }
    let mut work = FuturesUnordered::new();
    for (i, id) in ids.iter().enumerate() {
        let admin = &admin;
        work.push(Box::pin(async move {
            let r = admin
                .client
                .patch(format!("{}/api/v1/users/{id}", admin.base))
                .json(&json!({"role": "operator", "password": format!("new-password-{i}")}))
                .send()
                .await;
            Done::Edit(i, r.is_ok_and(|r| r.status() == StatusCode::OK))
        })
            as std::pin::Pin<Box<dyn std::future::Future<Output = Done>>>);
    }
    for i in 0..USERS {
        let admin = &admin;
        work.push(Box::pin(async move {
            let r = admin
                .client
                .post(format!("{}/api/v1/tokens", admin.base))
                .json(&json!({"name": format!("crash-token-{i}")}))
                .send()
                .await;
            let created = match r {
                Ok(r) if r.status() == StatusCode::CREATED => r.json().await.ok(),
                _ => None,
            };
            Done::Token(created)
        }));
    }
    let mut answered = Vec::new();
    while let Some(done) = work.next().await {
        let edited = matches!(done, Done::Edit(..));
        answered.push(done);
        if edited {
            break;
        }
    }
    berth.kill();
    while let Some(rest) = work.next().await {
        answered.push(rest);
    }
    drop(work);
    assert_eq!(
        integrity(data.path()).await,
        "ok",
        "the file as the crash left it"
    );

    let (berth, _) = Berth::start(data.path(), logs.path()).await;
    let admin = berth.admin().await;
    let users: Vec<User> = admin.get_json("/api/v1/users").await;
    let (mut changed, mut unchanged) = (0, 0);
    for i in 0..USERS {
        let name = format!("crash{i}");
        let role = users
            .iter()
            .find(|u| u.username == name)
            .map(|u| u.role)
            .expect("the user is still there");
        let confirmed = answered
            .iter()
            .any(|d| matches!(d, Done::Edit(j, true) if *j == i));
        if berth
            .sign_in(&name, &format!("new-password-{i}"))
            .await
            .is_some()
        {
            assert_eq!(
                role,
                Role::Operator,
                "{name}: the new password without the new role"
            );
            changed += 1;
        } else {
            assert!(!confirmed, "{name}: a confirmed edit was lost");
            assert!(
                berth
                    .sign_in(&name, &format!("old-password-{i}"))
                    .await
                    .is_some(),
                "{name}: neither password signs in"
            );
            assert_eq!(
                role,
                Role::Viewer,
                "{name}: the new role without the new password"
            );
            unchanged += 1;
        }
    }
    let mut tokens_kept = 0;
    for d in &answered {
        if let Done::Token(Some(t)) = d {
            let api = Api::with_bearer(&berth.base, &t.token);
            assert_eq!(api.me().await.user.username, ADMIN_USER);
            tokens_kept += 1;
        }
    }
    let listed: Vec<protocol::ApiToken> = admin.get_json("/api/v1/tokens").await;
    assert!(listed.len() >= tokens_kept, "{listed:?}");
    drop(berth);
    assert_eq!(integrity(data.path()).await, "ok");
    eprintln!(
        "crash figures: users: {changed} changed wholly, {unchanged} not at all, 0 half; {tokens_kept} tokens answered before the kill, all work; {} tokens listed; integrity ok",
        listed.len()
    );
}

// ---------------------------------------------------------------- revisions

#[tokio::test]
async fn saves_arriving_together_each_get_their_own_revision() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("crashrev");
    let _cleanup = ProjectCleanup(name.clone());
    let compose = |n: usize| format!("# save {n}\n{}", three_services());
    let r = admin
        .post_json(S, &json!({"name": name, "compose": compose(0), "env": ""}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let path = format!("{S}/{name}");
    let saves = (1..=6).map(|n| {
        let (admin, path, compose) = (&admin, &path, compose(n));
        async move {
            let r = admin
                .put_json(path, &json!({"compose": compose, "env": ""}))
                .await;
            let status = r.status();
            (status, r.text().await.unwrap_or_default())
        }
    });
    for (status, text) in futures_util::future::join_all(saves).await {
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    let revisions: Vec<protocol::StackRevision> =
        admin.get_json(&format!("{path}/revisions")).await;
    let numbers: Vec<i64> = revisions.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [7, 6, 5, 4, 3, 2, 1]);
}
