//! A terminal in the browser: `docker exec -it` over a WebSocket.
//!
//! Protocol: the server sends `{"type":"started","cmd":[...]}`, then the
//! terminal's output as binary frames, and `{"type":"exit","code":N}` when
//! the command ends. The client sends keystrokes as binary frames or
//! `{"type":"input","data":"..."}`, and `{"type":"resize","cols":C,"rows":R}`.
//! Closing the socket closes the command's stdin.
//!
//! Each session leaves an audit row (`container.exec`) when it ends: the
//! container, the command, how long it lasted and how it ended.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use futures_util::StreamExt;
use protocol::run_command::split_words;
use protocol::{ExecEvent, ExecInput, Role};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::{close_revoked, limited, read_failed, send_json, PING_EVERY};
use crate::api::{AppPath, Route};
use crate::auth::client::ClientInfo;
use crate::auth::revocation::{self, Revoked};
use crate::auth::{Access, Principal};
use crate::engine::{check_reference, Engine, ExecSession, DEFAULT_SHELL};
use crate::error::{AppError, AppQuery, AppResult};
use crate::limits::Limits;
use crate::store::NewAudit;
use crate::AppState;

/// Who may open a terminal.
const ACCESS: Access = Access::AtLeast(Role::Operator);

pub fn routes() -> Vec<Route> {
    vec![Route::get(
        "/api/v1/endpoints/{ep}/containers/{id}/exec/ws",
        ACCESS,
        "container.exec",
        "A TTY session in a running container (WebSocket; `cmd`, default bash or sh; `cols`, `rows`)",
        exec_ws,
    )]
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub(super) struct ExecParams {
    cmd: Option<String>,
    cols: Option<u16>,
    rows: Option<u16>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "an axum handler: one argument per extractor"
)]
async fn exec_ws(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    client: ClientInfo,
    headers: HeaderMap,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppQuery(params): AppQuery<ExecParams>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (ws, slot) = limited(ws, &limits, &me, "exec")?;
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    // Never into berth's own container, whatever the name or prefix used.
    if me.role < protocol::Role::Admin {
        let full_id = engine.inspect_container(&id).await?.id;
        crate::policy::check_exec(&me, &full_id)?;
    }
    let cmd: Vec<String> = match params
        .cmd
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        // Split like a shell would, without a shell.
        Some(c) => {
            split_words(c).map_err(|e| AppError::BadRequest(format!("cmd: {}", e.message)))?
        }
        None => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
    };
    if cmd.is_empty() {
        return Err(AppError::BadRequest("cmd is empty".into()));
    }
    let (cols, rows) = (
        params.cols.unwrap_or(80).clamp(10, 1000),
        params.rows.unwrap_or(24).clamp(2, 1000),
    );
    let session = engine.start_exec(&id, cmd.clone(), cols, rows).await?;
    let revoked = revocation::watch(&state, &me, headers, ACCESS);
    Ok(ws.on_upgrade(move |socket| async move {
        let _slot = slot;
        let started = Instant::now();
        let end = pump(socket, engine, session, cmd.clone(), revoked).await;
        let target = format!(
            "container {id}: {} ({}, {})",
            words(&cmd),
            lasted(started.elapsed()),
            end
        );
        let row = NewAudit {
            actor: &me.username,
            action: "container.exec",
            target: &target,
            outcome: "ok",
            status: StatusCode::SWITCHING_PROTOCOLS.as_u16(),
            address: client.address,
        };
        if let Err(e) = state.store.write_audit(row).await {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }))
}

/// The command as one line, words with spaces quoted.
fn words(cmd: &[String]) -> String {
    cmd.iter()
        .map(|w| {
            if w.is_empty() || w.contains(char::is_whitespace) {
                format!("{w:?}")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `4s`, `2m05s`, `1h02m03s`.
fn lasted(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("lasted {s}s"),
        (0, m, s) => format!("lasted {m}m{s:02}s"),
        (h, m, s) => format!("lasted {h}h{m:02}m{s:02}s"),
    }
}

/// Runs the session; how it ended, for the audit row.
async fn pump(
    mut socket: WebSocket,
    engine: std::sync::Arc<Engine>,
    session: ExecSession,
    cmd: Vec<String>,
    mut revoked: Revoked,
) -> String {
    let ExecSession {
        exec_id,
        mut output,
        mut input,
    } = session;
    let shown = if cmd.iter().map(String::as_str).eq(DEFAULT_SHELL) {
        vec!["bash or sh".to_string()]
    } else {
        cmd
    };
    if !send_json(&mut socket, &ExecEvent::Started { cmd: shown }).await {
        let _ = input.shutdown().await;
        return "the client left at once".into();
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut client_gone = false;
    let mut revoked_for = None;
    let mut closed_for = None;
    loop {
        tokio::select! {
            reason = revoked.wait() => {
                revoked_for = Some(reason);
                break;
            }
            out = output.next() => match out {
                Some(Ok(bytes)) => {
                    if !bytes.is_empty() && socket.send(Message::Binary(bytes)).await.is_err() {
                        client_gone = true;
                        break;
                    }
                }
                Some(Err(e)) => {
                    let _ = send_json(&mut socket, &ExecEvent::Error { message: e.to_string() }).await;
                    break;
                }
                None => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(data))) => {
                    if input.write_all(&data).await.is_err() { break; }
                }
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ExecInput>(&text) {
                    Ok(ExecInput::Input { data }) => {
                        if input.write_all(data.as_bytes()).await.is_err() { break; }
                    }
                    Ok(ExecInput::Resize { cols, rows }) => {
                        let _ = engine.resize_exec(&exec_id, cols.clamp(10, 1000), rows.clamp(2, 1000)).await;
                    }
                    Err(e) => {
                        let _ = send_json(&mut socket, &ExecEvent::Error { message: format!("not an exec message: {e}") }).await;
                    }
                },
                Some(Err(e)) => {
                    match read_failed(&mut socket, &e).await {
                        Some(reason) => closed_for = Some(reason),
                        None => client_gone = true,
                    }
                    break;
                }
                Some(Ok(Message::Close(_))) | None => { client_gone = true; break; }
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() { client_gone = true; break; }
            }
        }
    }
    // Closing stdin ends an interactive shell whose terminal went away.
    let _ = input.shutdown().await;
    drop(input);
    if let Some(reason) = revoked_for {
        close_revoked(&mut socket, &reason).await;
        return format!("closed by berth: {reason}");
    }
    if let Some(reason) = closed_for {
        return format!("closed by berth: {reason}");
    }
    if client_gone {
        return "closed by the client".into();
    }
    let mut code = None;
    for _ in 0..20 {
        match engine.exec_exit_code(&exec_id).await {
            Ok(Some(c)) => {
                code = Some(c);
                break;
            }
            Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            Err(_) => break,
        }
    }
    let _ = send_json(
        &mut socket,
        &ExecEvent::Exit {
            code: code.unwrap_or(-1),
        },
    )
    .await;
    let _ = socket.send(Message::Close(None)).await;
    match code {
        Some(c) => format!("exit code {c}"),
        None => "exit code unknown".into(),
    }
}
