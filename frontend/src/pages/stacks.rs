//! `/endpoints/{ep}/stacks`: the compose stacks of the endpoint, berth's own
//! and those another tool started (which can be adopted), with deploy, down,
//! restart and delete on each row.

use std::cmp::Ordering;

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::{hooks::use_navigate, hooks::use_params_map, NavigateOptions};
use protocol::{StackOrigin, StackSummary};

use crate::api::{self, ApiError};
use crate::components::{
    format::{parse_time, RelativeTime},
    icons::Icon,
    layout::endpoint_path,
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, RefreshButton, Remote},
    table::{Sort, SortHeader},
};
use crate::pages::stack_deploy::{start_run, Planned, Run, RunKind, RunPanel};
use crate::state::{use_app, AppState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Services,
    Updated,
}

/// The path of a stack's page.
pub fn stack_path(ep: &str, name: &str, rest: &str) -> String {
    let base = endpoint_path(
        ep,
        &format!(
            "stacks/{}",
            String::from(js_sys::encode_uri_component(name))
        ),
    );
    format!("{base}{rest}")
}

/// Compose project names, as the server checks them: lower-case letters,
/// digits, `-` and `_`, starting with a letter or digit.
pub fn stack_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("Give the stack a name.");
    }
    if name.len() > 63 {
        return Some("At most 63 characters.");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Some("Start with a lower-case letter or a digit.");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Some("Use lower-case letters, digits, - and _ only.");
    }
    None
}

/// "2/3 running", green when all run, amber when some, grey when none.
#[component]
pub fn RunningBadge(running: usize, total: usize) -> impl IntoView {
    let tone = if total > 0 && running >= total {
        "green"
    } else if running > 0 {
        "amber"
    } else {
        "grey"
    };
    let title = format!("{running} of {total} services have a running container");
    view! {
        <span class=format!("badge badge-{tone}") title=title>
            <span class="badge-dot" aria-hidden="true"></span>
            {format!("{running}/{total} running")}
        </span>
    }
}

#[component]
pub fn OriginBadge(origin: StackOrigin, #[prop(optional)] long: bool) -> impl IntoView {
    match origin {
        StackOrigin::Berth => view! {
            <span class="badge badge-accent" title="berth keeps this stack's compose file">"berth"</span>
        }
        .into_any(),
        StackOrigin::External => view! {
            <span
                class="badge badge-amber"
                title="Started by the compose CLI or another tool: berth has no file for it until it is adopted"
            >
                {if long { "external — not managed yet" } else { "external" }}
            </span>
        }
        .into_any(),
    }
}

/// Takes an external stack over with the file its labels name. `Ok(false)`
/// means berth could not read that file: the caller asks for it.
pub async fn adopt(app: AppState, ep: &str, name: &str) -> Result<bool, ApiError> {
    match api::adopt_stack(ep, name, None).await {
        Ok(detail) => {
            app.toasts.success(format!(
                "Adopted {name}: berth keeps its file now (revision {})",
                detail.revision
            ));
            Ok(true)
        }
        Err(e) if e.status == 400 && e.detail.contains("cannot read") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Asks before taking a stack down (its volumes stay), then runs `down` in
/// `run`.
pub fn ask_down(
    app: AppState,
    run: RwSignal<Option<Run>>,
    ep: String,
    name: String,
    done: impl Fn(bool) + Clone + Send + Sync + 'static,
) {
    let title = format!("Take down stack {name}?");
    let body = format!(
        "The containers and networks of {name} are removed. Its volumes and compose file are kept: Deploy brings it back."
    );
    app.ask(ConfirmRequest::new(title, body, "Take down", move || {
        let done = done.clone();
        start_run(
            app,
            run,
            ep.clone(),
            name.clone(),
            RunKind::Down(false),
            Planned::Unknown,
            done,
        );
    }));
}

/// Restarts, stops or starts every container of a stack.
pub fn stack_verb(
    app: AppState,
    ep: String,
    name: String,
    verb: &'static str,
    done: impl FnOnce() + 'static,
) {
    let word = match verb {
        "restart" => "Restarted",
        "stop" => "Stopped",
        _ => "Started",
    };
    spawn_local(async move {
        match api::stack_verb(&ep, &name, verb).await {
            Ok(()) => app.toasts.success(format!("{word} {name}")),
            Err(e) => app
                .toasts
                .error(format!("Could not {verb} {name}: {}", e.message())),
        }
        done();
    });
}

/// "Delete stack web?" with "Also remove its volumes": one native dialog
/// for the page, open while `target` names a stack.
#[component]
pub fn DeleteStackDialog(
    target: RwSignal<Option<String>>,
    #[prop(into)] ep: Signal<String>,
    on_deleted: impl Fn(String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    let volumes = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let wanted = target.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if wanted && !dialog.open() {
                volumes.set(false);
                error.set(None);
                let _ = dialog.show_modal();
            } else if !wanted && dialog.open() {
                dialog.close();
            }
        }
    });
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some(name) = target.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        let (ep, with_volumes, on_deleted) = (
            ep.get_untracked(),
            volumes.get_untracked(),
            on_deleted.clone(),
        );
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::delete_stack(&ep, &name, with_volumes).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    app.toasts.success(if with_volumes {
                        format!("Deleted stack {name} and its volumes")
                    } else {
                        format!("Deleted stack {name}")
                    });
                    target.set(None);
                    on_deleted(name);
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-labelledby="delete-stack-title"
            aria-describedby="delete-stack-body"
            on:close=move |_| if !busy.get_untracked() { target.set(None) }
        >
            {move || target.get().map(|name| {
                let submit = submit.clone();
                view! {
                <form class="form" on:submit=submit>
                    <h2 id="delete-stack-title" class="modal-title">{format!("Delete stack {name}?")}</h2>
                    <p id="delete-stack-body" class="modal-body">
                        {format!("The containers and networks of {name} are removed, and berth forgets its compose file and revisions. Its volumes stay unless you tick the box.")}
                    </p>
                    <label class="check">
                        <input type="checkbox" bind:checked=volumes/>
                        <span>"Also remove its volumes"</span>
                    </label>
                    <p class="field-error" role="alert">{move || error.get()}</p>
                    <div class="modal-actions">
                        <button type="button" class="btn" autofocus on:click=move |_| target.set(None)>"Cancel"</button>
                        <button type="submit" class="btn btn-danger" disabled=busy>
                            {move || if busy.get() { "Deleting…" } else { "Delete" }}
                        </button>
                    </div>
                </form>
            }})}
        </dialog>
    }
}

fn matches_filter(s: &StackSummary, needle: &str) -> bool {
    needle.is_empty()
        || s.name.to_lowercase().contains(needle)
        || (s.origin == StackOrigin::External && "external".contains(needle))
}

/// The ascending order of two rows by `column`, then by name.
fn compare(column: Column, a: &StackSummary, b: &StackSummary) -> Ordering {
    let by_name = || a.name.cmp(&b.name);
    match column {
        Column::Name => by_name(),
        Column::Services => (a.services_running, a.services_total)
            .cmp(&(b.services_running, b.services_total))
            .then_with(by_name),
        Column::Updated => a.updated_at.cmp(&b.updated_at).then_with(by_name),
    }
}

#[component]
pub fn StacksPage() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());

    let list = Remote::new(move || {
        let ep = ep.get();
        async move { api::stacks(&ep).await }
    });
    crate::pages::reload_on_changes(list, &["container", "network", "volume"]);
    let sort = Sort::new(Column::Name, true);
    let run = RwSignal::new(None::<Run>);
    let deleting = RwSignal::new(None::<String>);
    let adopting = RwSignal::new(None::<String>);

    let rows = sort.rows(list, app.search, matches_filter, compare);
    let counts = Memo::new(move |_| {
        list.value.with(|v| match v {
            Some(Ok(all)) => Some((
                all.len(),
                all.iter().filter(|s| s.services_running > 0).count(),
            )),
            _ => None,
        })
    });
    let reload = move || list.reload();

    let row = move |s: StackSummary| {
        let ep_now = ep.get_untracked();
        let href = stack_path(&ep_now, &s.name, "");
        let name = s.name.clone();
        let external = s.origin == StackOrigin::External;
        let busy = {
            let name = name.clone();
            move || {
                run.with(|r| r.as_ref().is_some_and(|r| r.running() && r.stack == name))
                    || adopting.with(|a| a.as_deref() == Some(name.as_str()))
            }
        };
        let deploy = {
            let (ep, name) = (ep_now.clone(), name.clone());
            move |_| {
                start_run(
                    app,
                    run,
                    ep.clone(),
                    name.clone(),
                    RunKind::Up,
                    Planned::Saved,
                    move |_| reload(),
                )
            }
        };
        let down = {
            let (ep, name) = (ep_now.clone(), name.clone());
            move |_| ask_down(app, run, ep.clone(), name.clone(), move |_| reload())
        };
        let restart = {
            let (ep, name) = (ep_now.clone(), name.clone());
            move |_| stack_verb(app, ep.clone(), name.clone(), "restart", reload)
        };
        let remove = {
            let name = name.clone();
            move |_| deleting.set(Some(name.clone()))
        };
        let adopt_now = {
            let (ep, name) = (ep_now.clone(), name.clone());
            let navigate = navigate.clone();
            move |_| {
                let (ep, name, navigate) = (ep.clone(), name.clone(), navigate.clone());
                adopting.set(Some(name.clone()));
                spawn_local(async move {
                    let result = adopt(app, &ep, &name).await;
                    adopting.set(None);
                    match result {
                        Ok(true) => reload(),
                        // berth cannot read the file: its page asks for it.
                        Ok(false) => navigate(
                            &stack_path(&ep, &name, "?adopt=paste"),
                            NavigateOptions::default(),
                        ),
                        Err(e) => app
                            .toasts
                            .error(format!("Could not adopt {name}: {}", e.message())),
                    }
                });
            }
        };
        let has_containers = s.containers > 0;
        view! {
            <tr data-stack=s.name.clone()>
                <td class="cell-primary" data-label="Name">
                    <a class="row-title" href=href>{s.name.clone()}</a>
                </td>
                <td data-label="Origin">
                    <OriginBadge origin=s.origin long=true/>
                </td>
                <td data-label="Services">
                    <RunningBadge running=s.services_running total=s.services_total/>
                </td>
                <td data-label="Containers" class="num">{s.containers}</td>
                <td data-label="Updated" class="cell-nowrap">
                    <RelativeTime secs=s.updated_at.as_deref().and_then(parse_time) never="—"/>
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        {
                            let busy = busy.clone();
                            move || busy().then(|| view! { <span class="spinner spinner-sm" role="status" aria-label="Working"></span> })
                        }
                        {if external {
                            view! {
                                <button
                                    type="button"
                                    class="btn btn-sm"
                                    aria-label=format!("Adopt {name}")
                                    title="Let berth manage this stack from its compose file"
                                    disabled=busy.clone()
                                    on:click=adopt_now
                                >
                                    "Adopt"
                                </button>
                            }
                            .into_any()
                        } else {
                            view! {
                                <button
                                    type="button"
                                    class="btn-icon"
                                    aria-label=format!("Deploy {name}")
                                    title="Deploy (up)"
                                    disabled=busy.clone()
                                    on:click=deploy
                                >
                                    {Icon::Play.view()}
                                </button>
                            }
                            .into_any()
                        }}
                        <button
                            type="button"
                            class="btn-icon"
                            aria-label=format!("Take down {name}")
                            title="Down"
                            disabled={
                                let busy = busy.clone();
                                move || busy() || !has_containers
                            }
                            on:click=down
                        >
                            {Icon::Stop.view()}
                        </button>
                        <button
                            type="button"
                            class="btn-icon"
                            aria-label=format!("Restart {name}")
                            title="Restart"
                            disabled={
                                let busy = busy.clone();
                                move || busy() || !has_containers
                            }
                            on:click=restart
                        >
                            {Icon::Restart.view()}
                        </button>
                        {(!external).then(|| view! {
                            <button
                                type="button"
                                class="btn-icon btn-icon-danger"
                                aria-label=format!("Delete {name}")
                                title="Delete"
                                disabled=busy.clone()
                                on:click=remove.clone()
                            >
                                {Icon::Trash.view()}
                            </button>
                        })}
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
                            <th scope="col">"Origin"</th>
                            <SortHeader sort=sort key=Column::Services label="Services"/>
                            <th scope="col" class="num">"Containers"</th>
                            <SortHeader sort=sort key=Column::Updated label="Updated"/>
                            <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || rows.get()
                            key=|s| (s.name.clone(), s.origin == StackOrigin::External, s.services_running, s.services_total, s.containers, s.updated_at.clone())
                            children=row
                        />
                    </tbody>
                </table>
                {move || {
                    let total = counts.get().map_or(0, |(total, _)| total);
                    if total == 0 {
                        view! {
                            <EmptyState
                                title="No stacks yet — Create stack"
                                hint="A stack is a compose file berth deploys for you. Projects started with docker compose show up here too."
                            >
                                <a class="btn btn-primary" href=endpoint_path(&ep.get(), "stacks/new")>
                                    {Icon::Plus.view()}
                                    <span>"Create stack"</span>
                                </a>
                            </EmptyState>
                        }
                        .into_any()
                    } else if rows.with(Vec::is_empty) {
                        view! {
                            <EmptyState title=format!("No stacks match “{}”", app.search.get().trim())>
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
                    <h1>"Stacks"</h1>
                    <p class="page-sub">
                        {move || match counts.get() {
                            Some((total, running)) => format!("{total} total · {running} running"),
                            None => "\u{a0}".to_owned(),
                        }}
                    </p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=list/>
                    <a class="btn btn-primary" href=move || endpoint_path(&ep.get(), "stacks/new")>
                        {Icon::Plus.view()}
                        <span>"Create stack"</span>
                    </a>
                </div>
            </div>
            <RunPanel run=run link_ep=ep.get_untracked()/>
            <Loaded remote=list what="stacks" endpoint=ep>
                {table.clone()}
            </Loaded>
            <DeleteStackDialog target=deleting ep=ep on_deleted=move |name: String| {
                list.update_ok(|all| all.retain(|s| s.name != name));
                list.reload();
            }/>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::stack_name_problem;

    #[test]
    fn names_follow_compose_rules() {
        assert_eq!(stack_name_problem("shop"), None);
        assert_eq!(stack_name_problem("web_2-a"), None);
        assert!(stack_name_problem("").is_some());
        assert!(stack_name_problem("Shop").is_some());
        assert!(stack_name_problem("-shop").is_some());
        assert!(stack_name_problem("my shop").is_some());
        assert!(stack_name_problem(&"a".repeat(64)).is_some());
    }
}
