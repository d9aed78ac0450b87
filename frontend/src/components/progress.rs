//! Long work with progress (issue 5): the JSON lines a build, pull or push
//! streams back (`application/x-ndjson`, one [`Progress`] a line, the last
//! one `done` or `error`), read as they arrive from the fetch body's
//! `ReadableStream`; the state they add up to ([`Transfer`]); and its views:
//! per-layer progress bars, the "Step n/m" bar and the build log.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use gloo_net::http::Response;
use leptos::{html, prelude::*, task::spawn_local};
use protocol::{LayerPhase, Progress};
use wasm_bindgen::{closure::Closure, prelude::wasm_bindgen, JsCast, JsValue};

use crate::api::ApiError;
use crate::components::format::bytes;

/// The most log lines kept on screen; older ones are dropped (and counted).
const MAX_LOG_LINES: usize = 5_000;

// ------------------------------------------------------------ promises

struct Settled {
    result: Option<Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

type JsCallback = Closure<dyn FnMut(JsValue)>;

/// A JS promise as a Rust future, without another dependency.
pub struct PromiseFuture {
    state: Rc<RefCell<Settled>>,
    callbacks: Option<(JsCallback, JsCallback)>,
}

impl PromiseFuture {
    pub fn new(promise: &js_sys::Promise) -> Self {
        let state = Rc::new(RefCell::new(Settled {
            result: None,
            waker: None,
        }));
        let settle = |ok: bool| {
            let state = state.clone();
            JsCallback::new(move |value: JsValue| {
                let waker = {
                    let mut s = state.borrow_mut();
                    s.result = Some(if ok { Ok(value) } else { Err(value) });
                    s.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            })
        };
        let (on_ok, on_err) = (settle(true), settle(false));
        let _ = promise.then2(&on_ok, &on_err);
        PromiseFuture {
            state,
            callbacks: Some((on_ok, on_err)),
        }
    }
}

impl Future for PromiseFuture {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let settled = this.state.borrow_mut().result.take();
        match settled {
            Some(result) => {
                this.callbacks = None;
                Poll::Ready(result)
            }
            None => {
                this.state.borrow_mut().waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for PromiseFuture {
    fn drop(&mut self) {
        // Dropped before the promise settled: JS will still call one of the
        // callbacks, so they must outlive this future.
        if self.state.borrow().result.is_none() {
            if let Some((on_ok, on_err)) = self.callbacks.take() {
                on_ok.forget();
                on_err.forget();
            }
        }
    }
}

/// The text of a JS error value.
pub fn js_error(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

// ------------------------------------------------------------ the stream

#[wasm_bindgen]
extern "C" {
    /// A fetch body (`ReadableStream`), as far as it is used here.
    #[wasm_bindgen(extends = js_sys::Object)]
    type BodyStream;
    #[wasm_bindgen(method, js_name = getReader, catch)]
    fn get_reader(this: &BodyStream) -> Result<BodyReader, JsValue>;

    /// Its default reader.
    #[wasm_bindgen(extends = js_sys::Object)]
    type BodyReader;
    #[wasm_bindgen(method)]
    fn read(this: &BodyReader) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn cancel(this: &BodyReader) -> js_sys::Promise;
}

/// The progress lines of a streamed answer, read as they arrive. Dropping
/// it before the end cancels the answer (the server stops sending).
pub struct ProgressStream {
    source: Source,
    pending: Vec<u8>,
    finished: bool,
}

/// Where the answer is read from.
enum Source {
    /// A `fetch` answer's body.
    Fetch(BodyReader),
    /// An `XMLHttpRequest` (an upload that reports its progress).
    Xhr(crate::xhr::XhrRequest),
}

impl ProgressStream {
    /// Takes a successful answer's body.
    pub fn new(response: Response) -> Result<ProgressStream, ApiError> {
        let broken = |detail: String| ApiError {
            status: 0,
            title: "Unexpected answer".into(),
            detail,
        };
        let body = response
            .body()
            .ok_or_else(|| broken("the answer has no body".into()))?;
        let reader = body
            .unchecked_into::<BodyStream>()
            .get_reader()
            .map_err(|e| broken(js_error(&e)))?;
        Ok(ProgressStream {
            source: Source::Fetch(reader),
            pending: Vec::new(),
            finished: false,
        })
    }

    /// Takes a successful answer of an upload sent with `XMLHttpRequest`.
    pub fn from_xhr(request: crate::xhr::XhrRequest) -> ProgressStream {
        ProgressStream {
            source: Source::Xhr(request),
            pending: Vec::new(),
            finished: false,
        }
    }

    /// The lines of the next chunk (maybe none, when a line is not complete
    /// yet); `None` at the end. A broken connection is an `Err`.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Progress>, String>> {
        if self.finished {
            return None;
        }
        let done = match &mut self.source {
            Source::Fetch(reader) => {
                let chunk = match PromiseFuture::new(&reader.read()).await {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        self.finished = true;
                        return Some(Err(format!("the connection broke off: {}", js_error(&e))));
                    }
                };
                if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
                    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
                        self.pending.extend(bytes.to_vec());
                    }
                }
                js_sys::Reflect::get(&chunk, &"done".into())
                    .ok()
                    .and_then(|d| d.as_bool())
                    .unwrap_or(true)
            }
            Source::Xhr(request) => match request.next_chunk().await {
                Some(Ok(text)) => {
                    self.pending.extend(text.into_bytes());
                    false
                }
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(e));
                }
                None => true,
            },
        };
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            lines.extend(parse_line(&line));
        }
        if done {
            self.finished = true;
            let rest = std::mem::take(&mut self.pending);
            lines.extend(parse_line(&rest));
        }
        Some(Ok(lines))
    }
}

impl Drop for ProgressStream {
    fn drop(&mut self) {
        // An `XMLHttpRequest` aborts itself when dropped.
        if let (false, Source::Fetch(reader)) = (self.finished, &self.source) {
            let _ = reader.cancel();
        }
    }
}

/// One line; an unreadable one is kept as a status line.
fn parse_line(line: &[u8]) -> Option<Progress> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(
        serde_json::from_str::<Progress>(text).unwrap_or_else(|_| Progress::Status {
            text: text.to_owned(),
        }),
    )
}

// ------------------------------------------------------------ the state

/// Where one layer of a pull or push is.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    pub id: String,
    pub phase: LayerPhase,
    /// The engine's words: "Downloading", "Already exists", ...
    pub status: String,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// "Step 2/5 : RUN make": a step began.
    Step,
    /// Output of a build step.
    Output,
    /// Something the engine reported ("Digest: ...").
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub seq: u64,
    /// The build step it belongs to (0 before the first).
    pub step: u32,
    pub kind: LineKind,
    pub text: String,
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        image_id: String,
        reference: Option<String>,
        digest: Option<String>,
    },
    Failed {
        message: String,
        /// For a build: the step that failed (`Step 4/7 : RUN make test`).
        step: Option<String>,
        /// 401 when the registry refused the login, 404 when it has no such
        /// image, 400 for a bad Dockerfile or context.
        status: Option<u16>,
    },
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}

/// A build, pull or push on screen: what the progress lines said so far.
#[derive(Clone, Copy)]
pub struct Transfer {
    pub running: RwSignal<bool>,
    pub layers: RwSignal<Vec<LayerRow>>,
    pub log: RwSignal<Vec<LogLine>>,
    /// Lines dropped from the top of a long log.
    pub dropped: RwSignal<usize>,
    /// The last `step` line: (n, m, instruction).
    pub step: RwSignal<Option<(u32, u32, String)>>,
    pub outcome: RwSignal<Option<Outcome>>,
    /// How much of an upload (a build context) has been sent.
    pub sent: RwSignal<Option<crate::xhr::Sent>>,
    seq: StoredValue<u64>,
    /// Bumped by each start and by [`Transfer::stop`]: an older run stops
    /// reading.
    generation: StoredValue<u64>,
}

impl Default for Transfer {
    fn default() -> Self {
        Self::new()
    }
}

impl Transfer {
    pub fn new() -> Self {
        Transfer {
            running: RwSignal::new(false),
            layers: RwSignal::new(Vec::new()),
            log: RwSignal::new(Vec::new()),
            dropped: RwSignal::new(0),
            step: RwSignal::new(None),
            outcome: RwSignal::new(None),
            sent: RwSignal::new(None),
            seq: StoredValue::new(0),
            generation: StoredValue::new(0),
        }
    }

    /// Back to nothing shown (a previous run stops being followed).
    pub fn reset(&self) {
        self.generation.update_value(|g| *g += 1);
        self.running.set(false);
        self.layers.set(Vec::new());
        self.log.set(Vec::new());
        self.dropped.set(0);
        self.step.set(None);
        self.outcome.set(None);
        self.sent.set(None);
    }

    /// For [`crate::xhr::send`]: keeps `sent` up to date.
    pub fn on_sent(&self) -> impl Fn(crate::xhr::Sent) + 'static {
        let sent = self.sent;
        move |s| {
            sent.try_set(Some(s));
        }
    }

    /// Stops following the stream (leaving the page): it is cancelled.
    pub fn stop(&self) {
        self.generation.try_update_value(|g| *g += 1);
    }

    /// Starts following what `request` answers; `on_end` hears how it ended
    /// (unless the run was stopped or replaced first).
    pub fn start<F>(&self, request: F, on_end: impl FnOnce(Outcome) + 'static)
    where
        F: Future<Output = Result<ProgressStream, ApiError>> + 'static,
    {
        self.reset();
        let this = *self;
        let generation = self.generation.get_value();
        let current = move || this.generation.try_get_value() == Some(generation);
        self.running.set(true);
        spawn_local(async move {
            let outcome = match request.await {
                Err(e) => Outcome::Failed {
                    message: e.message(),
                    step: None,
                    status: (e.status != 0).then_some(e.status),
                },
                Ok(mut stream) => {
                    let mut end = None;
                    while end.is_none() {
                        if !current() {
                            return;
                        }
                        match stream.next_batch().await {
                            None => break,
                            Some(Err(message)) => {
                                end = Some(Outcome::Failed {
                                    message,
                                    step: None,
                                    status: None,
                                })
                            }
                            Some(Ok(lines)) => {
                                if !current() {
                                    return;
                                }
                                end = this.apply(lines);
                            }
                        }
                    }
                    end.unwrap_or_else(|| Outcome::Failed {
                        message: "the answer ended before saying how it went".into(),
                        step: None,
                        status: None,
                    })
                }
            };
            if !current() {
                return;
            }
            this.outcome.try_set(Some(outcome.clone()));
            this.running.try_set(false);
            on_end(outcome);
        });
    }

    /// Adds a batch of lines; the outcome when one of them is the last.
    fn apply(&self, lines: Vec<Progress>) -> Option<Outcome> {
        let mut outcome = None;
        // (kind, text, step it belongs to)
        let mut new_lines: Vec<(LineKind, String, u32)> = Vec::new();
        let mut step_now = self
            .step
            .try_with_untracked(|s| s.as_ref().map_or(0, |(n, _, _)| *n))
            .unwrap_or(0);
        let mut layer_updates: Vec<LayerRow> = Vec::new();
        for line in lines {
            match line {
                Progress::Log { text } => new_lines.push((LineKind::Output, text, step_now)),
                Progress::Status { text } => new_lines.push((LineKind::Status, text, step_now)),
                Progress::Step {
                    current,
                    total,
                    text,
                } => {
                    self.step.try_set(Some((current, total, text.clone())));
                    step_now = current;
                    new_lines.push((
                        LineKind::Step,
                        format!("Step {current}/{total} : {text}"),
                        current,
                    ));
                }
                Progress::Layer {
                    id,
                    phase,
                    status,
                    current,
                    total,
                } => layer_updates.push(LayerRow {
                    id,
                    phase,
                    status,
                    current,
                    total,
                }),
                Progress::Error {
                    message,
                    step,
                    status,
                } => {
                    outcome = Some(Outcome::Failed {
                        message,
                        step,
                        status,
                    });
                    break;
                }
                Progress::Done {
                    image_id,
                    reference,
                    digest,
                } => {
                    outcome = Some(Outcome::Done {
                        image_id,
                        reference,
                        digest,
                    });
                    break;
                }
            }
        }
        if !layer_updates.is_empty() {
            self.layers.try_update(|layers| {
                for update in layer_updates {
                    match layers.iter_mut().find(|l| l.id == update.id) {
                        Some(row) => {
                            // Byte counts of an earlier phase do not carry over.
                            let keep = update.current.is_none() && row.phase == update.phase;
                            let (current, total) = if keep {
                                (row.current, row.total)
                            } else {
                                (update.current, update.total)
                            };
                            *row = LayerRow {
                                current,
                                total,
                                ..update
                            };
                        }
                        None => layers.push(update),
                    }
                }
            });
        }
        if !new_lines.is_empty() {
            let mut seq = self.seq.try_get_value().unwrap_or(0);
            let mut dropped = 0;
            self.log.try_update(|log| {
                for (kind, text, step) in new_lines {
                    seq += 1;
                    log.push(LogLine {
                        seq,
                        step,
                        kind,
                        text,
                    });
                }
                if log.len() > MAX_LOG_LINES {
                    dropped = log.len() - MAX_LOG_LINES;
                    log.drain(..dropped);
                }
            });
            self.seq.try_set_value(seq);
            if dropped > 0 {
                self.dropped.try_update(|d| *d += dropped);
            }
        }
        outcome
    }
}

// ------------------------------------------------------------ views

/// What a layer's phase reads as.
pub fn phase_label(row: &LayerRow) -> String {
    match row.phase {
        LayerPhase::Waiting => "Waiting".into(),
        LayerPhase::Downloading => "Downloading".into(),
        LayerPhase::Downloaded => "Downloaded".into(),
        LayerPhase::Extracting => "Extracting".into(),
        LayerPhase::Pushing => "Pushing".into(),
        LayerPhase::Done => "Done".into(),
        LayerPhase::Exists => "Already exists".into(),
        LayerPhase::Other => row.status.clone(),
    }
}

fn phase_slug(phase: LayerPhase) -> &'static str {
    match phase {
        LayerPhase::Waiting => "waiting",
        LayerPhase::Downloading => "downloading",
        LayerPhase::Downloaded => "downloaded",
        LayerPhase::Extracting => "extracting",
        LayerPhase::Pushing => "pushing",
        LayerPhase::Done => "done",
        LayerPhase::Exists => "exists",
        LayerPhase::Other => "other",
    }
}

/// How far the layer's current phase is, 0 to 100.
fn percent(row: &LayerRow) -> f64 {
    match row.phase {
        LayerPhase::Done | LayerPhase::Exists | LayerPhase::Downloaded => 100.0,
        LayerPhase::Waiting | LayerPhase::Other => 0.0,
        LayerPhase::Downloading | LayerPhase::Extracting | LayerPhase::Pushing => {
            match (row.current, row.total) {
                (Some(c), Some(t)) if t > 0 => (c as f64 / t as f64 * 100.0).clamp(0.0, 100.0),
                _ => 0.0,
            }
        }
    }
}

fn finished(phase: LayerPhase) -> bool {
    matches!(phase, LayerPhase::Done | LayerPhase::Exists)
}

/// A progress bar; `value` is 0 to 100, `None` for "under way, unknown".
#[component]
pub fn Bar(
    #[prop(into)] value: Signal<Option<f64>>,
    #[prop(into)] label: String,
    #[prop(optional, into)] tone: Option<Signal<&'static str>>,
) -> impl IntoView {
    let width = move || format!("{:.1}%", value.get().unwrap_or(100.0));
    let now = move || value.get().map(|v| format!("{v:.0}"));
    view! {
        <div
            class="bar"
            class:bar-busy=move || value.get().is_none()
            data-tone=move || tone.map(|t| t.get())
            role="progressbar"
            aria-label=label
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=now
        >
            <span class="bar-fill" style:width=width></span>
        </div>
    }
}

/// An upload on its way: "Sending the build context: 12 MB of 27 MB (45 %)".
#[component]
pub fn UploadProgress(
    sent: RwSignal<Option<crate::xhr::Sent>>,
    #[prop(into)] what: String,
) -> impl IntoView {
    let value = Signal::derive(move || {
        sent.get()
            .filter(|(_, total)| *total > 0.0)
            .map(|(done, total)| (done / total * 100.0).min(100.0))
    });
    let text = {
        let what = what.clone();
        move || match sent.get() {
            Some((done, total)) if total > 0.0 => format!(
                "Sending {what}: {} of {} ({:.0} %)",
                bytes(done as i64),
                bytes(total as i64),
                (done / total * 100.0).min(100.0)
            ),
            _ => format!("Sending {what}…"),
        }
    };
    view! {
        <div class="upload-progress" role="status">
            <div class="progress-head">
                <span class="progress-title">{text}</span>
            </div>
            <Bar value=value label=format!("Sending {what}")/>
        </div>
    }
}

/// One bar per layer of a pull or a push: waiting, downloading (with bytes),
/// extracting, already exists, done.
#[component]
pub fn LayerProgress(transfer: Transfer) -> impl IntoView {
    let layers = transfer.layers;
    let summary = move || {
        layers.with(|l| {
            let done = l.iter().filter(|r| finished(r.phase)).count();
            (done, l.len())
        })
    };
    let ended = move || transfer.outcome.with(|o| o.as_ref().map(Outcome::is_done));
    let overall = Signal::derive(move || {
        let (done, total) = summary();
        match ended() {
            Some(true) => Some(100.0),
            _ if total > 0 => Some(done as f64 / total as f64 * 100.0),
            Some(false) => Some(0.0),
            None => None,
        }
    });
    let overall_tone = Signal::derive(move || match ended() {
        Some(true) => "green",
        Some(false) => "red",
        None => "accent",
    });
    let row = move |id: String| {
        let current = {
            let id = id.clone();
            Memo::new(move |_| layers.with(|l| l.iter().find(|r| r.id == id).cloned()))
        };
        let phase = move || current.with(|r| r.as_ref().map_or("waiting", |r| phase_slug(r.phase)));
        let label = move || current.with(|r| r.as_ref().map(phase_label).unwrap_or_default());
        let amount = move || {
            current.with(|r| match r {
                Some(r)
                    if matches!(
                        r.phase,
                        LayerPhase::Downloading | LayerPhase::Extracting | LayerPhase::Pushing
                    ) =>
                {
                    match (r.current, r.total) {
                        (Some(c), Some(t)) if t > 0 => format!("{} / {}", bytes(c), bytes(t)),
                        (Some(c), _) => bytes(c),
                        _ => String::new(),
                    }
                }
                _ => String::new(),
            })
        };
        let value = Signal::derive(move || current.with(|r| r.as_ref().map(percent)));
        let tone = Signal::derive(move || {
            current.with(|r| match r.as_ref().map(|r| r.phase) {
                Some(LayerPhase::Exists) => "grey",
                Some(LayerPhase::Done) => "green",
                Some(LayerPhase::Extracting) | Some(LayerPhase::Downloaded) => "amber",
                _ => "accent",
            })
        });
        view! {
            <li class="layer-row" data-layer=id.clone() data-phase=phase>
                <span class="layer-id mono">{id.clone()}</span>
                <span class="layer-phase">{label}</span>
                <Bar value=value label=format!("Layer {id}") tone=tone/>
                <span class="layer-bytes mono">{amount}</span>
            </li>
        }
    };
    view! {
        <div class="layers-progress">
            <div class="progress-head">
                <span class="progress-title">
                    {move || {
                        let (done, total) = summary();
                        match (total, ended()) {
                            (0, Some(true)) => "Up to date: no layer to move".to_owned(),
                            (0, Some(false)) => "No layer moved".to_owned(),
                            (0, None) => "Waiting for the engine…".to_owned(),
                            _ => format!("{done} of {total} layers done"),
                        }
                    }}
                </span>
            </div>
            <Bar value=overall label="All layers" tone=overall_tone/>
            <ul class="layer-list" aria-label="Layers">
                <For each=move || layers.with(|l| l.iter().map(|r| r.id.clone()).collect::<Vec<_>>()) key=|id| id.clone() children=row/>
            </ul>
        </div>
    }
}

/// The "Step n/m" bar of a build, with the instruction under way.
#[component]
pub fn StepProgress(transfer: Transfer) -> impl IntoView {
    let step = transfer.step;
    let value = Signal::derive(move || {
        let done = transfer
            .outcome
            .with(|o| matches!(o, Some(Outcome::Done { .. })));
        if done {
            return Some(100.0);
        }
        step.with(|s| match s {
            // A step counts as done when the next one begins.
            Some((n, m, _)) if *m > 0 => Some((n.saturating_sub(1)) as f64 / *m as f64 * 100.0),
            _ => None,
        })
    });
    let tone = Signal::derive(move || {
        transfer.outcome.with(|o| match o {
            Some(Outcome::Done { .. }) => "green",
            Some(Outcome::Failed { .. }) => "red",
            None => "accent",
        })
    });
    // Before the first step: how much of the context has been sent.
    let uploading = move || {
        transfer
            .sent
            .get()
            .filter(|_| step.with(Option::is_none) && transfer.outcome.with(Option::is_none))
    };
    view! {
        <Show when=move || uploading().is_some_and(|(sent, total)| sent < total)>
            <UploadProgress sent=transfer.sent what="the build context"/>
        </Show>
        <div class="step-progress">
            <div class="progress-head">
                <span class="progress-title" data-testid="build-step">
                    {move || step.with(|s| match s {
                        Some((n, m, _)) => format!("Step {n}/{m}"),
                        None => "Starting…".to_owned(),
                    })}
                </span>
                <span class="progress-text mono truncate">
                    {move || step.with(|s| s.as_ref().map(|(_, _, t)| t.clone()).unwrap_or_default())}
                </span>
            </div>
            <Bar value=value label="Build steps" tone=tone/>
        </div>
    }
}

/// The output of a build (or the status lines of a pull), monospace, kept
/// scrolled to the end while the reader is there; the lines of `failed_step`
/// are marked.
#[component]
pub fn ProgressLog(
    transfer: Transfer,
    #[prop(into)] label: String,
    /// The build step whose lines are marked as failed.
    #[prop(into)]
    failed_step: Signal<Option<u32>>,
) -> impl IntoView {
    let log = transfer.log;
    let node = NodeRef::<html::Pre>::new();
    let stick = StoredValue::new(true);
    Effect::new(move |_| {
        log.track();
        failed_step.track();
        if stick.get_value() {
            if let Some(el) = node.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = node.get_untracked() {
            let bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 24;
            stick.set_value(bottom);
        }
    };
    view! {
        <pre
            class="code progress-log"
            node_ref=node
            tabindex="0"
            aria-label=label
            aria-live="off"
            on:scroll=on_scroll
        >
            {move || {
                let n = transfer.dropped.get();
                (n > 0).then(|| view! { <span class="log-note">{format!("… {n} earlier lines not shown\n")}</span> })
            }}
            <For
                each=move || log.get()
                key=|l| l.seq
                children=move |l: LogLine| {
                    let step = l.step;
                    let failed = move || failed_step.get() == Some(step) && step > 0;
                    view! {
                        <span
                            class="log-line"
                            class:log-step=l.kind == LineKind::Step
                            class:log-status=l.kind == LineKind::Status
                            class:log-failed=failed
                            data-step=step
                        >
                            {l.text}
                            "\n"
                        </span>
                    }
                }
            />
        </pre>
    }
}
