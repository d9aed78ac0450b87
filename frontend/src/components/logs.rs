//! A calm, fast log view: one container's log, or several merged (a stack),
//! followed over a WebSocket with the filter applied on the server.
//!
//! Built to take a flood (thousands of lines a second) without freezing the
//! tab: lines go into a bounded ring buffer in plain Rust (no signal per
//! line); the screen is redrawn at most every [`FRAME_MS`] from
//! `requestAnimationFrame`; and only the rows in view exist in the DOM, a
//! small pool of fixed-height rows whose text is replaced in place.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::{html, prelude::*};
use protocol::{LogFrame, LogLine, LogStream};
use send_wrapper::SendWrapper;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use web_sys::{Element, HtmlElement};

use crate::components::icons::Icon;
use crate::live::{encode, js_message, use_live, LiveStatus, Socket, SocketEvent};
use crate::state::now_secs;

/// Height of one row in px: `.log-row` in style.css says the same.
const ROW_HEIGHT: f64 = 20.0;
/// Lines kept in the browser; past this the oldest go.
pub const MAX_ROWS: usize = 5000;
/// Longer lines are cut here for the screen (the download has them whole).
const MAX_TEXT: usize = 2000;
/// A pooled row that shows nothing.
const EMPTY: u64 = u64::MAX;
/// A pooled row whose content is out of date.
const STALE: u64 = u64::MAX - 1;
/// Rows drawn beyond each edge of the view, so a scroll shows no gap.
const OVERSCAN: usize = 8;
/// The screen is redrawn at most this often while lines pour in.
const FRAME_MS: f64 = 100.0;
/// Colours for container names in a merged view (`.log-c0` .. `.log-c7`).
const PALETTE: u32 = 8;
/// Typing in the filter box reconnects once it rests this long.
const FILTER_DELAY: Duration = Duration::from_millis(350);

#[wasm_bindgen]
extern "C" {
    /// `RegExp(pattern, flags)`, throwing on a bad pattern.
    #[wasm_bindgen(catch, js_name = RegExp)]
    fn js_regexp(pattern: &str, flags: &str) -> Result<JsValue, JsValue>;
}

/// Whose log to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// One container (id or name).
    Container(String),
    /// Several containers merged, each line tagged with its name.
    Containers(Vec<String>),
    /// Every container of a compose project, merged.
    Project(String),
}

impl LogSource {
    fn merged(&self) -> bool {
        !matches!(self, LogSource::Container(_))
    }

    fn ws_path(&self, ep: &str, query: &str) -> String {
        let ep = encode(ep);
        match self {
            LogSource::Container(id) => {
                format!(
                    "/api/v1/endpoints/{ep}/containers/{}/logs/ws?{query}",
                    encode(id)
                )
            }
            LogSource::Containers(names) => {
                let list: Vec<String> = names.iter().map(|n| encode(n)).collect();
                format!(
                    "/api/v1/endpoints/{ep}/logs/ws?containers={}&{query}",
                    list.join(",")
                )
            }
            LogSource::Project(name) => {
                format!(
                    "/api/v1/endpoints/{ep}/logs/ws?project={}&{query}",
                    encode(name)
                )
            }
        }
    }

    /// The whole log as a file; only for one container.
    fn download(&self, ep: &str) -> Option<String> {
        match self {
            LogSource::Container(id) => Some(format!(
                "/api/v1/endpoints/{}/containers/{}/logs?tail=all&timestamps=true",
                encode(ep),
                encode(id)
            )),
            _ => None,
        }
    }
}

/// How the stream stands, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Connecting,
    Live,
    /// The server ended the stream; its reason.
    Ended(String),
    Failed(String),
    /// Not connected: the filter is not a valid regular expression.
    Invalid,
}

enum RowKind {
    Line {
        stream: LogStream,
        ts: Option<String>,
        container: Option<Rc<str>>,
        text: String,
    },
    Skipped(u64),
    Note(String),
}

struct Row {
    /// Increases by one per row, so a pooled DOM row knows when it already
    /// shows this one.
    seq: u64,
    kind: RowKind,
}

/// One pooled DOM row.
struct Slot {
    el: Element,
    ts: Element,
    ctr: Element,
    text: Element,
    /// The row it shows ([`EMPTY`], [`STALE`]).
    seq: u64,
}

#[derive(Clone, Copy)]
struct Signals {
    status: RwSignal<Status>,
    following: RwSignal<bool>,
    new_lines: RwSignal<u64>,
    count: RwSignal<usize>,
}

/// Everything that changes per line lives here, outside the reactive graph.
struct Logs {
    rows: VecDeque<Row>,
    next_seq: u64,
    /// Rows dropped from the front since the last draw, to keep a reader's
    /// place while they scroll back.
    evicted: u64,
    paused: bool,
    following: bool,
    new_while_paused: u64,
    /// A draw is scheduled.
    scheduled: bool,
    last_draw: f64,
    socket: Option<Socket>,
    generation: u64,
    /// The container's start time when the stream was opened; a later one
    /// means it started again.
    started_at_connect: String,
    /// Unix seconds when the stream ended.
    ended_at: Option<f64>,
    /// Interned container names of a merged view.
    names: Vec<Rc<str>>,
    /// Show the timestamp column (lines always carry their time).
    show_ts: bool,
    /// The time of the newest line received, to drop the lines a resumed
    /// stream sends twice.
    newest: Option<TsKey>,
    /// While resuming: lines up to this time were shown already.
    resume_after: Option<TsKey>,
    viewport: Option<HtmlElement>,
    spacer: Option<HtmlElement>,
    window: Option<HtmlElement>,
    slots: Vec<Slot>,
    drawn_rows: usize,
    drawn_first: usize,
    signals: Signals,
}

type Shared = Rc<RefCell<Logs>>;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Logs {
    fn push(&mut self, kind: RowKind) {
        if self.rows.len() >= MAX_ROWS {
            self.rows.pop_front();
            self.evicted += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.rows.push_back(Row { seq, kind });
        if self.paused {
            self.new_while_paused += 1;
        }
    }

    fn intern(&mut self, name: String) -> Rc<str> {
        if let Some(known) = self.names.iter().find(|n| ***n == *name) {
            return known.clone();
        }
        let name: Rc<str> = Rc::from(name);
        self.names.push(name.clone());
        name
    }

    fn take_line(&mut self, line: LogLine) {
        let LogLine {
            container,
            stream,
            ts,
            mut text,
        } = line;
        let key = ts.as_deref().and_then(ts_key);
        if let (Some(after), Some(key)) = (&self.resume_after, &key) {
            if key <= after {
                return;
            }
            self.resume_after = None;
        }
        if key.is_some() {
            self.newest = key;
        }
        if text.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let more = text.len() - cut;
            text.truncate(cut);
            text.push_str(&format!(
                " … ({more} more bytes: download the log for the whole line)"
            ));
        }
        let container = container.map(|c| self.intern(c));
        self.push(RowKind::Line {
            stream,
            ts,
            container,
            text,
        });
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.newest = None;
        self.resume_after = None;
        self.evicted = 0;
        self.new_while_paused = 0;
        self.names.clear();
        // Drawn again (or emptied) at the next draw.
        for slot in &mut self.slots {
            slot.seq = STALE;
        }
    }
}

/// The pause icon (Feather's, MIT), drawn like [`Icon`]'s.
pub const PAUSE: &str = "M6 4h4v16H6zM14 4h4v16h-4z";
/// The download icon (Feather's, MIT).
pub const DOWNLOAD: &str = "M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3";

/// A line icon from an SVG path, like [`Icon::view`]: decorative, the
/// control around it carries the label.
pub fn line_icon(path: &'static str) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d=path></path>
        </svg>
    }
}

/// Asks for a draw: at most one per [`FRAME_MS`], in an animation frame.
fn schedule(shared: &Shared) {
    let wait = {
        let mut s = shared.borrow_mut();
        if s.scheduled {
            return;
        }
        s.scheduled = true;
        (s.last_draw + FRAME_MS - now_ms()).max(0.0)
    };
    let weak = Rc::downgrade(shared);
    set_timeout(
        move || {
            request_animation_frame(move || {
                if let Some(shared) = weak.upgrade() {
                    let mut s = shared.borrow_mut();
                    s.scheduled = false;
                    s.last_draw = now_ms();
                    if s.paused {
                        let n = s.new_while_paused;
                        let signals = s.signals;
                        drop(s);
                        signals.new_lines.try_set(n);
                    } else {
                        draw(&mut s);
                    }
                }
            })
        },
        Duration::from_millis(wait as u64),
    );
}

/// Draws right away in the next frame (a scroll, a resize, a button).
fn draw_soon(shared: &Shared) {
    let weak = Rc::downgrade(shared);
    request_animation_frame(move || {
        if let Some(shared) = weak.upgrade() {
            draw(&mut shared.borrow_mut());
        }
    });
}

fn set_style(el: &HtmlElement, style: &str) {
    let _ = el.set_attribute("style", style);
}

/// Puts the rows in view into the pooled DOM rows.
fn draw(s: &mut Logs) {
    let (Some(viewport), Some(spacer), Some(window)) =
        (s.viewport.clone(), s.spacer.clone(), s.window.clone())
    else {
        return;
    };
    let n = s.rows.len();
    if s.drawn_rows != n {
        set_style(&spacer, &format!("height:{}px", n as f64 * ROW_HEIGHT));
        s.drawn_rows = n;
        s.signals.count.try_set(n);
    }
    if s.following && !s.paused {
        viewport.set_scroll_top(i32::MAX);
    } else if s.evicted > 0 {
        // Keep the reader's lines in place while older ones go.
        let top = viewport.scroll_top() as f64 - s.evicted as f64 * ROW_HEIGHT;
        viewport.set_scroll_top(top.max(0.0) as i32);
    }
    s.evicted = 0;
    let top = viewport.scroll_top().max(0) as f64;
    let height = viewport.client_height().max(0) as f64;
    let first = ((top / ROW_HEIGHT) as usize)
        .saturating_sub(OVERSCAN)
        .min(n);
    let count = ((height / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN).min(n - first);
    let document = document();
    while s.slots.len() < count {
        match new_slot(&document) {
            Some(slot) => {
                let _ = window.append_child(&slot.el);
                s.slots.push(slot);
            }
            None => break,
        }
    }
    if s.drawn_first != first {
        set_style(
            &window,
            &format!("transform:translateY({}px)", first as f64 * ROW_HEIGHT),
        );
        s.drawn_first = first;
    }
    let Logs {
        rows,
        slots,
        show_ts,
        ..
    } = s;
    for (i, slot) in slots.iter_mut().enumerate() {
        match rows.get(first + i).filter(|_| i < count) {
            Some(row) if row.seq == slot.seq => {}
            Some(row) => fill(slot, row, *show_ts),
            None if slot.seq == EMPTY => {}
            None => {
                slot.seq = EMPTY;
                slot.el.set_class_name("log-row log-empty");
                slot.ts.set_text_content(None);
                slot.ctr.set_text_content(None);
                slot.text.set_text_content(None);
            }
        }
    }
}

fn new_slot(document: &web_sys::Document) -> Option<Slot> {
    let el = document.create_element("div").ok()?;
    let ts = document.create_element("span").ok()?;
    let ctr = document.create_element("span").ok()?;
    let text = document.create_element("span").ok()?;
    ts.set_class_name("log-ts");
    text.set_class_name("log-text");
    el.append_child(&ts).ok()?;
    el.append_child(&ctr).ok()?;
    el.append_child(&text).ok()?;
    el.set_class_name("log-row log-empty");
    Some(Slot {
        el,
        ts,
        ctr,
        text,
        seq: EMPTY,
    })
}

fn fill(slot: &mut Slot, row: &Row, show_ts: bool) {
    slot.seq = row.seq;
    match &row.kind {
        RowKind::Line {
            stream,
            ts,
            container,
            text,
        } => {
            slot.el.set_class_name(match stream {
                LogStream::Stderr => "log-row log-stderr",
                LogStream::Stdout => "log-row log-stdout",
                LogStream::Console => "log-row",
            });
            slot.ts
                .set_text_content(ts.as_deref().filter(|_| show_ts).map(format_ts).as_deref());
            match container {
                Some(name) => {
                    slot.ctr
                        .set_class_name(&format!("log-ctr log-c{}", palette_index(name)));
                    slot.ctr.set_text_content(Some(name));
                }
                None => {
                    slot.ctr.set_class_name("log-ctr");
                    slot.ctr.set_text_content(None);
                }
            }
            slot.text.set_text_content(Some(&strip_ansi(text)));
        }
        RowKind::Skipped(count) => {
            slot.el.set_class_name("log-row log-skipped");
            slot.ts.set_text_content(None);
            slot.ctr.set_class_name("log-ctr");
            slot.ctr.set_text_content(None);
            let lines = if *count == 1 { "line" } else { "lines" };
            slot.text.set_text_content(Some(&format!(
                "⋯ {} {lines} skipped: the browser read slower than the container wrote",
                group(*count)
            )));
        }
        RowKind::Note(note) => {
            slot.el.set_class_name("log-row log-note");
            slot.ts.set_text_content(None);
            slot.ctr.set_class_name("log-ctr");
            slot.ctr.set_text_content(None);
            slot.text.set_text_content(Some(note));
        }
    }
}

/// A stable colour per container name (FNV-1a of the name).
pub fn palette_index(name: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % PALETTE
}

/// "1,234,567".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Drops ANSI escape sequences (colours, cursor moves) and carriage
/// returns; the text stays as it reads.
pub fn strip_ansi(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\u{1b}', '\r']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: parameters, then one final byte in @..~.
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            chars.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A log line's time, comparable: the RFC 3339 seconds part (fixed width,
/// UTC) and the nanoseconds. The engine trims trailing zeros of the
/// fraction, so the strings alone do not compare.
type TsKey = (String, u32);

fn ts_key(ts: &str) -> Option<TsKey> {
    let ts = ts.strip_suffix('Z')?;
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    if secs.len() != 19 || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let nanos = format!("{frac:0<9}").parse().ok()?;
    Some((secs.to_owned(), nanos))
}

/// An engine timestamp (RFC 3339, nanoseconds, UTC) as local time with
/// milliseconds: "2026-11-29 18:12:03.123".
pub fn format_ts(ts: &str) -> String {
    // Date parsing wants at most milliseconds: cut the fraction to three.
    let normalized = match ts.find('.') {
        Some(dot) => {
            let digits = ts[dot + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(ts.len(), |i| dot + 1 + i);
            let keep = (dot + 4).min(digits);
            format!("{}{}", &ts[..keep], &ts[digits..])
        }
        None => ts.to_owned(),
    };
    let ms = js_sys::Date::parse(&normalized);
    if ms.is_nan() {
        return ts.to_owned();
    }
    let d = js_sys::Date::new(&JsValue::from_f64(ms));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds(),
        d.get_milliseconds()
    )
}

/// `None` when `pattern` is a valid (JS) regular expression, else why not.
pub fn regex_error(pattern: &str) -> Option<String> {
    match js_regexp(pattern, "i") {
        Ok(_) => None,
        Err(e) => {
            let message = js_message(&e);
            Some(if message.starts_with("Invalid regular expression") {
                message
            } else {
                format!("Invalid regular expression: {message}")
            })
        }
    }
}

fn ingest(shared: &Shared, frame: LogFrame) {
    let mut s = shared.borrow_mut();
    let mut status = None;
    match frame {
        LogFrame::Lines { lines } => {
            for line in lines {
                s.take_line(line);
            }
        }
        LogFrame::Skipped { count } => {
            // Markers in a row add up into one.
            let seq = s.next_seq;
            let merged = match s.rows.back_mut() {
                Some(row) => match &mut row.kind {
                    RowKind::Skipped(n) => {
                        *n += count;
                        row.seq = seq;
                        true
                    }
                    _ => false,
                },
                None => false,
            };
            if merged {
                s.next_seq += 1;
            } else {
                s.push(RowKind::Skipped(count));
            }
        }
        LogFrame::End { reason } => {
            let reason = capitalize(&reason);
            s.push(RowKind::Note(format!("— {reason} —")));
            s.ended_at = Some(now_secs());
            status = Some(Status::Ended(reason));
        }
    }
    let signals = s.signals;
    drop(s);
    if let Some(status) = status {
        signals.status.try_set(status);
    }
    schedule(shared);
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Opens the stream at `path`. `keep` keeps the lines on screen (a restarted
/// container continues its log); otherwise the view starts over.
fn connect(shared: &Shared, path: &str, keep: bool, started: String) {
    let (generation, signals) = {
        let mut s = shared.borrow_mut();
        s.socket = None;
        s.generation += 1;
        s.ended_at = None;
        s.started_at_connect = started;
        if keep {
            s.resume_after = s.newest.clone();
        } else {
            s.clear();
            s.following = true;
        }
        (s.generation, s.signals)
    };
    signals.status.try_set(Status::Connecting);
    if !keep {
        signals.following.try_set(true);
        signals.new_lines.try_set(0);
    }
    let weak: Weak<RefCell<Logs>> = Rc::downgrade(shared);
    let socket = Socket::connect(path, move |event| {
        let Some(shared) = weak.upgrade() else { return };
        if shared.borrow().generation != generation {
            return;
        }
        match event {
            SocketEvent::Open => {
                signals.status.try_set(Status::Live);
            }
            SocketEvent::Text(text) => {
                if let Ok(frame) = serde_json::from_str::<LogFrame>(&text) {
                    ingest(&shared, frame);
                }
            }
            SocketEvent::Binary(_) => {}
            SocketEvent::Closed { opened, .. } => {
                let ended = matches!(signals.status.get_untracked(), Status::Ended(_));
                if !ended {
                    shared.borrow_mut().ended_at = Some(now_secs());
                    signals.status.try_set(Status::Failed(if opened {
                        "The log stream was interrupted.".to_owned()
                    } else {
                        "Could not open the log stream: the container may be gone, or berth refused the filter.".to_owned()
                    }));
                }
            }
        }
    });
    match socket {
        Ok(socket) => shared.borrow_mut().socket = Some(socket),
        Err(e) => {
            signals.status.try_set(Status::Failed(format!(
                "Could not open the log stream: {e}"
            )));
        }
    }
    draw_soon(shared);
}

/// The `tail` choices.
const TAILS: [(&str, &str); 4] = [
    ("100", "Last 100 lines"),
    ("300", "Last 300 lines"),
    ("1000", "Last 1,000 lines"),
    ("all", "All lines"),
];

/// The `since` choices, in seconds back from now (0: any time).
const SINCES: [(u32, &str); 4] = [
    (0, "Any time"),
    (300, "Last 5 minutes"),
    (3600, "Last hour"),
    (86_400, "Last 24 hours"),
];

/// The log view. `started` (a container's start time while it runs, empty
/// when stopped) lets the view pick up again by itself when the container
/// starts after its log ended.
#[component]
pub fn LogView(
    #[prop(into)] ep: String,
    source: LogSource,
    /// A label for the log region: "Log of web-1".
    #[prop(into)]
    label: String,
    #[prop(optional, into)] started: Option<Signal<String>>,
) -> impl IntoView {
    let merged = source.merged();
    let download = source.download(&ep);
    let tail = RwSignal::new("300");
    let since = RwSignal::new(0u32);
    let timestamps = RwSignal::new(false);
    let filter_text = RwSignal::new(String::new());
    let filter = RwSignal::new(String::new());
    let regex = RwSignal::new(false);
    let paused = RwSignal::new(false);
    let signals = Signals {
        status: RwSignal::new(Status::Connecting),
        following: RwSignal::new(true),
        new_lines: RwSignal::new(0),
        count: RwSignal::new(0),
    };
    let regex_problem = Memo::new(move |_| {
        let f = filter.get();
        (regex.get() && !f.is_empty())
            .then(|| regex_error(&f))
            .flatten()
    });

    let shared: Shared = Rc::new(RefCell::new(Logs {
        rows: VecDeque::with_capacity(MAX_ROWS),
        next_seq: 0,
        evicted: 0,
        paused: false,
        following: true,
        new_while_paused: 0,
        scheduled: false,
        last_draw: 0.0,
        socket: None,
        generation: 0,
        started_at_connect: String::new(),
        ended_at: None,
        names: Vec::new(),
        show_ts: false,
        newest: None,
        resume_after: None,
        viewport: None,
        spacer: None,
        window: None,
        slots: Vec::new(),
        drawn_rows: usize::MAX,
        drawn_first: usize::MAX,
        signals,
    }));

    // The filter applies once typing rests.
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let on_filter = move |value: String| {
        filter_text.set(value.clone());
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(move || filter.set(value), FILTER_DELAY).ok();
        pending.set_value(handle);
    };

    let path_for = {
        let (ep, source) = (ep.clone(), source.clone());
        move |tail: &str, since_secs: Option<f64>| {
            // Lines always carry their time: the column shows it on demand,
            // and a resumed stream drops the lines it sends twice.
            let mut query = format!("tail={tail}&timestamps=true");
            if let Some(since) = since_secs {
                query.push_str(&format!("&since={}", since.max(0.0).floor() as i64));
            }
            let f = filter.get_untracked();
            if !f.is_empty() {
                query.push_str(&format!(
                    "&filter={}&regex={}",
                    encode(&f),
                    regex.get_untracked()
                ));
            }
            source.ws_path(&ep, &query)
        }
    };

    // (Re)connect whenever what is asked for changes.
    {
        let shared = shared.clone();
        let path_for = path_for.clone();
        Effect::new(move |_| {
            let tail = tail.get();
            let back = since.get();
            filter.track();
            regex.track();
            if regex_problem.get().is_some() {
                let mut s = shared.borrow_mut();
                s.socket = None;
                s.generation += 1;
                drop(s);
                signals.status.set(Status::Invalid);
                return;
            }
            let since_secs = (back > 0).then(|| now_secs() - f64::from(back));
            let started_now = started.map(|s| s.get_untracked()).unwrap_or_default();
            connect(&shared, &path_for(tail, since_secs), false, started_now);
        });
    }

    // Picks the stream up again after it ended, from where it ended,
    // keeping the lines on screen.
    let resume = {
        let shared = shared.clone();
        let path_for = path_for.clone();
        move |note: &str, started_now: String, new_run_only: bool| {
            let (ended_at, before) = {
                let s = shared.borrow();
                (s.ended_at, s.started_at_connect.clone())
            };
            let over = matches!(
                signals.status.get_untracked(),
                Status::Ended(_) | Status::Failed(_)
            );
            let Some(ended_at) = ended_at.filter(|_| over) else {
                return;
            };
            if started_now.is_empty() || (new_run_only && started_now == before) {
                return;
            }
            shared
                .borrow_mut()
                .push(RowKind::Note(format!("— {note} —")));
            connect(&shared, &path_for("all", Some(ended_at)), true, started_now);
        }
    };
    // A container that starts again after its log ended: follow the new run.
    if let Some(started) = started {
        let resume = resume.clone();
        Effect::new(move |_| {
            let now = started.get();
            resume("Container started again", now, true);
        });
    }
    // The endpoint's engine is back: a stream it cut goes on.
    if let Some(live) = use_live() {
        Effect::new(move |before: Option<LiveStatus>| {
            let now = live.status.get();
            if matches!(before, Some(LiveStatus::Down(_) | LiveStatus::Lost))
                && now == LiveStatus::Up
            {
                // A merged view has no start time: it always resumes.
                let started_now = match started {
                    Some(s) => s.get_untracked(),
                    None => "merged".to_owned(),
                };
                resume("Endpoint back up", started_now, false);
            }
            now
        });
    }

    // The timestamp column: a redraw, no reconnect.
    {
        let shared = shared.clone();
        Effect::new(move |_| {
            let show = timestamps.get();
            let mut s = shared.borrow_mut();
            if s.show_ts != show {
                s.show_ts = show;
                for slot in &mut s.slots {
                    slot.seq = STALE;
                }
                drop(s);
                draw_soon(&shared);
            }
        });
    }

    // The pooled rows live in these elements.
    let viewport_ref = NodeRef::<html::Div>::new();
    let spacer_ref = NodeRef::<html::Div>::new();
    let window_ref = NodeRef::<html::Div>::new();
    {
        let shared = shared.clone();
        Effect::new(move |_| {
            if let (Some(v), Some(sp), Some(w)) =
                (viewport_ref.get(), spacer_ref.get(), window_ref.get())
            {
                let mut s = shared.borrow_mut();
                s.viewport = Some(v.unchecked_into());
                s.spacer = Some(sp.unchecked_into());
                s.window = Some(w.unchecked_into());
                drop(s);
                draw_soon(&shared);
            }
        });
    }

    // Leaving the page closes the stream.
    {
        let keep = SendWrapper::new(shared.clone());
        on_cleanup(move || {
            let mut s = keep.borrow_mut();
            s.socket = None;
            s.generation += 1;
            s.viewport = None;
        });
    }

    // The handlers reach the state through an arena handle, so they can sit
    // in reactive views (which need `Send`).
    let store = StoredValue::new_local(shared);
    let with = move |f: &dyn Fn(&Shared)| {
        if let Some(shared) = store.try_get_value() {
            f(&shared);
        }
    };

    // Scrolling up stops following; back at the bottom it follows again.
    let on_scroll = move |_| {
        with(&|shared| {
            let following = {
                let mut s = shared.borrow_mut();
                let Some(v) = s.viewport.clone() else { return };
                let bottom = f64::from(v.scroll_top() + v.client_height());
                let at_bottom = bottom >= f64::from(v.scroll_height()) - ROW_HEIGHT;
                s.following = at_bottom;
                at_bottom
            };
            if signals.following.get_untracked() != following {
                signals.following.set(following);
            }
            draw_soon(shared);
        })
    };

    let jump = move |_| {
        with(&|shared| {
            shared.borrow_mut().following = true;
            signals.following.set(true);
            draw_soon(shared);
        })
    };

    let toggle_pause = move |_| {
        with(&|shared| {
            let now_paused = !paused.get_untracked();
            {
                let mut s = shared.borrow_mut();
                s.paused = now_paused;
                s.new_while_paused = 0;
                if !now_paused {
                    s.following = true;
                }
            }
            paused.set(now_paused);
            signals.new_lines.set(0);
            if !now_paused {
                signals.following.set(true);
            }
            draw_soon(shared);
        })
    };

    let clear = move |_| {
        with(&|shared| {
            shared.borrow_mut().clear();
            signals.new_lines.set(0);
            draw_soon(shared);
        })
    };

    let reconnect = move |_| {
        with(&|shared| {
            let back = since.get_untracked();
            let since_secs = (back > 0).then(|| now_secs() - f64::from(back));
            let started_now = started.map(|s| s.get_untracked()).unwrap_or_default();
            connect(
                shared,
                &path_for(tail.get_untracked(), since_secs),
                false,
                started_now,
            );
        })
    };

    let status_text = move || match signals.status.get() {
        Status::Connecting => "Connecting…".to_owned(),
        Status::Live if paused.get() => "Paused".to_owned(),
        Status::Live if signals.following.get() => "Following".to_owned(),
        Status::Live => "Live · scrolled back".to_owned(),
        Status::Ended(reason) => reason,
        Status::Failed(why) => why,
        Status::Invalid => "Not connected: fix the filter".to_owned(),
    };
    let status_class = move || match signals.status.get() {
        Status::Live => "logs-state logs-state-live",
        Status::Failed(_) | Status::Invalid => "logs-state logs-state-failed",
        Status::Ended(_) => "logs-state logs-state-ended",
        Status::Connecting => "logs-state",
    };
    let can_retry = move || matches!(signals.status.get(), Status::Failed(_) | Status::Ended(_));

    view! {
        <div class="logs" class:logs-merged=merged>
            <div class="logs-toolbar" role="toolbar" aria-label="Log options">
                <select
                    class="select select-sm"
                    aria-label="Lines to load"
                    title="Lines loaded before following"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some((t, _)) = TAILS.iter().find(|(t, _)| *t == v) {
                            tail.set(t);
                        }
                    }
                >
                    {TAILS
                        .iter()
                        .map(|(value, text)| view! { <option value=*value selected=*value == "300">{*text}</option> })
                        .collect_view()}
                </select>
                <select
                    class="select select-sm"
                    aria-label="Since"
                    on:change=move |ev| since.set(event_target_value(&ev).parse().unwrap_or(0))
                >
                    {SINCES
                        .iter()
                        .map(|(value, text)| view! { <option value=value.to_string()>{*text}</option> })
                        .collect_view()}
                </select>
                <label class="logs-check">
                    <input type="checkbox" prop:checked=timestamps on:change=move |ev| timestamps.set(event_target_checked(&ev))/>
                    <span>"Timestamps"</span>
                </label>
                <div class="logs-filter">
                    {Icon::Search.view()}
                    <input
                        type="search"
                        class="input"
                        aria-label="Filter lines"
                        placeholder=move || if regex.get() { "Filter (regular expression)" } else { "Filter lines" }
                        autocomplete="off"
                        spellcheck="false"
                        aria-invalid=move || if regex_problem.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby="logs-filter-error"
                        prop:value=filter_text
                        on:input=move |ev| on_filter(event_target_value(&ev))
                    />
                </div>
                <label class="logs-check">
                    <input type="checkbox" prop:checked=regex on:change=move |ev| regex.set(event_target_checked(&ev))/>
                    <span>"Regex"</span>
                </label>
                <div class="logs-toolbar-end">
                    <button
                        type="button"
                        class="btn btn-sm"
                        class:btn-primary=move || paused.get()
                        aria-label=move || if paused.get() { "Resume log" } else { "Pause log" }
                        on:click=toggle_pause
                    >
                        {move || if paused.get() { Icon::Play.view().into_any() } else { line_icon(PAUSE).into_any() }}
                        <span>{move || if paused.get() { "Resume" } else { "Pause" }}</span>
                    </button>
                    <button type="button" class="btn btn-sm" on:click=clear title="Clear the screen (the stream goes on)">
                        {Icon::Close.view()}
                        <span>"Clear"</span>
                    </button>
                    {download.map(|href| view! {
                        <a class="btn btn-sm" href=href download title="The whole log as a text file, with timestamps">
                            {line_icon(DOWNLOAD)}
                            <span>"Download"</span>
                        </a>
                    })}
                </div>
            </div>
            <p id="logs-filter-error" class="field-error" role="alert">
                {move || regex_problem.get().unwrap_or_default()}
            </p>
            <div class="logs-body">
                <div
                    class="logs-viewport"
                    node_ref=viewport_ref
                    role="log"
                    aria-live="off"
                    aria-label=label
                    tabindex="0"
                    on:scroll=on_scroll
                >
                    <div class="logs-spacer" node_ref=spacer_ref>
                        <div class="logs-window" node_ref=window_ref></div>
                    </div>
                </div>
                <Show when=move || signals.count.get() == 0 && matches!(signals.status.get(), Status::Live | Status::Connecting)>
                    <div class="logs-empty">
                        {move || if signals.status.get() == Status::Connecting { "Connecting…" } else if filter.with(String::is_empty) { "No log lines yet. New ones appear here as the container writes them." } else { "No line matches the filter yet." }}
                    </div>
                </Show>
                <Show when=move || { paused.get() && signals.new_lines.get() > 0 }>
                    <button type="button" class="btn btn-sm btn-primary logs-float" on:click=toggle_pause>
                        {move || {
                            let n = signals.new_lines.get();
                            format!("{} new {} · Resume", group(n), if n == 1 { "line" } else { "lines" })
                        }}
                    </button>
                </Show>
                <Show when=move || { !paused.get() && !signals.following.get() && signals.count.get() > 0 }>
                    <button type="button" class="btn btn-sm logs-float" on:click=jump>
                        {Icon::ChevronDown.view()}
                        <span>"Jump to latest"</span>
                    </button>
                </Show>
            </div>
            <div class="logs-status">
                <span class=status_class role="status">
                    <span class="logs-dot" aria-hidden="true"></span>
                    <span class="logs-state-text">{status_text}</span>
                </span>
                <Show when=can_retry>
                    <button type="button" class="btn btn-sm" on:click=reconnect.clone()>
                        {Icon::Refresh.view()}
                        <span>"Reconnect"</span>
                    </button>
                </Show>
                <span class="logs-count muted">
                    {move || {
                        let n = signals.count.get();
                        if n >= MAX_ROWS {
                            format!("{} lines (the last {} are kept)", group(n as u64), group(MAX_ROWS as u64))
                        } else {
                            format!("{} {}", group(n as u64), if n == 1 { "line" } else { "lines" })
                        }
                    }}
                </span>
            </div>
        </div>
    }
}
