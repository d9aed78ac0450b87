//! berth survives its engine going away and coming back: a second dockerd on
//! its own socket and data root, stopped and started during the test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use protocol::{EndpointStatus, EventFrame};
use reqwest::StatusCode;

use crate::common::*;

/// A dockerd of the test's own; stopped and its files removed on drop.
struct SecondEngine {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SecondEngine {
    fn socket(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.path().display())
    }

    fn start(&mut self) {
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("dockerd.log")).expect("log file");
        // Its own network namespace: a dockerd started with `--bridge none`
        // removes the host's docker0, which the main engine needs.
        let child = Command::new("unshare")
            .args(["--net", "dockerd"])
            .arg("--host")
            .arg(self.socket())
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            .args([
                "--containerd-namespace",
                "berth-restart-test",
                "--containerd-plugins-namespace",
                "berth-restart-test-plugins",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a second dockerd");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM, as an admin's `systemctl stop docker` would (unshare
            // execs dockerd, so the pid is dockerd's).
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    async fn wait_until_answering(&self) {
        let path = self.socket().trim_start_matches("unix://").to_string();
        for _ in 0..300 {
            if let Ok(d) =
                bollard::Docker::connect_with_unix(&path, 5, bollard::API_DEFAULT_VERSION)
            {
                if d.ping().await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the second dockerd did not answer; see {}/dockerd.log",
            self.dir.path().display()
        );
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_for_status(ws: &mut Ws, want: EndpointStatus, secs: u64) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs();
        assert!(left > 0, "no {want:?} frame within {secs} s");
        match next_json::<EventFrame>(ws, left).await {
            Some(EventFrame::Endpoint { status, reason }) if status == want => return reason,
            Some(_) => continue,
            None => panic!("the events stream closed while waiting for {want:?}"),
        }
    }
}

#[tokio::test]
async fn berth_follows_its_engine_down_and_back_up() {
    let mut engine = SecondEngine {
        dir: tempfile::Builder::new()
            .prefix("berth-dockerd-")
            .tempdir_in("/tmp")
            .expect("dir"),
        child: None,
    };
    engine.start();
    engine.wait_until_answering().await;

    let app = TestApp::start_with_docker_host(&engine.socket()).await;
    let admin = app.anonymous();
    let token = app.setup_token.clone().expect("token");
    let r = admin
        .post_json("/api/v1/setup", &serde_json::json!({"token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut ws = app
        .ws("/api/v1/endpoints/local/events/ws", &cookie)
        .await
        .expect("events");
    wait_for_status(&mut ws, EndpointStatus::Up, 10).await;
    assert_eq!(
        admin
            .get("/api/v1/endpoints/local/containers")
            .await
            .status(),
        StatusCode::OK
    );

    engine.stop();
    let reason = wait_for_status(&mut ws, EndpointStatus::Down, 30)
        .await
        .unwrap_or_default();
    assert!(reason.contains("endpoint local is unreachable"), "{reason}");
    let detail = expect_problem(
        admin.get("/api/v1/endpoints/local/containers").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert!(detail.contains("endpoint local"), "{detail}");
    assert_eq!(
        admin.get("/healthz").await.status(),
        StatusCode::OK,
        "berth itself stays up"
    );

    engine.start();
    engine.wait_until_answering().await;
    wait_for_status(&mut ws, EndpointStatus::Up, 30).await;
    assert_eq!(
        admin
            .get("/api/v1/endpoints/local/containers")
            .await
            .status(),
        StatusCode::OK,
        "resumed by itself"
    );
}
