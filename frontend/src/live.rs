//! Live updates from the engine: one events WebSocket for the endpoint being
//! shown, shared by every page. Pages put [`use_changes`] in the source of
//! what they load, so they reload when something they show changes, whoever
//! changed it. The same socket says when the endpoint's engine goes away and
//! comes back: [`EndpointBanner`] shows it above every page, and every page
//! reloads when it is back.
//!
//! Also here: [`Socket`], the small WebSocket wrapper the live components
//! (logs, terminal, stats) share. WebSockets authenticate with the session
//! cookie, which the browser sends on a same-origin upgrade; no token ever
//! goes in a URL.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use protocol::{EndpointStatus, EventFrame};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::components::icons::Icon;
use crate::components::layout::refresh_endpoints;
use crate::state::use_app;

/// The kinds pages ask about; any other kind counts under `other`.
const KINDS: [&str; 4] = ["container", "image", "volume", "network"];
/// Events are gathered this long before the pages hear of them, so a burst
/// (a compose up) reloads a list once, not fifty times.
const GATHER: Duration = Duration::from_millis(250);
/// The longest wait between two reconnection attempts.
const MAX_BACKOFF_MS: u64 = 10_000;

// ------------------------------------------------------------ sockets

/// A same-origin WebSocket URL for an API path (`/api/v1/...?...`).
pub fn ws_url(path: &str) -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    format!("{scheme}://{}{path}", location.host().unwrap_or_default())
}

/// A path segment, percent-encoded.
pub fn encode(segment: &str) -> String {
    String::from(js_sys::encode_uri_component(segment))
}

/// What a [`Socket`] reports.
pub enum SocketEvent {
    Open,
    Text(String),
    Binary(js_sys::Uint8Array),
    /// The socket closed. `opened` says whether it ever opened: a refused
    /// upgrade (401, 403, 400, 404) closes before it does, and the browser
    /// does not let a page read why.
    Closed {
        opened: bool,
        code: u16,
    },
}

/// A WebSocket with its handlers. Dropping it closes the socket and detaches
/// the handlers first, so no event arrives after the drop. Do not drop a
/// socket from inside its own handler: replace it from a timer or an effect.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(JsValue)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens `path` (an API path with its query) on this origin.
    pub fn connect(
        path: &str,
        handler: impl FnMut(SocketEvent) + 'static,
    ) -> Result<Socket, String> {
        let ws = WebSocket::new(&ws_url(path)).map_err(|e| js_message(&e))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let handler: Rc<RefCell<dyn FnMut(SocketEvent)>> = Rc::new(RefCell::new(handler));
        let opened = Rc::new(Cell::new(false));

        let on_open = {
            let (handler, opened) = (handler.clone(), opened.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                opened.set(true);
                if let Ok(mut h) = handler.try_borrow_mut() {
                    h(SocketEvent::Open);
                }
            })
        };
        let on_message = {
            let handler = handler.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let data = ev.data();
                let event = if let Some(text) = data.as_string() {
                    SocketEvent::Text(text)
                } else if let Some(buf) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                    SocketEvent::Binary(js_sys::Uint8Array::new(buf))
                } else {
                    return;
                };
                if let Ok(mut h) = handler.try_borrow_mut() {
                    h(event);
                }
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            if let Ok(mut h) = handler.try_borrow_mut() {
                h(SocketEvent::Closed {
                    opened: opened.get(),
                    code: ev.code(),
                });
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    pub fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    /// Sends a text frame; false when the socket is not open.
    pub fn send_text(&self, text: &str) -> bool {
        self.is_open() && self.ws.send_with_str(text).is_ok()
    }

    /// Sends a binary frame; false when the socket is not open.
    pub fn send_bytes(&self, bytes: &[u8]) -> bool {
        self.is_open() && self.ws.send_with_u8_array(bytes).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The text of a JS exception.
pub fn js_message(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// The wait before reconnection attempt `attempt` (0-based): 0.5 s, 1 s,
/// 2 s, ... at most 10 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((500u64 << attempt.min(5)).min(MAX_BACKOFF_MS))
}

// ------------------------------------------------------------ engine events

/// How the live connection to the shown endpoint stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveStatus {
    /// Connecting, or nobody is signed in.
    Connecting,
    /// Events flow and the engine answers.
    Up,
    /// The endpoint's engine went away; berth says why.
    Down(String),
    /// The events socket itself keeps failing (berth restarting, network):
    /// reconnecting.
    Lost,
}

/// The shared live state, provided once by [`provide_live`].
#[derive(Clone, Copy)]
pub struct Live {
    /// The endpoint the socket follows (`None` when signed out).
    pub endpoint: RwSignal<Option<String>>,
    pub status: RwSignal<LiveStatus>,
    /// One counter per entry of `KINDS`, then `other`.
    counters: [RwSignal<u64>; 5],
    app: crate::state::AppState,
}

impl Live {
    fn bump(&self, mask: u8) {
        for (i, counter) in self.counters.iter().enumerate() {
            if mask & (1 << i) != 0 {
                counter.try_update(|n| *n = n.wrapping_add(1));
            }
        }
    }
}

fn kind_bit(kind: &str) -> u8 {
    let index = KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len());
    1 << index
}

const ALL_KINDS: u8 = 0b1_1111;

/// What the socket loop keeps between events.
#[derive(Default)]
struct Conn {
    endpoint: Option<String>,
    socket: Option<Socket>,
    /// Bumped per socket: events of an older socket are ignored.
    generation: u64,
    /// Failed attempts in a row.
    attempt: u32,
    /// Whether a socket to this endpoint ever answered: later (re)connects
    /// reload everything, since events may have been missed meanwhile.
    answered: bool,
    retry: Option<TimeoutHandle>,
    /// Kinds changed since the last flush.
    pending: u8,
    flush: Option<TimeoutHandle>,
}

impl Conn {
    fn stop(&mut self) {
        if let Some(retry) = self.retry.take() {
            retry.clear();
        }
        self.socket = None;
        self.generation += 1;
    }
}

/// Starts the live connection and provides [`Live`] to the app. Call once,
/// in `App`, after the app state is provided.
pub fn provide_live() {
    let app = use_app();
    let live = Live {
        endpoint: RwSignal::new(None),
        status: RwSignal::new(LiveStatus::Connecting),
        counters: std::array::from_fn(|_| RwSignal::new(0)),
        app,
    };
    provide_context(live);
    let conn = Rc::new(RefCell::new(Conn::default()));
    // Follow the endpoint being shown, while someone is signed in.
    Effect::new(move |_| {
        // Only an endpoint the user reaches: another answers 404, and
        // retrying it would only raise the "connection lost" banner.
        let wanted = app
            .user
            .with(Option::is_some)
            .then(|| app.last_endpoint.get())
            .filter(|ep| app.role_on(ep).is_some());
        if conn.borrow().endpoint == wanted {
            return;
        }
        {
            let mut c = conn.borrow_mut();
            c.stop();
            c.endpoint = wanted.clone();
            c.attempt = 0;
            c.answered = false;
        }
        live.endpoint.set(wanted.clone());
        live.status.set(LiveStatus::Connecting);
        if wanted.is_some() {
            connect(live, &conn);
        }
    });
}

fn connect(live: Live, conn: &Rc<RefCell<Conn>>) {
    let (ep, generation) = {
        let mut c = conn.borrow_mut();
        c.retry = None;
        c.socket = None;
        c.generation += 1;
        match &c.endpoint {
            Some(ep) => (ep.clone(), c.generation),
            None => return,
        }
    };
    let weak = Rc::downgrade(conn);
    let path = format!("/api/v1/endpoints/{}/events/ws", encode(&ep));
    let socket = Socket::connect(&path, move |event| {
        let Some(conn) = weak.upgrade() else { return };
        if conn.borrow().generation != generation {
            return;
        }
        match event {
            SocketEvent::Text(text) => on_frame(live, &conn, &text),
            SocketEvent::Closed { .. } => reconnect_later(live, &conn),
            SocketEvent::Open | SocketEvent::Binary(_) => {}
        }
    });
    match socket {
        Ok(socket) => conn.borrow_mut().socket = Some(socket),
        Err(_) => reconnect_later(live, conn),
    }
}

fn reconnect_later(live: Live, conn: &Rc<RefCell<Conn>>) {
    let attempt = {
        let mut c = conn.borrow_mut();
        c.attempt += 1;
        c.attempt
    };
    // One failure can be a blip (berth restarting); from the second on the
    // banner says so. A down engine keeps its own message.
    if attempt >= 2 && !matches!(live.status.get_untracked(), LiveStatus::Down(_)) {
        live.status.try_set(LiveStatus::Lost);
    }
    let weak: Weak<RefCell<Conn>> = Rc::downgrade(conn);
    let handle = set_timeout_with_handle(
        move || {
            if let Some(conn) = weak.upgrade() {
                connect(live, &conn);
            }
        },
        backoff(attempt - 1),
    )
    .ok();
    conn.borrow_mut().retry = handle;
}

fn on_frame(live: Live, conn: &Rc<RefCell<Conn>>, text: &str) {
    let Ok(frame) = serde_json::from_str::<EventFrame>(text) else {
        return;
    };
    let first_answer = {
        let mut c = conn.borrow_mut();
        c.attempt = 0;
        !std::mem::replace(&mut c.answered, true)
    };
    match frame {
        EventFrame::Event(event) => changed(live, conn, kind_bit(&event.kind)),
        EventFrame::Resync { .. } => changed(live, conn, ALL_KINDS),
        EventFrame::Endpoint { status, reason } => {
            let before = live.status.get_untracked();
            let now = match status {
                EndpointStatus::Up => LiveStatus::Up,
                EndpointStatus::Down => LiveStatus::Down(
                    reason.unwrap_or_else(|| "the engine does not answer".to_owned()),
                ),
            };
            // Back up (or reconnected after a gap): everything reloads.
            if now == LiveStatus::Up && (!first_answer || before != LiveStatus::Connecting) {
                changed(live, conn, ALL_KINDS);
            }
            if before != now {
                live.status.try_set(now);
                // The endpoint switcher's dots follow.
                refresh_endpoints(live.app);
            }
        }
    }
}

/// Gathers changed kinds and tells the pages once per [`GATHER`].
fn changed(live: Live, conn: &Rc<RefCell<Conn>>, mask: u8) {
    let mut c = conn.borrow_mut();
    c.pending |= mask;
    if c.flush.is_some() {
        return;
    }
    let weak = Rc::downgrade(conn);
    c.flush = set_timeout_with_handle(
        move || {
            if let Some(conn) = weak.upgrade() {
                let mask = {
                    let mut c = conn.borrow_mut();
                    c.flush = None;
                    std::mem::take(&mut c.pending)
                };
                live.bump(mask);
            }
        },
        GATHER,
    )
    .ok();
}

/// A counter that goes up (debounced) whenever the engine reports a change
/// to an object of one of `kinds` (`container`, `image`, `volume`,
/// `network`) on the current endpoint, and when the endpoint comes back up.
pub fn use_changes(kinds: &'static [&'static str]) -> Signal<u64> {
    let Some(live) = use_context::<Live>() else {
        return Signal::derive(|| 0);
    };
    let mask = kinds.iter().fold(0u8, |m, k| m | kind_bit(k));
    Signal::derive(move || {
        live.counters
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .fold(0u64, |sum, (_, c)| sum.wrapping_add(c.get()))
    })
}

/// The live state, when the app provides it.
pub fn use_live() -> Option<Live> {
    use_context::<Live>()
}

/// "Endpoint local is down: <reason> — reconnecting…" above the page while
/// the shown endpoint's engine is away (or the live connection to berth is
/// lost); it goes away by itself when things are back.
#[component]
pub fn EndpointBanner() -> impl IntoView {
    let app = use_app();
    let live = use_live();
    let name = move |ep: &str| {
        app.endpoints
            .with(|eps| match eps {
                Some(Ok(eps)) => eps.iter().find(|e| e.id == ep).map(|e| e.name.clone()),
                _ => None,
            })
            .unwrap_or_else(|| ep.to_owned())
    };
    move || {
        let live = live?;
        let ep = live.endpoint.get()?;
        let (title, body) = match live.status.get() {
            LiveStatus::Down(reason) => (
                format!(
                    "Endpoint {} is down: {} — reconnecting…",
                    name(&ep),
                    plain_reason(&reason, &ep)
                ),
                "berth cannot reach this host's Docker engine. Pages resume by themselves when it is back.",
            ),
            LiveStatus::Lost => (
                "Lost the live connection to berth — reconnecting…".to_owned(),
                "Pages may be out of date until it is back; they reload by themselves then.",
            ),
            LiveStatus::Up | LiveStatus::Connecting => return None,
        };
        Some(view! {
            <div class="live-banner">
                <div class="banner banner-danger" role="alert" data-live="down">
                    {Icon::Alert.view()}
                    <div class="banner-text">
                        <strong>{title}</strong>
                        <p>{body}</p>
                    </div>
                    <span class="spinner" aria-hidden="true"></span>
                </div>
            </div>
        })
    }
}

/// berth's reason without its own "endpoint local is unreachable: " lead,
/// which the banner already says.
fn plain_reason<'a>(reason: &'a str, ep: &str) -> &'a str {
    let lead = format!("endpoint {ep} is unreachable: ");
    match reason.get(..lead.len()) {
        Some(head) if head.eq_ignore_ascii_case(&lead) => &reason[lead.len()..],
        _ => reason,
    }
}

/// The banner as a plain view, for the layout.
pub fn endpoint_banner() -> impl IntoView {
    view! { <EndpointBanner/> }
}
