//! `/endpoints/{ep}/stacks/{name}`: one stack, with its actions and the tabs
//! Editor (the compose file and `.env`, checked as they are typed), Config
//! (the saved file as a deploy resolves it), Plan
//! (what a deploy would do, and the deploy itself), Services (and their
//! containers), Logs (merged), Files (build contexts and other files in the
//! stack's folder) and Revisions (diffs, roll back). A stack
//! another tool started shows its services and logs, and can be adopted.

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use protocol::{
    ContainerState, ContainerSummary, StackDetail, StackInput, StackOrigin, StackPlan,
    StackRevision,
};

use crate::api::{self, ApiError};
use crate::components::tabs::{remember_tab, TabItem, TabPanel, TabStrip};
use crate::components::{
    badge::StateBadge,
    diff::DiffView,
    format::{parse_time, RelativeTime},
    icons::Icon,
    layout::{endpoint_path, line_icon},
    logs::{LogSource, LogView},
    modal::ConfirmRequest,
    remote::{DetailLoaded, EmptyState, LoadError, Loading, Phase, Remote},
    yaml_editor::{use_compose_check, CheckState, YamlEditor},
};
use crate::pages::containers::{page_host, Ports};
use crate::pages::stack_config::ConfigTab;
use crate::pages::stack_deploy::{
    error_banner, planned_steps, start_run, PlanSteps, Planned, Run, RunKind, RunPanel,
};
use crate::pages::stack_files::FilesTab;
use crate::pages::stacks::{
    adopt, ask_down, stack_verb, DeleteStackDialog, OriginBadge, RunningBadge,
};
use crate::state::{use_app, AppState};

/// An arrow into a tray (Feather's "download", MIT): pull.
const PULL_ICON: &str = "M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Editor,
    Config,
    Plan,
    Services,
    Logs,
    Files,
    Revisions,
}

impl TabItem for Tab {
    fn label(self) -> &'static str {
        match self {
            Tab::Editor => "Editor",
            Tab::Config => "Config",
            Tab::Plan => "Plan",
            Tab::Services => "Services",
            Tab::Logs => "Logs",
            Tab::Files => "Files",
            Tab::Revisions => "Revisions",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Tab::Editor => "editor",
            Tab::Config => "config",
            Tab::Plan => "plan",
            Tab::Services => "services",
            Tab::Logs => "logs",
            Tab::Files => "files",
            Tab::Revisions => "revisions",
        }
    }
}

impl Tab {
    const BERTH: [Tab; 7] = [
        Tab::Editor,
        Tab::Config,
        Tab::Plan,
        Tab::Services,
        Tab::Logs,
        Tab::Files,
        Tab::Revisions,
    ];
    const EXTERNAL: [Tab; 2] = [Tab::Services, Tab::Logs];

    fn from_slug(slug: &str) -> Option<Tab> {
        Tab::BERTH.into_iter().find(|t| t.slug() == slug)
    }
}

/// A parameter of the address's query string.
fn query_param(key: &str) -> Option<String> {
    let search = window().location().search().unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

/// (running, total) services of a stack.
fn service_counts(d: &StackDetail) -> (usize, usize) {
    let running = d
        .services
        .iter()
        .filter(|s| {
            s.containers
                .iter()
                .any(|c| c.state == ContainerState::Running)
        })
        .count();
    (running, d.services.len())
}

/// Everything a deploy from this page needs.
#[derive(Clone, Copy)]
struct Ctx {
    app: AppState,
    ep: Memo<String>,
    name: Memo<String>,
    detail: Remote<StackDetail>,
    run: RwSignal<Option<Run>>,
    tab: RwSignal<Tab>,
    compose: RwSignal<String>,
    env: RwSignal<String>,
    /// The saved file and `.env` the drafts started from.
    saved: RwSignal<Option<(String, String)>>,
    dirty: Memo<bool>,
    check: RwSignal<CheckState>,
}

impl Ctx {
    fn running(&self) -> bool {
        self.run.with(|r| r.as_ref().is_some_and(Run::running))
    }

    /// Runs `up`; on success the Services tab shows what runs now.
    fn deploy(&self, planned: Planned) {
        let this = *self;
        start_run(
            self.app,
            self.run,
            self.ep.get_untracked(),
            self.name.get_untracked(),
            RunKind::Up,
            planned,
            move |ok| {
                this.detail.reload();
                if ok {
                    this.tab.try_set(Tab::Services);
                }
            },
        );
    }

    /// Saves the drafts as a new revision; the page shows the new detail.
    async fn save(&self) -> Result<StackDetail, ApiError> {
        let input = StackInput {
            name: String::new(),
            compose: self.compose.get_untracked(),
            env: self.env.get_untracked(),
        };
        let detail =
            api::update_stack(&self.ep.get_untracked(), &self.name.get_untracked(), &input).await?;
        self.detail.value.try_set(Some(Ok(detail.clone())));
        Ok(detail)
    }
}

#[component]
pub fn StackPage() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    app.search.set(String::new());

    let detail = Remote::new(move || {
        let (ep, name) = (ep.get(), name.get());
        async move { api::stack(&ep, &name).await }
    });
    crate::pages::reload_on_changes(detail, &["container", "network", "volume"]);
    app.crumb.set(Some(name.get_untracked()));
    Effect::new(move |_| app.crumb.set(Some(name.get())));
    on_cleanup(move || {
        let mine = name.try_get_untracked();
        if mine.is_some() && app.crumb.with_untracked(|c| *c == mine) {
            app.crumb.set(None);
        }
    });

    let origin = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => Some(d.origin),
            _ => None,
        })
    });
    let tab = RwSignal::new(
        query_param("tab")
            .and_then(|t| Tab::from_slug(&t))
            .unwrap_or(Tab::Editor),
    );
    // An external stack has only Services and Logs.
    Effect::new(move |_| {
        if origin.get() == Some(StackOrigin::External)
            && !Tab::EXTERNAL.contains(&tab.get_untracked())
        {
            tab.set(Tab::Services);
        }
    });
    Effect::new(move |before: Option<Tab>| {
        let now = tab.get();
        if before.is_some_and(|b| b != now) {
            remember_tab(now, None);
        }
        now
    });

    let compose = RwSignal::new(String::new());
    let env = RwSignal::new(String::new());
    let saved = RwSignal::new(None::<(String, String)>);
    // A reload shows the server's file in the editor unless the user has
    // edits of their own there.
    Effect::new(move |_| {
        let fresh = detail.value.with(|v| match v {
            Some(Ok(d)) if d.origin == StackOrigin::Berth => {
                Some((d.compose.clone(), d.env.clone()))
            }
            _ => None,
        });
        let Some(fresh) = fresh else { return };
        let untouched = saved.with_untracked(|old| match old {
            None => true,
            Some((c, e)) => compose.with_untracked(|x| x == c) && env.with_untracked(|x| x == e),
        });
        if untouched {
            compose.set(fresh.0.clone());
            env.set(fresh.1.clone());
        }
        if saved.with_untracked(|old| old.as_ref() != Some(&fresh)) {
            saved.set(Some(fresh));
        }
    });
    let dirty = Memo::new(move |_| {
        saved.with(|s| match s {
            Some((c, e)) => compose.with(|x| x != c) || env.with(|x| x != e),
            None => false,
        })
    });
    let check = use_compose_check(ep.into(), compose, env);
    let run = RwSignal::new(None::<Run>);
    let deleting = RwSignal::new(None::<String>);
    let adopt_paste = RwSignal::new(query_param("adopt").as_deref() == Some("paste"));
    let ctx = Ctx {
        app,
        ep,
        name,
        detail,
        run,
        tab,
        compose,
        env,
        saved,
        dirty,
        check,
    };

    // "Save and deploy" on the new-stack page lands here with `deploy=1`.
    let deploy_on_load = StoredValue::new(query_param("deploy").as_deref() == Some("1"));
    Effect::new(move |_| {
        if deploy_on_load.get_value() && origin.get() == Some(StackOrigin::Berth) {
            deploy_on_load.set_value(false);
            remember_tab(tab.get_untracked(), None);
            ctx.deploy(Planned::Saved);
        }
    });

    let revision = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => d.revision,
            _ => 0,
        })
    });
    let panel = move || match tab.get() {
        Tab::Editor => view! { <EditorTab ctx=ctx/> }.into_any(),
        Tab::Config => view! { <ConfigTab ep=ep name=name revision=revision/> }.into_any(),
        Tab::Plan => view! { <PlanTab ctx=ctx/> }.into_any(),
        Tab::Services => view! { <ServicesTab ctx=ctx/> }.into_any(),
        Tab::Logs => {
            let has_containers = detail.value.with_untracked(|v| {
                matches!(v, Some(Ok(d)) if d.services.iter().any(|s| !s.containers.is_empty()) || !d.orphans.is_empty())
            });
            if has_containers {
                let label = format!("Logs of stack {}", name.get_untracked());
                view! { <LogView ep=ep.get_untracked() source=LogSource::Project(name.get_untracked()) label=label/> }
                    .into_any()
            } else {
                view! {
                    <EmptyState
                        title="No containers yet"
                        hint="Deploy the stack: the logs of all its containers show here, merged."
                    />
                }
                .into_any()
            }
        }
        Tab::Files => view! { <FilesTab ep=ep name=name/> }.into_any(),
        Tab::Revisions => view! { <RevisionsTab ctx=ctx/> }.into_any(),
    };

    view! {
        <DetailLoaded remote=detail what="stack" list="stacks" gone="deleted or taken down" name=name ep=ep>
            <div class="page">
                <Header ctx=ctx deleting=deleting adopt_paste=adopt_paste/>
                <RunPanel run=run/>
                <ExternalBanner ctx=ctx adopt_paste=adopt_paste/>
                <TabStrip
                    tab=tab
                    tabs=Signal::derive(move || match origin.get() {
                        Some(StackOrigin::External) => Tab::EXTERNAL.to_vec(),
                        _ => Tab::BERTH.to_vec(),
                    })
                    label="Stack"
                />
                <TabPanel tab=tab>{panel}</TabPanel>
                <DeleteStackDialog target=deleting ep=ep on_deleted={
                    let navigate = navigate.clone();
                    move |_| navigate(&endpoint_path(&ep.get_untracked(), "stacks"), NavigateOptions::default())
                }/>
            </div>
        </DetailLoaded>
    }
}

#[component]
fn Header(
    ctx: Ctx,
    deleting: RwSignal<Option<String>>,
    adopt_paste: RwSignal<bool>,
) -> impl IntoView {
    let Ctx {
        app,
        ep,
        detail,
        run,
        ..
    } = ctx;
    let adopting = RwSignal::new(false);
    let facts = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => {
                let (running, total) = service_counts(d);
                let containers =
                    d.services.iter().map(|s| s.containers.len()).sum::<usize>() + d.orphans.len();
                Some((
                    d.name.clone(),
                    d.origin,
                    running,
                    total,
                    containers,
                    d.revision,
                    d.updated_at.clone(),
                    d.updated_by.clone(),
                ))
            }
            _ => None,
        })
    });
    let busy = move || ctx.running() || adopting.get();
    move || {
        let (name, origin, running, total, containers, revision, updated_at, updated_by) =
            facts.get()?;
        let berth = origin == StackOrigin::Berth;
        let reload = move || detail.reload();
        let verb_button = |verb: &'static str, word: &'static str, icon: Icon| {
            let (ep, name) = (ep.get_untracked(), name.clone());
            view! {
                <button
                    type="button"
                    class="btn"
                    aria-label=format!("{word} {name}")
                    disabled=move || busy() || containers == 0
                    on:click=move |_| stack_verb(app, ep.clone(), name.clone(), verb, reload)
                >
                    {icon.view()}
                    <span>{word}</span>
                </button>
            }
        };
        let deploy = move |_| ctx.deploy(Planned::Saved);
        let pull = {
            let (ep, name) = (ep.get_untracked(), name.clone());
            move |_| {
                start_run(
                    app,
                    run,
                    ep.clone(),
                    name.clone(),
                    RunKind::Pull,
                    Planned::Unknown,
                    move |_| detail.reload(),
                )
            }
        };
        let down = {
            let (ep, name) = (ep.get_untracked(), name.clone());
            move |_| ask_down(app, run, ep.clone(), name.clone(), move |_| detail.reload())
        };
        let adopt_now = {
            let (ep, name) = (ep.get_untracked(), name.clone());
            move |_| {
                let (ep, name) = (ep.clone(), name.clone());
                adopting.set(true);
                spawn_local(async move {
                    let result = adopt(app, &ep, &name).await;
                    adopting.set(false);
                    match result {
                        Ok(true) => {
                            adopt_paste.set(false);
                            detail.reload();
                        }
                        Ok(false) => adopt_paste.set(true),
                        Err(e) => app
                            .toasts
                            .error(format!("Could not adopt {name}: {}", e.message())),
                    }
                });
            }
        };
        let remove = {
            let name = name.clone();
            move |_| deleting.set(Some(name.clone()))
        };
        let sub = if berth {
            let by = updated_by.unwrap_or_default();
            view! {
                <p class="page-sub">
                    {format!("Revision {revision} · saved by {by} ")}
                    <RelativeTime secs=updated_at.as_deref().and_then(parse_time) never="—"/>
                </p>
            }
            .into_any()
        } else {
            view! { <p class="page-sub">"Started outside berth"</p> }.into_any()
        };
        Some(view! {
            <div class="page-head">
                <div>
                    <div class="title-row">
                        <h1 class="title-name">{name.clone()}</h1>
                        <OriginBadge origin=origin/>
                        <RunningBadge running=running total=total/>
                    </div>
                    {sub}
                </div>
                <div class="page-actions">
                    {move || busy().then(|| view! { <span class="spinner" role="status" aria-label="Working"></span> })}
                    {if berth {
                        view! {
                            <button
                                type="button"
                                class="btn btn-primary"
                                aria-label=format!("Deploy {name}")
                                title="Create or update the stack's containers from the saved file (up)"
                                disabled=busy
                                on:click=deploy
                            >
                                {Icon::Play.view()}
                                <span>"Deploy"</span>
                            </button>
                        }
                        .into_any()
                    } else {
                        view! {
                            <button
                                type="button"
                                class="btn btn-primary"
                                aria-label=format!("Adopt {name}")
                                title="Let berth manage this stack from its compose file"
                                disabled=busy
                                on:click=adopt_now.clone()
                            >
                                {Icon::Plus.view()}
                                <span>"Adopt"</span>
                            </button>
                        }
                        .into_any()
                    }}
                    <button
                        type="button"
                        class="btn"
                        aria-label=format!("Take down {name}")
                        title="Remove the containers and networks (down)"
                        disabled=move || busy() || containers == 0
                        on:click=down
                    >
                        {Icon::Close.view()}
                        <span>"Down"</span>
                    </button>
                    {berth.then(|| view! {
                        <button
                            type="button"
                            class="btn"
                            aria-label=format!("Pull the images of {name}")
                            title="Pull the services' images again; Deploy then recreates what changed"
                            disabled=busy
                            on:click=pull.clone()
                        >
                            {line_icon(PULL_ICON)}
                            <span>"Pull"</span>
                        </button>
                    })}
                    {verb_button("restart", "Restart", Icon::Restart)}
                    {verb_button("stop", "Stop", Icon::Stop)}
                    {verb_button("start", "Start", Icon::Play)}
                    {berth.then(|| view! {
                        <button
                            type="button"
                            class="btn btn-danger-outline"
                            aria-label=format!("Delete {name}")
                            disabled=busy
                            on:click=remove.clone()
                        >
                            {Icon::Trash.view()}
                            <span>"Delete"</span>
                        </button>
                    })}
                    <button type="button" class="btn-icon" aria-label="Reload" title="Reload" on:click=move |_| detail.reload()>
                        {Icon::Refresh.view()}
                    </button>
                </div>
            </div>
        })
    }
}

/// For a stack another tool started: where its file is, the Adopt button,
/// and when berth cannot read that file, a form to paste it.
#[component]
fn ExternalBanner(ctx: Ctx, adopt_paste: RwSignal<bool>) -> impl IntoView {
    let Ctx {
        app, ep, detail, ..
    } = ctx;
    let info = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) if d.origin == StackOrigin::External => {
                Some((d.name.clone(), d.config_files.clone()))
            }
            _ => None,
        })
    });
    let compose = RwSignal::new(String::new());
    let env = RwSignal::new(String::new());
    let check = use_compose_check(ep.into(), compose, env);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let adopting = RwSignal::new(false);

    move || {
        let (name, config) = info.get()?;
        let config_text = config
            .clone()
            .unwrap_or_else(|| "not named in its labels".into());
        let try_adopt = {
            let name = name.clone();
            move |_| {
                let name = name.clone();
                let ep = ep.get_untracked();
                adopting.set(true);
                spawn_local(async move {
                    let result = adopt(app, &ep, &name).await;
                    adopting.set(false);
                    match result {
                        Ok(true) => detail.reload(),
                        Ok(false) => adopt_paste.set(true),
                        Err(e) => app
                            .toasts
                            .error(format!("Could not adopt {name}: {}", e.message())),
                    }
                });
            }
        };
        let submit = {
            let name = name.clone();
            move |ev: ev::SubmitEvent| {
                ev.prevent_default();
                if busy.get_untracked() {
                    return;
                }
                if compose.with_untracked(|c| c.trim().is_empty()) {
                    error.set(Some("Paste the compose file first.".into()));
                    return;
                }
                let input = StackInput {
                    name: String::new(),
                    compose: compose.get_untracked(),
                    env: env.get_untracked(),
                };
                let (ep, name) = (ep.get_untracked(), name.clone());
                busy.set(true);
                error.set(None);
                spawn_local(async move {
                    let result = api::adopt_stack(&ep, &name, Some(&input)).await;
                    busy.set(false);
                    match result {
                        Ok(d) => {
                            app.toasts.success(format!(
                                "Adopted {name}: berth keeps its file now (revision {})",
                                d.revision
                            ));
                            adopt_paste.set(false);
                            detail.reload();
                        }
                        Err(e) => error.set(Some(e.message())),
                    }
                });
            }
        };
        Some(view! {
            <div class="banner stack-banner" role="note">
                {Icon::Alert.view()}
                <div class="banner-text">
                    <strong>{format!("Started outside berth (config: {config_text})")}</strong>
                    <p>"berth shows its containers and logs but keeps no file for it. Adopt it to edit, plan, deploy and keep revisions here; the compose CLI keeps working on it too."</p>
                </div>
                <button type="button" class="btn" disabled=move || adopting.get() on:click=try_adopt>
                    "Adopt"
                </button>
            </div>
            <Show when=move || adopt_paste.get()>
                <section class="card">
                    <form class="form" on:submit=submit.clone() novalidate>
                        <div>
                            <h2 class="card-title">"Paste its compose file"</h2>
                            <p class="card-sub">
                                {format!("berth cannot read {config_text} from here. Paste that file (and its .env, if it uses one) to adopt {name} with it.")}
                            </p>
                        </div>
                        <YamlEditor id="adopt-compose" label="Compose file" text=compose check=check rows=16/>
                        <YamlEditor id="adopt-env" label=".env" text=env rows=4/>
                        <p class="field-error" role="alert">{move || error.get()}</p>
                        <div>
                            <button type="submit" class="btn btn-primary" disabled=busy>"Adopt with this file"</button>
                        </div>
                    </form>
                </section>
            </Show>
        })
    }
}

// ------------------------------------------------------------ Editor

#[component]
fn EditorTab(ctx: Ctx) -> impl IntoView {
    let Ctx {
        app,
        detail,
        tab,
        compose,
        env,
        saved,
        dirty,
        check,
        ..
    } = ctx;
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let just_saved = RwSignal::new(None::<i64>);
    let revision = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => d.revision,
            _ => 0,
        })
    });
    // Editing again hides "Saved revision N".
    Effect::new(move |_| {
        if dirty.get() {
            just_saved.set(None);
        }
    });
    let save = move || {
        if busy.get_untracked() || !dirty.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = ctx.save().await;
            busy.try_set(false);
            match result {
                Ok(d) => {
                    app.toasts
                        .success(format!("Saved {} as revision {}", d.name, d.revision));
                    just_saved.try_set(Some(d.revision));
                }
                Err(e) => {
                    error.try_set(Some(e.message()));
                }
            }
        });
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("s") {
            ev.prevent_default();
            save();
        }
    };
    let discard = move |_| {
        if let Some((c, e)) = saved.get_untracked() {
            compose.set(c);
            env.set(e);
            error.set(None);
        }
    };
    view! {
        <section class="card form-section stack-editor" on:keydown=on_key>
            <YamlEditor id="stack-compose" label="Compose file" text=compose check=check rows=24/>
            <YamlEditor
                id="stack-env"
                label=".env"
                text=env
                rows=5
                placeholder="KEY=value"
                hint="Values for ${VARIABLES} in the compose file, KEY=value a line."
            />
        </section>
        {move || error.get().map(|e| view! { <div class="form-error" role="alert">{e}</div> })}
        <div class="form-actions">
            <button
                type="button"
                class="btn btn-primary"
                disabled=move || busy.get() || !dirty.get()
                title="Save a new revision (Ctrl+S); nothing is deployed"
                on:click=move |_| save()
            >
                "Save"
            </button>
            <button
                type="button"
                class="btn"
                title="See what a deploy of this text would change"
                on:click=move |_| tab.set(Tab::Plan)
            >
                "Preview plan"
            </button>
            {move || dirty.get().then(|| view! {
                <button type="button" class="btn btn-ghost" on:click=discard>"Discard changes"</button>
            })}
            <span class="spacer"></span>
            <span class="editor-state" role="status">
                {move || {
                    if busy.get() {
                        "Saving…".to_owned()
                    } else if let Some(n) = just_saved.get() {
                        format!("Saved revision {n}")
                    } else if dirty.get() {
                        "Unsaved changes".to_owned()
                    } else {
                        format!("Revision {} · no unsaved changes", revision.get())
                    }
                }}
            </span>
        </div>
    }
}

// ------------------------------------------------------------ Plan

#[component]
fn PlanTab(ctx: Ctx) -> impl IntoView {
    let Ctx {
        ep,
        name,
        detail,
        compose,
        env,
        dirty,
        ..
    } = ctx;
    let plan = RwSignal::new(None::<Result<StackPlan, ApiError>>);
    // Whether the plan shown is of unsaved edits.
    let of_draft = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let generation = StoredValue::new(0u64);
    let error = RwSignal::new(None::<String>);
    let load = move || {
        let draft = dirty.get_untracked().then(|| StackInput {
            name: String::new(),
            compose: compose.get_untracked(),
            env: env.get_untracked(),
        });
        let (ep, name) = (ep.get_untracked(), name.get_untracked());
        let this = generation.get_value().wrapping_add(1);
        generation.set_value(this);
        loading.set(true);
        spawn_local(async move {
            let result = api::plan_stack(&ep, &name, draft.as_ref()).await;
            if generation.try_get_value() == Some(this) {
                of_draft.try_set(draft.is_some());
                plan.try_set(Some(result));
                loading.try_set(false);
            }
        });
    };
    load();
    // A deploy or a change in the engine makes the plan out of date.
    let revision = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => (
                d.revision,
                d.services.iter().map(|s| s.containers.len()).sum::<usize>(),
            ),
            _ => (0, 0),
        })
    });
    Effect::new(move |before: Option<(i64, usize)>| {
        let now = revision.get();
        if before.is_some_and(|b| b != now) && !ctx.running() {
            load();
        }
        now
    });

    let deploy = move |_| {
        let steps = plan.with_untracked(|p| match p {
            Some(Ok(p)) => Planned::Known(planned_steps(p)),
            _ => Planned::Saved,
        });
        error.set(None);
        if dirty.get_untracked() {
            // The last run's "Deployed" must not stand for this one.
            if !ctx.running() {
                ctx.run.set(None);
            }
            spawn_local(async move {
                match ctx.save().await {
                    Ok(d) => {
                        ctx.app
                            .toasts
                            .success(format!("Saved {} as revision {}", d.name, d.revision));
                        ctx.deploy(steps);
                    }
                    Err(e) => {
                        error.try_set(Some(format!("Could not save the file: {}", e.message())));
                    }
                }
            });
        } else {
            ctx.deploy(steps);
        }
    };
    let sub = move || {
        let revision = revision.get().0;
        if of_draft.get() {
            "What Deploy would do with your unsaved edits. Deploy saves them first.".to_owned()
        } else {
            format!("What Deploy would do with the saved file (revision {revision}).")
        }
    };
    view! {
        <section class="card">
            <div class="card-head">
                <div>
                    <h2 class="card-title">"Plan"</h2>
                    <p class="card-sub plan-sub">{sub}</p>
                </div>
                <button
                    type="button"
                    class="btn btn-sm"
                    class:is-loading=move || loading.get()
                    on:click=move |_| load()
                >
                    {Icon::Refresh.view()}
                    <span>"Refresh plan"</span>
                </button>
            </div>
            {move || match plan.get() {
                None => view! { <Loading what="the plan"/> }.into_any(),
                Some(Err(e)) => error_banner("Cannot plan this file", e).into_any(),
                Some(Ok(p)) => view! { <PlanSteps plan=p/> }.into_any(),
            }}
        </section>
        {move || error.get().map(|e| view! { <div class="form-error" role="alert">{e}</div> })}
        <div class="form-actions">
            <button
                type="button"
                class="btn btn-primary"
                disabled=move || ctx.running() || loading.get() || matches!(plan.get(), Some(Err(_)))
                on:click=deploy
            >
                {Icon::Play.view()}
                <span>{move || if dirty.get() { "Save and deploy" } else { "Deploy" }}</span>
            </button>
            <span class="field-hint">"Creates what is missing and recreates what changed, in dependency order; the progress shows above."</span>
        </div>
    }
}

// ------------------------------------------------------------ Services

fn container_item(ep: &str, c: ContainerSummary, host: &str) -> impl IntoView {
    let href = endpoint_path(ep, &format!("containers/{}", c.id));
    view! {
        <li class="stack-container">
            <StateBadge state=c.state title=c.status.clone()/>
            <a href=href class="mono">{c.name.clone()}</a>
            <Ports ports=c.ports.clone() host=host.to_owned()/>
            <span class="status-text">{c.status.clone()}</span>
        </li>
    }
}

#[component]
fn ServicesTab(ctx: Ctx) -> impl IntoView {
    let Ctx { ep, detail, .. } = ctx;
    let host = page_host();
    move || {
        let d = detail.value.with(|v| match v {
            Some(Ok(d)) => Some(d.clone()),
            _ => None,
        })?;
        let ep = ep.get_untracked();
        let host = host.clone();
        let orphans = d.orphans.clone();
        let services = d.services.clone();
        let empty = services.is_empty();
        Some(view! {
            <div class="table-wrap">
                <table class="table table-cards stack-services">
                    <thead>
                        <tr>
                            <th scope="col">"Service"</th>
                            <th scope="col">"Image"</th>
                            <th scope="col" class="num">"Replicas"</th>
                            <th scope="col">"Containers"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {services
                            .into_iter()
                            .map(|s| {
                                let (ep, host) = (ep.clone(), host.clone());
                                let containers = s.containers.clone();
                                view! {
                                    <tr data-service=s.name.clone()>
                                        <td class="cell-primary" data-label="Service">
                                            <span class="row-title">{s.name.clone()}</span>
                                        </td>
                                        <td class="cell-image" data-label="Image">
                                            <span class="mono truncate" title=s.image.clone()>{s.image.clone()}</span>
                                        </td>
                                        <td class="num" data-label="Replicas">{s.replicas}</td>
                                        <td data-label="Containers">
                                            {if containers.is_empty() {
                                                view! { <span class="muted">"No container — deploy to create it"</span> }.into_any()
                                            } else {
                                                view! {
                                                    <ul class="stack-containers">
                                                        {containers.into_iter().map(|c| container_item(&ep, c, &host)).collect_view()}
                                                    </ul>
                                                }
                                                .into_any()
                                            }}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                {empty.then(|| view! { <EmptyState title="No services" hint="The compose file defines none."/> })}
            </div>
            {(!orphans.is_empty()).then(|| {
                let (ep, host) = (ep.clone(), host.clone());
                view! {
                    <section class="card" aria-label="Orphans">
                        <h2 class="card-title">"Orphans"</h2>
                        <p class="card-sub">"Containers of this project whose service the file no longer has. The next deploy removes them."</p>
                        <ul class="stack-containers">
                            {orphans.into_iter().map(|c| container_item(&ep, c, &host)).collect_view()}
                        </ul>
                    </section>
                }
            })}
        })
    }
}

// ------------------------------------------------------------ Revisions

#[component]
fn RevisionsTab(ctx: Ctx) -> impl IntoView {
    let Ctx {
        app,
        ep,
        name,
        detail,
        run,
        ..
    } = ctx;
    let revisions = Remote::new(move || {
        let (ep, name) = (ep.get(), name.get());
        async move { api::stack_revisions(&ep, &name).await }
    });
    let current = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => d.revision,
            _ => 0,
        })
    });
    Effect::new(move |before: Option<i64>| {
        let now = current.get();
        if before.is_some_and(|b| b != now) {
            revisions.reload();
        }
        now
    });
    // The two revisions compared; the newest two to begin with.
    let selected = RwSignal::new(Vec::<i64>::new());
    Effect::new(move |newest_before: Option<Option<i64>>| {
        revisions.value.with(|v| {
            let Some(Ok(list)) = v else {
                return newest_before.flatten();
            };
            let newest = list.first().map(|r| r.number);
            let known =
                selected.with_untracked(|s| s.iter().all(|n| list.iter().any(|r| r.number == *n)));
            if newest_before.flatten() != newest || !known {
                selected.set(list.iter().take(2).map(|r| r.number).collect());
            }
            newest
        })
    });
    let pair = Memo::new(move |_| {
        selected.with(|s| match s.as_slice() {
            [a, b] => Some(((*a).min(*b), (*a).max(*b))),
            _ => None,
        })
    });
    let diff = RwSignal::new(None::<Result<api::StackDiff, ApiError>>);
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let Some((from, to)) = pair.get() else {
            diff.set(None);
            return;
        };
        let (ep, name) = (ep.get_untracked(), name.get_untracked());
        let this = generation.get_value().wrapping_add(1);
        generation.set_value(this);
        spawn_local(async move {
            let result = api::stack_diff(&ep, &name, from, to).await;
            if generation.try_get_value() == Some(this) {
                diff.try_set(Some(result));
            }
        });
    });

    let toggle = move |n: i64, on: bool| {
        selected.update(|s| {
            s.retain(|x| *x != n);
            if on {
                s.push(n);
                // Two at most: the one picked longest ago goes.
                if s.len() > 2 {
                    s.remove(0);
                }
            }
        })
    };
    let roll_back = move |rev: StackRevision| {
        let n = rev.number;
        let title = format!("Redeploy revision {n}?");
        let body = format!(
            "berth saves revision {n}'s compose file and .env as the newest revision and deploys it: containers whose settings differ are recreated."
        );
        app.ask(ConfirmRequest::new(title, body, "Roll back", move || {
            let input = StackInput {
                name: String::new(),
                compose: rev.compose.clone(),
                env: rev.env.clone(),
            };
            start_run(
                app,
                run,
                ep.get_untracked(),
                name.get_untracked(),
                RunKind::Rollback(n),
                Planned::Of(input),
                move |_| {
                    detail.reload();
                    revisions.reload();
                },
            );
        }));
    };

    let table = move || {
        let list = revisions.value.with(|v| match v {
            Some(Ok(list)) => list.clone(),
            _ => Vec::new(),
        });
        let newest = list.first().map(|r| r.number);
        view! {
            <div class="table-wrap">
                <table class="table table-cards revisions">
                    <thead>
                        <tr>
                            <th scope="col" class="cell-check"><span class="sr-only">"Compare"</span></th>
                            <th scope="col">"Revision"</th>
                            <th scope="col">"Author"</th>
                            <th scope="col">"Saved"</th>
                            <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {list
                            .into_iter()
                            .map(|rev| {
                                let n = rev.number;
                                let is_newest = Some(n) == newest;
                                let back = rev.clone();
                                view! {
                                    <tr data-revision=n>
                                        <td class="cell-check" data-label="Compare">
                                            <input
                                                type="checkbox"
                                                class="check-input"
                                                aria-label=format!("Compare revision {n}")
                                                prop:checked=move || selected.with(|s| s.contains(&n))
                                                on:change=move |ev| toggle(n, event_target_checked(&ev))
                                            />
                                        </td>
                                        <td class="cell-primary" data-label="Revision">
                                            <span class="row-title">{format!("Revision {n}")}</span>
                                            {is_newest.then(|| view! { <span class="tag">"current"</span> })}
                                        </td>
                                        <td data-label="Author">{rev.author.clone()}</td>
                                        <td data-label="Saved" class="cell-nowrap">
                                            <RelativeTime secs=parse_time(&rev.created_at) never="—"/>
                                        </td>
                                        <td class="cell-actions">
                                            {(!is_newest).then(|| view! {
                                                <button
                                                    type="button"
                                                    class="btn btn-sm"
                                                    aria-label=format!("Roll back to revision {n}")
                                                    disabled=move || ctx.running()
                                                    on:click=move |_| roll_back(back.clone())
                                                >
                                                    {Icon::Restart.view()}
                                                    <span>"Roll back to this"</span>
                                                </button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
    };

    let diff_view = move || {
        let Some((from, to)) = pair.get() else {
            return view! {
                <p class="muted">"Tick two revisions to compare them."</p>
            }
            .into_any();
        };
        match diff.get() {
            None => view! { <Loading what="the changes"/> }.into_any(),
            Some(Err(e)) => error_banner("Could not compare the revisions", e).into_any(),
            Some(Ok(d)) if d.from != from || d.to != to => view! { <Loading what="the changes"/> }.into_any(),
            Some(Ok(d)) => view! {
                <section class="card diff-card" aria-label=format!("Changes from revision {from} to {to}")>
                    <h2 class="card-title">{format!("Changes from revision {from} to revision {to}")}</h2>
                    <h3 class="diff-title">"Compose file"</h3>
                    <DiffView diff=d.compose label=format!("Compose file, revision {from} to {to}") same="No changes to the compose file."/>
                    <h3 class="diff-title">".env"</h3>
                    <DiffView diff=d.env label=format!(".env, revision {from} to {to}") same="No changes to .env."/>
                </section>
            }
            .into_any(),
        }
    };

    move || {
        match revisions.phase.get() {
        Phase::Loading => view! { <Loading what="revisions"/> }.into_any(),
        Phase::Failed(error) => view! {
            <LoadError error=error endpoint=ep.get() what="revisions" on_retry=move |()| revisions.reload()/>
        }
        .into_any(),
        Phase::Ready => view! {
            {table}
            {diff_view}
        }
        .into_any(),
    }
    }
}
