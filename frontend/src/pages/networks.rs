//! `/endpoints/{ep}/networks`: the endpoint's networks with their subnets
//! and attached containers; create, remove, connect and disconnect.

use std::cmp::Ordering;

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;
use protocol::{NetworkConnection, NetworkSummary, NewNetwork};

use crate::api::{self, ApiError};
use crate::components::{
    icons::Icon,
    layout::endpoint_path,
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, RefreshButton, Remote},
    table::{Sort, SortHeader},
};
use crate::state::{use_app, AppState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Driver,
}

fn matches_filter(n: &NetworkSummary, needle: &str) -> bool {
    needle.is_empty()
        || n.name.to_lowercase().contains(needle)
        || n.driver.to_lowercase().contains(needle)
        || n.id.starts_with(needle)
        || n.subnets.iter().any(|s| s.subnet.contains(needle))
        || n.project
            .as_deref()
            .is_some_and(|p| p.to_lowercase().contains(needle))
        || n.containers
            .iter()
            .any(|c| c.container.to_lowercase().contains(needle) || c.ipv4_address.contains(needle))
}

/// The ascending order of two rows by `column`, then by name.
fn compare(column: Column, a: &NetworkSummary, b: &NetworkSummary) -> Ordering {
    let by_name = || a.name.cmp(&b.name);
    match column {
        Column::Name => by_name(),
        Column::Driver => a.driver.cmp(&b.driver).then_with(by_name),
    }
}

/// The network a "Connect a container" dialog is for: (id, name, attached
/// container ids).
type ConnectTarget = (String, String, Vec<String>);

#[component]
pub fn NetworksPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());

    let list = Remote::new(move || {
        let ep = ep.get();
        async move { api::networks(&ep).await }
    });
    crate::pages::reload_on_changes(list, &["network", "container"]);
    let sort = Sort::new(Column::Name, true);
    let connect = RwSignal::new(None::<ConnectTarget>);

    let rows = sort.rows(list, app.search, matches_filter, compare);
    let total = Memo::new(move |_| {
        list.value
            .with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).map(Vec::len))
    });

    let row = move |n: NetworkSummary| {
        let ep_now = ep.get_untracked();
        let subnets = n.subnets.clone();
        let members = n.containers.clone();
        let remove = {
            let (ep, id, name, attached) = (
                ep_now.clone(),
                n.id.clone(),
                n.name.clone(),
                n.containers.len(),
            );
            move |_| ask_remove(app, list, ep.clone(), id.clone(), name.clone(), attached)
        };
        let open_connect = {
            let target = (
                n.id.clone(),
                n.name.clone(),
                n.containers
                    .iter()
                    .map(|c| c.container_id.clone())
                    .collect::<Vec<_>>(),
            );
            move |_| connect.set(Some(target.clone()))
        };
        let can_connect = !matches!(n.name.as_str(), "host" | "none");
        view! {
            <tr>
                <td class="cell-primary" data-label="Name">
                    <span class="row-title">{n.name.clone()}</span>
                    {n.builtin.then(|| view! { <span class="tag" title="Made by the engine; cannot be removed">"built-in"</span> })}
                    {n.project.clone().map(|p| view! { <span class="tag" title="Compose project">{p}</span> })}
                    {n.internal.then(|| view! { <span class="badge badge-amber" title="No route to the outside">"internal"</span> })}
                </td>
                <td data-label="Driver" class="cell-nowrap">{n.driver.clone()}</td>
                <td data-label="Subnet">
                    {if subnets.is_empty() {
                        view! { <span class="muted">"—"</span> }.into_any()
                    } else {
                        subnets.into_iter().map(|s| view! {
                            <div class="mono subnet">
                                <div>{s.subnet.clone()}</div>
                                {(!s.gateway.is_empty()).then(|| view! { <div class="muted" title="Gateway">{format!("gw {}", s.gateway)}</div> })}
                            </div>
                        }).collect_view().into_any()
                    }}
                </td>
                <td data-label="Containers">
                    {if members.is_empty() {
                        view! { <span class="muted">"none"</span> }.into_any()
                    } else {
                        view! {
                            <ul class="users">
                                {members.into_iter().map(|m| {
                                    let href = endpoint_path(&ep_now, &format!("containers/{}", m.container_id));
                                    let disconnect = {
                                        let (ep, net_id, net_name, cid, cname) = (
                                            ep_now.clone(), n.id.clone(), n.name.clone(), m.container_id.clone(), m.container.clone(),
                                        );
                                        move |_| ask_disconnect(app, list, ep.clone(), net_id.clone(), net_name.clone(), cid.clone(), cname.clone())
                                    };
                                    let ip = m.ipv4_address.split('/').next().unwrap_or_default().to_owned();
                                    view! {
                                        <li class="member">
                                            <a href=href>{m.container.clone()}</a>
                                            {(!m.aliases.is_empty()).then(|| view! {
                                                <span class="muted" title="Aliases">{format!("({})", m.aliases.join(", "))}</span>
                                            })}
                                            <span class="member-ip">
                                            {(!ip.is_empty()).then(|| view! { <span class="mono muted">{ip.clone()}</span> })}
                                            <button
                                                type="button"
                                                class="btn-icon btn-icon-danger btn-xs"
                                                aria-label=format!("Disconnect {} from {}", m.container, n.name)
                                                title="Disconnect"
                                                on:click=disconnect
                                            >
                                                {Icon::Close.view()}
                                            </button>
                                            </span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    }}
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        {can_connect.then(|| view! {
                            <button
                                type="button"
                                class="btn-icon"
                                aria-label=format!("Connect a container to {}", n.name)
                                title="Connect a container"
                                on:click=open_connect
                            >
                                {Icon::Plus.view()}
                            </button>
                        })}
                        {(!n.builtin).then(|| view! {
                            <button
                                type="button"
                                class="btn-icon btn-icon-danger"
                                aria-label=format!("Remove network {}", n.name)
                                title="Remove"
                                on:click=remove
                            >
                                {Icon::Trash.view()}
                            </button>
                        })}
                    </div>
                </td>
            </tr>
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Networks"</h1>
                    <p class="page-sub">
                        {move || match total.get() {
                            Some(n) => format!("{n} total"),
                            None => "\u{a0}".to_owned(),
                        }}
                    </p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=list/>
                </div>
            </div>
            <div class="split">
                <div class="split-main">
                    <Loaded remote=list what="networks" endpoint=ep>
                        <div class="table-wrap">
                            <table class="table table-cards">
                                <thead>
                                    <tr>
                                        <SortHeader sort=sort key=Column::Name label="Name"/>
                                        <SortHeader sort=sort key=Column::Driver label="Driver"/>
                                        <th scope="col">"Subnet / gateway"</th>
                                        <th scope="col">"Containers"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For
                                        each=move || rows.get()
                                        key=|n| (n.id.clone(), n.containers.iter().map(|c| (c.container.clone(), c.ipv4_address.clone(), c.aliases.clone())).collect::<Vec<_>>())
                                        children=row
                                    />
                                </tbody>
                            </table>
                            {move || rows.with(Vec::is_empty).then(|| view! {
                                <EmptyState title=format!("No networks match “{}”", app.search.get().trim())>
                                    <button type="button" class="btn" on:click=move |_| app.search.set(String::new())>
                                        "Clear filter"
                                    </button>
                                </EmptyState>
                            })}
                        </div>
                    </Loaded>
                </div>
                <CreateNetwork ep=ep on_created=move || list.reload()/>
            </div>
            <ConnectDialog target=connect ep=ep on_done=move || list.reload()/>
        </div>
    }
}

fn ask_remove(
    app: AppState,
    list: Remote<Vec<NetworkSummary>>,
    ep: String,
    id: String,
    name: String,
    attached: usize,
) {
    let title = format!("Remove network {name}?");
    let body = if attached == 0 {
        format!("{name} is deleted. Containers can no longer be attached to it.")
    } else {
        format!(
            "{attached} container(s) are still attached to {name}: the engine will refuse until they are disconnected."
        )
    };
    app.ask(ConfirmRequest::new(title, body, "Remove", move || {
        let (ep, id, name) = (ep.clone(), id.clone(), name.clone());
        spawn_local(async move {
            match api::delete_network(&ep, &id).await {
                Ok(()) => {
                    app.toasts.success(format!("Removed network {name}"));
                    list.update_ok(|all| all.retain(|n| n.id != id));
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not remove network {name}: {}", e.message())),
            }
        });
    }));
}

fn ask_disconnect(
    app: AppState,
    list: Remote<Vec<NetworkSummary>>,
    ep: String,
    network_id: String,
    network: String,
    container_id: String,
    container: String,
) {
    let title = format!("Disconnect {container} from {network}?");
    let body = format!("{container} loses its address on {network} and can no longer reach the containers there by name.");
    app.ask(ConfirmRequest::new(title, body, "Disconnect", move || {
        let (ep, network_id, network, container_id, container) = (
            ep.clone(),
            network_id.clone(),
            network.clone(),
            container_id.clone(),
            container.clone(),
        );
        spawn_local(async move {
            let connection = NetworkConnection {
                container: container_id,
                aliases: Vec::new(),
                force: false,
            };
            match api::disconnect_network(&ep, &network_id, &connection).await {
                Ok(()) => app
                    .toasts
                    .success(format!("Disconnected {container} from {network}")),
                Err(e) => app.toasts.error(format!(
                    "Could not disconnect {container} from {network}: {}",
                    e.message()
                )),
            }
            list.reload();
        });
    }));
}

#[component]
fn CreateNetwork(ep: Memo<String>, on_created: impl Fn() + Clone + 'static) -> impl IntoView {
    let app = use_app();
    let name = RwSignal::new(String::new());
    let subnet = RwSignal::new(String::new());
    let gateway = RwSignal::new(String::new());
    let internal = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    // Which field the server's error is about.
    let error_on = move |word: &'static str| {
        move || {
            error
                .get()
                .filter(|e| e.detail.to_lowercase().contains(word))
                .map(|e| e.message())
        }
    };
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let trimmed = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_owned()).filter(|v| !v.is_empty())
        };
        let network = NewNetwork {
            name: name.get_untracked().trim().to_owned(),
            driver: None,
            subnet: trimmed(subnet),
            gateway: trimmed(gateway),
            internal: internal.get_untracked(),
            labels: Default::default(),
        };
        let ep = ep.get_untracked();
        let on_created = on_created.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::create_network(&ep, &network).await {
                Ok(created) => {
                    app.toasts
                        .success(format!("Created network {}", created.name));
                    name.set(String::new());
                    subnet.set(String::new());
                    gateway.set(String::new());
                    internal.set(false);
                    on_created();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let general = move || {
        error.get().filter(|e| {
            let d = e.detail.to_lowercase();
            !d.contains("subnet") && !d.contains("gateway")
        })
    };
    view! {
        <section class="card split-side">
            <h2 class="card-title">"New network"</h2>
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="network-name">"Network name"</label>
                    <input
                        id="network-name"
                        class="input mono"
                        type="text"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="e.g. backend"
                        aria-describedby="network-form-error"
                        bind:value=name
                    />
                </div>
                <div class="field">
                    <label for="network-subnet">"Subnet"</label>
                    <input id="network-subnet" class="input mono" type="text" placeholder="e.g. 172.30.0.0/24" autocomplete="off" spellcheck="false" aria-describedby="network-subnet-error" bind:value=subnet/>
                    <p class="field-hint">"Optional: the engine picks one when empty."</p>
                    <p class="field-error" id="network-subnet-error" role="alert">{error_on("subnet")}</p>
                </div>
                <div class="field">
                    <label for="network-gateway">"Gateway"</label>
                    <input id="network-gateway" class="input mono" type="text" placeholder="e.g. 172.30.0.1" autocomplete="off" spellcheck="false" aria-describedby="network-gateway-error" bind:value=gateway/>
                    <p class="field-error" id="network-gateway-error" role="alert">
                        {move || error_on("gateway")().filter(|_| !error.with(|e| e.as_ref().is_some_and(|e| e.detail.to_lowercase().contains("subnet"))))}
                    </p>
                </div>
                <label class="check">
                    <input type="checkbox" bind:checked=internal/>
                    <span>"Internal"</span>
                </label>
                <p class="field-hint">"An internal network has no route to the outside world."</p>
                {move || general().map(|e| view! { <div class="form-error" id="network-form-error" role="alert">{e.message()}</div> })}
                <button type="submit" class="btn btn-primary" disabled=busy>
                    {Icon::Plus.view()}
                    <span>"Create network"</span>
                </button>
            </form>
        </section>
    }
}

/// "Connect a container to <network>": pick a container, give aliases.
#[component]
fn ConnectDialog(
    target: RwSignal<Option<ConnectTarget>>,
    ep: Memo<String>,
    on_done: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    let container = RwSignal::new(String::new());
    let aliases = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // (id, name) of every container, loaded when the dialog opens.
    let choices = RwSignal::new(None::<Result<Vec<(String, String)>, ApiError>>);
    Effect::new(move |_| {
        let wanted = target.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if wanted && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !wanted && dialog.open() {
                dialog.close();
            }
        }
    });
    Effect::new(move |_| {
        let Some((_, _, attached)) = target.get() else {
            return;
        };
        container.set(String::new());
        aliases.set(String::new());
        error.set(None);
        choices.set(None);
        let ep = ep.get_untracked();
        spawn_local(async move {
            let result = api::containers(&ep).await.map(|all| {
                let mut list: Vec<(String, String)> = all
                    .into_iter()
                    .filter(|c| !attached.contains(&c.id))
                    .map(|c| (c.id, c.name))
                    .collect();
                list.sort_by(|a, b| a.1.cmp(&b.1));
                list
            });
            if let Ok(list) = &result {
                if let Some((id, _)) = list.first() {
                    container.set(id.clone());
                }
            }
            choices.set(Some(result));
        });
    });
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some((network_id, network, _)) = target.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        let chosen = container.get_untracked();
        if chosen.is_empty() {
            error.set(Some("Choose a container".into()));
            return;
        }
        let name = choices.with_untracked(|c| {
            c.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(|l| {
                    l.iter()
                        .find(|(id, _)| id == &chosen)
                        .map(|(_, n)| n.clone())
                })
                .unwrap_or_else(|| chosen.clone())
        });
        let connection = NetworkConnection {
            container: chosen,
            aliases: aliases
                .get_untracked()
                .split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
            force: false,
        };
        let ep = ep.get_untracked();
        let on_done = on_done.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::connect_network(&ep, &network_id, &connection).await {
                Ok(()) => {
                    app.toasts.success(format!("Connected {name} to {network}"));
                    target.set(None);
                    on_done();
                }
                Err(e) => error.set(Some(e.message())),
            }
            busy.set(false);
        });
    };
    view! {
        <dialog node_ref=dialog class="modal" aria-labelledby="connect-title" on:close=move |_| target.set(None)>
            {move || target.get().map(|(_, network, _)| {
                let submit = submit.clone();
                view! {
                <form class="form" on:submit=submit>
                    <h2 id="connect-title" class="modal-title">{format!("Connect a container to {network}")}</h2>
                    <div class="field">
                        <label for="connect-container">"Container"</label>
                        {move || match choices.get() {
                            None => view! { <p class="muted" role="status">"Loading containers…"</p> }.into_any(),
                            Some(Err(e)) => view! { <p class="field-error" role="alert">{e.message()}</p> }.into_any(),
                            Some(Ok(list)) if list.is_empty() => view! {
                                <p class="muted">"Every container is already attached."</p>
                            }.into_any(),
                            Some(Ok(list)) => view! {
                                <select id="connect-container" class="select" bind:value=container>
                                    {list.into_iter().map(|(id, name)| {
                                        let value = id.clone();
                                        view! { <option value=id selected=move || container.get() == value>{name}</option> }
                                    }).collect_view()}
                                </select>
                            }.into_any(),
                        }}
                    </div>
                    <div class="field">
                        <label for="connect-aliases">"Aliases"</label>
                        <input id="connect-aliases" class="input mono" type="text" placeholder="e.g. db, primary" autocomplete="off" spellcheck="false" bind:value=aliases/>
                        <p class="field-hint">"Other names it answers to on this network, comma-separated."</p>
                    </div>
                    <p class="field-error" role="alert">{move || error.get()}</p>
                    <div class="modal-actions">
                        <button type="button" class="btn" on:click=move |_| target.set(None)>"Cancel"</button>
                        <button type="submit" class="btn btn-primary" disabled=busy>"Connect"</button>
                    </div>
                </form>
                }
            })}
        </dialog>
    }
}
