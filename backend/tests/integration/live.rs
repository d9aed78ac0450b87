//! Live streams over WebSockets with a real tokio-tungstenite client.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{EndpointStatus, EventFrame, ExecEvent, LogFrame, LogStream, Role, StatsSample};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const C: &str = "/api/v1/endpoints/local/containers";

async fn run(admin: &Api, body: serde_json::Value) {
    let r = admin.post_json(C, &body).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

/// Reads log frames until `want` lines arrived or `secs` passed.
async fn read_lines(
    ws: &mut Ws,
    want: usize,
    secs: u64,
) -> (Vec<protocol::LogLine>, u64, Option<String>) {
    let (mut lines, mut skipped, mut end) = (Vec::new(), 0, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while lines.len() < want {
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs()
            .max(1);
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        match next_json::<LogFrame>(ws, left).await {
            Some(LogFrame::Lines { lines: l }) => lines.extend(l),
            Some(LogFrame::Skipped { count }) => skipped += count,
            Some(LogFrame::End { reason }) => {
                end = Some(reason);
                break;
            }
            None => break,
        }
    }
    (lines, skipped, end)
}

#[tokio::test]
async fn logs_tail_follow_filter_and_streams() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("logs"));
    run(&admin, json!({"name": name, "image": TEST_IMAGE,
        "cmd": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 2; echo oops >&2; sleep 0.5; echo late; sleep 300"]})).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    let mut ws = app
        .ws(
            &format!("{C}/{name}/logs/ws?tail=3&timestamps=true"),
            &cookie,
        )
        .await
        .expect("upgrade");
    let (lines, _, _) = read_lines(&mut ws, 5, 15).await;
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        ["line 3", "line 4", "line 5", "oops", "late"],
        "tail 3, then followed"
    );
    assert_eq!(lines[3].stream, LogStream::Stderr);
    assert_eq!(lines[0].stream, LogStream::Stdout);
    assert!(
        lines[0].ts.as_deref().is_some_and(|t| t.starts_with("20")),
        "{:?}",
        lines[0].ts
    );

    let mut ws = app
        .ws(
            &format!("{C}/{name}/logs/ws?tail=all&filter=LINE%20[24]&regex=true"),
            &cookie,
        )
        .await
        .expect("upgrade");
    let (lines, _, _) = read_lines(&mut ws, 2, 10).await;
    assert_eq!(
        lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
        ["line 2", "line 4"]
    );
    assert_eq!(lines[0].ts, None, "no timestamps unless asked");

    let mut ws = app
        .ws(&format!("{C}/{name}/logs/ws?tail=all&filter=OOP"), &cookie)
        .await
        .expect("upgrade");
    let (lines, _, _) = read_lines(&mut ws, 1, 10).await;
    assert_eq!(
        lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
        ["oops"]
    );

    // A bad regex is refused before the upgrade.
    let err = app
        .ws(&format!("{C}/{name}/logs/ws?filter=(&regex=true"), &cookie)
        .await
        .expect_err("refused");
    assert_eq!(refused_status(&err), 400);

    // The download holds the whole log, stderr marked.
    let r = admin.get(&format!("{C}/{name}/logs")).await;
    assert!(r
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(&format!("{name}.log"))));
    let text = r.text().await.expect("log");
    assert!(text.starts_with("line 1\nline 2\n"), "{text}");
    assert!(text.contains("[stderr] oops\n"), "{text}");
}

#[tokio::test]
async fn merged_logs_tag_each_line_with_its_container() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let project = unique("proj");
    let a = clean.container(&unique("web"));
    let b = clean.container(&unique("db"));
    for (n, word) in [(&a, "from-web"), (&b, "from-db")] {
        run(&admin, json!({"name": n, "image": TEST_IMAGE, "labels": {"com.docker.compose.project": project},
            "cmd": ["sh", "-c", format!("echo {word}; sleep 300")]})).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ws = app
        .ws(
            &format!("/api/v1/endpoints/local/logs/ws?project={project}&tail=all"),
            &cookie,
        )
        .await
        .expect("upgrade");
    let (lines, _, _) = read_lines(&mut ws, 2, 10).await;
    let mut tagged: Vec<(String, String)> = lines
        .into_iter()
        .map(|l| (l.container.unwrap_or_default(), l.text))
        .collect();
    tagged.sort();
    let mut want = vec![
        (a.clone(), "from-web".to_string()),
        (b.clone(), "from-db".to_string()),
    ];
    want.sort();
    assert_eq!(tagged, want);
}

#[tokio::test]
async fn a_slow_reader_is_told_how_many_lines_it_missed() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("flood"));
    const N: usize = 400_000;
    run(&admin, json!({"name": name, "image": TEST_IMAGE, "cmd": ["sh", "-c", format!("sleep 1; seq 1 {N}; sleep 300")]})).await;
    let mut ws = app
        .ws(&format!("{C}/{name}/logs/ws?tail=all"), &cookie)
        .await
        .expect("upgrade");
    // Read nothing while the container floods.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (mut count, mut skipped, mut last) = (0usize, 0u64, 0usize);
    let mut ordered = true;
    while count + (skipped as usize) < N {
        match next_json::<LogFrame>(&mut ws, 10).await {
            Some(LogFrame::Lines { lines }) => {
                for l in lines {
                    let n: usize = l.text.parse().expect("a number");
                    ordered &= n > last;
                    last = n;
                    count += 1;
                }
            }
            Some(LogFrame::Skipped { count: c }) => skipped += c,
            other => panic!("stream ended early: {other:?} after {count} lines, {skipped} skipped"),
        }
    }
    assert!(skipped > 0, "a reader that paused for seconds missed lines");
    assert_eq!(
        count + skipped as usize,
        N,
        "every line is either delivered or counted as skipped"
    );
    assert!(ordered, "lines stay in order");
    assert_eq!(last, N, "the newest line arrives");
}

#[tokio::test]
async fn the_exec_terminal_echoes_resizes_and_reports_the_exit_code() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("exec"));
    run(
        &admin,
        json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
    )
    .await;

    let mut ws = app
        .ws(
            &format!("{C}/{name}/exec/ws?cmd=sh&cols=80&rows=24"),
            &cookie,
        )
        .await
        .expect("upgrade");
    match next_json::<ExecEvent>(&mut ws, 10).await {
        Some(ExecEvent::Started { cmd }) => assert_eq!(cmd, ["sh"]),
        other => panic!("{other:?}"),
    }
    ws.send(Message::Text(
        json!({"type": "resize", "cols": 101, "rows": 33})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    ws.send(Message::Text(
        json!({"type": "input", "data": "echo sum=$((40+2)); stty size\n"})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let mut out = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(out.contains("sum=42") && out.contains("33 101")) {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => out.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(_))) => {}
            other => panic!("no echo: {other:?}; got {out:?}"),
        }
    }
    ws.send(Message::Binary(b"exit 3\n".to_vec().into()))
        .await
        .expect("send");
    let code = loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<ExecEvent>(&t) {
                Ok(ExecEvent::Exit { code }) => break code,
                other => panic!("{other:?}"),
            },
            Ok(Some(Ok(_))) => {}
            other => panic!("no exit: {other:?}"),
        }
    };
    assert_eq!(code, 3);

    // The default is bash when there, else sh: busybox has only sh.
    let mut ws = app
        .ws(&format!("{C}/{name}/exec/ws"), &cookie)
        .await
        .expect("upgrade");
    assert!(matches!(
        next_json::<ExecEvent>(&mut ws, 10).await,
        Some(ExecEvent::Started { .. })
    ));
    ws.send(Message::Binary(b"echo $0-shell; exit\n".to_vec().into()))
        .await
        .expect("send");
    let mut out = String::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Binary(b) = m {
            out.push_str(&String::from_utf8_lossy(&b));
        }
        if out.contains("sh-shell") {
            break;
        }
    }
    assert!(out.contains("sh-shell"), "{out:?}");
}

#[tokio::test]
async fn stats_stream_while_watched() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("stats"));
    run(&admin, json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"], "memory_bytes": 67108864})).await;
    let mut ws = app
        .ws(&format!("{C}/{name}/stats/ws"), &cookie)
        .await
        .expect("upgrade");
    let s: StatsSample = next_json(&mut ws, 10).await.expect("a sample");
    assert_eq!(s.name, name);
    assert!(
        s.memory_bytes > 0 && s.memory_limit_bytes == 67108864,
        "{s:?}"
    );
    assert!(s.pids >= 1);
    let _second: StatsSample = next_json(&mut ws, 10).await.expect("another sample");

    let mut many = app
        .ws("/api/v1/endpoints/local/stats/ws", &cookie)
        .await
        .expect("upgrade");
    many.send(Message::Text(json!({"watch": [name]}).to_string().into()))
        .await
        .expect("send");
    let s: StatsSample = next_json(&mut many, 10).await.expect("a sample");
    assert_eq!(s.name, name);
}

#[tokio::test]
async fn events_arrive_for_changes_made_outside_berth() {
    let (app, _admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut ws = app
        .ws("/api/v1/endpoints/local/events/ws", &cookie)
        .await
        .expect("upgrade");
    match next_json::<EventFrame>(&mut ws, 10).await {
        Some(EventFrame::Endpoint { status, .. }) => assert_eq!(status, EndpointStatus::Up),
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let name = unique("outside");
    let _c = EngineContainer::create(&name, &["sleep", "300"], &[], true).await;
    let mut seen = Vec::new();
    while let Some(frame) = next_json::<EventFrame>(&mut ws, 10).await {
        if let EventFrame::Event(e) = frame {
            if e.name.as_deref() == Some(name.as_str()) {
                seen.push(e.action.clone());
                if e.action == "start" {
                    assert_eq!(e.kind, "container");
                    break;
                }
            }
        }
    }
    assert!(
        seen.contains(&"create".to_string()) && seen.contains(&"start".to_string()),
        "{seen:?}"
    );
}

#[tokio::test]
async fn upgrades_need_a_session_the_right_origin_and_exec_needs_an_operator() {
    let (app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("guard"));
    run(
        &admin,
        json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
    )
    .await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;

    let err = app
        .ws_with(&format!("{C}/{name}/logs/ws"), &[])
        .await
        .expect_err("no session");
    assert_eq!(refused_status(&err), 401);
    let err = app
        .ws_with(
            &format!("{C}/{name}/logs/ws"),
            &[("cookie", &cookie), ("origin", "http://evil.example")],
        )
        .await
        .expect_err("wrong origin");
    assert_eq!(refused_status(&err), 403);
    let err = app
        .ws_with(
            "/api/v1/endpoints/local/events/ws?token=x",
            &[("origin", &app.base)],
        )
        .await
        .expect_err("a token in the URL is not a credential");
    assert_eq!(refused_status(&err), 401);

    app.user(&admin, "vic", Role::Viewer).await;
    let viewer = app.login_cookie("vic", "vic-password-1").await;
    app.ws(&format!("{C}/{name}/logs/ws"), &viewer)
        .await
        .expect("a viewer reads logs");
    app.ws(&format!("{C}/{name}/stats/ws"), &viewer)
        .await
        .expect("a viewer reads stats");
    let err = app
        .ws(&format!("{C}/{name}/exec/ws"), &viewer)
        .await
        .expect_err("a viewer may not exec");
    assert_eq!(refused_status(&err), 403);

    // A script may use its bearer token.
    let token: protocol::CreatedToken = admin
        .post_json("/api/v1/tokens", &json!({"name": "ws"}))
        .await
        .json()
        .await
        .expect("token");
    let bearer = format!("Bearer {}", token.token);
    app.ws_with(
        &format!("{C}/{name}/logs/ws"),
        &[("authorization", &bearer)],
    )
    .await
    .expect("bearer upgrade");
}

/// Reads a log socket to its end frame: lines and skip counts, and how many
/// lines had gaps in their numbering that no skip count explains.
async fn read_to_end(ws: &mut Ws, slow: bool) -> (u64, u64, Option<String>) {
    let (mut got, mut skipped, mut end) = (0u64, 0u64, None);
    loop {
        match next_json::<LogFrame>(ws, 30).await {
            Some(LogFrame::Lines { lines }) => {
                got += lines.len() as u64;
                if slow {
                    tokio::time::sleep(Duration::from_millis(40)).await;
                }
            }
            Some(LogFrame::Skipped { count }) => skipped += count,
            Some(LogFrame::End { reason }) => {
                end = Some(reason);
                break;
            }
            // Nothing for 30 s: the stream stalled.
            None => break,
        }
    }
    (got, skipped, end)
}

#[tokio::test]
async fn a_long_finished_log_arrives_whole_or_counted_then_ends_for_fast_and_slow_clients() {
    let (app, admin) = TestApp::start_set_up().await;
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("biglog"));
    const N: u64 = 200_000;
    run(
        &admin,
        json!({"name": name, "image": TEST_IMAGE,
        "cmd": ["sh", "-c", format!("seq 1 {N}")]}),
    )
    .await;
    let t0 = std::time::Instant::now();
    let (code, _) = wait_output(&name).await;
    assert_eq!(code, 0);
    eprintln!("container done and its log read in {:?}", t0.elapsed());
    for slow in [false, true] {
        let t0 = std::time::Instant::now();
        let mut ws = app
            .ws(&format!("{C}/{name}/logs/ws?tail=all"), &cookie)
            .await
            .expect("upgrade");
        let (got, skipped, end) = read_to_end(&mut ws, slow).await;
        eprintln!(
            "slow={slow}: {got} lines, {skipped} skipped in {:?}",
            t0.elapsed()
        );
        assert!(
            end.is_some(),
            "slow={slow}: no end frame after {got} lines and {skipped} skipped"
        );
        assert_eq!(
            got + skipped,
            N,
            "slow={slow}: {got} lines + {skipped} skipped"
        );
        if !slow {
            assert_eq!(skipped, 0, "a fast client misses nothing");
        }
    }
}
