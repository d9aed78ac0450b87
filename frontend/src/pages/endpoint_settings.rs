//! `/endpoints/{ep}/settings` (admins): who may reach the endpoint (its
//! grants to users and teams), and its security policy, what operators and
//! viewers may ask of this host, as switches and lists.

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;
use protocol::{
    capability_name, normalize_path, EndpointAccess, EndpointPolicy, Grant, Role, Team, User,
    CAPABILITIES,
};

use crate::api::{self, ApiError};
use crate::components::{
    icons::Icon,
    remote::{EmptyState, LoadError, Loading},
};
use crate::state::use_app;

/// One on/off rule of the policy.
#[derive(Debug, Clone, Copy)]
pub struct Switch {
    /// The API's field name, which a 400 detail names.
    pub field: &'static str,
    pub label: &'static str,
    /// What switching it on exposes, in one sentence.
    pub exposes: &'static str,
    get: fn(&EndpointPolicy) -> bool,
    set: fn(&mut EndpointPolicy, bool),
}

/// Every switch, in the order the page shows them.
pub const SWITCHES: &[Switch] = &[
    Switch {
        field: "allow_bind_mounts",
        label: "Bind mounts",
        exposes: "Containers may read and write the host's files under the folders listed here. \
                  berth's data folder and the Docker socket are never allowed.",
        get: |p| p.allow_bind_mounts,
        set: |p, on| p.allow_bind_mounts = on,
    },
    Switch {
        field: "allow_privileged",
        label: "Privileged containers",
        exposes: "A privileged container has every capability and every host device: whoever \
                  runs one is root on the host.",
        get: |p| p.allow_privileged,
        set: |p, on| p.allow_privileged = on,
    },
    Switch {
        field: "allow_host_namespaces",
        label: "Host namespaces",
        exposes: "Containers may share the host's network, processes, IPC, hostname or user \
                  namespace, or another stack's container's, and so see the host's processes \
                  and reach its local ports.",
        get: |p| p.allow_host_namespaces,
        set: |p, on| p.allow_host_namespaces = on,
    },
    Switch {
        field: "allow_devices",
        label: "Devices and GPUs",
        exposes: "Containers may be handed the host's devices (disks, serial ports, GPUs) and \
                  device rules, and read or write them directly.",
        get: |p| p.allow_devices,
        set: |p, on| p.allow_devices = on,
    },
    Switch {
        field: "allow_sysctls",
        label: "Kernel parameters (sysctls)",
        exposes: "Containers may set kernel parameters for their namespaces, such as network \
                  tuning.",
        get: |p| p.allow_sysctls,
        set: |p, on| p.allow_sysctls = on,
    },
    Switch {
        field: "allow_security_opt",
        label: "Security options",
        exposes: "Containers may change their AppArmor, seccomp or SELinux confinement, \
                  including switching it off.",
        get: |p| p.allow_security_opt,
        set: |p, on| p.allow_security_opt = on,
    },
    Switch {
        field: "allow_cgroup_parent",
        label: "Cgroup parent",
        exposes: "Containers may be placed in a host cgroup of their choosing, outside the \
                  limits the engine sets.",
        get: |p| p.allow_cgroup_parent,
        set: |p, on| p.allow_cgroup_parent = on,
    },
];

/// The switch that keeps operators to their own (and their teams') work.
pub const OWNERSHIP: Switch = Switch {
    field: "own_resources_only",
    label: "Own resources only",
    exposes: "Operators start, stop, change and remove only the stacks and containers that they \
              or someone in one of their teams created; everything else on this endpoint they \
              can only look at. Off: every operator manages everything here.",
    get: |p| p.own_resources_only,
    set: |p, on| p.own_resources_only = on,
};

/// The list fields, which a 400 detail may name too.
const ROOTS_FIELD: &str = "bind_mount_roots";
const CAPS_FIELD: &str = "allowed_capabilities";

/// Which policy field a problem+json detail names, if any: the longest
/// field name found in it, so `allow_bind_mounts` is not taken for a part
/// of another name.
pub fn field_named(detail: &str) -> Option<&'static str> {
    SWITCHES
        .iter()
        .map(|s| s.field)
        .chain([OWNERSHIP.field, ROOTS_FIELD, CAPS_FIELD])
        .filter(|f| detail.contains(f))
        .max_by_key(|f| f.len())
}

/// A host folder as the policy keeps it: absolute, with `.`, `..`, doubled
/// and trailing slashes resolved; or why it cannot be one.
pub fn normalize_root(input: &str) -> Result<String, String> {
    let path = input.trim();
    if path.is_empty() {
        return Err("Type a folder, like /srv/data".into());
    }
    if !path.starts_with('/') {
        return Err(format!("{path} is not absolute: start it with /"));
    }
    normalize_path(path).ok_or_else(|| format!("{path} climbs above /"))
}

/// Adds `input` to `roots` once, normalised; or says why it cannot.
pub fn add_root(roots: &mut Vec<String>, input: &str) -> Result<(), String> {
    let root = normalize_root(input)?;
    if roots.contains(&root) {
        return Err(format!("{root} is already in the list"));
    }
    roots.push(root);
    Ok(())
}

/// A capability by its plain name (`net_admin` and `CAP_NET_ADMIN` give
/// `NET_ADMIN`); or why it is not one.
pub fn normalize_capability(input: &str) -> Result<String, String> {
    let name = capability_name(input);
    if name.is_empty() {
        return Err("Choose a capability".into());
    }
    if !CAPABILITIES.contains(&name.as_str()) {
        return Err(format!(
            "{name} is not a Linux capability: pick one from the list"
        ));
    }
    Ok(name)
}

fn switch_id(field: &str) -> String {
    format!("policy-{}", field.replace('_', "-"))
}

fn error_id(field: &str) -> String {
    format!("{}-error", switch_id(field))
}

#[component]
pub fn EndpointSettingsPage() -> impl IntoView {
    let app = use_app();
    app.search.set(String::new());
    let params = use_params_map();
    let ep = Memo::new(move |_| params.with(|p| p.get("ep").unwrap_or_default()));
    let admin = Memo::new(move |_| app.is_admin());
    move || {
        if admin.get() {
            view! { <PolicyEditor ep=ep/> }.into_any()
        } else {
            view! {
                <div class="page">
                    <div class="page-head"><h1>"Endpoint settings"</h1></div>
                    <EmptyState
                        title="Only admins change an endpoint's settings"
                        hint="Ask an admin if this endpoint's security policy stops something you need."
                    />
                </div>
            }
            .into_any()
        }
    }
}

/// The policy as loaded (`saved`) and as edited (`draft`), and the form.
#[component]
fn PolicyEditor(ep: Memo<String>) -> impl IntoView {
    let app = use_app();
    let saved = RwSignal::new(None::<Result<EndpointPolicy, ApiError>>);
    let draft = RwSignal::new(EndpointPolicy::default());
    let busy = RwSignal::new(false);
    // The save's error: the field it names (None: the whole form) and text.
    let error = RwSignal::new(None::<(Option<&'static str>, String)>);

    let load = move || {
        let ep = ep.get_untracked();
        saved.set(None);
        error.set(None);
        spawn_local(async move {
            let result = api::endpoint_policy(&ep).await;
            if let Ok(policy) = &result {
                draft.set(policy.clone());
            }
            saved.set(Some(result));
        });
    };
    Effect::new(move |_| {
        ep.track();
        load();
    });

    let dirty = Memo::new(move |_| {
        saved.with(|s| match s {
            Some(Ok(policy)) => draft.with(|d| d != policy),
            _ => false,
        })
    });

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let ep = ep.get_untracked();
        let policy = draft.get_untracked();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::set_endpoint_policy(&ep, &policy).await {
                Ok(kept) => {
                    draft.set(kept.clone());
                    saved.set(Some(Ok(kept)));
                    app.toasts
                        .success(format!("Saved the security policy of {ep}"));
                }
                Err(e) => {
                    let field = field_named(&e.detail);
                    error.set(Some((field, e.message())));
                    focus(&field.map_or_else(|| "policy-form-error".to_owned(), switch_id));
                }
            }
            busy.set(false);
        });
    };
    let reset = move |_| {
        if let Some(Ok(policy)) = saved.get_untracked() {
            draft.set(policy);
            error.set(None);
        }
    };
    let error_of = move |field: &'static str| {
        move || {
            error.with(|e| match e {
                Some((Some(f), text)) if *f == field => Some(text.clone()),
                _ => None,
            })
        }
    };

    let form = move || {
        view! {
            <form class="form policy-form" on:submit=submit novalidate>
                <div class="banner banner-info policy-note" role="note">
                    {Icon::Alert.view()}
                    <div class="banner-text">
                        <strong>"Admins are never limited by this policy."</strong>
                        <p>"It applies to operators and viewers on this endpoint, whichever way a container arrives: the run form, a docker run line, an edit, a stack or a rollback. Anything switched off here is refused with a message naming the setting."</p>
                    </div>
                </div>
                <section class="card form-section" aria-labelledby="policy-switches-title">
                    <h2 class="card-title" id="policy-switches-title">"What containers may reach on the host"</h2>
                    <ul class="policy-list">
                        {SWITCHES
                            .iter()
                            .map(|s| view! {
                                <PolicySwitch switch=*s draft=draft error=Signal::derive(error_of(s.field))/>
                                {(s.field == "allow_bind_mounts").then(|| view! {
                                    <Show when=move || draft.with(|d| d.allow_bind_mounts)>
                                        <RootsEditor draft=draft error=Signal::derive(error_of(ROOTS_FIELD))/>
                                    </Show>
                                })}
                            })
                            .collect_view()}
                    </ul>
                </section>
                <CapabilitiesEditor draft=draft error=Signal::derive(error_of(CAPS_FIELD))/>
                <section class="card form-section" aria-labelledby="policy-owners-title">
                    <h2 class="card-title" id="policy-owners-title">"Who manages what"</h2>
                    <ul class="policy-list">
                        <PolicySwitch
                            switch=OWNERSHIP
                            draft=draft
                            error=Signal::derive(error_of(OWNERSHIP.field))
                            words=("On", "Off")
                        />
                    </ul>
                </section>
                {move || error.with(|e| match e {
                    Some((None, text)) => Some(view! {
                        <div class="form-error" id="policy-form-error" role="alert" tabindex="-1">{text.clone()}</div>
                    }),
                    _ => None,
                })}
                <div class="form-actions">
                    <span class="field-hint" role="status">
                        {move || if dirty.get() { "Unsaved changes" } else { "" }}
                    </span>
                    <span class="spacer"></span>
                    <button type="button" class="btn" on:click=reset disabled=move || !dirty.get() || busy.get()>
                        "Discard changes"
                    </button>
                    <button type="submit" class="btn btn-primary" disabled=busy class:is-loading=busy>
                        {move || if busy.get() { Icon::Refresh.view().into_any() } else { Icon::Check.view().into_any() }}
                        <span>"Save policy"</span>
                    </button>
                </div>
            </form>
        }
    };

    view! {
        <div class="page page-narrow">
            <div class="page-head">
                <div>
                    <h1>"Endpoint settings"</h1>
                    <p class="page-sub">{move || format!("Who reaches {} and the security policy: what people who are not admins may ask of this host.", ep.get())}</p>
                </div>
            </div>
            <AccessEditor ep=ep/>
            {move || match saved.get() {
                None => view! { <Loading what="the security policy"/> }.into_any(),
                Some(Err(e)) => view! {
                    <LoadError error=e endpoint=ep.get() what="the security policy" on_retry=move |()| load()/>
                }
                .into_any(),
                Some(Ok(_)) => form().into_any(),
            }}
        </div>
    }
}

// ------------------------------------------------------------ access (grants)

/// Who a grant names: `("user", name)` or `("team", name)`.
pub fn grant_subject(g: &Grant) -> (&'static str, String) {
    match (&g.user, &g.team) {
        (Some(u), _) => ("user", u.clone()),
        (None, Some(t)) => ("team", t.clone()),
        (None, None) => ("user", String::new()),
    }
}

/// Adds a grant to `grants`, or says why it cannot: a name is picked, and
/// the same user or team is not listed twice.
pub fn add_grant(
    grants: &mut Vec<Grant>,
    kind: &str,
    name: &str,
    role: Role,
) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("Pick a {kind} first"));
    }
    if role == Role::Admin {
        return Err("A grant gives viewer or operator".into());
    }
    let taken = grants.iter().any(|g| {
        let (k, n) = grant_subject(g);
        k == kind && n.eq_ignore_ascii_case(name)
    });
    if taken {
        return Err(format!(
            "{kind} {name} already has a grant here: change its role in the list"
        ));
    }
    let (user, team) = if kind == "team" {
        (None, Some(name.to_owned()))
    } else {
        (Some(name.to_owned()), None)
    };
    grants.push(Grant { user, team, role });
    Ok(())
}

const GRANT_ROLES: [Role; 2] = [Role::Viewer, Role::Operator];

/// The endpoint's grants as loaded (`saved`) and as edited (`draft`), with a
/// row to add one and a button to save the list.
#[component]
fn AccessEditor(ep: Memo<String>) -> impl IntoView {
    let app = use_app();
    let saved = RwSignal::new(None::<Result<EndpointAccess, ApiError>>);
    let draft = RwSignal::new(Vec::<Grant>::new());
    let users = RwSignal::new(Vec::<User>::new());
    let teams = RwSignal::new(Vec::<Team>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let kind = RwSignal::new("team".to_owned());
    let picked = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Operator.as_str().to_owned());

    let load = move || {
        let ep = ep.get_untracked();
        saved.set(None);
        error.set(None);
        spawn_local(async move {
            let result = api::endpoint_access(&ep).await;
            if let Ok(access) = &result {
                draft.set(access.grants.clone());
            }
            saved.set(Some(result));
            if let Ok(list) = api::users().await {
                users.set(list);
            }
            if let Ok(list) = api::teams().await {
                teams.set(list);
            }
        });
    };
    Effect::new(move |_| {
        ep.track();
        load();
    });

    let dirty = Memo::new(move |_| {
        saved.with(|s| match s {
            Some(Ok(access)) => draft.with(|d| *d != access.grants),
            _ => false,
        })
    });
    // The names the picker offers: users who are not admins (admins reach
    // every endpoint anyway), or teams.
    let names = Memo::new(move |_| {
        let mut out: Vec<String> = if kind.get() == "team" {
            teams.with(|t| t.iter().map(|t| t.name.clone()).collect())
        } else {
            users.with(|u| {
                u.iter()
                    .filter(|u| u.role != Role::Admin)
                    .map(|u| u.username.clone())
                    .collect()
            })
        };
        let k = kind.get();
        draft.with(|d| {
            out.retain(|n| {
                !d.iter().any(|g| {
                    let (gk, gn) = grant_subject(g);
                    gk == k && gn.eq_ignore_ascii_case(n)
                })
            })
        });
        out.sort_by_key(|n| n.to_lowercase());
        out
    });

    let add = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = Role::parse(&role.get_untracked()) else {
            return;
        };
        let mut result = Ok(());
        let (k, n) = (kind.get_untracked(), picked.get_untracked());
        draft.update(|d| result = add_grant(d, &k, &n, r));
        match result {
            Ok(()) => {
                picked.set(String::new());
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let save = move |_| {
        if busy.get_untracked() {
            return;
        }
        let ep = ep.get_untracked();
        let access = EndpointAccess {
            grants: draft.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::set_endpoint_access(&ep, &access).await {
                Ok(kept) => {
                    draft.set(kept.grants.clone());
                    saved.set(Some(Ok(kept)));
                    app.toasts.success(format!("Saved who may reach {ep}"));
                }
                Err(e) => error.set(Some(e.message())),
            }
            busy.set(false);
        });
    };
    let reset = move |_| {
        if let Some(Ok(access)) = saved.get_untracked() {
            draft.set(access.grants);
            error.set(None);
        }
    };

    let row = move |(index, grant): (usize, Grant)| {
        let (k, name) = grant_subject(&grant);
        let current = grant.role;
        let label = format!("{k} {name}");
        let change = move |ev: ev::Event| {
            if let Some(r) = Role::parse(&event_target_value(&ev)) {
                draft.update(|d| {
                    if let Some(g) = d.get_mut(index) {
                        g.role = r;
                    }
                });
            }
        };
        view! {
            <tr>
                <td data-label="Who">
                    <span class="tag">{if k == "team" { "Team" } else { "User" }}</span>
                    <span class="row-title">{name.clone()}</span>
                </td>
                <td data-label="Role">
                    <select class="select select-sm" aria-label=format!("Role of {label}") on:change=change>
                        {GRANT_ROLES
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == current>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Remove the grant of {label}")
                            title="Remove"
                            on:click=move |_| draft.update(|d| {
                                if index < d.len() {
                                    d.remove(index);
                                }
                            })
                        >
                            {Icon::Trash.view()}
                        </button>
                    </div>
                </td>
            </tr>
        }
    };

    let numbered = move || -> Vec<(usize, Grant)> { draft.get().into_iter().enumerate().collect() };
    let grant_key = |(i, g): &(usize, Grant)| {
        let (kind, name) = grant_subject(g);
        (*i, kind, name, g.role)
    };
    let body = move || {
        view! {
            <p class="field-hint" id="access-hint">
                "Admins reach every endpoint. Everyone else sees only the endpoints granted to them here, by name or through a team, and acts with the lower of their own role and the grant's. Without a grant, this endpoint does not exist for them."
            </p>
            <div class="table-wrap">
                <table class="table table-cards" aria-label="Grants">
                    <thead>
                        <tr>
                            <th scope="col">"Who"</th>
                            <th scope="col">"Role here"</th>
                            <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=numbered key=grant_key children=row/>
                    </tbody>
                </table>
                <Show when=move || draft.with(Vec::is_empty)>
                    <EmptyState title="No grants: only admins reach this endpoint" hint="Add a team or a user below."/>
                </Show>
            </div>
            <form class="inline-fields access-add" on:submit=add>
                <select class="select" aria-label="Grant to" bind:value=kind on:change=move |_| picked.set(String::new())>
                    <option value="team">"Team"</option>
                    <option value="user">"User"</option>
                </select>
                <select class="select" aria-label=move || if kind.get() == "team" { "Team to grant" } else { "User to grant" } bind:value=picked>
                    <option value="">{move || if kind.get() == "team" { "Pick a team" } else { "Pick a user" }}</option>
                    {move || names.get().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                </select>
                <select class="select" aria-label="Role to grant" bind:value=role>
                    {GRANT_ROLES
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="btn">
                    {Icon::Plus.view()}
                    <span>"Add grant"</span>
                </button>
            </form>
            <p class="field-error" id="access-error" role="alert">{move || error.get()}</p>
            <div class="form-actions">
                <span class="field-hint" role="status">
                    {move || if dirty.get() { "Unsaved changes" } else { "" }}
                </span>
                <span class="spacer"></span>
                <button type="button" class="btn" on:click=reset disabled=move || !dirty.get() || busy.get()>
                    "Discard changes"
                </button>
                <button type="button" class="btn btn-primary" on:click=save disabled=busy class:is-loading=busy>
                    {Icon::Check.view()}
                    <span>"Save access"</span>
                </button>
            </div>
        }
    };

    view! {
        <section class="card form-section access" aria-labelledby="access-title">
            <h2 class="card-title" id="access-title">"Access"</h2>
            {move || match saved.get() {
                None => view! { <Loading what="the grants"/> }.into_any(),
                Some(Err(e)) => view! {
                    <LoadError error=e endpoint=ep.get() what="the grants" on_retry=move |()| load()/>
                }
                .into_any(),
                Some(Ok(_)) => body().into_any(),
            }}
        </section>
    }
}

/// Moves focus to an element once it has rendered (a field the server named).
fn focus(id: &str) {
    let id = id.to_owned();
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
            el.scroll_into_view_with_bool(false);
        }
    });
}

/// One rule as a labelled switch with the sentence of what it exposes.
#[component]
fn PolicySwitch(
    switch: Switch,
    draft: RwSignal<EndpointPolicy>,
    error: Signal<Option<String>>,
    /// The state's words when on and off ("Allowed"/"Refused" by default).
    #[prop(optional)]
    words: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    let (on_word, off_word) = words.unwrap_or(("Allowed", "Refused"));
    let id = switch_id(switch.field);
    let label_for = id.clone();
    let hint_id = format!("{id}-hint");
    let name_id = format!("{id}-name");
    let err_id = error_id(switch.field);
    let described = format!("{hint_id} {err_id}");
    let toggle = move |ev: ev::Event| {
        let on = event_target_checked(&ev);
        draft.update(|d| (switch.set)(d, on));
    };
    view! {
        <li class="policy-item">
            <label class="policy-switch" for=label_for>
                <input
                    id=id
                    type="checkbox"
                    role="switch"
                    aria-labelledby=name_id.clone()
                    class="switch-input"
                    prop:checked=move || draft.with(|d| (switch.get)(d))
                    on:change=toggle
                    aria-describedby=described
                    aria-invalid=move || error.with(Option::is_some).then_some("true")
                />
                <span class="switch-track" aria-hidden="true"></span>
                <span class="policy-text">
                    <span class="policy-name" id=name_id>{switch.label}</span>
                    <span class="field-hint" id=hint_id>{switch.exposes}</span>
                </span>
                <span class="policy-state" aria-hidden="true">
                    {move || if draft.with(|d| (switch.get)(d)) { on_word } else { off_word }}
                </span>
            </label>
            <p class="field-error" id=err_id role="alert">{move || error.get()}</p>
        </li>
    }
}

/// The folders bind mounts may come from: a list with remove buttons and a
/// box to add one.
#[component]
fn RootsEditor(draft: RwSignal<EndpointPolicy>, error: Signal<Option<String>>) -> impl IntoView {
    let input = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let add = move || {
        let typed = input.get_untracked();
        let mut result = Ok(());
        draft.update(|d| result = add_root(&mut d.bind_mount_roots, &typed));
        match result {
            Ok(()) => {
                input.set(String::new());
                local_error.set(None);
            }
            Err(e) => local_error.set(Some(e)),
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            ev.prevent_default();
            add();
        }
    };
    let shown_error = move || local_error.get().or_else(|| error.get());
    let err_id = error_id(ROOTS_FIELD);
    view! {
        <li class="policy-sub">
            <div class="field">
                <span class="field-label" id="policy-roots-label">"Allowed host folders"</span>
                <p class="field-hint" id="policy-roots-hint">
                    "A bind mount must lie inside one of these (after symlinks are followed). With none, no bind mount is allowed."
                </p>
                <ul class="policy-roots" aria-labelledby="policy-roots-label">
                    <For
                        each=move || draft.with(|d| d.bind_mount_roots.clone())
                        key=|root| root.clone()
                        children=move |root: String| {
                            let gone = root.clone();
                            view! {
                                <li class="policy-root">
                                    <span class="mono">{root.clone()}</span>
                                    <button
                                        type="button"
                                        class="btn-icon btn-icon-danger"
                                        aria-label=format!("Remove {root}")
                                        title="Remove"
                                        on:click=move |_| draft.update(|d| d.bind_mount_roots.retain(|r| *r != gone))
                                    >
                                        {Icon::Close.view()}
                                    </button>
                                </li>
                            }
                        }
                    />
                    <Show when=move || draft.with(|d| d.bind_mount_roots.is_empty())>
                        <li class="policy-root policy-none">"No folders yet"</li>
                    </Show>
                </ul>
                <div class="inline-fields">
                    <input
                        id=switch_id(ROOTS_FIELD)
                        class="input mono"
                        type="text"
                        placeholder="/srv/data"
                        aria-label="New host folder"
                        autocomplete="off"
                        spellcheck="false"
                        bind:value=input
                        on:keydown=on_key
                        aria-describedby=format!("policy-roots-hint {err_id}")
                        aria-invalid=move || shown_error().is_some().then_some("true")
                    />
                    <button type="button" class="btn" on:click=move |_| add()>
                        {Icon::Plus.view()}
                        <span>"Add folder"</span>
                    </button>
                </div>
                <p class="field-error" id=err_id role="alert">{shown_error}</p>
            </div>
        </li>
    }
}

/// The capabilities containers may add: chips with remove buttons and a
/// picker of the usual names (any other name can be typed).
#[component]
fn CapabilitiesEditor(
    draft: RwSignal<EndpointPolicy>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let input = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let add = move || match normalize_capability(&input.get_untracked()) {
        Ok(cap) => {
            draft.update(|d| {
                if !d.allowed_capabilities.contains(&cap) {
                    d.allowed_capabilities.push(cap);
                }
            });
            input.set(String::new());
            local_error.set(None);
        }
        Err(e) => local_error.set(Some(e)),
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            ev.prevent_default();
            add();
        }
    };
    let shown_error = move || local_error.get().or_else(|| error.get());
    let err_id = error_id(CAPS_FIELD);
    view! {
        <section class="card form-section" aria-labelledby="policy-caps-title">
            <h2 class="card-title" id="policy-caps-title">"Added capabilities"</h2>
            <p class="field-hint" id="policy-caps-hint">
                "Containers may add these Linux capabilities beyond the engine's defaults (--cap-add); any other is refused. Some are nearly root: SYS_ADMIN, SYS_MODULE, SYS_PTRACE, DAC_READ_SEARCH."
            </p>
            <ul class="chips policy-caps" aria-label="Allowed capabilities">
                <For
                    each=move || draft.with(|d| d.allowed_capabilities.clone())
                    key=|cap| cap.clone()
                    children=move |cap: String| {
                        let gone = cap.clone();
                        view! {
                            <li class="chip mono">
                                <span>{cap.clone()}</span>
                                <button
                                    type="button"
                                    class="chip-remove"
                                    aria-label=format!("Remove {cap}")
                                    title="Remove"
                                    on:click=move |_| draft.update(|d| d.allowed_capabilities.retain(|c| *c != gone))
                                >
                                    {Icon::Close.view()}
                                </button>
                            </li>
                        }
                    }
                />
                <Show when=move || draft.with(|d| d.allowed_capabilities.is_empty())>
                    <li class="chip chip-none">"None: no capability may be added"</li>
                </Show>
            </ul>
            <div class="field">
                <label for=switch_id(CAPS_FIELD)>"Allow a capability"</label>
                <div class="inline-fields">
                    <input
                        id=switch_id(CAPS_FIELD)
                        class="input mono"
                        type="text"
                        list="policy-caps-names"
                        placeholder="NET_ADMIN"
                        autocomplete="off"
                        spellcheck="false"
                        bind:value=input
                        on:keydown=on_key
                        aria-describedby=format!("policy-caps-hint {err_id}")
                        aria-invalid=move || shown_error().is_some().then_some("true")
                    />
                    <datalist id="policy-caps-names">
                        {move || {
                            let chosen = draft.with(|d| d.allowed_capabilities.clone());
                            CAPABILITIES
                                .iter()
                                .filter(|c| !chosen.iter().any(|x| x == *c))
                                .map(|c| view! { <option value=*c></option> })
                                .collect_view()
                        }}
                    </datalist>
                    <button type="button" class="btn" on:click=move |_| add()>
                        {Icon::Plus.view()}
                        <span>"Add capability"</span>
                    </button>
                </div>
                <p class="field-error" id=err_id role="alert">{shown_error}</p>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_absolute_and_normalised() {
        assert_eq!(normalize_root(" /srv//data/ "), Ok("/srv/data".to_owned()));
        assert_eq!(
            normalize_root("/tmp/berth-e2e"),
            Ok("/tmp/berth-e2e".into())
        );
        assert_eq!(normalize_root("/srv/./a/../b"), Ok("/srv/b".into()));
        assert_eq!(normalize_root("/"), Ok("/".into()));
        assert!(normalize_root("srv/data").is_err());
        assert!(normalize_root("").is_err());
        assert!(normalize_root("/..").is_err());
    }

    #[test]
    fn a_root_is_added_once() {
        let mut roots = vec!["/srv/data".to_owned()];
        assert!(add_root(&mut roots, "/srv/data/").is_err());
        assert!(add_root(&mut roots, "/opt/app").is_ok());
        assert_eq!(roots, ["/srv/data", "/opt/app"]);
    }

    #[test]
    fn capabilities_take_docker_spelling() {
        assert_eq!(normalize_capability("net_admin"), Ok("NET_ADMIN".into()));
        assert_eq!(
            normalize_capability(" CAP_SYS_TIME "),
            Ok("SYS_TIME".into())
        );
        assert!(normalize_capability("").is_err());
        assert!(normalize_capability("CAP_").is_err());
        assert!(normalize_capability("net-admin").is_err());
        assert!(normalize_capability("FLY").is_err());
    }

    #[test]
    fn a_grant_names_one_subject_once() {
        let mut grants = Vec::new();
        assert!(add_grant(&mut grants, "team", "ops", Role::Operator).is_ok());
        assert!(add_grant(&mut grants, "user", "ops", Role::Viewer).is_ok());
        assert!(add_grant(&mut grants, "team", "OPS", Role::Viewer).is_err());
        assert!(add_grant(&mut grants, "user", " ", Role::Viewer).is_err());
        assert!(add_grant(&mut grants, "user", "bob", Role::Admin).is_err());
        let json = serde_json::to_string(&EndpointAccess { grants }).expect("serialises");
        assert_eq!(
            json,
            r#"{"grants":[{"team":"ops","role":"operator"},{"user":"ops","role":"viewer"}]}"#
        );
    }

    #[test]
    fn a_detail_names_its_field() {
        assert_eq!(
            field_named("bind_mount_roots[0]: `tmp` is not an absolute path"),
            Some("bind_mount_roots")
        );
        assert_eq!(
            field_named("`allowed_capabilities`: FOO is not a capability"),
            Some("allowed_capabilities")
        );
        assert_eq!(
            field_named("allow_privileged must be a boolean"),
            Some("allow_privileged")
        );
        assert_eq!(field_named("the body is not JSON"), None);
    }

    #[test]
    fn the_policy_reads_the_api_shape() {
        let json = r#"{"allow_bind_mounts":true,"bind_mount_roots":["/srv"],"allow_privileged":false,"allow_host_namespaces":false,"allow_devices":false,"allowed_capabilities":["NET_ADMIN"],"allow_sysctls":false,"allow_security_opt":false,"allow_cgroup_parent":false,"own_resources_only":true}"#;
        let policy: EndpointPolicy = serde_json::from_str(json).expect("the API's shape");
        assert!(policy.allow_bind_mounts);
        assert_eq!(policy.bind_mount_roots, ["/srv"]);
        assert!(policy.own_resources_only);
        assert_eq!(
            serde_json::to_value(&policy).expect("serialises"),
            serde_json::from_str::<serde_json::Value>(json).expect("valid JSON")
        );
        // Every switch reads and writes its own field.
        for s in SWITCHES.iter().chain([&OWNERSHIP]) {
            let mut p = EndpointPolicy::default();
            (s.set)(&mut p, true);
            assert!((s.get)(&p), "{}", s.field);
            let v = serde_json::to_value(&p).expect("serialises");
            assert_eq!(v[s.field], serde_json::Value::Bool(true), "{}", s.field);
        }
    }
}
