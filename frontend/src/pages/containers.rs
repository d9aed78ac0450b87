//! `/endpoints/{ep}/containers`: every container of the endpoint, filtered by
//! the search box, sortable, with start/stop/restart/remove on each row, more
//! in each row's "More" menu (pause, kill, rename, duplicate, edit), and a
//! checkbox column for bulk actions.

use std::cmp::Ordering;
use std::collections::HashSet;

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::hooks::{use_params_map, use_query_map};
use protocol::{BulkRequest, ContainerState, ContainerSummary, PortBinding};

use crate::api::{self, ContainerAction};
use crate::components::{
    badge::StateBadge,
    copy::short_id,
    format::RelativeTime,
    icons::Icon,
    layout::{endpoint_path, line_icon, MORE_ICON, PAUSE_ICON},
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, RefreshButton, Remote},
    stats::{StatsCell, StatsWatcher},
    table::{Sort, SortHeader},
};
use crate::state::{use_app, AppState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    State,
    Image,
    Created,
}

/// Whether the engine counts the container as running: it can be stopped or
/// restarted, not started, and removing it needs force.
pub fn is_running(state: ContainerState) -> bool {
    matches!(
        state,
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
    )
}

/// Containers with an action in flight: their buttons wait.
pub type Busy = RwSignal<Vec<String>>;

/// Starts, stops or restarts a container, then calls `done` (which reloads
/// what the page shows). Failures become a toast with the server's detail.
pub fn run_action(
    app: AppState,
    busy: Busy,
    ep: String,
    id: String,
    name: String,
    action: ContainerAction,
    done: impl FnOnce() + 'static,
) {
    busy.update(|b| b.push(id.clone()));
    spawn_local(async move {
        let result = api::container_action(&ep, &id, action).await;
        busy.update(|b| b.retain(|x| x != &id));
        match result {
            Ok(()) => app.toasts.success(format!("{name} {}", action.done())),
            Err(e) => app.toasts.error(format!(
                "Could not {} {name}: {}",
                action.as_str(),
                e.message()
            )),
        }
        done();
    });
}

/// Asks first ("Remove container web-1?"), then removes; a running container
/// is removed with force.
pub fn confirm_remove(
    app: AppState,
    busy: Busy,
    ep: String,
    id: String,
    name: String,
    running: bool,
    done: impl Fn(bool) + Send + Sync + Clone + 'static,
) {
    let body = if running {
        format!("{name} is running: it will be killed, then removed. Its volumes are kept.")
    } else {
        format!("{name} will be deleted with its writable layer. Its volumes are kept.")
    };
    let title = format!("Remove container {name}?");
    app.ask(ConfirmRequest::new(title, body, "Remove", move || {
        let (ep, id, name, done) = (ep.clone(), id.clone(), name.clone(), done.clone());
        busy.update(|b| b.push(id.clone()));
        spawn_local(async move {
            let result = api::remove_container(&ep, &id, running).await;
            busy.update(|b| b.retain(|x| x != &id));
            match &result {
                Ok(()) => app.toasts.success(format!("Removed {name}")),
                Err(e) => app
                    .toasts
                    .error(format!("Could not remove {name}: {}", e.message())),
            }
            done(result.is_ok());
        });
    }));
}

fn matches_filter(c: &ContainerSummary, needle: &str) -> bool {
    needle.is_empty()
        || c.name.to_lowercase().contains(needle)
        || c.image.to_lowercase().contains(needle)
        || c.state.as_str().contains(needle)
        || c.project
            .as_deref()
            .is_some_and(|p| p.to_lowercase().contains(needle))
        || c.id.starts_with(needle)
}

fn compare(column: Column, a: &ContainerSummary, b: &ContainerSummary) -> Ordering {
    let by_name = || a.name.to_lowercase().cmp(&b.name.to_lowercase());
    match column {
        Column::Name => by_name(),
        Column::State => a.state.as_str().cmp(b.state.as_str()).then_with(by_name),
        Column::Image => a.image.cmp(&b.image).then_with(by_name),
        Column::Created => a.created.cmp(&b.created).then_with(by_name),
    }
}

/// The page's host name, as a URL's host part (IPv6 in brackets).
pub fn page_host() -> String {
    let host = window().location().hostname().unwrap_or_default();
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    }
}

/// Published ports first (`8080→80/tcp`, TCP ones as links to this host),
/// then ports only exposed. Docker lists a binding once per address family;
/// each shows once.
#[component]
pub fn Ports(ports: Vec<PortBinding>, host: String) -> impl IntoView {
    let mut published: Vec<(u16, u16, String)> = ports
        .iter()
        .filter_map(|p| {
            p.host_port
                .map(|hp| (hp, p.container_port, p.protocol.clone()))
        })
        .collect();
    published.sort();
    published.dedup();
    let mut exposed: Vec<(u16, String)> = ports
        .iter()
        .filter(|p| p.host_port.is_none())
        .map(|p| (p.container_port, p.protocol.clone()))
        .filter(|(cp, proto)| {
            !published
                .iter()
                .any(|(_, pcp, pp)| pcp == cp && pp == proto)
        })
        .collect();
    exposed.sort();
    exposed.dedup();
    if published.is_empty() && exposed.is_empty() {
        return view! { <span class="muted">"—"</span> }.into_any();
    }
    view! {
        <span class="ports">
            {published
                .into_iter()
                .map(|(hp, cp, proto)| {
                    let text = format!("{hp}→{cp}/{proto}");
                    if proto == "tcp" {
                        let href = format!("http://{host}:{hp}");
                        view! {
                            <a class="port" href=href target="_blank" rel="noopener noreferrer" title="Open in a new tab">
                                {text}
                            </a>
                        }
                        .into_any()
                    } else {
                        view! { <span class="port">{text}</span> }.into_any()
                    }
                })
                .collect_view()}
            {exposed
                .into_iter()
                .map(|(cp, proto)| {
                    view! { <span class="port port-exposed" title="Exposed, not published">{format!("{cp}/{proto}")}</span> }
                })
                .collect_view()}
        </span>
    }
    .into_any()
}

/// A lifecycle verb for a row's "More" menu or the bulk bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
    Pause,
    Unpause,
    Kill,
    Remove,
}

impl Verb {
    pub const BULK: [Verb; 7] = [
        Verb::Start,
        Verb::Stop,
        Verb::Restart,
        Verb::Pause,
        Verb::Unpause,
        Verb::Kill,
        Verb::Remove,
    ];

    /// The API's word (`bulk` action, lifecycle path).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::Pause => "pause",
            Verb::Unpause => "unpause",
            Verb::Kill => "kill",
            Verb::Remove => "remove",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verb::Start => "Start",
            Verb::Stop => "Stop",
            Verb::Restart => "Restart",
            Verb::Pause => "Pause",
            Verb::Unpause => "Unpause",
            Verb::Kill => "Kill",
            Verb::Remove => "Remove",
        }
    }

    pub fn done(self) -> &'static str {
        match self {
            Verb::Start => "started",
            Verb::Stop => "stopped",
            Verb::Restart => "restarted",
            Verb::Pause => "paused",
            Verb::Unpause => "unpaused",
            Verb::Kill => "killed",
            Verb::Remove => "removed",
        }
    }
}

/// Pauses or unpauses a container, like [`run_action`].
fn run_verb(
    app: AppState,
    busy: Busy,
    ep: String,
    id: String,
    name: String,
    verb: Verb,
    done: impl FnOnce() + 'static,
) {
    busy.update(|b| b.push(id.clone()));
    spawn_local(async move {
        let result = api::container_verb(&ep, &id, verb.as_str()).await;
        busy.update(|b| b.retain(|x| x != &id));
        match result {
            Ok(()) => app.toasts.success(format!("{name} {}", verb.done())),
            Err(e) => app.toasts.error(format!(
                "Could not {} {name}: {}",
                verb.as_str(),
                e.message()
            )),
        }
        done();
    });
}

/// "3 containers" / "1 container".
fn count_of(n: usize) -> String {
    if n == 1 {
        "1 container".to_owned()
    } else {
        format!("{n} containers")
    }
}

/// "web, db and cache", or the first few and how many more.
fn names_list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    match names {
        [] => String::new(),
        [one] => one.clone(),
        _ if names.len() > SHOWN => format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        ),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A row action that needs a small form: rename, kill with a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    Rename { id: String, name: String },
    Kill { id: String, name: String },
}

/// The bounding box of an element: (top, right, bottom, left) in viewport
/// pixels. Read through JS so no extra web-sys feature is needed.
fn rect_of(el: &web_sys::Element) -> Option<(f64, f64, f64, f64)> {
    use wasm_bindgen::JsCast;
    let f: js_sys::Function = js_sys::Reflect::get(el, &"getBoundingClientRect".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let rect = f.call0(el).ok()?;
    let side = |k: &str| js_sys::Reflect::get(&rect, &k.into()).ok()?.as_f64();
    Some((side("top")?, side("right")?, side("bottom")?, side("left")?))
}

/// Places a row's "More" menu under its button (above it near the bottom of
/// the window), right-aligned with it.
fn place_menu(button: &web_sys::Element, menu_id: &str) {
    let Some(menu) = document().get_element_by_id(menu_id) else {
        return;
    };
    let Some((top, right, bottom, _)) = rect_of(button) else {
        return;
    };
    let width = window()
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .unwrap_or(1280.0);
    let height = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(800.0);
    let right = (width - right).max(8.0);
    let style = if bottom + 240.0 > height && top > 240.0 {
        format!("right:{right}px;bottom:{}px", height - top + 4.0)
    } else {
        format!("right:{right}px;top:{}px", bottom + 4.0)
    };
    let _ = menu.set_attribute("style", &style);
}

#[component]
pub fn ContainersPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let query = use_query_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search
        .set(query.read_untracked().get("q").unwrap_or_default());

    let list = Remote::new(move || {
        let ep = ep.get();
        async move { api::containers(&ep).await }
    });
    crate::pages::reload_on_changes(list, &["container"]);
    let sort = Sort::new(Column::Name, true);
    let busy: Busy = RwSignal::new(Vec::new());
    let selected = RwSignal::new(HashSet::<String>::new());
    // The row whose "More" menu is open: only that one renders its items.
    let more_open = RwSignal::new(None::<String>);
    let ask = RwSignal::new(None::<Ask>);
    let host = page_host();

    let rows = sort.rows(list, app.search, matches_filter, compare);
    let counts = Memo::new(move |_| {
        list.value.with(|v| match v {
            Some(Ok(all)) => Some((
                all.len(),
                all.iter()
                    .filter(|c| c.state == ContainerState::Running)
                    .count(),
            )),
            _ => None,
        })
    });

    // Containers that went away leave the selection.
    Effect::new(move |_| {
        list.value.with(|v| {
            if let Some(Ok(all)) = v {
                let gone = selected
                    .with_untracked(|s| s.iter().any(|id| !all.iter().any(|c| &c.id == id)));
                if gone {
                    let ids: HashSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
                    selected.update(|s| s.retain(|id| ids.contains(id.as_str())));
                }
            }
        })
    });
    // The selected containers, in the list's order: (id, name, running).
    let chosen = Memo::new(move |_| {
        selected.with(|s| {
            if s.is_empty() {
                return Vec::new();
            }
            list.value.with(|v| match v {
                Some(Ok(all)) => all
                    .iter()
                    .filter(|c| s.contains(&c.id))
                    .map(|c| (c.id.clone(), c.name.clone(), is_running(c.state)))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
        })
    });
    let visible_selection = Memo::new(move |_| {
        selected.with(|s| {
            rows.with(|rows| {
                let picked = rows.iter().filter(|c| s.contains(&c.id)).count();
                (picked, rows.len())
            })
        })
    });

    let reload = move || list.reload();

    let toggle_all = move |_| {
        let (picked, total) = visible_selection.get_untracked();
        let all_on = total > 0 && picked == total;
        rows.with_untracked(|rows| {
            selected.update(|s| {
                for c in rows {
                    if all_on {
                        s.remove(&c.id);
                    } else {
                        s.insert(c.id.clone());
                    }
                }
            })
        });
    };

    let run_bulk = move |verb: Verb, items: Vec<(String, String, bool)>| {
        let ep = ep.get_untracked();
        let ids: Vec<String> = items.iter().map(|(id, _, _)| id.clone()).collect();
        let force = verb == Verb::Remove && items.iter().any(|(_, _, running)| *running);
        busy.update(|b| b.extend(ids.iter().cloned()));
        spawn_local(async move {
            let request = BulkRequest {
                action: verb.as_str().to_owned(),
                ids: ids.clone(),
                force,
            };
            let result = api::bulk_containers(&ep, &request).await;
            busy.update(|b| b.retain(|x| !ids.contains(x)));
            match result {
                Ok(results) => {
                    let name_of = |id: &str| {
                        items
                            .iter()
                            .find(|(i, _, _)| i == id || i.starts_with(id))
                            .map(|(_, n, _)| n.clone())
                            .unwrap_or_else(|| id.to_owned())
                    };
                    let failed: Vec<String> = results
                        .iter()
                        .filter(|r| !r.ok)
                        .map(|r| {
                            format!(
                                "{}: {}",
                                name_of(&r.id),
                                r.error.clone().unwrap_or_else(|| "failed".into())
                            )
                        })
                        .collect();
                    let ok = results.iter().filter(|r| r.ok).count();
                    if ok > 0 {
                        app.toasts
                            .success(format!("{} {}", capital(&count_of(ok)), verb.done()));
                    }
                    if !failed.is_empty() {
                        app.toasts.error(format!(
                            "Could not {} {} of {}: {}",
                            verb.as_str(),
                            failed.len(),
                            count_of(results.len()),
                            failed.join("; ")
                        ));
                    }
                    if verb == Verb::Remove {
                        let removed: Vec<&str> = results
                            .iter()
                            .filter(|r| r.ok)
                            .map(|r| r.id.as_str())
                            .collect();
                        selected.update(|s| s.retain(|id| !removed.contains(&id.as_str())));
                    }
                }
                Err(e) => app.toasts.error(format!(
                    "Could not {} the selected containers: {}",
                    verb.as_str(),
                    e.message()
                )),
            }
            reload();
        });
    };

    let bulk = move |verb: Verb| {
        let items = chosen.get_untracked();
        if items.is_empty() {
            return;
        }
        let names: Vec<String> = items.iter().map(|(_, n, _)| n.clone()).collect();
        let running = items.iter().filter(|(_, _, r)| *r).count();
        match verb {
            Verb::Remove => {
                let title = format!("Remove {}?", count_of(items.len()));
                let mut body = format!(
                    "{} will be deleted with their writable layers.",
                    names_list(&names)
                );
                if running > 0 {
                    body.push_str(&format!(
                        " {} running: killed first, then removed.",
                        if running == 1 {
                            "1 is".to_owned()
                        } else {
                            format!("{running} are")
                        }
                    ));
                }
                body.push_str(" Their volumes are kept.");
                app.ask(ConfirmRequest::new(title, body, "Remove", move || {
                    run_bulk(Verb::Remove, items.clone())
                }));
            }
            Verb::Kill => {
                let title = format!("Kill {}?", count_of(items.len()));
                let body = format!(
                    "{} get SIGKILL and stop at once, without a chance to clean up.",
                    names_list(&names)
                );
                app.ask(ConfirmRequest::new(title, body, "Kill", move || {
                    run_bulk(Verb::Kill, items.clone())
                }));
            }
            _ => run_bulk(verb, items),
        }
    };

    let row = move |c: ContainerSummary| {
        let ep_now = ep.get_untracked();
        let href = endpoint_path(&ep_now, &format!("containers/{}", c.id));
        let running = is_running(c.state);
        let id = c.id.clone();
        let waiting = move || busy.with(|b| b.contains(&id));
        let action_button = |action: ContainerAction, icon: Icon| {
            let (ep, id, name) = (ep_now.clone(), c.id.clone(), c.name.clone());
            let label = format!("{} {}", action.label(), c.name);
            let waiting = waiting.clone();
            view! {
                <button
                    type="button"
                    class="btn-icon"
                    aria-label=label
                    title=action.label()
                    disabled=waiting
                    on:click=move |_| run_action(app, busy, ep.clone(), id.clone(), name.clone(), action, reload)
                >
                    {icon.view()}
                </button>
            }
        };
        let start = (!running).then(|| action_button(ContainerAction::Start, Icon::Play));
        let stop = running.then(|| action_button(ContainerAction::Stop, Icon::Stop));
        let restart = running.then(|| action_button(ContainerAction::Restart, Icon::Restart));
        let remove = {
            let (ep, id, name) = (ep_now.clone(), c.id.clone(), c.name.clone());
            move |_| {
                confirm_remove(
                    app,
                    busy,
                    ep.clone(),
                    id.clone(),
                    name.clone(),
                    running,
                    move |_| reload(),
                )
            }
        };
        let check = {
            let (id_a, id_b) = (c.id.clone(), c.id.clone());
            view! {
                <input
                    type="checkbox"
                    class="check-input"
                    aria-label=format!("Select {}", c.name)
                    prop:checked=move || selected.with(|s| s.contains(&id_a))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|s| {
                            if on {
                                s.insert(id_b.clone());
                            } else {
                                s.remove(&id_b);
                            }
                        });
                    }
                />
            }
        };
        let menu_id = format!("more-{}", short_id(&c.id));
        let more_button = {
            let (id, menu_id) = (c.id.clone(), menu_id.clone());
            view! {
                <button
                    type="button"
                    class="btn-icon"
                    aria-label=format!("More actions for {}", c.name)
                    title="More actions"
                    popovertarget=menu_id.clone()
                    on:click=move |ev| {
                        more_open.set(Some(id.clone()));
                        if let Some(button) = ev.current_target().and_then(|t| {
                            use wasm_bindgen::JsCast;
                            t.dyn_into::<web_sys::Element>().ok()
                        }) {
                            place_menu(&button, &menu_id);
                        }
                    }
                >
                    {line_icon(MORE_ICON)}
                </button>
            }
        };
        let menu = {
            let c = c.clone();
            let ep = ep_now.clone();
            let menu_id = menu_id.clone();
            move || {
                let open = more_open.with(|m| m.as_deref() == Some(c.id.as_str()));
                open.then(|| {
                    let close = {
                        let menu_id = menu_id.clone();
                        move || {
                            if let Some(el) = document().get_element_by_id(&menu_id) {
                                use wasm_bindgen::JsCast;
                                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                                    let _ = el.hide_popover();
                                }
                            }
                        }
                    };
                    let pause_verb = if c.state == ContainerState::Paused {
                        Verb::Unpause
                    } else {
                        Verb::Pause
                    };
                    let can_pause = matches!(c.state, ContainerState::Running | ContainerState::Paused);
                    let pause = {
                        let (ep, id, name, close) = (ep.clone(), c.id.clone(), c.name.clone(), close.clone());
                        move |_| {
                            close();
                            run_verb(app, busy, ep.clone(), id.clone(), name.clone(), pause_verb, reload);
                        }
                    };
                    let kill = {
                        let (id, name, close) = (c.id.clone(), c.name.clone(), close.clone());
                        move |_| {
                            close();
                            ask.set(Some(Ask::Kill { id: id.clone(), name: name.clone() }));
                        }
                    };
                    let rename = {
                        let (id, name, close) = (c.id.clone(), c.name.clone(), close.clone());
                        move |_| {
                            close();
                            ask.set(Some(Ask::Rename { id: id.clone(), name: name.clone() }));
                        }
                    };
                    let duplicate = endpoint_path(&ep, &format!("containers/new?from={}&mode=duplicate", c.id));
                    let edit = endpoint_path(&ep, &format!("containers/new?from={}&mode=edit", c.id));
                    view! {
                        <button
                            type="button"
                            class="menu-item"
                            aria-label=format!("{} {}", pause_verb.label(), c.name)
                            disabled=!can_pause
                            on:click=pause
                        >
                            {line_icon(PAUSE_ICON)}
                            <span>{pause_verb.label()}</span>
                        </button>
                        <button
                            type="button"
                            class="menu-item"
                            aria-label=format!("Kill {}", c.name)
                            disabled=!running
                            on:click=kill
                        >
                            {Icon::Alert.view()}
                            <span>"Kill…"</span>
                        </button>
                        <button type="button" class="menu-item" aria-label=format!("Rename {}", c.name) on:click=rename>
                            {Icon::Key.view()}
                            <span>"Rename…"</span>
                        </button>
                        <a class="menu-item" href=duplicate aria-label=format!("Duplicate {}", c.name) on:click={ let close = close.clone(); move |_| close() }>
                            {Icon::Copy.view()}
                            <span>"Duplicate"</span>
                        </a>
                        <a class="menu-item" href=edit aria-label=format!("Edit {}", c.name) on:click=move |_| close()>
                            {Icon::Restart.view()}
                            <span>"Edit and recreate"</span>
                        </a>
                    }
                })
            }
        };
        view! {
            <tr>
                <td class="cell-check" data-label="Select">{check}</td>
                <td class="cell-primary" data-label="Name">
                    <a class="row-title" href=href>{c.name.clone()}</a>
                    {c.project.clone().map(|p| view! { <span class="tag" title="Compose project">{p}</span> })}
                </td>
                <td data-label="State">
                    <span class="state-cell">
                        <StateBadge state=c.state title=c.status.clone()/>
                        <span class="status-text">{c.status.clone()}</span>
                    </span>
                </td>
                <td data-label="Image" class="cell-image">
                    <span class="mono truncate" title=c.image.clone()>{c.image.clone()}</span>
                </td>
                <td data-label="Ports">
                    <Ports ports=c.ports.clone() host=host.clone()/>
                </td>
                <td data-label="CPU / Memory" class="cell-nowrap">
                    <StatsCell id=c.id.clone() stopped=!running/>
                </td>
                <td data-label="Created" class="cell-nowrap">
                    <RelativeTime secs=Some(c.created as f64)/>
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        {
                            let waiting = waiting.clone();
                            move || waiting().then(|| view! { <span class="spinner spinner-sm" role="status" aria-label="Working"></span> })
                        }
                        {start}
                        {stop}
                        {restart}
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Remove {}", c.name)
                            title="Remove"
                            disabled=waiting
                            on:click=remove
                        >
                            {Icon::Trash.view()}
                        </button>
                        {more_button}
                        <div
                            id=menu_id
                            class="menu menu-more"
                            popover="auto"
                            aria-label=format!("More actions for {}", c.name)
                        >
                            {menu}
                        </div>
                    </div>
                </td>
            </tr>
        }
    };

    let bulk_bar = move || {
        let n = chosen.with(Vec::len);
        (n > 0).then(|| {
            view! {
                <div class="bulk-bar" role="toolbar" aria-label="Bulk actions">
                    <span class="bulk-count" aria-live="polite">{format!("{n} selected")}</span>
                    {Verb::BULK
                        .into_iter()
                        .map(|verb| {
                            let danger = matches!(verb, Verb::Remove | Verb::Kill);
                            view! {
                                <button
                                    type="button"
                                    class="btn btn-sm"
                                    class:btn-danger-outline=danger
                                    on:click=move |_| bulk(verb)
                                >
                                    {verb.label()}
                                </button>
                            }
                        })
                        .collect_view()}
                    <span class="spacer"></span>
                    <button type="button" class="btn btn-sm btn-ghost" on:click=move |_| selected.set(HashSet::new())>
                        "Clear selection"
                    </button>
                </div>
            }
        })
    };

    let table = move || {
        let row = row.clone();
        view! {
            {bulk_bar}
            // One stats socket for the page, for the CPU / Memory column.
            <StatsWatcher ep=ep>
            <div class="table-wrap">
                <table
                    class="table table-cards"
                    style:display=move || if counts.get().is_some_and(|(total, _)| total > 0) { "" } else { "none" }
                >
                    <thead>
                        <tr>
                            <th scope="col" class="cell-check">
                                <input
                                    type="checkbox"
                                    class="check-input"
                                    aria-label="Select all containers"
                                    title="Select all shown"
                                    prop:checked=move || { let (p, t) = visible_selection.get(); t > 0 && p == t }
                                    prop:indeterminate=move || { let (p, t) = visible_selection.get(); p > 0 && p < t }
                                    on:change=toggle_all
                                />
                            </th>
                            <SortHeader sort=sort key=Column::Name label="Name"/>
                            <SortHeader sort=sort key=Column::State label="State"/>
                            <SortHeader sort=sort key=Column::Image label="Image"/>
                            <th scope="col">"Ports"</th>
                            <th scope="col">"CPU / Memory"</th>
                            <SortHeader sort=sort key=Column::Created label="Created"/>
                            <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || rows.get()
                            key=|c| (c.id.clone(), c.state, c.status.clone(), c.name.clone())
                            children=row
                        />
                    </tbody>
                </table>
                {move || {
                    let total = counts.get().map_or(0, |(total, _)| total);
                    if total == 0 {
                        view! {
                            <EmptyState
                                title="No containers on this host yet"
                                hint="Run one here, or start one with docker run or compose: it appears here."
                            >
                                <a class="btn btn-primary" href=endpoint_path(&ep.get(), "containers/new")>
                                    {Icon::Plus.view()}
                                    <span>"Run container"</span>
                                </a>
                            </EmptyState>
                        }
                        .into_any()
                    } else if rows.with(Vec::is_empty) {
                        view! {
                            <EmptyState title=format!("No containers match “{}”", app.search.get().trim())>
                                <button type="button" class="btn" on:click=move |_| app.search.set(String::new())>
                                    "Clear filter"
                                </button>
                            </EmptyState>
                        }
                        .into_any()
                    } else {
                        ().into_any()
                    }
                }}
            </div>
            </StatsWatcher>
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Containers"</h1>
                    <p class="page-sub">
                        {move || match counts.get() {
                            Some((total, running)) => format!("{total} total · {running} running"),
                            None => "\u{a0}".to_owned(),
                        }}
                    </p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=list/>
                    <a class="btn btn-primary" href=move || endpoint_path(&ep.get(), "containers/new")>
                        {Icon::Plus.view()}
                        <span>"Run container"</span>
                    </a>
                </div>
            </div>
            <Loaded remote=list what="containers" endpoint=ep>
                {table.clone()}
            </Loaded>
            <AskDialog ask=ask ep=ep on_done=move || reload()/>
        </div>
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The signals `kill` can send from the dialog; SIGKILL first (the engine's
/// default).
const SIGNALS: [&str; 8] = [
    "SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH",
];

/// The dialog of a row action that needs input: rename (a new name) or kill
/// (a signal). One native `<dialog>` for the page.
#[component]
fn AskDialog(
    ask: RwSignal<Option<Ask>>,
    ep: Memo<String>,
    on_done: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    Effect::new(move |_| {
        let wanted = ask.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if wanted && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !wanted && dialog.open() {
                dialog.close();
            }
        }
    });
    // A fresh form each time it opens.
    Effect::new(move |_| match ask.get() {
        Some(Ask::Rename { name, .. }) => {
            value.set(name);
            error.set(None);
        }
        Some(Ask::Kill { .. }) => {
            value.set(SIGNALS[0].to_owned());
            error.set(None);
        }
        None => {}
    });
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some(current) = ask.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        let ep = ep.get_untracked();
        let wanted = value.get_untracked().trim().to_owned();
        let on_done = on_done.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = match &current {
                Ask::Rename { id, .. } => api::rename_container(&ep, id, &wanted).await,
                Ask::Kill { id, .. } => api::kill_container(&ep, id, Some(&wanted)).await,
            };
            busy.set(false);
            match result {
                Ok(()) => {
                    match &current {
                        Ask::Rename { name, .. } => {
                            app.toasts.success(format!("Renamed {name} to {wanted}"))
                        }
                        Ask::Kill { name, .. } => {
                            app.toasts.success(format!("Sent {wanted} to {name}"))
                        }
                    }
                    ask.set(None);
                    on_done();
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-labelledby="ask-title"
            on:close=move |_| ask.set(None)
        >
            {move || ask.get().map(|current| {
                let submit = submit.clone();
                let (title, body, button) = match &current {
                    Ask::Rename { name, .. } => (
                        format!("Rename container {name}"),
                        "Links and scripts that use the old name stop finding it.".to_owned(),
                        "Rename",
                    ),
                    Ask::Kill { name, .. } => (
                        format!("Kill container {name}?"),
                        format!("{name} gets the signal at once; SIGKILL stops it without a chance to clean up."),
                        "Kill",
                    ),
                };
                let is_rename = matches!(current, Ask::Rename { .. });
                view! {
                    <form class="form" on:submit=submit>
                        <h2 id="ask-title" class="modal-title">{title}</h2>
                        <p class="modal-body">{body}</p>
                        {if is_rename {
                            view! {
                                <div class="field">
                                    <label for="ask-name">"New name"</label>
                                    <input
                                        id="ask-name"
                                        class="input"
                                        type="text"
                                        required
                                        autofocus
                                        autocomplete="off"
                                        spellcheck="false"
                                        aria-invalid=move || error.with(Option::is_some).then_some("true")
                                        aria-describedby="ask-error"
                                        bind:value=value
                                    />
                                </div>
                            }
                            .into_any()
                        } else {
                            view! {
                                <div class="field">
                                    <label for="ask-signal">"Signal"</label>
                                    <select id="ask-signal" class="select" bind:value=value aria-describedby="ask-error">
                                        {SIGNALS.into_iter().map(|s| view! { <option value=s>{s}</option> }).collect_view()}
                                    </select>
                                </div>
                            }
                            .into_any()
                        }}
                        <p class="field-error" id="ask-error" role="alert">{move || error.get()}</p>
                        <div class="modal-actions">
                            <button type="button" class="btn" on:click=move |_| ask.set(None)>"Cancel"</button>
                            <button
                                type="submit"
                                class="btn"
                                class:btn-primary=is_rename
                                class:btn-danger=!is_rename
                                disabled=busy
                            >
                                {button}
                            </button>
                        </div>
                    </form>
                }
            })}
        </dialog>
    }
}
