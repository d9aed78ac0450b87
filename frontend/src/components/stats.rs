//! Live resource use: the Stats tab of a container (charts of the last
//! minute) and a compact CPU/memory cell for list pages, fed by one
//! endpoint-wide socket per page ([`StatsWatcher`]). Streams are open only
//! while shown: leaving the tab or the page closes them.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use protocol::{StatsSample, StatsWatch};
use send_wrapper::SendWrapper;

use crate::components::format::bytes;
use crate::live::{backoff, encode, Socket, SocketEvent};

/// Samples kept for the charts: a minute at one a second.
const HISTORY: usize = 60;
/// Chart drawing box (the SVG scales to its container).
const W: f64 = 600.0;
const H: f64 = 120.0;
/// Containers one list page may watch (the server's limit).
const MAX_WATCHED: usize = 100;

/// A sample with the time it arrived (ms), for rates.
#[derive(Clone, PartialEq)]
struct Point {
    at: f64,
    sample: StatsSample,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Feed {
    Connecting,
    Live,
    NotRunning,
    Lost,
}

struct Conn {
    socket: Option<Socket>,
    generation: u64,
    attempt: u32,
    retry: Option<TimeoutHandle>,
}

impl Conn {
    fn stop(&mut self) {
        self.socket = None;
        self.generation += 1;
        if let Some(retry) = self.retry.take() {
            retry.clear();
        }
    }
}

fn open_container_feed(
    conn: &Rc<RefCell<Conn>>,
    path: String,
    history: RwSignal<VecDeque<Point>>,
    feed: RwSignal<Feed>,
    running: Signal<bool>,
) {
    let generation = {
        let mut c = conn.borrow_mut();
        c.socket = None;
        c.retry = None;
        c.generation += 1;
        c.generation
    };
    let weak: Weak<RefCell<Conn>> = Rc::downgrade(conn);
    let reopen = path.clone();
    let socket = Socket::connect(&path, move |event| {
        let Some(conn) = weak.upgrade() else { return };
        if conn.borrow().generation != generation {
            return;
        }
        match event {
            SocketEvent::Text(text) => {
                if let Ok(sample) = serde_json::from_str::<StatsSample>(&text) {
                    conn.borrow_mut().attempt = 0;
                    history.try_update(|h| {
                        if h.len() >= HISTORY {
                            h.pop_front();
                        }
                        h.push_back(Point {
                            at: js_sys::Date::now(),
                            sample,
                        });
                    });
                    if feed.get_untracked() != Feed::Live {
                        feed.try_set(Feed::Live);
                    }
                }
            }
            SocketEvent::Closed { .. } => {
                if !running.get_untracked() {
                    feed.try_set(Feed::NotRunning);
                    return;
                }
                feed.try_set(Feed::Lost);
                let attempt = {
                    let mut c = conn.borrow_mut();
                    c.attempt += 1;
                    c.attempt
                };
                let weak = Rc::downgrade(&conn);
                let reopen = reopen.clone();
                let handle = set_timeout_with_handle(
                    move || {
                        if let Some(conn) = weak.upgrade() {
                            if running.get_untracked() {
                                open_container_feed(&conn, reopen, history, feed, running);
                            }
                        }
                    },
                    backoff(attempt),
                )
                .ok();
                conn.borrow_mut().retry = handle;
            }
            SocketEvent::Open | SocketEvent::Binary(_) => {}
        }
    });
    match socket {
        Ok(socket) => conn.borrow_mut().socket = Some(socket),
        Err(_) => feed.set(Feed::Lost),
    }
}

/// The smallest round number at or above `v`, from 1, 2, 2.5, 5 × 10^n.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

/// SVG points for `values` (oldest first), right-aligned on a minute's
/// width, scaled to `max`.
fn points(values: &[f64], max: f64) -> String {
    let step = W / (HISTORY as f64 - 1.0);
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = W - (n - 1 - i) as f64 * step;
            let y = H - (v / max).clamp(0.0, 1.0) * (H - 2.0) - 1.0;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line chart of the last minute with a shaded area under it.
fn chart(values: Vec<f64>, max: f64, label: String, tone: &'static str) -> impl IntoView {
    let line = points(&values, max);
    let area = match (values.len(), line.is_empty()) {
        (n, false) if n > 1 => {
            let first_x = W - (n - 1) as f64 * (W / (HISTORY as f64 - 1.0));
            Some(format!("{first_x:.1},{H} {line} {W},{H}"))
        }
        _ => None,
    };
    view! {
        <svg class=format!("chart chart-{tone}") viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img" aria-label=label>
            <line class="chart-grid" x1="0" x2=W.to_string() y1=(H * 0.25).to_string() y2=(H * 0.25).to_string() vector-effect="non-scaling-stroke"></line>
            <line class="chart-grid" x1="0" x2=W.to_string() y1=(H * 0.5).to_string() y2=(H * 0.5).to_string() vector-effect="non-scaling-stroke"></line>
            <line class="chart-grid" x1="0" x2=W.to_string() y1=(H * 0.75).to_string() y2=(H * 0.75).to_string() vector-effect="non-scaling-stroke"></line>
            {area.map(|a| view! { <polygon class="chart-area" points=a></polygon> })}
            <polyline class="chart-line" points=line vector-effect="non-scaling-stroke"></polyline>
        </svg>
    }
}

/// Bytes per second between the last two samples, by `pick`.
fn rate(history: &VecDeque<Point>, pick: fn(&StatsSample) -> u64) -> Option<f64> {
    let n = history.len();
    if n < 2 {
        return None;
    }
    let (a, b) = (&history[n - 2], &history[n - 1]);
    let secs = (b.at - a.at) / 1000.0;
    (secs > 0.05).then(|| pick(&b.sample).saturating_sub(pick(&a.sample)) as f64 / secs)
}

fn per_second(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{}/s", bytes(r.round() as i64)),
        None => "—".to_owned(),
    }
}

fn percent(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}%")
    } else {
        format!("{v:.1}%")
    }
}

/// The Stats tab: CPU and memory over the last minute, and the current
/// network, block I/O and process counts. The socket is open only while this
/// is shown and the container runs.
#[component]
pub fn ContainerStats(
    #[prop(into)] ep: String,
    #[prop(into)] id: String,
    #[prop(into)] running: Signal<bool>,
) -> impl IntoView {
    let history = RwSignal::new(VecDeque::<Point>::with_capacity(HISTORY));
    let feed = RwSignal::new(Feed::Connecting);
    let path = format!(
        "/api/v1/endpoints/{}/containers/{}/stats/ws",
        encode(&ep),
        encode(&id)
    );
    let conn = Rc::new(RefCell::new(Conn {
        socket: None,
        generation: 0,
        attempt: 0,
        retry: None,
    }));
    {
        let conn = conn.clone();
        Effect::new(move |_| {
            if running.get() {
                feed.set(Feed::Connecting);
                open_container_feed(&conn, path.clone(), history, feed, running);
            } else {
                conn.borrow_mut().stop();
                feed.set(Feed::NotRunning);
            }
        });
    }
    {
        let keep = SendWrapper::new(conn);
        on_cleanup(move || keep.borrow_mut().stop());
    }

    let latest = Memo::new(move |_| history.with(|h| h.back().map(|p| p.sample.clone())));
    let cpu_chart = move || {
        history.with(|h| {
            let values: Vec<f64> = h.iter().map(|p| p.sample.cpu_percent).collect();
            let peak = values.iter().copied().fold(0.0, f64::max);
            let max = if peak <= 100.0 {
                100.0
            } else {
                nice_ceiling(peak)
            };
            view! {
                <div class="chart-box">
                    <span class="chart-max">{format!("{max:.0}%")}</span>
                    {chart(values, max, "CPU use over the last minute".to_owned(), "accent")}
                </div>
            }
        })
    };
    let mem_chart = move || {
        history.with(|h| {
            let values: Vec<f64> = h.iter().map(|p| p.sample.memory_bytes as f64).collect();
            let peak = values.iter().copied().fold(0.0, f64::max);
            let limit = h.back().map_or(0, |p| p.sample.memory_limit_bytes) as f64;
            // Against the limit when the limit is near; else zoomed on use.
            let (max, against_limit) = if limit > 0.0 && limit <= peak * 4.0 {
                (limit, true)
            } else {
                (nice_ceiling((peak * 1.25).max(1_000_000.0)), false)
            };
            view! {
                <div class="chart-box" class:chart-limit=against_limit>
                    <span class="chart-max">
                        {if against_limit { format!("limit {}", bytes(max as i64)) } else { bytes(max as i64) }}
                    </span>
                    {chart(values, max, "Memory use over the last minute".to_owned(), "green")}
                </div>
            }
        })
    };
    let net_rx = move || history.with(|h| per_second(rate(h, |s| s.net_rx_bytes)));
    let net_tx = move || history.with(|h| per_second(rate(h, |s| s.net_tx_bytes)));
    let blk_r = move || history.with(|h| per_second(rate(h, |s| s.block_read_bytes)));
    let blk_w = move || history.with(|h| per_second(rate(h, |s| s.block_write_bytes)));
    let note = move || match feed.get() {
        Feed::Connecting => Some("Connecting…"),
        Feed::NotRunning => Some("The container is not running: no stats until it starts."),
        Feed::Lost => Some("The stats stream was interrupted — reconnecting…"),
        Feed::Live => None,
    };

    view! {
        <div class="stats-tab">
            {move || note().map(|n| view! { <p class="stats-note muted" role="status">{n}</p> })}
            <div class="grid-2 stats-charts">
                <section class="card">
                    <div class="card-head">
                        <h2 class="card-title">"CPU"</h2>
                        <span class="stats-now" data-stat="cpu">
                            {move || latest.get().map_or("—".to_owned(), |s| percent(s.cpu_percent))}
                        </span>
                    </div>
                    {cpu_chart}
                    <p class="chart-foot muted">
                        {move || latest.get().map_or(String::new(), |s| {
                            let cpus = s.online_cpus.max(1);
                            format!("100% is one full CPU · {cpus} {} online", if cpus == 1 { "CPU" } else { "CPUs" })
                        })}
                    </p>
                </section>
                <section class="card">
                    <div class="card-head">
                        <h2 class="card-title">"Memory"</h2>
                        <span class="stats-now" data-stat="memory">
                            {move || latest.get().map_or("—".to_owned(), |s| format!(
                                "{} of {} ({})",
                                bytes(s.memory_bytes as i64),
                                bytes(s.memory_limit_bytes as i64),
                                percent(s.memory_percent)
                            ))}
                        </span>
                    </div>
                    {mem_chart}
                    <p class="chart-foot muted">"Usage without the page cache, as docker stats shows it"</p>
                </section>
            </div>
            <div class="stats">
                <div class="stat">
                    <div class="stat-label">"Network received"</div>
                    <div class="stat-value" data-stat="net-rx">{net_rx}</div>
                    <div class="stat-sub muted">{move || latest.get().map_or(String::new(), |s| format!("{} in total", bytes(s.net_rx_bytes as i64)))}</div>
                </div>
                <div class="stat">
                    <div class="stat-label">"Network sent"</div>
                    <div class="stat-value" data-stat="net-tx">{net_tx}</div>
                    <div class="stat-sub muted">{move || latest.get().map_or(String::new(), |s| format!("{} in total", bytes(s.net_tx_bytes as i64)))}</div>
                </div>
                <div class="stat">
                    <div class="stat-label">"Block read"</div>
                    <div class="stat-value" data-stat="block-read">{blk_r}</div>
                    <div class="stat-sub muted">{move || latest.get().map_or(String::new(), |s| format!("{} in total", bytes(s.block_read_bytes as i64)))}</div>
                </div>
                <div class="stat">
                    <div class="stat-label">"Block written"</div>
                    <div class="stat-value" data-stat="block-write">{blk_w}</div>
                    <div class="stat-sub muted">{move || latest.get().map_or(String::new(), |s| format!("{} in total", bytes(s.block_write_bytes as i64)))}</div>
                </div>
                <div class="stat">
                    <div class="stat-label">"Processes"</div>
                    <div class="stat-value" data-stat="pids">{move || latest.get().map_or("—".to_owned(), |s| s.pids.to_string())}</div>
                </div>
            </div>
        </div>
    }
}

// ------------------------------------------------------------ list pages

/// What a list cell shows of a container.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compact {
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub memory_percent: f64,
}

struct Watched {
    users: usize,
    value: RwSignal<Option<Compact>>,
}

struct Hub {
    ep: String,
    watched: HashMap<String, Watched>,
    socket: Option<Socket>,
    generation: u64,
    attempt: u32,
    retry: Option<TimeoutHandle>,
    send_pending: bool,
    owner: Option<Owner>,
}

/// The page's stats feed, provided by [`StatsWatcher`].
#[derive(Clone, Copy)]
pub struct StatsHub {
    hub: StoredValue<Rc<RefCell<Hub>>, LocalStorage>,
}

impl StatsHub {
    fn shared(&self) -> Option<Rc<RefCell<Hub>>> {
        self.hub.try_get_value()
    }

    /// Starts watching `id`; the signal gets its samples.
    fn watch(&self, id: &str) -> Option<RwSignal<Option<Compact>>> {
        let shared = self.shared()?;
        let value = {
            let mut hub = shared.borrow_mut();
            match hub.watched.get_mut(id) {
                Some(w) => {
                    w.users += 1;
                    w.value
                }
                None => {
                    // Owned by the watcher, so it outlives any one cell.
                    let value = match &hub.owner {
                        Some(owner) => owner.with(|| RwSignal::new(None)),
                        None => RwSignal::new(None),
                    };
                    hub.watched
                        .insert(id.to_owned(), Watched { users: 1, value });
                    value
                }
            }
        };
        send_watch_soon(&shared);
        Some(value)
    }

    /// Stops watching `id` for one cell. The entry goes at the next flush,
    /// so a row that is rebuilt (its key changed) keeps its reading.
    fn unwatch(&self, id: &str) {
        let Some(shared) = self.shared() else { return };
        if let Some(w) = shared.borrow_mut().watched.get_mut(id) {
            w.users = w.users.saturating_sub(1);
        }
        send_watch_soon(&shared);
    }
}

/// Tells the server the watched set, once per burst of changes.
fn send_watch_soon(shared: &Rc<RefCell<Hub>>) {
    {
        let mut hub = shared.borrow_mut();
        if hub.send_pending {
            return;
        }
        hub.send_pending = true;
    }
    let weak = Rc::downgrade(shared);
    set_timeout(
        move || {
            if let Some(shared) = weak.upgrade() {
                let mut hub = shared.borrow_mut();
                hub.send_pending = false;
                let mut gone = Vec::new();
                hub.watched.retain(|_, w| {
                    if w.users == 0 {
                        gone.push(w.value);
                    }
                    w.users > 0
                });
                send_watch(&hub);
                drop(hub);
                for value in gone {
                    value.dispose();
                }
            }
        },
        Duration::from_millis(50),
    );
}

fn send_watch(hub: &Hub) {
    let Some(socket) = &hub.socket else { return };
    let mut watch: Vec<String> = hub.watched.keys().cloned().collect();
    watch.sort();
    watch.truncate(MAX_WATCHED);
    if let Ok(json) = serde_json::to_string(&StatsWatch { watch }) {
        socket.send_text(&json);
    }
}

fn hub_connect(shared: &Rc<RefCell<Hub>>) {
    let (path, generation) = {
        let mut hub = shared.borrow_mut();
        hub.socket = None;
        hub.retry = None;
        hub.generation += 1;
        (
            format!("/api/v1/endpoints/{}/stats/ws", encode(&hub.ep)),
            hub.generation,
        )
    };
    let weak = Rc::downgrade(shared);
    let socket = Socket::connect(&path, move |event| {
        let Some(shared) = weak.upgrade() else { return };
        if shared.borrow().generation != generation {
            return;
        }
        match event {
            SocketEvent::Open => {
                let mut hub = shared.borrow_mut();
                hub.attempt = 0;
                send_watch(&hub);
            }
            SocketEvent::Text(text) => {
                let Ok(s) = serde_json::from_str::<StatsSample>(&text) else {
                    return;
                };
                let target = {
                    let hub = shared.borrow();
                    hub.watched
                        .iter()
                        .find(|(key, _)| {
                            s.id.starts_with(key.as_str())
                                || s.name.trim_start_matches('/') == key.as_str()
                        })
                        .map(|(_, w)| w.value)
                };
                if let Some(value) = target {
                    value.try_set(Some(Compact {
                        cpu_percent: s.cpu_percent,
                        memory_bytes: s.memory_bytes,
                        memory_limit_bytes: s.memory_limit_bytes,
                        memory_percent: s.memory_percent,
                    }));
                }
            }
            SocketEvent::Closed { .. } => {
                let attempt = {
                    let mut hub = shared.borrow_mut();
                    hub.attempt += 1;
                    hub.attempt
                };
                let weak = Rc::downgrade(&shared);
                let handle = set_timeout_with_handle(
                    move || {
                        if let Some(shared) = weak.upgrade() {
                            hub_connect(&shared);
                        }
                    },
                    backoff(attempt),
                )
                .ok();
                shared.borrow_mut().retry = handle;
            }
            SocketEvent::Binary(_) => {}
        }
    });
    if let Ok(socket) = socket {
        shared.borrow_mut().socket = Some(socket);
    }
}

/// Opens ONE endpoint-wide stats socket for a list page and provides it to
/// the [`StatsCell`]s inside; each cell adds its container to the watched
/// set while it is shown. Wrap the table:
/// `<StatsWatcher ep=ep> ... <StatsCell id=c.id.clone()/> ... </StatsWatcher>`.
#[component]
pub fn StatsWatcher(#[prop(into)] ep: Signal<String>, children: Children) -> impl IntoView {
    let shared = Rc::new(RefCell::new(Hub {
        ep: String::new(),
        watched: HashMap::new(),
        socket: None,
        generation: 0,
        attempt: 0,
        retry: None,
        send_pending: false,
        owner: Owner::current(),
    }));
    provide_context(StatsHub {
        hub: StoredValue::new_local(shared.clone()),
    });
    {
        let shared = shared.clone();
        Effect::new(move |_| {
            let ep = ep.get();
            if shared.borrow().ep == ep && shared.borrow().socket.is_some() {
                return;
            }
            shared.borrow_mut().ep = ep;
            hub_connect(&shared);
        });
    }
    {
        let keep = SendWrapper::new(shared);
        on_cleanup(move || {
            let mut hub = keep.borrow_mut();
            hub.socket = None;
            hub.generation += 1;
            if let Some(retry) = hub.retry.take() {
                retry.clear();
            }
        });
    }
    children()
}

/// A compact CPU and memory reading for a list row, live while shown. It
/// needs a [`StatsWatcher`] around the list; `stopped` containers show a
/// dash and are not watched.
#[component]
pub fn StatsCell(
    #[prop(into)] id: String,
    /// The container is not running: nothing to watch.
    #[prop(optional)]
    stopped: bool,
) -> impl IntoView {
    let hub = use_context::<StatsHub>();
    let value = match (hub, stopped) {
        (Some(hub), false) => hub.watch(&id),
        _ => None,
    };
    let Some(value) = value else {
        return view! { <span class="muted" title="Not running">"—"</span> }.into_any();
    };
    if let Some(hub) = hub {
        let id = id.clone();
        on_cleanup(move || hub.unwatch(&id));
    }
    let title = move || {
        value.get().map(|c| {
            format!(
                "CPU {} · memory {} of {} ({})",
                percent(c.cpu_percent),
                bytes(c.memory_bytes as i64),
                bytes(c.memory_limit_bytes as i64),
                percent(c.memory_percent)
            )
        })
    };
    view! {
        <span class="stats-cell" title=title data-stats-id=id>
            {move || match value.get() {
                Some(c) => view! {
                    <span class="stats-cell-cpu" aria-label="CPU">{percent(c.cpu_percent)}</span>
                    <span class="stats-cell-mem" aria-label="Memory">{bytes(c.memory_bytes as i64)}</span>
                    <span class="stats-cell-bar" aria-hidden="true">
                        <span style=format!("width:{:.0}%", c.memory_percent.clamp(0.0, 100.0))></span>
                    </span>
                }
                .into_any(),
                None => view! { <span class="stats-cell-wait muted">"…"</span> }.into_any(),
            }}
        </span>
    }
    .into_any()
}
