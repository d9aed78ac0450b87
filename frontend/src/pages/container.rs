//! `/endpoints/{ep}/containers/{id}`: one container, with its actions and
//! the tabs Overview, Logs, Terminal, Stats and Inspect. Engine events about
//! containers refresh it in place; the live tabs (logs, terminal, stats)
//! keep their streams while it does.

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use protocol::{ContainerDetail, ContainerState};

use crate::api::{self, ContainerAction};
use crate::components::config_cards::{EnvCard, LabelsCard};
use crate::components::tabs::{remember_tab, tab_from_location, TabItem, TabPanel, TabStrip};
use crate::components::{
    badge::{HealthBadge, StateBadge},
    copy::{copy_text, ShortId},
    format::{exact, parse_time, RelativeTime},
    icons::Icon,
    layout::endpoint_path,
    logs::{line_icon, LogSource, LogView, PAUSE},
    remote::{DetailLoaded, Remote},
    stats::ContainerStats,
    terminal::ExecTerminal,
};
use crate::live::use_changes;
use crate::pages::containers::{confirm_remove, is_running, page_host, run_action, Busy, Ports};
use crate::state::{use_app, AppState};

/// A pencil (Feather's "edit-2", MIT).
const EDIT: &str = "M17 3a2.85 2.83 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5L17 3z";
/// A tag with a cursor (Feather's "type", MIT), for Rename.
const RENAME: &str = "M4 7V4h16v3M9 20h6M12 4v16";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Logs,
    Terminal,
    Stats,
    Inspect,
}

impl TabItem for Tab {
    fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Logs => "Logs",
            Tab::Terminal => "Terminal",
            Tab::Stats => "Stats",
            Tab::Inspect => "Inspect",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Logs => "logs",
            Tab::Terminal => "terminal",
            Tab::Stats => "stats",
            Tab::Inspect => "inspect",
        }
    }
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Overview,
        Tab::Logs,
        Tab::Terminal,
        Tab::Stats,
        Tab::Inspect,
    ];
}

#[component]
pub fn ContainerPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    app.search.set(String::new());

    let detail = Remote::new(move || {
        let (ep, id) = (ep.get(), id.get());
        async move { api::container(&ep, &id).await }
    });
    // Engine events about containers (also from the docker CLI) refresh the
    // page in place; the tabs keep their streams.
    let changes = use_changes(&["container"]);
    Effect::new(move |before: Option<u64>| {
        let now = changes.get();
        if before.is_some_and(|b| b != now) {
            detail.reload();
        }
        now
    });
    let tab = RwSignal::new(tab_from_location(&Tab::ALL).unwrap_or(Tab::Overview));
    Effect::new(move |before: Option<Tab>| {
        let now = tab.get();
        if before.is_some_and(|b| b != now) {
            remember_tab(now, Some(Tab::Overview));
        }
        now
    });
    let busy: Busy = RwSignal::new(Vec::new());

    // What the live tabs follow, as small memos: a reload that changes
    // nothing they use does not touch them.
    let name = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => d.name.clone(),
            _ => String::new(),
        })
    });
    let running = Memo::new(move |_| {
        detail
            .value
            .with(|v| matches!(v, Some(Ok(d)) if d.state.running))
    });
    let execable = Memo::new(move |_| {
        detail
            .value
            .with(|v| matches!(v, Some(Ok(d)) if d.state.running && !d.state.paused && !d.state.restarting))
    });
    let started = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) if d.state.running => d.state.started_at.clone(),
            _ => String::new(),
        })
    });

    // The breadcrumb names the container once it is known.
    Effect::new(move |_| {
        let name = detail.value.with(|v| match v {
            Some(Ok(d)) => Some(d.name.clone()),
            _ => None,
        });
        app.crumb.set(Some(name.unwrap_or_else(|| id.get())));
    });
    on_cleanup(move || app.crumb.set(None));

    let panel = move || {
        let (ep_now, id_now) = (ep.get(), id.get());
        match tab.get() {
            Tab::Overview => (move || {
                detail.value.with(|v| match v {
                    Some(Ok(d)) => overview(d).into_any(),
                    _ => ().into_any(),
                })
            })
            .into_any(),
            Tab::Inspect => (move || {
                detail.value.with(|v| match v {
                    Some(Ok(d)) => inspect(d).into_any(),
                    _ => ().into_any(),
                })
            })
            .into_any(),
            Tab::Logs => {
                let label = format!("Log of {}", name.get_untracked());
                view! {
                    <LogView ep=ep_now source=LogSource::Container(id_now) label=label started=started/>
                }
                .into_any()
            }
            Tab::Terminal => view! {
                <ExecTerminal ep=ep_now id=id_now name=name.get_untracked() running=execable/>
            }
            .into_any(),
            Tab::Stats => {
                view! { <ContainerStats ep=ep_now id=id_now running=running/> }.into_any()
            }
        }
    };

    view! {
        <DetailLoaded remote=detail what="container" list="containers" gone="removed" name=id ep=ep>
            <div class="page">
                <Header detail=detail ep=ep id=id busy=busy/>
                <TabStrip tab=tab tabs=Tab::ALL.to_vec() label="Container"/>
                <TabPanel tab=tab>{panel}</TabPanel>
            </div>
        </DetailLoaded>
    }
}

/// Pauses or unpauses, then calls `done`; failures become a toast.
fn run_verb(
    app: AppState,
    busy: Busy,
    (ep, id, name): (String, String, String),
    verb: &'static str,
    done_word: &'static str,
    done: impl FnOnce() + 'static,
) {
    busy.update(|b| b.push(id.clone()));
    spawn_local(async move {
        let result = api::container_verb(&ep, &id, verb).await;
        busy.update(|b| b.retain(|x| x != &id));
        match result {
            Ok(()) => app.toasts.success(format!("{name} {done_word}")),
            Err(e) => app
                .toasts
                .error(format!("Could not {verb} {name}: {}", e.message())),
        }
        done();
    });
}

#[component]
fn Header(
    detail: Remote<ContainerDetail>,
    ep: Memo<String>,
    id: Memo<String>,
    busy: Busy,
) -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let renaming = RwSignal::new(false);
    let facts = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => Some((
                d.id.clone(),
                d.name.clone(),
                d.state.status,
                d.state.health.clone(),
                d.project.clone(),
            )),
            _ => None,
        })
    });
    let head = move || {
        let (id, name, state, health, project) = facts.get()?;
        let running = is_running(state);
        let paused = state == ContainerState::Paused;
        let waiting = {
            let id = id.clone();
            move || busy.with(|b| b.contains(&id))
        };
        let button = |action: ContainerAction, icon: Icon| {
            let (ep, id, name) = (ep.get_untracked(), id.clone(), name.clone());
            let label = format!("{} {}", action.label(), name);
            view! {
                <button
                    type="button"
                    class="btn"
                    aria-label=label
                    disabled=waiting.clone()
                    on:click=move |_| run_action(app, busy, ep.clone(), id.clone(), name.clone(), action, move || detail.reload())
                >
                    {icon.view()}
                    <span>{action.label()}</span>
                </button>
            }
        };
        let verb_button = |verb: &'static str,
                           word: &'static str,
                           done: &'static str,
                           icon: AnyView| {
            let target = (ep.get_untracked(), id.clone(), name.clone());
            let label = format!("{word} {name}");
            view! {
                <button
                    type="button"
                    class="btn"
                    aria-label=label
                    disabled=waiting.clone()
                    on:click=move |_| run_verb(app, busy, target.clone(), verb, done, move || detail.reload())
                >
                    {icon}
                    <span>{word}</span>
                </button>
            }
        };
        let remove = {
            let (ep, id, name) = (ep.get_untracked(), id.clone(), name.clone());
            let navigate = navigate.clone();
            move |_| {
                let list = endpoint_path(&ep, "containers");
                let navigate = navigate.clone();
                confirm_remove(
                    app,
                    busy,
                    ep.clone(),
                    id.clone(),
                    name.clone(),
                    running,
                    move |removed| {
                        if removed {
                            navigate(&list, NavigateOptions::default());
                        }
                    },
                )
            }
        };
        let from = |mode: &str| {
            endpoint_path(
                &ep.get_untracked(),
                &format!(
                    "containers/new?from={}&mode={mode}",
                    String::from(js_sys::encode_uri_component(&id))
                ),
            )
        };
        Some(view! {
            <div class="page-head">
                <div class="title-row">
                    <h1 class="title-name">{name.clone()}</h1>
                    <StateBadge state=state/>
                    {health.map(|h| view! { <HealthBadge health=h/> })}
                    {project.map(|p| view! { <span class="tag" title="Compose project">{p}</span> })}
                </div>
                <div class="page-actions">
                    {
                        let waiting = waiting.clone();
                        move || waiting().then(|| view! { <span class="spinner" role="status" aria-label="Working"></span> })
                    }
                    {(!running).then(|| button(ContainerAction::Start, Icon::Play))}
                    {running.then(|| button(ContainerAction::Stop, Icon::Stop))}
                    {running.then(|| button(ContainerAction::Restart, Icon::Restart))}
                    {(running && !paused).then(|| verb_button("pause", "Pause", "paused", line_icon(PAUSE).into_any()))}
                    {paused.then(|| verb_button("unpause", "Unpause", "unpaused", Icon::Play.view().into_any()))}
                    <button
                        type="button"
                        class="btn"
                        aria-label=format!("Rename {name}")
                        disabled=waiting.clone()
                        on:click=move |_| renaming.set(true)
                    >
                        {line_icon(RENAME)}
                        <span>"Rename"</span>
                    </button>
                    <a class="btn" href=from("duplicate") aria-label=format!("Duplicate {name}") title="Run a new container with these settings">
                        {Icon::Copy.view()}
                        <span>"Duplicate"</span>
                    </a>
                    <a class="btn" href=from("edit") aria-label=format!("Edit {name}") title="Change the settings: the container is recreated">
                        {line_icon(EDIT)}
                        <span>"Edit"</span>
                    </a>
                    <button
                        type="button"
                        class="btn btn-danger-outline"
                        aria-label=format!("Remove {name}")
                        disabled=waiting.clone()
                        on:click=remove
                    >
                        {Icon::Trash.view()}
                        <span>"Remove"</span>
                    </button>
                    <button type="button" class="btn-icon" aria-label="Reload" title="Reload" on:click=move |_| detail.reload()>
                        {Icon::Refresh.view()}
                    </button>
                </div>
            </div>
        })
    };
    view! {
        {head}
        <RenameDialog open=renaming detail=detail ep=ep id=id/>
    }
}

/// "Rename web-1": a dialog with the new name; the server's refusal shows
/// under the field.
#[component]
fn RenameDialog(
    open: RwSignal<bool>,
    detail: Remote<ContainerDetail>,
    ep: Memo<String>,
    id: Memo<String>,
) -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let dialog = NodeRef::<html::Dialog>::new();
    let input = NodeRef::<html::Input>::new();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let current = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => Some((d.id.clone(), d.name.clone())),
            _ => None,
        })
    });
    Effect::new(move |_| {
        let wanted = open.get();
        let Some(dialog) = dialog.get() else { return };
        if wanted && !dialog.open() {
            value.set(current.get_untracked().map(|(_, n)| n).unwrap_or_default());
            error.set(None);
            let _ = dialog.show_modal();
            if let Some(input) = input.get_untracked() {
                let _ = input.focus();
                input.select();
            }
        } else if !wanted && dialog.open() {
            dialog.close();
        }
    });
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some((full_id, old)) = current.get_untracked() else {
            return;
        };
        let new_name = value
            .get_untracked()
            .trim()
            .trim_start_matches('/')
            .to_owned();
        if new_name.is_empty() {
            error.set(Some("Give the container a name.".into()));
            return;
        }
        if new_name == old {
            open.set(false);
            return;
        }
        saving.set(true);
        let (ep_now, route_id) = (ep.get_untracked(), id.get_untracked());
        let navigate = navigate.clone();
        spawn_local(async move {
            let result = api::rename_container(&ep_now, &full_id, &new_name).await;
            saving.set(false);
            match result {
                Ok(()) => {
                    open.set(false);
                    app.toasts.success(format!("Renamed {old} to {new_name}"));
                    // The address may have named the container by its old name.
                    if route_id != full_id {
                        let url = endpoint_path(&ep_now, &format!("containers/{full_id}"));
                        navigate(
                            &url,
                            NavigateOptions {
                                replace: true,
                                ..NavigateOptions::default()
                            },
                        );
                    } else {
                        detail.reload();
                    }
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-labelledby="rename-title"
            on:close=move |_| open.set(false)
        >
            <form class="form" on:submit=submit novalidate>
                <h2 id="rename-title" class="modal-title">
                    {move || format!("Rename {}", current.get().map(|(_, n)| n).unwrap_or_default())}
                </h2>
                <div class="field">
                    <label for="rename-name">"New name"</label>
                    <input
                        id="rename-name"
                        node_ref=input
                        class="input mono"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        required
                        aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby="rename-error"
                        prop:value=value
                        on:input=move |ev| value.set(event_target_value(&ev))
                    />
                    <p id="rename-error" class="field-error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </div>
                <div class="modal-actions">
                    <button type="button" class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="btn btn-primary" disabled=saving>"Rename"</button>
                </div>
            </form>
        </dialog>
    }
}

fn row(label: &'static str, value: impl IntoView + 'static) -> impl IntoView {
    view! {
        <div class="kv-row">
            <dt>{label}</dt>
            <dd>{value}</dd>
        </div>
    }
}

fn time_or_dash(rfc3339: &str) -> AnyView {
    match parse_time(rfc3339) {
        Some(secs) => view! { <RelativeTime secs=Some(secs)/> }.into_any(),
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

/// The engine's words for the state, with the times that matter.
fn status_line(d: &ContainerDetail) -> AnyView {
    let s = &d.state;
    if s.running {
        let since = time_or_dash(&s.started_at);
        let paused = if s.paused {
            "Paused, up since "
        } else {
            "Up since "
        };
        view! { <span>{paused}{since}</span> }.into_any()
    } else if parse_time(&s.finished_at).is_some() {
        let oom = if s.oom_killed { " (out of memory)" } else { "" };
        view! { <span>{format!("Exited with code {}{oom}, ", s.exit_code)}{time_or_dash(&s.finished_at)}</span> }
            .into_any()
    } else {
        view! { <span>"Never started"</span> }.into_any()
    }
}

fn command_line(d: &ContainerDetail) -> String {
    d.config
        .entrypoint
        .iter()
        .chain(d.config.cmd.iter())
        .map(|arg| {
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                format!("\"{}\"", arg.replace('"', "\\\""))
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn restart_policy(d: &ContainerDetail) -> String {
    let hc = &d.host_config;
    match hc.restart_policy.as_str() {
        "" => "no".to_owned(),
        "on-failure" if hc.restart_max_retries > 0 => {
            format!("on-failure (at most {} retries)", hc.restart_max_retries)
        }
        policy => policy.to_owned(),
    }
}

fn dash_if_empty(s: &str) -> AnyView {
    if s.is_empty() {
        view! { <span class="muted">"—"</span> }.into_any()
    } else {
        view! { <span class="mono">{s.to_owned()}</span> }.into_any()
    }
}

fn overview(d: &ContainerDetail) -> impl IntoView {
    let created = parse_time(&d.created);
    let created_view = match created {
        Some(secs) => view! {
            <span><RelativeTime secs=Some(secs)/><span class="muted">{format!(" · {}", exact(secs))}</span></span>
        }
        .into_any(),
        None => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let command = command_line(d);
    let exit_error = (!d.state.error.is_empty()).then(|| d.state.error.clone());
    let env = d.config.env.clone();
    let labels = d.config.labels.clone();
    let mounts = d.mounts.clone();
    let networks = d.networks.clone();
    let ports = d.ports.clone();

    view! {
        <div class="grid-2">
            <section class="card">
                <h2 class="card-title">"Container"</h2>
                <dl class="kv">
                    {row("Id", view! { <ShortId id=d.id.clone()/> })}
                    {row("Name", view! { <span>{d.name.clone()}</span> })}
                    {row("Image", view! {
                        <span class="mono break">{d.image.clone()}</span>
                        " "
                        <ShortId id=d.image_id.clone()/>
                    })}
                    {row("Created", created_view)}
                    {row("Status", status_line(d))}
                    {exit_error.map(|e| row("Error", view! { <span class="text-danger">{e}</span> }))}
                    {row("Restarts", view! { <span>{d.restart_count.to_string()}</span> })}
                    {row("Restart policy", view! { <span>{restart_policy(d)}</span> })}
                    {row("Command", dash_if_empty(&command))}
                    {row("Working dir", dash_if_empty(&d.config.workdir))}
                    {row("User", dash_if_empty(&d.config.user))}
                    {row("Hostname", dash_if_empty(&d.config.hostname))}
                    {(d.state.pid > 0).then(|| row("PID", view! { <span class="mono">{d.state.pid.to_string()}</span> }))}
                </dl>
            </section>
            <div class="stack">
                <section class="card">
                    <h2 class="card-title">"Ports"</h2>
                    {if ports.is_empty() {
                        view! { <p class="muted">"No ports published or exposed."</p> }.into_any()
                    } else {
                        view! { <Ports ports=ports host=page_host()/> }.into_any()
                    }}
                </section>
                <section class="card">
                    <h2 class="card-title">"Networks"</h2>
                    {if networks.is_empty() {
                        view! { <p class="muted">"Not attached to any network."</p> }.into_any()
                    } else {
                        view! {
                            <table class="table table-compact">
                                <thead>
                                    <tr>
                                        <th scope="col">"Network"</th>
                                        <th scope="col">"IP address"</th>
                                        <th scope="col">"Gateway"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {networks
                                        .into_iter()
                                        .map(|n| {
                                            view! {
                                                <tr>
                                                    <td>{n.network}</td>
                                                    <td class="mono">{if n.ip_address.is_empty() { "—".to_owned() } else { n.ip_address }}</td>
                                                    <td class="mono">{if n.gateway.is_empty() { "—".to_owned() } else { n.gateway }}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }
                        .into_any()
                    }}
                </section>
                <section class="card">
                    <h2 class="card-title">"Mounts"</h2>
                    {if mounts.is_empty() {
                        view! { <p class="muted">"No mounts."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="list">
                                {mounts
                                    .into_iter()
                                    .map(|m| {
                                        let source = m.name.clone().unwrap_or(m.source.clone());
                                        view! {
                                            <li class="mount">
                                                <span class="tag">{m.kind}</span>
                                                <span class="mono break">{source}</span>
                                                <span class="muted" aria-label="mounted at">"→"</span>
                                                <span class="mono break">{m.destination}</span>
                                                <span class="tag">{if m.read_only { "ro" } else { "rw" }}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any()
                    }}
                </section>
            </div>
        </div>
        <EnvCard env=env/>
        <LabelsCard labels=labels/>
    }
}

fn inspect(d: &ContainerDetail) -> impl IntoView {
    let json = serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("could not render: {e}"));
    let toasts = use_app().toasts;
    let text = json.clone();
    let copy = move |_| {
        if copy_text(&text) {
            toasts.success("Copied the inspect JSON");
        }
    };
    view! {
        <section class="card">
            <div class="card-head">
                <h2 class="card-title">"Inspect"</h2>
                <button type="button" class="btn btn-sm" on:click=copy>
                    {Icon::Copy.view()}
                    <span>"Copy JSON"</span>
                </button>
            </div>
            <pre class="code" tabindex="0" aria-label="Container inspect JSON">{json}</pre>
        </section>
    }
}
