//! The frame around every signed-in page: the sidebar (endpoint switcher and
//! navigation), the top bar (breadcrumb, search, theme, user menu), and the
//! check at start that sends a visitor to setup or sign-in.

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::{
    components::{Outlet, A},
    hooks::{use_location, use_navigate},
    NavigateOptions,
};
use wasm_bindgen::JsCast;

use crate::api;
use crate::components::badge::{EndpointDot, RoleBadge};
use crate::components::icons::Icon;
use crate::components::remote::EmptyState;
use crate::state::{local_storage_set, use_app, AppState};

/// Where the theme chosen with the toggle is remembered; `boot.js` applies
/// it before the app paints.
const THEME_KEY: &str = "berth-theme";

/// Line icons for the sections issue 3 added (after Feather's, MIT), drawn
/// like [`Icon`]'s: decorative, `currentColor`.
pub const VOLUMES_ICON: &str = "M3 5a9 3 0 1 0 18 0 9 3 0 1 0-18 0M21 12c0 1.66-4 3-9 3s-9-1.34-9-3M3 5v14c0 1.66 4 3 9 3s9-1.34 9-3V5";
pub const NETWORKS_ICON: &str = "M9 2h6v6H9zM2 16h6v6H2zM16 16h6v6h-6zM12 8v4M5 16v-4h14v4";
pub const PORTS_ICON: &str = "M12 22v-5M9 8V2M15 8V2M18 8v5a6 6 0 0 1-6 6 6 6 0 0 1-6-6V8z";
/// Three dots: the "More" menu of a row.
pub const MORE_ICON: &str = "M11 12a1 1 0 1 0 2 0 1 1 0 1 0-2 0M18 12a1 1 0 1 0 2 0 1 1 0 1 0-2 0M4 12a1 1 0 1 0 2 0 1 1 0 1 0-2 0";
/// Two bars: pause.
pub const PAUSE_ICON: &str = "M6 4h4v16H6zM14 4h4v16h-4z";
/// A disc (Feather's, MIT): images (issue 5).
pub const IMAGES_ICON: &str =
    "M2 12a10 10 0 1 0 20 0 10 10 0 1 0-20 0M9 12a3 3 0 1 0 6 0 3 3 0 1 0-6 0";
/// A cloud (Feather's, MIT): registries (issue 5).
pub const REGISTRIES_ICON: &str = "M18 10h-1.26A8 8 0 1 0 9 20h9a5 5 0 0 0 0-10z";
/// A clipboard with lines (after Feather's "clipboard", MIT): the audit log.
pub const AUDIT_ICON: &str =
    "M16 4h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2M9 2h6v4H9zM8 11h8M8 15h8M8 19h5";
/// Three stacked sheets (Feather's "layers", MIT): stacks (issue 6).
pub const STACKS_ICON: &str = "M12 2 2 7l10 5 10-5-10-5zM2 17l10 5 10-5M2 12l10 5 10-5";
/// Two people and a third behind them (after Feather's "users", MIT): teams.
pub const TEAMS_ICON: &str = "M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M5 7a4 4 0 1 0 8 0 4 4 0 1 0-8 0M23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75";
/// A shield (Feather's, MIT): the endpoint's security policy (issue 10).
pub const POLICY_ICON: &str = "M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z";

/// An icon from its SVG path.
pub fn line_icon(path: &'static str) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d=path></path>
        </svg>
    }
}

/// The part of the app a path shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Containers,
    Container,
    Host,
    Volumes,
    Networks,
    Ports,
    Stacks,
    Stack,
    Images,
    Image,
    Build,
    Users,
    Teams,
    Tokens,
    Registries,
    Audit,
    EndpointSettings,
    Other,
}

/// What the sidebar, breadcrumb and search box need to know of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    endpoint: Option<String>,
    section: Section,
}

fn decode(segment: &str) -> String {
    js_sys::decode_uri_component(segment)
        .map(String::from)
        .unwrap_or_else(|_| segment.to_owned())
}

fn place(path: &str) -> Place {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (endpoint, section) = match segments.as_slice() {
        ["endpoints", ep, "containers"] => (Some(*ep), Section::Containers),
        ["endpoints", ep, "containers", _] => (Some(*ep), Section::Container),
        ["endpoints", ep, "host"] => (Some(*ep), Section::Host),
        ["endpoints", ep, "volumes"] => (Some(*ep), Section::Volumes),
        ["endpoints", ep, "networks"] => (Some(*ep), Section::Networks),
        ["endpoints", ep, "ports"] => (Some(*ep), Section::Ports),
        ["endpoints", ep, "stacks"] => (Some(*ep), Section::Stacks),
        ["endpoints", ep, "stacks", _] => (Some(*ep), Section::Stack),
        ["endpoints", ep, "images"] => (Some(*ep), Section::Images),
        ["endpoints", ep, "images", "build"] => (Some(*ep), Section::Build),
        ["endpoints", ep, "images", _] => (Some(*ep), Section::Image),
        ["endpoints", ep, "settings"] => (Some(*ep), Section::EndpointSettings),
        ["endpoints", ep, ..] => (Some(*ep), Section::Other),
        ["settings", "users"] => (None, Section::Users),
        ["settings", "teams"] => (None, Section::Teams),
        ["settings", "tokens"] => (None, Section::Tokens),
        ["settings", "registries"] => (None, Section::Registries),
        ["settings", "audit"] => (None, Section::Audit),
        _ => (None, Section::Other),
    };
    Place {
        endpoint: endpoint.filter(|ep| !ep.is_empty()).map(decode),
        section,
    }
}

pub fn endpoint_path(ep: &str, rest: &str) -> String {
    format!(
        "/endpoints/{}/{rest}",
        String::from(js_sys::encode_uri_component(ep))
    )
}

fn replace() -> NavigateOptions {
    NavigateOptions {
        replace: true,
        ..NavigateOptions::default()
    }
}

/// Loads the endpoint list again (the switcher's up/down dots), and the
/// user's role on each: an admin may have granted or taken one meanwhile.
pub fn refresh_endpoints(app: AppState) {
    spawn_local(async move {
        let result = api::endpoints().await;
        app.endpoints.set(Some(result));
        if let Ok(session) = api::me().await {
            if app.roles.with_untracked(|r| *r != session.endpoints) {
                app.roles.set(session.endpoints);
            }
        }
    });
}

/// What a non-admin sees where an endpoint's page would be when no
/// endpoint is shared with them.
#[component]
pub fn NoEndpoint() -> impl IntoView {
    view! {
        <div class="page">
            <div class="page-head"><h1>"No endpoint yet"</h1></div>
            <section class="card">
                <EmptyState
                    title="No endpoint is shared with you yet; ask an admin"
                    hint="An admin gives you or one of your teams a role on an endpoint in its Endpoint settings. It appears here as soon as they do."
                />
            </section>
        </div>
    }
}

/// The signed-in part of the app. On first render it asks whether berth
/// still needs setting up, then who is signed in.
#[component]
pub fn Shell() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let location = use_location();
    let failure = RwSignal::new(None::<api::ApiError>);
    let signed_in = Memo::new(move |_| app.user.with(Option::is_some));

    if app.user.get_untracked().is_none() {
        let path = location.pathname.get_untracked();
        spawn_local(async move {
            match api::setup_status().await {
                Ok(status) if status.needed => {
                    navigate("/setup", replace());
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    failure.set(Some(e));
                    return;
                }
            }
            match api::me().await {
                Ok(session) => app.sign_in(session),
                Err(e) if e.status == 401 => {
                    if path != "/" {
                        app.after_login.set_value(Some(path));
                    }
                    navigate("/login", replace());
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    }

    move || {
        if signed_in.get() {
            view! { <Frame/> }.into_any()
        } else if let Some(error) = failure.get() {
            view! {
                <div class="splash">
                    <div class="banner banner-danger" role="alert">
                        {Icon::Alert.view()}
                        <div class="banner-text">
                            <strong>"berth is not answering"</strong>
                            <p>{error.message()}</p>
                        </div>
                        <button type="button" class="btn" on:click=move |_| { let _ = window().location().reload(); }>
                            "Retry"
                        </button>
                    </div>
                </div>
            }
            .into_any()
        } else {
            view! {
                <div class="splash" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    <span>"Loading berth…"</span>
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn Frame() -> impl IntoView {
    let app = use_app();
    let location = use_location();
    let here = Memo::new(move |_| place(&location.pathname.get()));
    let endpoint = Memo::new(move |_| {
        here.with(|p| p.endpoint.clone())
            .unwrap_or_else(|| app.last_endpoint.get())
    });
    let section = Memo::new(move |_| here.with(|p| p.section));
    let nav_open = RwSignal::new(false);
    let search_ref = NodeRef::<html::Input>::new();

    refresh_endpoints(app);

    // The page's endpoint becomes the one remembered.
    Effect::new(move |_| {
        if let Some(ep) = here.with(|p| p.endpoint.clone()) {
            app.visit_endpoint(&ep);
        }
    });
    // Moving to another page folds the mobile menu.
    Effect::new(move |_| {
        location.pathname.track();
        nav_open.set(false);
    });

    let keys = window_event_listener(ev::keydown, move |ev| {
        let free = !ev.ctrl_key() && !ev.meta_key() && !ev.alt_key();
        if ev.key() == "/" && free && !typing(&ev) && app.confirm.with_untracked(Option::is_none) {
            if let Some(input) = search_ref.get_untracked() {
                ev.prevent_default();
                let _ = input.focus();
                input.select();
            }
        } else if ev.key() == "Escape" && nav_open.get_untracked() {
            nav_open.set(false);
        }
    });
    on_cleanup(move || keys.remove());

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="app" class:nav-open=nav_open>
            <Sidebar endpoint=endpoint section=section/>
            <div class="backdrop" aria-hidden="true" on:click=move |_| nav_open.set(false)></div>
            <div class="main-col">
                <header class="topbar">
                    <button
                        type="button"
                        class="btn-icon btn-ghost menu-btn"
                        aria-label="Open menu"
                        aria-controls="sidebar"
                        aria-expanded=move || if nav_open.get() { "true" } else { "false" }
                        on:click=move |_| nav_open.update(|o| *o = !*o)
                    >
                        {Icon::Menu.view()}
                    </button>
                    <Breadcrumb endpoint=endpoint section=section/>
                    <SearchBox input=search_ref endpoint=endpoint section=section/>
                    <ThemeToggle/>
                    <UserMenu/>
                </header>
                <main id="main" class="content" tabindex="-1">
                    // issue 4: the endpoint-down banner (live.rs).
                    {crate::live::endpoint_banner()}
                    <Show
                        when=move || !(app.reaches_nothing() && here.with(|p| p.endpoint.is_some()))
                        fallback=|| view! { <NoEndpoint/> }
                    >
                        <Outlet/>
                    </Show>
                </main>
            </div>
        </div>
    }
}

/// Whether a key press lands in a field (where `/` is just a character).
fn typing(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(target) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return false;
    };
    matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || target.is_content_editable()
}

#[component]
fn Sidebar(endpoint: Memo<String>, section: Memo<Section>) -> impl IntoView {
    let app = use_app();
    let admin = Memo::new(move |_| app.is_admin());
    let nothing = Memo::new(move |_| app.reaches_nothing());
    view! {
        <aside id="sidebar" class="sidebar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">{Icon::Containers.view()}</span>
                <span class="brand-name">"berth"</span>
            </a>
            <Show when=move || !nothing.get()>
                <EndpointSwitcher endpoint=endpoint section=section/>
            </Show>
            <nav class="nav" aria-label="Main">
                <Show when=move || !nothing.get()>
                <A href=move || endpoint_path(&endpoint.get(), "host") attr:class="nav-link">
                    {Icon::Host.view()}
                    <span>"Host"</span>
                </A>
                <A href=move || endpoint_path(&endpoint.get(), "containers") attr:class="nav-link">
                    {Icon::Containers.view()}
                    <span>"Containers"</span>
                </A>
                <A href=move || endpoint_path(&endpoint.get(), "images") attr:class="nav-link">
                    {line_icon(IMAGES_ICON)}
                    <span>"Images"</span>
                </A>
                <A href=move || endpoint_path(&endpoint.get(), "stacks") attr:class="nav-link">
                    {line_icon(STACKS_ICON)}
                    <span>"Stacks"</span>
                </A>
                <A href=move || endpoint_path(&endpoint.get(), "volumes") attr:class="nav-link">
                    {line_icon(VOLUMES_ICON)}
                    <span>"Volumes"</span>
                </A>
                <A href=move || endpoint_path(&endpoint.get(), "networks") attr:class="nav-link">
                    {line_icon(NETWORKS_ICON)}
                    <span>"Networks"</span>
                </A>
                <A href=move || endpoint_path(&endpoint.get(), "ports") attr:class="nav-link">
                    {line_icon(PORTS_ICON)}
                    <span>"Ports"</span>
                </A>
                </Show>
                <div class="nav-label">"Settings"</div>
                <Show when=move || admin.get()>
                    <A href="/settings/users" attr:class="nav-link">
                        {Icon::Users.view()}
                        <span>"Users"</span>
                    </A>
                    <A href="/settings/teams" attr:class="nav-link">
                        {line_icon(TEAMS_ICON)}
                        <span>"Teams"</span>
                    </A>
                </Show>
                <A href="/settings/tokens" attr:class="nav-link">
                    {Icon::Key.view()}
                    <span>"Tokens"</span>
                </A>
                <Show when=move || admin.get()>
                    <A href="/settings/registries" attr:class="nav-link">
                        {line_icon(REGISTRIES_ICON)}
                        <span>"Registries"</span>
                    </A>
                    <A href="/settings/audit" attr:class="nav-link">
                        {line_icon(AUDIT_ICON)}
                        <span>"Audit"</span>
                    </A>
                    <A href=move || endpoint_path(&endpoint.get(), "settings") attr:class="nav-link">
                        {line_icon(POLICY_ICON)}
                        <span>"Endpoint settings"</span>
                    </A>
                </Show>
            </nav>
        </aside>
    }
}

/// The endpoint (host) switcher: a button with the current endpoint and a
/// popover listing every endpoint with its up/down state.
#[component]
fn EndpointSwitcher(endpoint: Memo<String>, section: Memo<Section>) -> impl IntoView {
    let app = use_app();
    let menu = NodeRef::<html::Div>::new();
    let current = Memo::new(move |_| {
        let id = endpoint.get();
        app.endpoints
            .with(|eps| match eps {
                Some(Ok(eps)) => eps
                    .iter()
                    .find(|e| e.id == id)
                    .map(|e| (e.name.clone(), Some(e.status))),
                _ => None,
            })
            .unwrap_or((id, None))
    });
    let close = move || {
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.hide_popover();
        }
    };
    let target_section = move || match section.get() {
        Section::Host => "host",
        Section::Volumes => "volumes",
        Section::Networks => "networks",
        Section::Ports => "ports",
        Section::Stacks | Section::Stack => "stacks",
        Section::Images | Section::Image | Section::Build => "images",
        Section::EndpointSettings => "settings",
        _ => "containers",
    };
    view! {
        <div class="switcher">
            <button
                type="button"
                class="switcher-btn"
                popovertarget="endpoint-menu"
                title="Switch endpoint"
                on:click=move |_| refresh_endpoints(app)
            >
                <span class="sr-only">"Endpoint: "</span>
                {move || match current.get().1 {
                    Some(status) => view! { <EndpointDot status=status/> }.into_any(),
                    None => view! { <span class="dot" aria-hidden="true"></span> }.into_any(),
                }}
                <span class="switcher-name">{move || current.get().0}</span>
                {Icon::ChevronDown.view()}
            </button>
            <div id="endpoint-menu" class="menu menu-endpoints" popover="auto" node_ref=menu>
                <div class="menu-label">"Endpoints"</div>
                {move || match app.endpoints.get() {
                    None => view! { <div class="menu-note">"Loading…"</div> }.into_any(),
                    Some(Err(e)) => view! { <div class="menu-note">{e.message()}</div> }.into_any(),
                    Some(Ok(eps)) if eps.is_empty() => {
                        view! { <div class="menu-note">"No endpoints yet"</div> }.into_any()
                    }
                    Some(Ok(eps)) => eps
                        .into_iter()
                        .map(|e| {
                            let href = endpoint_path(&e.id, target_section());
                            let selected = e.id == endpoint.get_untracked();
                            view! {
                                <a
                                    href=href
                                    class="menu-item"
                                    aria-current=selected.then_some("true")
                                    title=e.error.clone().unwrap_or_else(|| e.url.clone())
                                    on:click=move |_| close()
                                >
                                    <EndpointDot status=e.status/>
                                    <span class="menu-item-main">
                                        <span>{e.name.clone()}</span>
                                        <span class="menu-item-sub mono">{e.url.clone()}</span>
                                    </span>
                                    {selected.then(|| Icon::Check.view())}
                                </a>
                            }
                        })
                        .collect_view()
                        .into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn Breadcrumb(endpoint: Memo<String>, section: Memo<Section>) -> impl IntoView {
    let app = use_app();
    let endpoint_name = move || {
        let id = endpoint.get();
        app.endpoints
            .with(|eps| match eps {
                Some(Ok(eps)) => eps.iter().find(|e| e.id == id).map(|e| e.name.clone()),
                _ => None,
            })
            .unwrap_or(id)
    };
    let items = move || -> Vec<(String, Option<String>)> {
        let ep = endpoint.get();
        let containers = endpoint_path(&ep, "containers");
        match section.get() {
            Section::Containers => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Containers".into(), None),
            ],
            Section::Container => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Containers".into(), Some(containers)),
                (app.crumb.get().unwrap_or_else(|| "…".into()), None),
            ],
            Section::Host => vec![(endpoint_name(), Some(containers)), ("Host".into(), None)],
            Section::Volumes => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Volumes".into(), None),
            ],
            Section::Networks => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Networks".into(), None),
            ],
            Section::Ports => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Ports".into(), None),
            ],
            Section::Stacks => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Stacks".into(), None),
            ],
            Section::Stack => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Stacks".into(), Some(endpoint_path(&ep, "stacks"))),
                (app.crumb.get().unwrap_or_else(|| "…".into()), None),
            ],
            Section::Images => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Images".into(), None),
            ],
            Section::Image | Section::Build => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Images".into(), Some(endpoint_path(&ep, "images"))),
                (app.crumb.get().unwrap_or_else(|| "…".into()), None),
            ],
            Section::Registries => vec![("Settings".into(), None), ("Registries".into(), None)],
            Section::Users => vec![("Settings".into(), None), ("Users".into(), None)],
            Section::Teams => vec![("Settings".into(), None), ("Teams".into(), None)],
            Section::Tokens => vec![("Settings".into(), None), ("Tokens".into(), None)],
            Section::Audit => vec![("Settings".into(), None), ("Audit log".into(), None)],
            Section::EndpointSettings => vec![
                (endpoint_name(), Some(endpoint_path(&ep, "host"))),
                ("Endpoint settings".into(), None),
            ],
            Section::Other => vec![],
        }
    };
    // The tab's title reads like the breadcrumb, most specific first.
    Effect::new(move |_| {
        let mut parts: Vec<String> = items().into_iter().map(|(label, _)| label).collect();
        parts.reverse();
        parts.push("berth".into());
        document().set_title(&parts.join(" · "));
    });
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <ol>
                {move || {
                    let items = items();
                    let last = items.len().saturating_sub(1);
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, (label, href))| match href {
                            Some(href) if i != last => view! {
                                <li><a href=href>{label}</a></li>
                            }
                            .into_any(),
                            _ => view! {
                                <li>
                                    <span aria-current=(i == last).then_some("page")>{label}</span>
                                </li>
                            }
                            .into_any(),
                        })
                        .collect_view()
                }}
            </ol>
        </nav>
    }
}

/// The top bar's search box: it filters the list page on screen; on other
/// pages Enter opens the container list filtered by it.
#[component]
fn SearchBox(
    input: NodeRef<html::Input>,
    endpoint: Memo<String>,
    section: Memo<Section>,
) -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let placeholder = move || match section.get() {
        Section::Containers => "Filter containers",
        Section::Users => "Filter users",
        Section::Teams => "Filter teams",
        Section::Tokens => "Filter tokens",
        Section::Volumes => "Filter volumes",
        Section::Networks => "Filter networks",
        Section::Ports => "Filter ports",
        Section::Stacks => "Filter stacks",
        Section::Images => "Filter images",
        Section::Registries => "Filter registries",
        Section::Audit => "Filter the log",
        _ => "Search containers",
    };
    let on_key = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            app.search.set(String::new());
            if let Some(input) = input.get_untracked() {
                let _ = input.blur();
            }
        }
        "Enter"
            if !matches!(
                section.get_untracked(),
                Section::Containers
                    | Section::Users
                    | Section::Teams
                    | Section::Tokens
                    | Section::Volumes
                    | Section::Networks
                    | Section::Ports
                    | Section::Stacks
                    | Section::Images
                    | Section::Registries
                    | Section::Audit
            ) =>
        {
            let q = app.search.get_untracked();
            let mut url = endpoint_path(&endpoint.get_untracked(), "containers");
            if !q.is_empty() {
                url.push_str("?q=");
                url.push_str(&String::from(js_sys::encode_uri_component(&q)));
            }
            navigate(&url, NavigateOptions::default());
        }
        _ => {}
    };
    view! {
        <div class="search" role="search">
            {Icon::Search.view()}
            <input
                node_ref=input
                type="search"
                aria-label="Search"
                placeholder=placeholder
                autocomplete="off"
                spellcheck="false"
                bind:value=app.search
                on:keydown=on_key
            />
            <kbd class="search-key" aria-hidden="true">"/"</kbd>
        </div>
    }
}

fn theme_is_dark() -> bool {
    match document()
        .document_element()
        .and_then(|e| e.get_attribute("data-theme"))
        .as_deref()
    {
        Some("dark") => true,
        Some("light") => false,
        _ => window()
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches()),
    }
}

/// Light/dark: follows the system until toggled, then remembers the choice.
#[component]
fn ThemeToggle() -> impl IntoView {
    let dark = RwSignal::new(theme_is_dark());
    let toggle = move |_| {
        let next = !dark.get_untracked();
        let theme = if next { "dark" } else { "light" };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
        local_storage_set(THEME_KEY, theme);
        dark.set(next);
    };
    view! {
        <button
            type="button"
            class="btn-icon btn-ghost"
            aria-label=move || if dark.get() { "Switch to light theme" } else { "Switch to dark theme" }
            title=move || if dark.get() { "Switch to light theme" } else { "Switch to dark theme" }
            on:click=toggle
        >
            {move || if dark.get() { Icon::Sun.view() } else { Icon::Moon.view() }}
        </button>
    }
}

#[component]
fn UserMenu() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let menu = NodeRef::<html::Div>::new();
    let logout = move |_| {
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.hide_popover();
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            if let Err(e) = api::logout().await {
                app.toasts
                    .error(format!("Could not sign out cleanly: {}", e.message()));
            }
            navigate("/login", NavigateOptions::default());
            app.user.set(None);
        });
    };
    move || {
        app.user.get().map(|user| {
            let initial = user.username.chars().next().unwrap_or('?').to_uppercase().to_string();
            let logout = logout.clone();
            view! {
                <div class="user">
                    <button type="button" class="user-btn" popovertarget="user-menu" title="Account">
                        <span class="avatar" aria-hidden="true">{initial}</span>
                        <span class="user-name">{user.username.clone()}</span>
                        <span class="user-role"><RoleBadge role=user.role/></span>
                        {Icon::ChevronDown.view()}
                    </button>
                    <div id="user-menu" class="menu menu-user" popover="auto" node_ref=menu>
                        <div class="menu-head">
                            <span class="muted">"Signed in as"</span>
                            <strong>{user.username.clone()}</strong>
                            <RoleBadge role=user.role/>
                        </div>
                        <a href="/settings/tokens" class="menu-item" on:click=move |_| {
                            if let Some(menu) = menu.get_untracked() {
                                let _ = menu.hide_popover();
                            }
                        }>
                            {Icon::Key.view()}
                            <span>"API tokens"</span>
                        </a>
                        <button type="button" class="menu-item" on:click=logout>
                            {Icon::Logout.view()}
                            <span>"Log out"</span>
                        </button>
                    </div>
                </div>
            }
        })
    }
}

/// The centred card of the sign-in and setup pages.
#[component]
pub fn AuthCard(#[prop(into)] title: String, children: Children) -> impl IntoView {
    document().set_title(&title);
    view! {
        <div class="auth">
            <main class="auth-card">
                <div class="auth-brand">
                    <span class="brand-mark" aria-hidden="true">{Icon::Containers.view()}</span>
                    <span class="brand-name">"berth"</span>
                </div>
                <h1 class="auth-title">{title}</h1>
                {children()}
            </main>
        </div>
    }
}
