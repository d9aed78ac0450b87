//! `/endpoints/{ep}/ports`: the port map, every published host port sorted
//! by number, with the container (and stack) behind it. TCP ports link to
//! this host, where a web app usually answers.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use protocol::PortMapping;

use crate::api;
use crate::components::{
    badge::StateBadge,
    icons::Icon,
    layout::endpoint_path,
    remote::{EmptyState, Loaded, RefreshButton, Remote},
};
use crate::pages::containers::page_host;
use crate::state::use_app;

fn matches_filter(p: &PortMapping, needle: &str) -> bool {
    needle.is_empty()
        || p.host_port.to_string().starts_with(needle)
        || p.container_port.to_string().starts_with(needle)
        || p.container.to_lowercase().contains(needle)
        || p.protocol == needle
        || p.host_ip.contains(needle)
        || p.project
            .as_deref()
            .is_some_and(|s| s.to_lowercase().contains(needle))
}

/// What the host address column says. The engine publishes a port on
/// 0.0.0.0 and :: at once; the two show as one row.
fn address(ips: &[String]) -> String {
    let wild = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    if ips.iter().all(|ip| wild(ip)) {
        let v4 = ips.iter().any(|ip| ip.is_empty() || ip == "0.0.0.0");
        let v6 = ips.iter().any(|ip| ip == "::");
        return match (v4, v6) {
            (true, true) => "all addresses".to_owned(),
            (true, false) => "0.0.0.0 (all IPv4)".to_owned(),
            _ => ":: (all IPv6)".to_owned(),
        };
    }
    ips.join(", ")
}

/// One row of the map: a binding and every host address it is on.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    ips: Vec<String>,
    port: PortMapping,
}

/// Sorted by host port; the same binding on several addresses becomes one row.
fn merge(mut list: Vec<PortMapping>) -> Vec<Row> {
    list.sort_by(|a, b| {
        (
            a.host_port,
            &a.protocol,
            &a.container_id,
            a.container_port,
            &a.host_ip,
        )
            .cmp(&(
                b.host_port,
                &b.protocol,
                &b.container_id,
                b.container_port,
                &b.host_ip,
            ))
    });
    let mut rows: Vec<Row> = Vec::new();
    for p in list {
        if let Some(last) = rows.last_mut() {
            let q = &last.port;
            if q.host_port == p.host_port
                && q.protocol == p.protocol
                && q.container_id == p.container_id
                && q.container_port == p.container_port
            {
                last.ips.push(p.host_ip.clone());
                continue;
            }
        }
        rows.push(Row {
            ips: vec![p.host_ip.clone()],
            port: p,
        });
    }
    rows
}

#[component]
pub fn PortsPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());
    let list = Remote::new(move || {
        let ep = ep.get();
        async move { api::ports(&ep).await }
    });
    crate::pages::reload_on_changes(list, &["container"]);
    let host = page_host();

    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        merge(list.value.with(|v| {
            match v {
                Some(Ok(all)) => all
                    .iter()
                    .filter(|p| matches_filter(p, &needle))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            }
        }))
    });
    let total = Memo::new(move |_| {
        list.value.with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|all| merge(all.clone()).len())
        })
    });

    let row = move |Row { ips, port: p }: Row| {
        let ep_now = ep.get_untracked();
        let container_href = endpoint_path(&ep_now, &format!("containers/{}", p.container_id));
        let port = if p.protocol == "tcp" {
            let href = format!("http://{host}:{}", p.host_port);
            view! {
                <a class="port" href=href target="_blank" rel="noopener noreferrer" title="Open in a new tab">
                    {p.host_port.to_string()}
                    {Icon::External.view()}
                </a>
            }
            .into_any()
        } else {
            view! { <span class="port">{p.host_port.to_string()}</span> }.into_any()
        };
        view! {
            <tr>
                <td data-label="Host IP" class="cell-nowrap" title=ips.join(", ")><span class="mono">{address(&ips)}</span></td>
                <td class="cell-primary" data-label="Host port">{port}</td>
                <td data-label="Protocol" class="cell-nowrap">{p.protocol.clone()}</td>
                <td data-label="Container port"><span class="mono">{p.container_port.to_string()}</span></td>
                <td data-label="Container">
                    <a href=container_href>{p.container.clone()}</a>
                </td>
                <td data-label="Stack">
                    {match p.project.clone() {
                        Some(project) => view! { <span class="tag" title="Compose project">{project}</span> }.into_any(),
                        None => view! { <span class="muted">"—"</span> }.into_any(),
                    }}
                </td>
                <td data-label="State"><StateBadge state=p.state/></td>
            </tr>
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Ports"</h1>
                    <p class="page-sub">
                        {move || match total.get() {
                            Some(1) => "1 published host port".to_owned(),
                            Some(n) => format!("{n} published host ports"),
                            None => "\u{a0}".to_owned(),
                        }}
                    </p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=list/>
                </div>
            </div>
            <Loaded remote=list what="ports" endpoint=ep>
                <div class="table-wrap">
                    <table
                        class="table table-cards"
                        style:display=move || if total.get().is_some_and(|n| n != 0) { "" } else { "none" }
                    >
                        <thead>
                            <tr>
                                <th scope="col">"Host IP"</th>
                                <th scope="col">"Host port"</th>
                                <th scope="col">"Protocol"</th>
                                <th scope="col">"Container port"</th>
                                <th scope="col">"Container"</th>
                                <th scope="col">"Stack"</th>
                                <th scope="col">"State"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || rows.get()
                                key=|r| (r.ips.clone(), r.port.host_port, r.port.protocol.clone(), r.port.container_id.clone(), r.port.container_port, r.port.state, r.port.container.clone())
                                children=row.clone()
                            />
                        </tbody>
                    </table>
                    {move || {
                        if total.get().unwrap_or(0) == 0 {
                            view! {
                                <EmptyState
                                    title="No published ports"
                                    hint="Run a container with a port (-p 8080:80) and it appears here."
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
                                <EmptyState title=format!("No ports match “{}”", app.search.get().trim())>
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
            </Loaded>
        </div>
    }
}
