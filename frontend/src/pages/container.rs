//! `/endpoints/{ep}/containers/{id}`: one container, with its actions and
//! the tabs Overview and Inspect.

use leptos::{ev, prelude::*};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use protocol::ContainerDetail;

use crate::api::{self, ContainerAction};
use crate::components::{
    badge::{HealthBadge, StateBadge},
    copy::{copy_text, ShortId},
    format::{exact, parse_time, RelativeTime},
    icons::Icon,
    layout::endpoint_path,
    remote::{EmptyState, LoadError, Loading, Phase, Remote},
};
use crate::pages::containers::{confirm_remove, is_running, page_host, run_action, Busy, Ports};
use crate::state::use_app;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Inspect,
}

impl Tab {
    const ALL: [Tab; 2] = [Tab::Overview, Tab::Inspect];

    fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Inspect => "Inspect",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Inspect => "inspect",
        }
    }
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
    let tab = RwSignal::new(Tab::Overview);
    let busy: Busy = RwSignal::new(Vec::new());

    // The breadcrumb names the container once it is known.
    Effect::new(move |_| {
        let name = detail.value.with(|v| match v {
            Some(Ok(d)) => Some(d.name.clone()),
            _ => None,
        });
        app.crumb.set(Some(name.unwrap_or_else(|| id.get())));
    });
    on_cleanup(move || app.crumb.set(None));

    move || {
        match detail.phase.get() {
        Phase::Loading => view! { <div class="page"><Loading what="the container"/></div> }.into_any(),
        Phase::Failed(error) if error.is_not_found() => view! {
            <div class="page">
                <EmptyState
                    title="Container not found"
                    hint=format!("There is no container “{}” on this endpoint. It may have been removed.", id.get())
                >
                    <a class="btn" href=endpoint_path(&ep.get(), "containers")>"Back to containers"</a>
                </EmptyState>
            </div>
        }
        .into_any(),
        Phase::Failed(error) => view! {
            <div class="page">
                <LoadError error=error endpoint=ep.get() what="the container" on_retry=move |()| detail.reload()/>
            </div>
        }
        .into_any(),
        Phase::Ready => view! {
            <div class="page">
                <Header detail=detail ep=ep busy=busy/>
                <Tabs tab=tab/>
                <div
                    class="tab-panel"
                    role="tabpanel"
                    id=move || format!("panel-{}", tab.get().slug())
                    aria-labelledby=move || format!("tab-{}", tab.get().slug())
                >
                    {move || {
                        detail.value.with(|v| match v {
                            Some(Ok(d)) => match tab.get() {
                                Tab::Overview => overview(d).into_any(),
                                Tab::Inspect => inspect(d).into_any(),
                            },
                            _ => ().into_any(),
                        })
                    }}
                </div>
            </div>
        }
        .into_any(),
    }
    }
}

#[component]
fn Header(detail: Remote<ContainerDetail>, ep: Memo<String>, busy: Busy) -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
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
    move || {
        let (id, name, state, health, project) = facts.get()?;
        let running = is_running(state);
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
    }
}

/// The tab strip, with arrow keys moving between tabs.
#[component]
fn Tabs(tab: RwSignal<Tab>) -> impl IntoView {
    let on_key = move |ev: ev::KeyboardEvent| {
        let step: isize = match ev.key().as_str() {
            "ArrowRight" => 1,
            "ArrowLeft" => -1,
            _ => return,
        };
        ev.prevent_default();
        let all = Tab::ALL;
        let here = all
            .iter()
            .position(|t| *t == tab.get_untracked())
            .unwrap_or(0) as isize;
        let next = all[(here + step).rem_euclid(all.len() as isize) as usize];
        tab.set(next);
        if let Some(el) = document().get_element_by_id(&format!("tab-{}", next.slug())) {
            use wasm_bindgen::JsCast;
            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label="Container" on:keydown=on_key>
            {Tab::ALL
                .into_iter()
                .map(|t| {
                    let selected = move || tab.get() == t;
                    view! {
                        <button
                            type="button"
                            role="tab"
                            class="tab"
                            id=format!("tab-{}", t.slug())
                            aria-controls=format!("panel-{}", t.slug())
                            aria-selected=move || if selected() { "true" } else { "false" }
                            tabindex=move || if selected() { "0" } else { "-1" }
                            on:click=move |_| tab.set(t)
                        >
                            {t.label()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
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
    let labels: Vec<(String, String)> = d.config.labels.clone().into_iter().collect();
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
        <section class="card">
            <h2 class="card-title">{format!("Environment ({})", env.len())}</h2>
            {if env.is_empty() {
                view! { <p class="muted">"No environment variables."</p> }.into_any()
            } else {
                view! {
                    <ul class="list list-mono">
                        {env
                            .into_iter()
                            .map(|var| {
                                let (k, v) = var.split_once('=').map_or((var.clone(), String::new()), |(k, v)| (k.to_owned(), v.to_owned()));
                                view! { <li><span class="env-key">{k}</span>"="<span class="break">{v}</span></li> }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
        <section class="card">
            <h2 class="card-title">{format!("Labels ({})", labels.len())}</h2>
            {if labels.is_empty() {
                view! { <p class="muted">"No labels."</p> }.into_any()
            } else {
                view! {
                    <dl class="kv kv-mono">
                        {labels
                            .into_iter()
                            .map(|(k, v)| view! { <div class="kv-row"><dt class="break">{k}</dt><dd class="break">{v}</dd></div> })
                            .collect_view()}
                    </dl>
                }
                .into_any()
            }}
        </section>
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
