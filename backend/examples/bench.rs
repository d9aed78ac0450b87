//! `make bench`: berth's live paths measured against the raw engine in the
//! same run, printed as ratios. Timing on a shared 2-core machine is noisy,
//! so nothing here asserts; it reports.
//!
//! Needs a running dockerd, the test image, and a release build of berth
//! (`BERTH_BIN`, default `target/release/berth`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, LogsOptions, RemoveContainerOptions};
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
    let _sockets = reader.await;
    row(
        "RSS idle after start",
        idle as f64 / 1024.0,
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
}
