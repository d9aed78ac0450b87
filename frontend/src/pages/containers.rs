//! `/endpoints/{ep}/containers`: every container of the endpoint, filtered by
//! the search box, sortable, with start/stop/restart/remove on each row.

use std::cmp::Ordering;

use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::{use_params_map, use_query_map};
use protocol::{ContainerState, ContainerSummary, PortBinding};

use crate::api::{self, ContainerAction};
use crate::components::{
    badge::StateBadge,
    format::RelativeTime,
    icons::Icon,
    layout::endpoint_path,
    modal::ConfirmRequest,
    remote::{EmptyState, LoadError, Loading, Phase, Remote},
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
    let sort = Sort::new(Column::Name, true);
    let busy: Busy = RwSignal::new(Vec::new());
    let host = page_host();

    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        let column = sort.key.get();
        let mut rows: Vec<ContainerSummary> = list.value.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .filter(|c| matches_filter(c, &needle))
                .cloned()
                .collect(),
            _ => Vec::new(),
        });
        rows.sort_by(|a, b| sort.order(compare(column, a, b)));
        rows
    });
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

    let reload = move || list.reload();

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
        view! {
            <tr>
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
                    </div>
                </td>
            </tr>
        }
    };

    let table = move || {
        let row = row.clone();
        view! {
            <div class="table-wrap">
                <table
                    class="table table-cards"
                    style:display=move || if counts.get().is_some_and(|(total, _)| total > 0) { "" } else { "none" }
                >
                    <thead>
                        <tr>
                            <SortHeader sort=sort key=Column::Name label="Name"/>
                            <SortHeader sort=sort key=Column::State label="State"/>
                            <SortHeader sort=sort key=Column::Image label="Image"/>
                            <th scope="col">"Ports"</th>
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
                                hint="Containers started on this engine, with docker run or compose, appear here."
                            />
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
                    <button
                        type="button"
                        class="btn"
                        class:is-loading=move || list.loading.get()
                        on:click=move |_| list.reload()
                    >
                        {Icon::Refresh.view()}
                        <span>"Refresh"</span>
                    </button>
                </div>
            </div>
            {move || match list.phase.get() {
                Phase::Loading => view! { <Loading what="containers"/> }.into_any(),
                Phase::Failed(error) => view! {
                    <LoadError error=error endpoint=ep.get() what="containers" on_retry=move |()| list.reload()/>
                }
                .into_any(),
                Phase::Ready => table().into_any(),
            }}
        </div>
    }
}
