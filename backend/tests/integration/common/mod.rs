//! Starts the real berth server on 127.0.0.1:0 with a temporary data dir,
//! against the real Docker engine, and hands out typed clients per role.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use berth::config::ServeArgs;
use berth::AppState;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use bollard::Docker;
use protocol::{Role, SessionInfo};
use reqwest::{Client, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// The image tests run: `FROM scratch` plus Debian's static busybox, built by `make test-image`.
pub const TEST_IMAGE: &str = "berth-test/busybox:latest";
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub setup_token: Option<String>,
    pub state: AppState,
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestApp {
    /// A fresh berth on the local engine, not set up yet.
    pub async fn start() -> TestApp {
        TestApp::start_with_docker_host(&docker_host()).await
    }

    pub async fn start_with_docker_host(docker_host: &str) -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        let args = ServeArgs::for_data_dir(data.path(), docker_host);
        let (state, setup_token) = AppState::new(args).await.expect("berth state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            berth::serve(listener, served, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        TestApp {
            addr,
            base: format!("http://{addr}"),
            setup_token,
            state,
            _data: data,
            stop: Some(stop),
        }
    }

    /// A fresh berth whose first admin exists; returns the admin's client.
    pub async fn start_set_up() -> (TestApp, Api) {
        let app = TestApp::start().await;
        let admin = app.anonymous();
        let token = app.setup_token.clone().expect("setup token");
        let r = admin
            .post_json(
                "/api/v1/setup",
                &json!({"token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "setup: {}",
            r.text().await.unwrap_or_default()
        );
        (app, admin)
    }

    /// A client with its own cookie jar and nobody signed in.
    pub fn anonymous(&self) -> Api {
        Api {
            base: self.base.clone(),
            client: Client::builder()
                .cookie_store(true)
                .build()
                .expect("client"),
            bearer: None,
        }
    }

    /// Creates a user with `role` through the admin, grants them that role
    /// on the local endpoint (a non-admin reaches only granted endpoints),
    /// and signs them in.
    pub async fn user(&self, admin: &Api, name: &str, role: Role) -> Api {
        let api = self.user_without_grant(admin, name, role).await;
        if role != Role::Admin {
            grant(admin, "local", json!({"user": name, "role": role})).await;
        }
        api
    }

    /// Creates a user with `role` through the admin and signs them in; no
    /// endpoint is granted to them.
    pub async fn user_without_grant(&self, admin: &Api, name: &str, role: Role) -> Api {
        let password = format!("{name}-password-1");
        let r = admin
            .post_json(
                "/api/v1/users",
                &json!({"username": name, "password": password, "role": role}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "create user: {}",
            r.text().await.unwrap_or_default()
        );
        let api = self.anonymous();
        let r = api
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": name, "password": password}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        api
    }
}

/// Adds `grant` (`{"user"|"team": name, "role"}`) to endpoint `ep`'s
/// grants, keeping the others.
pub async fn grant(admin: &Api, ep: &str, grant: serde_json::Value) {
    let path = format!("/api/v1/endpoints/{ep}/access");
    let r = admin.get(&path).await;
    assert_eq!(r.status(), StatusCode::OK, "read the grants of {ep}");
    let mut access: serde_json::Value = r.json().await.expect("grants");
    access["grants"]
        .as_array_mut()
        .expect("a list of grants")
        .push(grant);
    let r = admin.put_json(&path, &access).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "grant on {ep}: {}",
        r.text().await.unwrap_or_default()
    );
}

/// A typed HTTP client for berth's API.
pub struct Api {
    pub base: String,
    pub client: Client,
    pub bearer: Option<String>,
}

impl Api {
    pub fn with_bearer(base: &str, token: &str) -> Api {
        Api {
            base: base.into(),
            client: Client::new(),
            bearer: Some(token.into()),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let b = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match &self.bearer {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> T {
        let r = self.get(path).await;
        let status = r.status();
        let text = r.text().await.expect("body");
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }

    pub async fn post(&self, path: &str) -> Response {
        self.req(reqwest::Method::POST, path)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        self.req(reqwest::Method::POST, path)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs a `multipart/form-data` form.
    pub async fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> Response {
        self.req(reqwest::Method::POST, path)
            .multipart(form)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.req(reqwest::Method::DELETE, path)
            .send()
            .await
            .expect("DELETE")
    }

    pub async fn me(&self) -> SessionInfo {
        self.get_json("/api/v1/me").await
    }
}

/// Asserts a problem+json answer with `status`, and returns its detail.
pub async fn expect_problem(r: Response, status: StatusCode) -> String {
    let got = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = r.json().await.expect("problem body");
    assert_eq!(got, status, "body: {body}");
    assert_eq!(ct, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], json!(status.as_u16()));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    body["detail"].as_str().expect("detail").to_string()
}

/// A direct engine client, to set up and check what berth should see.
pub async fn engine() -> Docker {
    let host = docker_host();
    let path = host.trim_start_matches("unix://");
    Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
        .expect("docker socket")
        .negotiate_version()
        .await
        .expect("the Docker engine answers (run `make dockerd`)")
}

/// A unique name for this test's objects.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand_u64();
    format!("berth-test-{prefix}-{:x}", n & 0xffff_ffff)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A container made straight through the engine; removed (forced) on drop.
pub struct EngineContainer {
    pub name: String,
    pub id: String,
}

impl EngineContainer {
    pub async fn create(
        name: &str,
        cmd: &[&str],
        labels: &[(&str, &str)],
        start: bool,
    ) -> EngineContainer {
        let docker = engine().await;
        let labels: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = ContainerCreateBody {
            image: Some(TEST_IMAGE.into()),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            labels: Some(labels),
            host_config: Some(HostConfig::default()),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.into()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .unwrap_or_else(|e| {
                panic!("create {name} from {TEST_IMAGE} (run `make test-image`): {e}")
            });
        if start {
            docker.start_container(name, None).await.expect("start");
        }
        EngineContainer {
            name: name.into(),
            id: created.id,
        }
    }

    pub async fn running(&self) -> Option<bool> {
        let docker = engine().await;
        match docker.inspect_container(&self.name, None).await {
            Ok(c) => Some(c.state.and_then(|s| s.running).unwrap_or(false)),
            Err(_) => None,
        }
    }
}

impl Drop for EngineContainer {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop can't await; remove on a thread of its own so it also runs
        // when the test panicked.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let docker = engine().await;
                let _ = docker
                    .remove_container(
                        &name,
                        Some(RemoveContainerOptions {
                            force: true,
                            v: true,
                            link: false,
                        }),
                    )
                    .await;
            });
        })
        .join();
    }
}

/// A host port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits for a container to exit (up to 60 s) and returns its exit code and output.
pub async fn wait_output(name: &str) -> (i64, String) {
    use bollard::query_parameters::LogsOptions;
    use futures_util::StreamExt;
    let docker = engine().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let code = loop {
        let c = docker.inspect_container(name, None).await.expect("inspect");
        let state = c.state.unwrap_or_default();
        if !state.running.unwrap_or(false)
            && state.status.map(|s| s.to_string()) != Some("created".into())
        {
            break state.exit_code.unwrap_or(-1);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} did not exit in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let mut out = String::new();
    let mut logs = docker.logs(
        name,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            tail: "all".into(),
            ..Default::default()
        }),
    );
    while let Some(Ok(chunk)) = logs.next().await {
        out.push_str(&chunk.to_string());
    }
    (code, out)
}

/// Removes containers, volumes and networks by name when dropped, even when
/// the test failed.
#[derive(Default)]
pub struct Cleanup {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
}

impl Cleanup {
    pub fn container(&mut self, name: &str) -> String {
        self.containers.push(name.into());
        name.into()
    }
    pub fn volume(&mut self, name: &str) -> String {
        self.volumes.push(name.into());
        name.into()
    }
    pub fn network(&mut self, name: &str) -> String {
        self.networks.push(name.into());
        name.into()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (c, v, n) = (
            self.containers.clone(),
            self.volumes.clone(),
            self.networks.clone(),
        );
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let docker = engine().await;
                for name in c {
                    let _ = docker
                        .remove_container(
                            &name,
                            Some(RemoveContainerOptions {
                                force: true,
                                v: true,
                                link: false,
                            }),
                        )
                        .await;
                }
                for name in n {
                    let _ = docker.remove_network(&name).await;
                }
                for name in v {
                    let _ = docker
                        .remove_volume(
                            &name,
                            None::<bollard::query_parameters::RemoveVolumeOptions>,
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

impl TestApp {
    /// Signs in and returns the `berth_session=...` cookie pair.
    pub async fn login_cookie(&self, username: &str, password: &str) -> String {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        cookie.split(';').next().unwrap_or("").to_string()
    }

    /// Opens a WebSocket at `path` the way the browser app does: with the
    /// session cookie and this origin.
    pub async fn ws(
        &self,
        path: &str,
        cookie: &str,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        self.ws_with(path, &[("cookie", cookie), ("origin", &self.base.clone())])
            .await
    }

    pub async fn ws_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}{}", self.addr, path).into_client_request()?;
        for (k, v) in headers {
            request.headers_mut().insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                v.parse().expect("header value"),
            );
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(socket)
    }
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The HTTP status a refused upgrade was answered with.
pub fn refused_status(e: &tokio_tungstenite::tungstenite::Error) -> u16 {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(r) => r.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// The next JSON text frame (skipping pings and binary), within `secs`.
pub async fn next_json<T: DeserializeOwned>(ws: &mut Ws, secs: u64) -> Option<T> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(t) => {
                return Some(serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}")))
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

impl TestApp {
    /// A fresh berth on the local engine, not set up yet, with its
    /// configuration changed by `configure` (e.g. `trusted_proxies`).
    pub async fn start_configured(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        let mut args = ServeArgs::for_data_dir(data.path(), docker_host());
        configure(&mut args);
        let (state, setup_token) = AppState::new(args).await.expect("berth state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            berth::serve(listener, served, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        TestApp {
            addr,
            base: format!("http://{addr}"),
            setup_token,
            state,
            _data: data,
            stop: Some(stop),
        }
    }

    /// A berth that believes the `X-Forwarded-*` headers of clients on
    /// 127.0.0.1, as if they were its reverse proxy.
    pub async fn start_behind_proxy() -> TestApp {
        TestApp::start_configured(|args| {
            args.trusted_proxies = "127.0.0.1".parse().expect("address");
        })
        .await
    }

    /// [`TestApp::start_behind_proxy`], with the first admin made (from
    /// 127.0.0.1, forwarding nothing); returns the admin's client.
    pub async fn start_set_up_behind_proxy() -> (TestApp, Api) {
        let app = TestApp::start_behind_proxy().await;
        let admin = app.anonymous();
        let token = app.setup_token.clone().expect("setup token");
        let r = admin
            .post_json(
                "/api/v1/setup",
                &json!({"token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "setup");
        (app, admin)
    }
}

/// The outcome of the newest audit row for `action`, once it reads `want`
/// (a streamed call's row turns `failed` just after its stream ends), or
/// what it reads after five seconds.
pub async fn newest_audit_outcome(api: &Api, action: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        let rows: Vec<protocol::AuditEntry> = api
            .get_json(&format!("/api/v1/audit?action={action}&limit=1"))
            .await;
        last = rows.first().map(|r| r.outcome.clone()).unwrap_or_default();
        if last == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

/// Waits for the server to close `ws`; the close frame's reason.
pub async fn closed_within(ws: &mut Ws, secs: u64) -> String {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
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

/// The id of the user named `name`, as the admin's list shows it.
pub async fn user_id(admin: &Api, name: &str) -> i64 {
    let users: Vec<protocol::User> = admin.get_json("/api/v1/users").await;
    users
        .iter()
        .find(|u| u.username == name)
        .map(|u| u.id)
        .expect("the user exists")
}

/// Removes images (forced) when dropped, even when the test failed.
#[derive(Default)]
pub struct Images(pub Vec<String>);

impl Images {
    pub fn add(&mut self, reference: &str) -> String {
        self.0.push(reference.into());
        reference.into()
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let refs: Vec<String> = self.0.iter().rev().cloned().collect();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let docker = engine().await;
                for r in refs {
                    let _ = docker
                        .remove_image(
                            &r,
                            Some(bollard::query_parameters::RemoveImageOptions {
                                force: true,
                                ..Default::default()
                            }),
                            None,
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

/// Debian's `docker-registry` on a free loopback port, no login; stopped on drop.
pub struct Registry {
    pub host: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub async fn start() -> Registry {
        let dir = tempfile::tempdir().expect("dir");
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            root = dir.path().join("data").display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (apt install docker-registry)");
        let registry = Registry {
            host: format!("127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        for _ in 0..100 {
            if reqwest::get(format!("http://{}/v2/", registry.host))
                .await
                .is_ok()
            {
                return registry;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the registry did not start on {}", registry.host);
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
