//! A terminal in the browser: `docker exec -it` over a WebSocket, drawn by
//! xterm.js (vendored from npm in `frontend/js/vendor/`, see
//! `frontend/js/package.json`).
//!
//! Protocol (`GET .../exec/ws?cmd=&cols=&rows=`): the server sends
//! `{"type":"started"}`, then the terminal's output as binary frames, then
//! `{"type":"exit","code":N}`; keystrokes go up as binary frames and size
//! changes as `{"type":"resize","cols","rows"}`. Closing the socket closes
//! the command's stdin.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Uint8Array};
use leptos::{html, prelude::*};
use protocol::{ExecEvent, ExecInput};
use send_wrapper::SendWrapper;
use wasm_bindgen::{closure::Closure, prelude::wasm_bindgen, JsCast, JsValue};
use web_sys::{HtmlElement, KeyboardEvent, ResizeObserver};

use crate::components::copy::copy_text;
use crate::components::icons::Icon;
use crate::components::logs::line_icon;
use crate::live::{encode, Socket, SocketEvent};
use crate::state::use_app;

#[wasm_bindgen(module = "/js/vendor/xterm.mjs")]
extern "C" {
    type Terminal;

    #[wasm_bindgen(constructor)]
    fn new(options: &JsValue) -> Terminal;
    #[wasm_bindgen(method)]
    fn open(this: &Terminal, parent: &HtmlElement);
    #[wasm_bindgen(method, js_name = write)]
    fn write_bytes(this: &Terminal, data: &Uint8Array);
    #[wasm_bindgen(method, js_name = write)]
    fn write_text(this: &Terminal, data: &str);
    #[wasm_bindgen(method, js_name = onData)]
    fn on_data(this: &Terminal, listener: &Function) -> JsValue;
    #[wasm_bindgen(method, js_name = onBinary)]
    fn on_binary(this: &Terminal, listener: &Function) -> JsValue;
    #[wasm_bindgen(method, js_name = onResize)]
    fn on_resize(this: &Terminal, listener: &Function) -> JsValue;
    #[wasm_bindgen(method, js_name = attachCustomKeyEventHandler)]
    fn attach_custom_key_event_handler(this: &Terminal, handler: &Function);
    #[wasm_bindgen(method, js_name = loadAddon)]
    fn load_addon(this: &Terminal, addon: &FitAddon);
    #[wasm_bindgen(method, js_name = hasSelection)]
    fn has_selection(this: &Terminal) -> bool;
    #[wasm_bindgen(method, js_name = getSelection)]
    fn get_selection(this: &Terminal) -> String;
    #[wasm_bindgen(method, getter)]
    fn cols(this: &Terminal) -> u32;
    #[wasm_bindgen(method, getter)]
    fn rows(this: &Terminal) -> u32;
    #[wasm_bindgen(method)]
    fn focus(this: &Terminal);
    #[wasm_bindgen(method)]
    fn reset(this: &Terminal);
    #[wasm_bindgen(method)]
    fn dispose(this: &Terminal);
}

#[wasm_bindgen(module = "/js/vendor/addon-fit.mjs")]
extern "C" {
    type FitAddon;

    #[wasm_bindgen(constructor)]
    fn new() -> FitAddon;
    #[wasm_bindgen(method)]
    fn fit(this: &FitAddon);
}

/// The terminal's colours: dark in both themes, like most terminals.
const OPTIONS: &str = r##"{
    "cursorBlink": true,
    "fontFamily": "ui-monospace, SFMono-Regular, 'SF Mono', Menlo, Consolas, 'Liberation Mono', monospace",
    "fontSize": 13,
    "scrollback": 5000,
    "theme": {
        "background": "#0d1117",
        "foreground": "#e6edf3",
        "cursor": "#e6edf3",
        "selectionBackground": "rgba(56, 139, 253, 0.45)",
        "black": "#484f58", "red": "#ff7b72", "green": "#3fb950", "yellow": "#d29922",
        "blue": "#58a6ff", "magenta": "#bc8cff", "cyan": "#39c5cf", "white": "#b1bac4",
        "brightBlack": "#6e7681", "brightRed": "#ffa198", "brightGreen": "#56d364",
        "brightYellow": "#e3b341", "brightBlue": "#79c0ff", "brightMagenta": "#d2a8ff",
        "brightCyan": "#56d4dd", "brightWhite": "#ffffff"
    }
}"##;

/// A terminal-ish icon (Feather's, MIT).
const TERMINAL: &str = "M4 17l6-6-6-6M12 19h8";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Session {
    Idle,
    Connecting,
    Running(String),
    Exited(i64),
    Failed(String),
    Disconnected,
}

impl Session {
    fn live(&self) -> bool {
        matches!(self, Session::Connecting | Session::Running(_))
    }
}

struct Term {
    term: Terminal,
    fit: FitAddon,
    socket: Option<Socket>,
    generation: u64,
    observer: Option<ResizeObserver>,
    _closures: Vec<Closure<dyn FnMut(JsValue) -> JsValue>>,
    _observe: Option<Closure<dyn FnMut(JsValue)>>,
}

type Shared = Rc<RefCell<Option<Term>>>;

fn send_input(shared: &Shared, bytes: &[u8]) {
    if let Ok(t) = shared.try_borrow() {
        if let Some(socket) = t.as_ref().and_then(|t| t.socket.as_ref()) {
            socket.send_bytes(bytes);
        }
    }
}

/// Builds the xterm.js terminal inside `host` and wires it to the session.
fn mount(host: HtmlElement, shared: &Shared) {
    let Ok(options) = js_sys::JSON::parse(OPTIONS) else {
        return;
    };
    let term = Terminal::new(&options);
    let fit = FitAddon::new();
    term.load_addon(&fit);
    term.open(&host);
    fit.fit();

    let mut closures: Vec<Closure<dyn FnMut(JsValue) -> JsValue>> = Vec::new();
    let weak = Rc::downgrade(shared);
    // Keystrokes and pastes, as UTF-8.
    let on_data = Closure::<dyn FnMut(JsValue) -> JsValue>::new({
        let weak = weak.clone();
        move |data: JsValue| {
            if let (Some(shared), Some(text)) = (weak.upgrade(), data.as_string()) {
                send_input(&shared, text.as_bytes());
            }
            JsValue::UNDEFINED
        }
    });
    term.on_data(on_data.as_ref().unchecked_ref());
    closures.push(on_data);
    // Mouse reports: one byte per char.
    let on_binary = Closure::<dyn FnMut(JsValue) -> JsValue>::new({
        let weak = weak.clone();
        move |data: JsValue| {
            if let (Some(shared), Some(text)) = (weak.upgrade(), data.as_string()) {
                let bytes: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
                send_input(&shared, &bytes);
            }
            JsValue::UNDEFINED
        }
    });
    term.on_binary(on_binary.as_ref().unchecked_ref());
    closures.push(on_binary);
    // The terminal's size follows its box; the command is told.
    let on_resize = Closure::<dyn FnMut(JsValue) -> JsValue>::new({
        let weak = weak.clone();
        move |size: JsValue| {
            let get = |key: &str| {
                js_sys::Reflect::get(&size, &JsValue::from_str(key))
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0) as u16
            };
            let resize = ExecInput::Resize {
                cols: get("cols"),
                rows: get("rows"),
            };
            if let (Some(shared), Ok(json)) = (weak.upgrade(), serde_json::to_string(&resize)) {
                if let Ok(t) = shared.try_borrow() {
                    if let Some(socket) = t.as_ref().and_then(|t| t.socket.as_ref()) {
                        socket.send_text(&json);
                    }
                }
            }
            JsValue::UNDEFINED
        }
    });
    term.on_resize(on_resize.as_ref().unchecked_ref());
    closures.push(on_resize);
    // Ctrl+Shift+C copies the selection (Ctrl+C stays the interrupt);
    // Ctrl+Shift+V is left to the browser, whose paste reaches the terminal.
    let on_key = Closure::<dyn FnMut(JsValue) -> JsValue>::new({
        let weak = weak.clone();
        move |ev: JsValue| {
            let Ok(ev) = ev.dyn_into::<KeyboardEvent>() else {
                return JsValue::TRUE;
            };
            if !(ev.ctrl_key() && ev.shift_key()) || ev.type_() != "keydown" {
                return JsValue::TRUE;
            }
            match ev.key().as_str() {
                "C" | "c" => {
                    let selection = weak.upgrade().and_then(|shared| {
                        let t = shared.try_borrow().ok()?;
                        let t = t.as_ref()?;
                        t.term.has_selection().then(|| t.term.get_selection())
                    });
                    if let Some(text) = selection {
                        copy_text(&text);
                    }
                    ev.prevent_default();
                    JsValue::FALSE
                }
                "V" | "v" => JsValue::FALSE,
                _ => JsValue::TRUE,
            }
        }
    });
    term.attach_custom_key_event_handler(on_key.as_ref().unchecked_ref());
    closures.push(on_key);

    let observe = Closure::<dyn FnMut(JsValue)>::new({
        let weak = weak.clone();
        move |_: JsValue| {
            let weak = weak.clone();
            request_animation_frame(move || {
                if let Some(shared) = weak.upgrade() {
                    if let Ok(t) = shared.try_borrow() {
                        if let Some(t) = t.as_ref() {
                            t.fit.fit();
                        }
                    }
                }
            });
        }
    });
    let observer = ResizeObserver::new(observe.as_ref().unchecked_ref()).ok();
    if let Some(observer) = &observer {
        observer.observe(&host);
    }

    *shared.borrow_mut() = Some(Term {
        term,
        fit,
        socket: None,
        generation: 0,
        observer,
        _closures: closures,
        _observe: Some(observe),
    });
}

fn unmount(shared: &Shared) {
    if let Some(t) = shared.borrow_mut().take() {
        drop(t.socket);
        if let Some(observer) = &t.observer {
            observer.disconnect();
        }
        t.term.dispose();
    }
}

fn connect(shared: &Shared, path_base: &str, cmd: &str, session: RwSignal<Session>) {
    let (generation, path) = {
        let mut guard = shared.borrow_mut();
        let Some(t) = guard.as_mut() else { return };
        t.socket = None;
        t.generation += 1;
        t.term.reset();
        t.fit.fit();
        let mut path = format!("{path_base}?cols={}&rows={}", t.term.cols(), t.term.rows());
        if !cmd.trim().is_empty() {
            path.push_str("&cmd=");
            path.push_str(&encode(cmd.trim()));
        }
        (t.generation, path)
    };
    session.set(Session::Connecting);
    let weak = Rc::downgrade(shared);
    let socket = Socket::connect(&path, move |event| {
        let Some(shared) = weak.upgrade() else { return };
        let Ok(guard) = shared.try_borrow() else {
            return;
        };
        let Some(t) = guard.as_ref().filter(|t| t.generation == generation) else {
            return;
        };
        match event {
            SocketEvent::Open => {}
            SocketEvent::Binary(bytes) => t.term.write_bytes(&bytes),
            SocketEvent::Text(text) => match serde_json::from_str::<ExecEvent>(&text) {
                Ok(ExecEvent::Started { cmd }) => {
                    session.try_set(Session::Running(cmd.join(" ")));
                    t.term.focus();
                }
                Ok(ExecEvent::Exit { code }) => {
                    t.term.write_text(&format!(
                        "\r\n\x1b[2m[Process exited with code {code}]\x1b[0m\r\n"
                    ));
                    session.try_set(Session::Exited(code));
                }
                Ok(ExecEvent::Error { message }) => {
                    t.term
                        .write_text(&format!("\r\n\x1b[31m{message}\x1b[0m\r\n"));
                    session.try_set(Session::Failed(message));
                }
                Err(_) => {}
            },
            SocketEvent::Closed { opened, .. } => {
                if session.get_untracked().live() {
                    session.try_set(if opened {
                        Session::Disconnected
                    } else {
                        Session::Failed(
                            "Could not start a session: the container must be running, and the command must exist in it.".to_owned(),
                        )
                    });
                }
            }
        }
    });
    match socket {
        Ok(socket) => {
            if let Some(t) = shared.borrow_mut().as_mut() {
                t.socket = Some(socket);
            }
        }
        Err(e) => session.set(Session::Failed(format!("Could not connect: {e}"))),
    }
}

fn disconnect(shared: &Shared, session: RwSignal<Session>) {
    if let Some(t) = shared.borrow_mut().as_mut() {
        t.socket = None;
        t.generation += 1;
        t.term.write_text("\r\n\x1b[2m[Disconnected]\x1b[0m\r\n");
    }
    session.set(Session::Disconnected);
}

/// The Terminal tab: a command field, Connect/Disconnect, and the terminal.
/// Only operators and admins may exec; viewers are told so.
#[component]
pub fn ExecTerminal(
    #[prop(into)] ep: String,
    #[prop(into)] id: String,
    /// The container's name, for labels.
    #[prop(into)]
    name: String,
    #[prop(into)] running: Signal<bool>,
) -> impl IntoView {
    let app = use_app();
    // The role on this endpoint: a grant may give less than the user's own.
    let role_ep = ep.clone();
    let allowed = Memo::new(move |_| app.can_operate(&role_ep));
    if !allowed.get_untracked() {
        return view! {
            <section class="card">
                <div class="empty">
                    <p class="empty-title">"Only operators can open a terminal"</p>
                    <p class="empty-hint">"Your role can read logs and stats. Ask an admin for the operator role to run commands in containers."</p>
                </div>
            </section>
        }
        .into_any();
    }

    let path_base = format!(
        "/api/v1/endpoints/{}/containers/{}/exec/ws",
        encode(&ep),
        encode(&id)
    );
    let session = RwSignal::new(Session::Idle);
    let command = RwSignal::new(String::new());
    let host = NodeRef::<html::Div>::new();
    let shared: Shared = Rc::new(RefCell::new(None));
    {
        let shared = shared.clone();
        Effect::new(move |_| {
            if let Some(el) = host.get() {
                if shared.borrow().is_none() {
                    mount(el.unchecked_into(), &shared);
                }
            }
        });
    }
    {
        let keep = SendWrapper::new(shared.clone());
        on_cleanup(move || unmount(&keep));
    }
    let store = StoredValue::new_local(shared);
    let start = move || {
        if let Some(shared) = store.try_get_value() {
            connect(&shared, &path_base, &command.get_untracked(), session);
        }
    };
    let stop = move |_| {
        if let Some(shared) = store.try_get_value() {
            disconnect(&shared, session);
        }
    };
    let focus = move |_| {
        if let Some(shared) = store.try_get_value() {
            if let Some(t) = shared.borrow().as_ref() {
                t.term.focus();
            }
        }
    };
    let busy = move || session.with(Session::live);
    let status = move || {
        match session.get() {
        Session::Idle if !running.get() => "The container is not running: start it to open a terminal.".to_owned(),
        Session::Idle => "Not connected. Connect runs the command with a TTY (default: bash if present, else sh).".to_owned(),
        Session::Connecting => "Connecting…".to_owned(),
        Session::Running(cmd) => format!("Connected: {cmd}. Copy with Ctrl+Shift+C, paste with Ctrl+Shift+V."),
        Session::Exited(code) => format!("Process exited with code {code}"),
        Session::Failed(why) => why,
        Session::Disconnected => "Disconnected".to_owned(),
    }
    };
    let status_class = move || match session.get() {
        Session::Running(_) => "term-status term-status-live",
        Session::Failed(_) => "term-status term-status-failed",
        Session::Exited(code) if code != 0 => "term-status term-status-failed",
        _ => "term-status",
    };
    let terminal_label = format!("Terminal in {name}");

    view! {
        <section class="term">
            <form
                class="term-toolbar"
                on:submit=move |ev| {
                    ev.prevent_default();
                    if !busy() && running.get_untracked() {
                        start();
                    }
                }
            >
                <label class="term-cmd">
                    <span class="term-cmd-label">"Command"</span>
                    <input
                        class="input mono"
                        type="text"
                        name="command"
                        placeholder="bash or sh"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=command
                        on:input=move |ev| command.set(event_target_value(&ev))
                        disabled=busy
                    />
                </label>
                {move || if busy() {
                    view! {
                        <button type="button" class="btn" on:click=stop>
                            {Icon::Stop.view()}
                            <span>"Disconnect"</span>
                        </button>
                    }
                    .into_any()
                } else {
                    view! {
                        <button type="submit" class="btn btn-primary" disabled=move || !running.get()>
                            {line_icon(TERMINAL)}
                            <span>"Connect"</span>
                        </button>
                    }
                    .into_any()
                }}
            </form>
            <p class=status_class role="status">{status}</p>
            <div class="term-screen" on:click=focus>
                <div class="term-host" node_ref=host role="application" aria-label=terminal_label></div>
            </div>
        </section>
    }
    .into_any()
}
