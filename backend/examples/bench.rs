//! `make bench`: berth's live paths measured against the raw engine in the
//! same run, printed as ratios. Timing on a shared 2-core machine is noisy,
//! so nothing here asserts; it reports.
//!
//! Needs a running dockerd, the test image, and a release build of berth
//! (`BERTH_BIN`, default `target/release/berth`).
//!
//! The last stage is a soak: 200 WebSockets (logs, stats, events) held while
//! containers churn, berth's RSS sampled every 10 s. It runs
//! `BERTH_SOAK_SECS` seconds (600 by default, 0 skips it) and is the one
//! stage that asserts: every socket is still open at the end, or was closed
//! with a reason the soak expected; anything else fails the bench.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::{SinkExt, StreamExt};
use protocol::{ExecEvent, LogFrame};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const IMAGE: &str = "berth-test/busybox:latest";
const LOG_LINES: usize = 200_000;
const ECHOES: usize = 40;
const STREAMS: usize = 100;
/// Sockets the soak holds, and how often it samples berth's memory.
const SOAK_SOCKETS: usize = 200;
const SOAK_SAMPLE: Duration = Duration::from_secs(10);
/// Containers the soak's log and stats sockets follow, up the whole time.
const SOAK_STEADY: usize = 4;
/// Users the soak's sockets are spread over: one user may hold 128.
const SOAK_USERS: usize = 3;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Berth {
    child: Child,
    base: String,
    cookie: String,
}

impl Drop for Berth {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn dockerd_pid() -> Option<u32> {
    let out = Command::new("pidof").arg("dockerd").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn start_berth() -> Berth {
    let bin = std::env::var("BERTH_BIN").unwrap_or_else(|_| "target/release/berth".into());
    let data = std::env::temp_dir().join(format!("berth-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .env("BERTH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (run `make build` first)"));
    let stdout = child.stdout.take().expect("stdout");
    let token = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split("setup token: ").nth(1).map(str::to_string))
        .expect("setup token");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/setup"))
        .json(
            &serde_json::json!({"token": token, "username": "bench", "password": "bench-password"}),
        )
        .send()
        .await
        .expect("setup");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    Berth {
        child,
        base,
        cookie,
    }
}

async fn ws(b: &Berth, path: &str) -> Ws {
    let mut req = format!("{}{path}", b.base.replace("http://", "ws://"))
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("cookie", b.cookie.parse().expect("cookie"));
    tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket")
        .0
}

async fn container(docker: &Docker, name: &str, cmd: &[&str]) {
    let _ = docker
        .remove_container(
            name,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
    let body = ContainerCreateBody {
        image: Some(IMAGE.into()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.into()),
                ..Default::default()
            }),
            body,
        )
        .await
        .expect("create");
    docker.start_container(name, None).await.expect("start");
}

async fn remove(docker: &Docker, name: &str) {
    let _ = docker
        .remove_container(
            name,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
}

/// Three right sign-ins at once, then 40 wrong ones (unknown users, ten at
/// a time): berth's RSS right after, its peak while they ran, and 10 s
/// later, in KiB. Each sign-in hashes (19 MiB of memory a hash).
async fn sign_in_burst(b: &Berth) -> (u64, u64, u64) {
    let http = reqwest::Client::new();
    let login = |user: String, password: String| {
        let http = http.clone();
        let url = format!("{}/api/v1/auth/login", b.base);
        async move {
            let _ = http
                .post(url)
                .json(&serde_json::json!({"username": user, "password": password}))
                .send()
                .await;
        }
    };
    let pid = b.child.id();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (peak, watching) = (peak.clone(), watching.clone());
        tokio::spawn(async move {
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    futures_util::future::join_all((0..3).map(|_| login("bench".into(), "bench-password".into())))
        .await;
    for round in 0..4 {
        futures_util::future::join_all(
            (0..10).map(|i| login(format!("nobody{round}-{i}"), "wrong password".into())),
        )
        .await;
    }
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.await;
    let right_after = rss_kib(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    (
        right_after,
        peak.load(std::sync::atomic::Ordering::Relaxed),
        rss_kib(pid),
    )
}

fn row(what: &str, berth: f64, engine: f64, unit: &str) {
    let ratio = if engine > 0.0 { berth / engine } else { 0.0 };
    println!("| {what:<44} | {berth:>12.1} {unit:<8} | {engine:>12.1} {unit:<8} | {ratio:>6.2} |");
}

#[tokio::main]
async fn main() {
    let docker = Docker::connect_with_local_defaults()
        .expect("docker")
        .negotiate_version()
        .await
        .expect("dockerd answers");
    let berth = start_berth().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(berth.child.id());
    let dockerd = dockerd_pid().map(rss_kib).unwrap_or(0);
    let (burst, burst_peak, after) = sign_in_burst(&berth).await;

    println!("| measure                                      |        berth          |   raw engine          |  ratio |");
    println!("|----------------------------------------------|-----------------------|-----------------------|--------|");

    // 1. Log throughput: the same finished log, read whole.
    let logs = "berth-bench-logs";
    container(&docker, logs, &["sh", "-c", &format!("seq 1 {LOG_LINES}")]).await;
    let mut wait = docker.wait_container(logs, None);
    while wait.next().await.is_some() {}
    let t = Instant::now();
    let mut n = 0usize;
    let mut s = docker.logs(
        logs,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            tail: "all".into(),
            ..Default::default()
        }),
    );
    while let Some(Ok(chunk)) = s.next().await {
        n += chunk.into_bytes().iter().filter(|b| **b == b'\n').count();
    }
    let engine_rate = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut socket = ws(
        &berth,
        &format!("/api/v1/endpoints/local/containers/{logs}/logs/ws?tail=all"),
    )
    .await;
    let (mut got, mut skipped) = (0usize, 0u64);
    while let Some(Ok(msg)) = socket.next().await {
        if let Message::Text(text) = msg {
            match serde_json::from_str::<LogFrame>(&text) {
                Ok(LogFrame::Lines { lines }) => got += lines.len(),
                Ok(LogFrame::Skipped { count }) => skipped += count,
                Ok(LogFrame::End { .. }) | Err(_) => break,
            }
        }
    }
    let berth_rate = got as f64 / t.elapsed().as_secs_f64();
    row(
        &format!("log lines/s ({got} read, {skipped} skipped)"),
        berth_rate,
        engine_rate,
        "lines/s",
    );
    remove(&docker, logs).await;

    // 2. Exec echo round trip.
    let shell = "berth-bench-exec";
    container(&docker, shell, &["sleep", "600"]).await;
    let exec = docker
        .create_exec(
            shell,
            CreateExecOptions {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                tty: Some(true),
                cmd: Some(vec!["sh"]),
                ..Default::default()
            },
        )
        .await
        .expect("exec");
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                tty: true,
                ..Default::default()
            }),
        )
        .await
        .expect("start exec")
    else {
        panic!("detached")
    };
    let mut direct = Vec::new();
    for i in 0..ECHOES {
        let marker = format!("mark{i}x");
        let t = Instant::now();
        input
            .write_all(format!("echo {marker}\n").as_bytes())
            .await
            .expect("write");
        let mut seen = String::new();
        while !seen.contains(&format!("{marker}\r\n")) {
            match output.next().await {
                Some(Ok(o)) => seen.push_str(&String::from_utf8_lossy(&o.into_bytes())),
                _ => break,
            }
        }
        direct.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut socket = ws(
        &berth,
        &format!("/api/v1/endpoints/local/containers/{shell}/exec/ws?cmd=sh"),
    )
    .await;
    while let Some(Ok(msg)) = socket.next().await {
        if let Message::Text(t) = msg {
            if matches!(
                serde_json::from_str::<ExecEvent>(&t),
                Ok(ExecEvent::Started { .. })
            ) {
                break;
            }
        }
    }
    let mut through = Vec::new();
    for i in 0..ECHOES {
        let marker = format!("mark{i}y");
        let t = Instant::now();
        socket
            .send(Message::Binary(
                format!("echo {marker}\n").into_bytes().into(),
            ))
            .await
            .expect("send");
        let mut seen = String::new();
        while !seen.contains(&format!("{marker}\r\n")) {
            match socket.next().await {
                Some(Ok(Message::Binary(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        through.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v[v.len() / 2]
    };
    row(
        "exec echo round trip (median)",
        median(&mut through),
        median(&mut direct),
        "ms",
    );
    remove(&docker, shell).await;

    // 3. Memory: idle, and with 100 followers of a chatty container.
    let chatty = "berth-bench-chatty";
    container(
        &docker,
        chatty,
        &["sh", "-c", "while true; do seq 1 200; sleep 0.2; done"],
    )
    .await;
    let mut sockets = Vec::new();
    for _ in 0..STREAMS {
        sockets.push(
            ws(
                &berth,
                &format!("/api/v1/endpoints/local/containers/{chatty}/logs/ws?tail=100"),
            )
            .await,
        );
    }
    let reader = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            for s in sockets.iter_mut() {
                let _ = tokio::time::timeout(Duration::from_millis(5), s.next()).await;
            }
        }
        sockets
    });
    tokio::time::sleep(Duration::from_secs(8)).await;
    let busy = rss_kib(berth.child.id());
    let dockerd_busy = dockerd_pid().map(rss_kib).unwrap_or(0);
    let held = reader.await;
    row(
        "RSS idle after start",
        idle as f64 / 1024.0,
        dockerd as f64 / 1024.0,
        "MiB",
    );
    row(
        "RSS after a sign-in burst (3 + 40 failed)",
        burst as f64 / 1024.0,
        dockerd as f64 / 1024.0,
        "MiB",
    );
    row(
        "RSS peak during that burst",
        burst_peak as f64 / 1024.0,
        dockerd as f64 / 1024.0,
        "MiB",
    );
    row(
        "RSS 10 s after the burst",
        after as f64 / 1024.0,
        dockerd as f64 / 1024.0,
        "MiB",
    );
    row(
        &format!("RSS with {STREAMS} log streams"),
        busy as f64 / 1024.0,
        dockerd_busy as f64 / 1024.0,
        "MiB",
    );
    remove(&docker, chatty).await;
    println!("\n(RSS rows compare berth with dockerd itself at the same moment.)");
    drop(held);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let soak_secs = std::env::var("BERTH_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    if soak_secs > 0 {
        soak(&docker, &berth, soak_secs).await;
    }
}

/// How one soak socket ended.
#[expect(dead_code, reason = "the fields are read through Debug, in the report")]
#[derive(Debug)]
enum SocketEnd {
    /// Still open when the soak stopped.
    Open,
    /// Could not be opened.
    Refused(String),
    /// Closed by berth with this code and reason.
    Closed(u16, String),
    /// Ended without a close frame.
    Dropped(String),
}

/// Creates a viewer granted the local endpoint and signs them in; their cookie.
async fn add_viewer(b: &Berth, name: &str) -> String {
    let http = reqwest::Client::new();
    let password = format!("{name}-soak-password");
    let r = http
        .post(format!("{}/api/v1/users", b.base))
        .header("cookie", &b.cookie)
        .json(&serde_json::json!({"username": name, "password": password, "role": "viewer"}))
        .send()
        .await
        .expect("create user");
    assert!(
        r.status().is_success(),
        "create user {name}: {}",
        r.status()
    );
    let access = format!("{}/api/v1/endpoints/local/access", b.base);
    let mut grants: serde_json::Value = http
        .get(&access)
        .header("cookie", &b.cookie)
        .send()
        .await
        .expect("grants")
        .json()
        .await
        .expect("grants json");
    if let Some(list) = grants["grants"].as_array_mut() {
        list.push(serde_json::json!({"user": name, "role": "viewer"}));
    }
    let r = http
        .put(&access)
        .header("cookie", &b.cookie)
        .json(&grants)
        .send()
        .await
        .expect("grant");
    assert!(r.status().is_success(), "grant {name}: {}", r.status());
    let r = http
        .post(format!("{}/api/v1/auth/login", b.base))
        .json(&serde_json::json!({"username": name, "password": password}))
        .send()
        .await
        .expect("login");
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string()
}

/// Holds one socket, reading everything it is sent, until `stop`.
async fn hold(
    b_base: String,
    cookie: String,
    path: String,
    open: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> SocketEnd {
    let mut req =
        match format!("{}{path}", b_base.replace("http://", "ws://")).into_client_request() {
            Ok(r) => r,
            Err(e) => return SocketEnd::Refused(e.to_string()),
        };
    if let Ok(v) = cookie.parse() {
        req.headers_mut().insert("cookie", v);
    }
    let mut socket = match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => s,
        Err(e) => return SocketEnd::Refused(e.to_string()),
    };
    if path.ends_with("/stats/ws") && !path.contains("/containers/") {
        let watch = serde_json::json!({"watch": (0..SOAK_STEADY).map(|i| format!("berth-bench-soak-{i}")).collect::<Vec<_>>()});
        if let Err(e) = socket.send(Message::Text(watch.to_string().into())).await {
            return SocketEnd::Dropped(e.to_string());
        }
    }
    open.fetch_add(1, Ordering::SeqCst);
    let end = loop {
        tokio::select! {
            _ = stop.changed() => break SocketEnd::Open,
            msg = socket.next() => match msg {
                Some(Ok(Message::Close(frame))) => {
                    break frame.map_or(SocketEnd::Closed(1005, String::new()), |f| {
                        SocketEnd::Closed(f.code.into(), f.reason.to_string())
                    })
                }
                Some(Ok(_)) => {
                    received.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(e)) => break SocketEnd::Dropped(e.to_string()),
                None => break SocketEnd::Dropped("the stream ended".into()),
            },
        }
    };
    open.fetch_sub(1, Ordering::SeqCst);
    let _ = socket.close(None).await;
    end
}

/// Creates, starts, stops and removes containers, a few a second, until `stop`.
async fn churn(docker: Docker, mut stop: tokio::sync::watch::Receiver<bool>) -> usize {
    let mut cycles = 0usize;
    loop {
        let name = format!("berth-bench-churn-{}", cycles % 8);
        container(&docker, &name, &["sleep", "60"]).await;
        let _ = docker
            .stop_container(
                &name,
                Some(StopContainerOptions {
                    t: Some(0),
                    ..Default::default()
                }),
            )
            .await;
        remove(&docker, &name).await;
        cycles += 1;
        tokio::select! {
            _ = stop.changed() => return cycles,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// 200 sockets for `secs` seconds while containers churn; berth's RSS every
/// 10 s. Fails when a socket ended in a way the soak did not expect.
async fn soak(docker: &Docker, b: &Berth, secs: u64) {
    println!("\n## Soak: {SOAK_SOCKETS} WebSockets for {secs} s while containers churn\n");
    let mut cookies = vec![b.cookie.clone()];
    for i in 1..SOAK_USERS {
        cookies.push(add_viewer(b, &format!("soak{i}")).await);
    }
    let steady: Vec<String> = (0..SOAK_STEADY)
        .map(|i| format!("berth-bench-soak-{i}"))
        .collect();
    for name in &steady {
        container(
            docker,
            name,
            &["sh", "-c", "while true; do echo tick; sleep 0.5; done"],
        )
        .await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::new();
    for i in 0..SOAK_SOCKETS {
        let target = &steady[i % SOAK_STEADY];
        // Logs, stats (one container, or the endpoint-wide watch list) and
        // events, in turn.
        let path = match i % 4 {
            0 => format!("/api/v1/endpoints/local/containers/{target}/logs/ws?tail=10"),
            1 => format!("/api/v1/endpoints/local/containers/{target}/stats/ws"),
            2 => "/api/v1/endpoints/local/stats/ws".to_string(),
            _ => "/api/v1/endpoints/local/events/ws".to_string(),
        };
        let kind = ["logs", "stats", "stats (watch list)", "events"][i % 4];
        holders.push((
            kind,
            tokio::spawn(hold(
                b.base.clone(),
                cookies[i % cookies.len()].clone(),
                path,
                open.clone(),
                received.clone(),
                stopped.clone(),
            )),
        ));
    }
    let churner = tokio::spawn(churn(docker.clone(), stopped.clone()));
    let start = Instant::now();
    let mut curve = Vec::new();
    // Messages received since the last sample: the sockets are live, not
    // merely open.
    println!("| time s | berth RSS MiB | sockets open | messages since last |");
    println!("|--------|---------------|--------------|---------------------|");
    loop {
        let rss = rss_kib(b.child.id()) as f64 / 1024.0;
        let t = start.elapsed().as_secs();
        let n = open.load(Ordering::SeqCst);
        let got = received.swap(0, Ordering::Relaxed);
        println!("| {t:>6} | {rss:>13.1} | {n:>12} | {got:>19} |");
        curve.push((t, rss, n));
        if start.elapsed() >= Duration::from_secs(secs) {
            break;
        }
        let left = Duration::from_secs(secs).saturating_sub(start.elapsed());
        tokio::time::sleep(SOAK_SAMPLE.min(left)).await;
    }
    let _ = stop.send(true);
    let cycles = churner.await.unwrap_or(0);
    let mut unexpected = Vec::new();
    let mut still_open = 0usize;
    for (kind, holder) in holders {
        match holder.await {
            Ok(SocketEnd::Open) => still_open += 1,
            Ok(end) => unexpected.push(format!("{kind}: {end:?}")),
            Err(e) => unexpected.push(format!("{kind}: the holder failed: {e}")),
        }
    }
    for name in &steady {
        remove(docker, name).await;
    }
    let first = curve.get(1).or(curve.first()).map_or(0.0, |c| c.1);
    let last = curve.last().map_or(0.0, |c| c.1);
    let peak = curve.iter().map(|c| c.1).fold(0.0, f64::max);
    println!(
        "\nsoak: {still_open}/{SOAK_SOCKETS} sockets open at the end, {cycles} container cycles (create, start, stop, remove); RSS {first:.1} MiB at 10 s, {last:.1} MiB at the end, {peak:.1} MiB at most"
    );
    if !unexpected.is_empty() {
        for u in &unexpected {
            println!("  unexpected end: {u}");
        }
        panic!(
            "{} of {SOAK_SOCKETS} soak sockets ended without the soak expecting it",
            unexpected.len()
        );
    }
}
