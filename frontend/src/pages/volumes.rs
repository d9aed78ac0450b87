//! `/endpoints/{ep}/volumes`: the endpoint's volumes, who uses them and
//! where, with create, remove and prune.

use std::collections::BTreeMap;

use std::cmp::Ordering;

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;
use protocol::{NewVolume, VolumeSummary};

use crate::api::{self, ApiError};
use crate::components::{
    format::{bytes, parse_time, RelativeTime},
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
    Created,
}

fn matches_filter(v: &VolumeSummary, needle: &str) -> bool {
    needle.is_empty()
        || v.name.to_lowercase().contains(needle)
        || v.driver.to_lowercase().contains(needle)
        || v.project
            .as_deref()
            .is_some_and(|p| p.to_lowercase().contains(needle))
        || v.used_by
            .iter()
            .any(|u| u.container.to_lowercase().contains(needle))
        || v.labels.iter().any(|(k, val)| {
            k.to_lowercase().contains(needle) || val.to_lowercase().contains(needle)
        })
}

/// The ascending order of two rows by `column`, then by name.
fn compare(column: Column, a: &VolumeSummary, b: &VolumeSummary) -> Ordering {
    let by_name = || a.name.cmp(&b.name);
    match column {
        Column::Name => by_name(),
        Column::Driver => a.driver.cmp(&b.driver).then_with(by_name),
        Column::Created => a.created_at.cmp(&b.created_at).then_with(by_name),
    }
}

/// `K=V` lines (labels): blank lines and `#` comments skipped.
pub fn parse_label_lines(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                labels.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            _ => return Err(format!("Line {}: write key=value", i + 1)),
        }
    }
    Ok(labels)
}

/// The labels a person set, without compose's bookkeeping.
fn own_labels(labels: &BTreeMap<String, String>) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|(k, _)| !k.starts_with("com.docker.compose."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[component]
pub fn VolumesPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());

    let list = Remote::new(move || {
        let ep = ep.get();
        async move { api::volumes(&ep).await }
    });
    crate::pages::reload_on_changes(list, &["volume", "container"]);
    let sort = Sort::new(Column::Name, true);
    let expanded = RwSignal::new(None::<String>);
    let pruning = RwSignal::new(false);

    let rows = sort.rows(list, app.search, matches_filter, compare);
    let counts = Memo::new(move |_| {
        list.value.with(|v| match v {
            Some(Ok(all)) => Some((
                all.len(),
                all.iter().filter(|v| v.used_by.is_empty()).count(),
            )),
            _ => None,
        })
    });

    let prune = move |_| {
        let unused = counts.get_untracked().map_or(0, |(_, unused)| unused);
        let title = "Prune unused volumes?".to_owned();
        let body = format!(
            "Every volume no container uses is deleted with its data ({unused} now). This cannot be undone."
        );
        app.ask(ConfirmRequest::new(title, body, "Prune", move || {
            let ep = ep.get_untracked();
            pruning.set(true);
            spawn_local(async move {
                match api::prune_volumes(&ep).await {
                    Ok(report) => {
                        let n = report.deleted.len();
                        app.toasts.success(format!(
                            "Pruned {n} {}, reclaimed {}",
                            if n == 1 { "volume" } else { "volumes" },
                            bytes(report.space_reclaimed)
                        ));
                    }
                    Err(e) => app
                        .toasts
                        .error(format!("Could not prune volumes: {}", e.message())),
                }
                pruning.set(false);
                list.reload();
            });
        }));
    };

    let row = move |v: VolumeSummary| {
        let ep_now = ep.get_untracked();
        let name = v.name.clone();
        let is_open = {
            let name = name.clone();
            move || expanded.with(|e| e.as_deref() == Some(name.as_str()))
        };
        let toggle = {
            let name = name.clone();
            move |_| {
                expanded.update(|e| {
                    *e = if e.as_deref() == Some(name.as_str()) {
                        None
                    } else {
                        Some(name.clone())
                    }
                })
            }
        };
        let remove = {
            let (ep, name, users) = (
                ep_now.clone(),
                name.clone(),
                v.used_by
                    .iter()
                    .map(|u| u.container.clone())
                    .collect::<Vec<_>>(),
            );
            move |_| ask_remove(app, list, ep.clone(), name.clone(), users.clone())
        };
        let labels = own_labels(&v.labels);
        let users = v.used_by.clone();
        let detail_id = format!("volume-detail-{}", v.name);
        let display_name = if v.anonymous && v.name.len() > 12 {
            format!("{}…", &v.name[..12])
        } else {
            v.name.clone()
        };
        let detail = {
            let v = v.clone();
            let detail_id = detail_id.clone();
            let is_open = is_open.clone();
            move || {
                is_open().then(|| {
                    view! {
                        <tr class="row-detail">
                            <td colspan="7" id=detail_id.clone()>
                                <dl class="kv kv-mono">
                                    <div class="kv-row"><dt>"Name"</dt><dd>{v.name.clone()}</dd></div>
                                    <div class="kv-row"><dt>"Mountpoint"</dt><dd>{v.mountpoint.clone()}</dd></div>
                                    <div class="kv-row"><dt>"Driver"</dt><dd>{v.driver.clone()}</dd></div>
                                    <div class="kv-row"><dt>"Scope"</dt><dd>{v.scope.clone()}</dd></div>
                                    {v.labels.iter().map(|(k, val)| view! {
                                        <div class="kv-row"><dt>{k.clone()}</dt><dd>{val.clone()}</dd></div>
                                    }).collect_view()}
                                </dl>
                            </td>
                        </tr>
                    }
                })
            }
        };
        view! {
            <tr>
                <td class="cell-expand">
                    <button
                        type="button"
                        class="btn-icon btn-expand"
                        aria-label=format!("Details of {}", v.name)
                        aria-expanded=move || if is_open() { "true" } else { "false" }
                        aria-controls=detail_id.clone()
                        on:click=toggle
                    >
                        {Icon::ChevronDown.view()}
                    </button>
                </td>
                <td class="cell-primary" data-label="Name">
                    <span class="row-title mono" title=v.name.clone()>{display_name}</span>
                    {v.anonymous.then(|| view! { <span class="tag" title="No name of its own: made for a container's VOLUME">"anonymous"</span> })}
                    {v.project.clone().map(|p| view! { <span class="tag" title="Compose project">{p}</span> })}
                </td>
                <td data-label="Driver" class="cell-nowrap">{v.driver.clone()}</td>
                <td data-label="Used by">
                    {if users.is_empty() {
                        view! { <span class="muted">"unused"</span> }.into_any()
                    } else {
                        view! {
                            <ul class="users">
                                {users.into_iter().map(|u| {
                                    let href = endpoint_path(&ep_now, &format!("containers/{}", u.container_id));
                                    view! {
                                        <li>
                                            <a href=href>{u.container.clone()}</a>
                                            <span class="mono muted">{format!(" {}", u.destination)}</span>
                                            {u.read_only.then(|| view! { <span class="tag">"ro"</span> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    }}
                </td>
                <td data-label="Created" class="cell-nowrap">
                    <RelativeTime secs=parse_time(&v.created_at) never="unknown"/>
                </td>
                <td data-label="Labels">
                    {if labels.is_empty() {
                        view! { <span class="muted">"—"</span> }.into_any()
                    } else {
                        view! {
                            <span class="labels">
                                {labels.into_iter().map(|(k, val)| view! {
                                    <span class="tag mono" title=format!("{k}={val}")>{format!("{k}={val}")}</span>
                                }).collect_view()}
                            </span>
                        }
                        .into_any()
                    }}
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Remove volume {}", v.name)
                            title="Remove"
                            on:click=remove
                        >
                            {Icon::Trash.view()}
                        </button>
                    </div>
                </td>
            </tr>
            {detail}
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Volumes"</h1>
                    <p class="page-sub">
                        {move || match counts.get() {
                            Some((total, unused)) => format!("{total} total · {unused} unused"),
                            None => "\u{a0}".to_owned(),
                        }}
                    </p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=list/>
                    <button type="button" class="btn btn-danger-outline" disabled=pruning on:click=prune>
                        {Icon::Trash.view()}
                        <span>"Prune unused volumes"</span>
                    </button>
                </div>
            </div>
            <div class="split">
                <div class="split-main">
                    <Loaded remote=list what="volumes" endpoint=ep>
                        <div class="table-wrap">
                            <table
                                class="table table-cards"
                                style:display=move || if counts.get().is_some_and(|(total, _)| total > 0) { "" } else { "none" }
                            >
                                <thead>
                                    <tr>
                                        <th scope="col" class="cell-expand"><span class="sr-only">"Details"</span></th>
                                        <SortHeader sort=sort key=Column::Name label="Name"/>
                                        <SortHeader sort=sort key=Column::Driver label="Driver"/>
                                        <th scope="col">"Used by"</th>
                                        <SortHeader sort=sort key=Column::Created label="Created"/>
                                        <th scope="col">"Labels"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For
                                        each=move || rows.get()
                                        key=|v| (v.name.clone(), v.used_by.iter().map(|u| (u.container.clone(), u.destination.clone(), u.read_only)).collect::<Vec<_>>())
                                        children=row
                                    />
                                </tbody>
                            </table>
                            {move || {
                                let total = counts.get().map_or(0, |(total, _)| total);
                                if total == 0 {
                                    view! {
                                        <EmptyState
                                            title="No volumes yet"
                                            hint="Create one with the form, or mount a named volume when you run a container."
                                        />
                                    }
                                    .into_any()
                                } else if rows.with(Vec::is_empty) {
                                    view! {
                                        <EmptyState title=format!("No volumes match “{}”", app.search.get().trim())>
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
                <CreateVolume ep=ep on_created=move || list.reload()/>
            </div>
        </div>
    }
}

fn ask_remove(
    app: AppState,
    list: Remote<Vec<VolumeSummary>>,
    ep: String,
    name: String,
    users: Vec<String>,
) {
    let title = format!("Remove volume {name}?");
    let body = if users.is_empty() {
        format!("{name} is deleted with everything stored in it. This cannot be undone.")
    } else {
        format!(
            "{name} is still used by {}: the engine will refuse until they are removed.",
            users.join(", ")
        )
    };
    app.ask(ConfirmRequest::new(title, body, "Remove", move || {
        let (ep, name) = (ep.clone(), name.clone());
        spawn_local(async move {
            match api::delete_volume(&ep, &name).await {
                Ok(()) => {
                    app.toasts.success(format!("Removed volume {name}"));
                    list.update_ok(|all| all.retain(|v| v.name != name));
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not remove volume {name}: {}", e.message())),
            }
        });
    }));
}

#[component]
fn CreateVolume(ep: Memo<String>, on_created: impl Fn() + Clone + 'static) -> impl IntoView {
    let app = use_app();
    let name = RwSignal::new(String::new());
    let driver = RwSignal::new(String::new());
    let labels = RwSignal::new(String::new());
    let options = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let labels_error = RwSignal::new(None::<String>);
    let options_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let parsed = match parse_label_lines(&labels.get_untracked()) {
            Ok(l) => l,
            Err(e) => {
                labels_error.set(Some(e));
                return;
            }
        };
        labels_error.set(None);
        let driver_opts = match parse_label_lines(&options.get_untracked()) {
            Ok(o) => o,
            Err(e) => {
                options_error.set(Some(e));
                return;
            }
        };
        options_error.set(None);
        let volume = NewVolume {
            name: name.get_untracked().trim().to_owned(),
            driver: Some(driver.get_untracked().trim().to_owned()).filter(|d| !d.is_empty()),
            driver_opts,
            labels: parsed,
        };
        let ep = ep.get_untracked();
        let on_created = on_created.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::create_volume(&ep, &volume).await {
                Ok(created) => {
                    app.toasts
                        .success(format!("Created volume {}", created.name));
                    name.set(String::new());
                    labels.set(String::new());
                    options.set(String::new());
                    on_created();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card split-side">
            <h2 class="card-title">"New volume"</h2>
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="volume-name">"Volume name"</label>
                    <input
                        id="volume-name"
                        class="input mono"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="e.g. app-data"
                        aria-invalid=move || error.with(Option::is_some).then_some("true")
                        aria-describedby="volume-form-error"
                        bind:value=name
                    />
                    <p class="field-hint">"Left empty, the engine picks a random name."</p>
                </div>
                <div class="field">
                    <label for="volume-driver">"Driver"</label>
                    <input id="volume-driver" class="input mono" type="text" placeholder="local" autocomplete="off" spellcheck="false" bind:value=driver/>
                </div>
                <div class="field">
                    <label for="volume-options">"Driver options"</label>
                    <textarea
                        id="volume-options"
                        class="input textarea mono"
                        rows="3"
                        spellcheck="false"
                        placeholder="type=nfs\no=addr=10.0.0.2,rw\ndevice=:/export"
                        aria-describedby="volume-options-hint volume-options-error"
                        bind:value=options
                    ></textarea>
                    <p class="field-hint" id="volume-options-hint">"key=value, one a line. A bind of a host folder (type=none, o=bind) follows the endpoint's security policy."</p>
                    <p class="field-error" id="volume-options-error" role="alert">{move || options_error.get()}</p>
                </div>
                <div class="field">
                    <label for="volume-labels">"Labels"</label>
                    <textarea
                        id="volume-labels"
                        class="input textarea mono"
                        rows="3"
                        spellcheck="false"
                        placeholder="key=value, one a line"
                        aria-describedby="volume-labels-error"
                        bind:value=labels
                    ></textarea>
                    <p class="field-error" id="volume-labels-error" role="alert">{move || labels_error.get()}</p>
                </div>
                {move || error.get().map(|e| view! { <div class="form-error" id="volume-form-error" role="alert">{e.message()}</div> })}
                <button type="submit" class="btn btn-primary" disabled=busy>
                    {Icon::Plus.view()}
                    <span>"Create volume"</span>
                </button>
            </form>
        </section>
    }
}
