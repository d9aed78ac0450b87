//! Following logs: one container, or several merged (a stack), filtered on
//! the server so only matching lines cross the network.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use futures_util::{Stream, StreamExt};
use protocol::{LogFrame, LogLine, Role, COMPOSE_PROJECT_LABEL};
use serde::Deserialize;
use tokio::sync::Notify;

use super::{close_revoked, limited, read_failed, send_json, AbortOnDrop, PING_EVERY};
use crate::api::{AppPath, Route};
use crate::auth::revocation::{self, Revoked};
use crate::auth::{Access, Principal};
use crate::engine::{check_reference, EngineResult, LogQuery};
use crate::error::{AppError, AppQuery, AppResult};
use crate::limits::{Limits, Slot};
use crate::AppState;

/// Lines held between the engine readers and one client; past this the
/// oldest are dropped and counted.
pub const LOG_CHANNEL: usize = 2048;
/// Lines per frame at most.
const BATCH: usize = 500;
/// A frame that is not full waits this long after the previous one, so a
/// busy log goes out in few large frames instead of one per line (each
/// frame costs the browser a parse and a render).
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(25);
/// Containers in one merged view at most.
const MAX_MERGED: usize = 50;
/// Lines sent before following, unless `tail` says otherwise.
pub const DEFAULT_TAIL: &str = "300";

/// Who may follow logs.
const ACCESS: Access = Access::AtLeast(Role::Viewer);

pub fn routes() -> Vec<Route> {
    let viewer = ACCESS;
    vec![
        Route::get("/api/v1/endpoints/{ep}/containers/{id}/logs/ws", viewer, "container.logs_follow", "Follow a container's log (WebSocket; `tail`, `since`, `timestamps`, `filter`, `regex`)", container_ws),
        Route::get("/api/v1/endpoints/{ep}/logs/ws", viewer, "logs.follow_merged", "Follow several containers' logs in one stream (WebSocket; `containers=a,b` or `project=name`, plus the filters)", merged_ws),
    ]
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct LogParams {
    pub tail: Option<String>,
    pub since: Option<i64>,
    #[serde(default)]
    pub timestamps: bool,
    pub filter: Option<String>,
    #[serde(default)]
    pub regex: bool,
    /// Merged view: comma-separated names or ids.
    pub containers: Option<String>,
    /// Merged view: every container of this compose project.
    pub project: Option<String>,
}

impl LogParams {
    pub fn query(&self, follow: bool) -> AppResult<LogQuery> {
        let tail = self.tail.clone().unwrap_or_else(|| DEFAULT_TAIL.into());
        if tail != "all" && tail.parse::<u32>().is_err() {
            return Err(AppError::BadRequest(format!(
                "tail={tail:?}: use a number of lines or `all`"
            )));
        }
        if self.since.is_some_and(|s| s < 0) {
            return Err(AppError::BadRequest(
                "since is in Unix seconds and cannot be negative".into(),
            ));
        }
        Ok(LogQuery {
            tail: Some(tail),
            since: self.since,
            timestamps: self.timestamps,
            follow,
        })
    }
}

/// Case-insensitive substring, or regular expression.
#[derive(Clone)]
pub enum Matcher {
    All,
    Substring(String),
    Regex(regex::Regex),
}

impl Matcher {
    pub fn new(filter: Option<&str>, regex: bool) -> AppResult<Matcher> {
        match filter.filter(|f| !f.is_empty()) {
            None => Ok(Matcher::All),
            Some(f) if regex => regex::RegexBuilder::new(f)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| {
                    AppError::BadRequest(format!("filter is not a valid regular expression: {e}"))
                }),
            Some(f) => Ok(Matcher::Substring(f.to_lowercase())),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Substring(s) => text.to_lowercase().contains(s),
            Matcher::Regex(r) => r.is_match(text),
        }
    }
}

type LineStream = std::pin::Pin<Box<dyn Stream<Item = EngineResult<LogLine>> + Send>>;

async fn container_ws(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    headers: HeaderMap,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppQuery(params): AppQuery<LogParams>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (ws, slot) = limited(ws, &limits, &me, "logs")?;
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let matcher = Matcher::new(params.filter.as_deref(), params.regex)?;
    let lines = engine.log_lines(&id, &params.query(true)?).await?;
    let sources: Vec<(Option<String>, LineStream)> = vec![(None, Box::pin(lines))];
    let revoked = revocation::watch(&state, &me, headers, ACCESS);
    Ok(ws.on_upgrade(move |socket| pump(socket, sources, matcher, revoked, slot)))
}

async fn merged_ws(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    headers: HeaderMap,
    AppPath(ep): AppPath<String>,
    AppQuery(params): AppQuery<LogParams>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (ws, slot) = limited(ws, &limits, &me, "logs")?;
    let engine = state.endpoints.get(&ep)?;
    let matcher = Matcher::new(params.filter.as_deref(), params.regex)?;
    let query = params.query(true)?;
    let mut names: Vec<String> = Vec::new();
    if let Some(list) = &params.containers {
        names.extend(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }
    if let Some(project) = &params.project {
        let all = engine.list_containers(true).await?;
        names.extend(
            all.into_iter()
                .filter(|c| c.labels.get(COMPOSE_PROJECT_LABEL) == Some(project))
                .map(|c| c.name),
        );
    }
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(AppError::BadRequest(
            "name the containers (`containers=a,b`) or a stack (`project=name`)".into(),
        ));
    }
    if names.len() > MAX_MERGED {
        return Err(AppError::BadRequest(format!(
            "a merged view takes at most {MAX_MERGED} containers"
        )));
    }
    let mut sources: Vec<(Option<String>, LineStream)> = Vec::new();
    for name in names {
        check_reference("container", &name)?;
        let lines = engine.log_lines(&name, &query).await?;
        sources.push((Some(name), Box::pin(lines)));
    }
    let revoked = revocation::watch(&state, &me, headers, ACCESS);
    Ok(ws.on_upgrade(move |socket| pump(socket, sources, matcher, revoked, slot)))
}

/// Lines between the engine readers and one client: a bounded queue that
/// drops its oldest lines when full, so a slow client always gets the newest
/// ones and a count of what it missed, in the place it was missed.
#[derive(Default)]
struct Buffer {
    queue: VecDeque<LogLine>,
    /// Dropped from the front since the last frame.
    dropped: u64,
    /// Readers still running.
    live: usize,
    end: Option<String>,
}

struct Shared {
    buf: Mutex<Buffer>,
    ready: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        // A reader that panicked mid-push leaves a usable queue behind.
        self.buf
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, line: LogLine) {
        {
            let mut b = self.lock();
            b.queue.push_back(line);
            if b.queue.len() > LOG_CHANNEL {
                b.queue.pop_front();
                b.dropped += 1;
            }
        }
        self.ready.notify_one();
    }

    fn finish(&self, reason: Option<String>, merged: bool) {
        {
            let mut b = self.lock();
            b.live = b.live.saturating_sub(1);
            if reason.is_some() || b.live == 0 {
                b.end.get_or_insert_with(|| {
                    reason.unwrap_or_else(|| {
                        if merged {
                            "every container's log ended".into()
                        } else {
                            "the container stopped".into()
                        }
                    })
                });
            }
        }
        self.ready.notify_one();
    }
}

/// Reads every source into one bounded buffer and writes it to the socket
/// in batches.
async fn pump(
    mut socket: WebSocket,
    sources: Vec<(Option<String>, LineStream)>,
    matcher: Matcher,
    mut revoked: Revoked,
    _slot: Slot,
) {
    let merged = sources.len() > 1 || sources.iter().any(|(tag, _)| tag.is_some());
    let shared = Arc::new(Shared {
        buf: Mutex::new(Buffer {
            live: sources.len(),
            ..Default::default()
        }),
        ready: Notify::new(),
    });
    let mut readers = Vec::new();
    for (tag, mut lines) in sources {
        let (shared, matcher) = (shared.clone(), matcher.clone());
        readers.push(AbortOnDrop(tokio::spawn(async move {
            let mut reason = None;
            while let Some(line) = lines.next().await {
                match line {
                    Ok(mut line) => {
                        if matcher.matches(&line.text) {
                            line.container = tag.clone();
                            shared.push(line);
                        }
                    }
                    Err(e) => {
                        reason = Some(e.to_string());
                        break;
                    }
                }
            }
            shared.finish(reason, merged);
        })));
    }

    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_frame = tokio::time::Instant::now() - FLUSH_EVERY;
    loop {
        // Checked on every frame too: a busy log never waits in the
        // `select!` below.
        if let Some(reason) = revoked.now() {
            close_revoked(&mut socket, &reason).await;
            return;
        }
        let partial = {
            let b = shared.lock();
            !b.queue.is_empty() && b.queue.len() < BATCH && b.end.is_none()
        };
        if partial && last_frame.elapsed() < FLUSH_EVERY {
            // Wait for a full batch, the end, or the flush time, whichever
            // comes first.
            let deadline = last_frame + FLUSH_EVERY;
            loop {
                {
                    let b = shared.lock();
                    if b.queue.len() >= BATCH || b.end.is_some() {
                        break;
                    }
                }
                tokio::select! {
                    () = shared.ready.notified() => {}
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
        }
        let (dropped, lines, end) = {
            let mut b = shared.lock();
            let n = b.queue.len().min(BATCH);
            let lines: Vec<LogLine> = b.queue.drain(..n).collect();
            // The end goes out only after the last lines: taken with a batch
            // it would be lost by the `continue` that sends the batch.
            let end = if lines.is_empty() && b.queue.is_empty() {
                b.end.take()
            } else {
                None
            };
            (std::mem::take(&mut b.dropped), lines, end)
        };
        if dropped > 0 && !send_json(&mut socket, &LogFrame::Skipped { count: dropped }).await {
            return;
        }
        if !lines.is_empty() {
            if !send_json(&mut socket, &LogFrame::Lines { lines }).await {
                return;
            }
            last_frame = tokio::time::Instant::now();
            continue;
        }
        if let Some(reason) = end {
            let _ = send_json(&mut socket, &LogFrame::End { reason }).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        tokio::select! {
            () = shared.ready.notified() => {}
            reason = revoked.wait() => {
                close_revoked(&mut socket, &reason).await;
                return;
            }
            msg = socket.recv() => match msg {
                Some(Err(e)) => { read_failed(&mut socket, &e).await; return; }
                Some(Ok(Message::Close(_))) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() { return; }
            }
        }
    }
}
