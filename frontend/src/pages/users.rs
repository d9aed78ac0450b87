//! `/settings/users` (admins): the people who can sign in, their roles and
//! teams, disabling and enabling them, and a form to add one.

use leptos::{ev, prelude::*, task::spawn_local};
use protocol::{NewUser, Role, User};

use crate::api::{self, ApiError};
use crate::components::{
    format::{parse_time, RelativeTime},
    icons::Icon,
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, Remote},
};
use crate::state::{use_app, AppState};

fn role_hint(role: Role) -> &'static str {
    match role {
        Role::Admin => "Everything, including users and settings",
        Role::Operator => "Runs and changes containers, but not users",
        Role::Viewer => "Looks, changes nothing",
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let app = use_app();
    app.search.set(String::new());
    let admin = Memo::new(move |_| app.is_admin());
    move || {
        if admin.get() {
            view! { <UserAdmin/> }.into_any()
        } else {
            view! {
                <div class="page">
                    <div class="page-head"><h1>"Users"</h1></div>
                    <EmptyState title="Only admins manage users" hint="Ask an admin to change your role or add people."/>
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn UserAdmin() -> impl IntoView {
    let app = use_app();
    let users = Remote::new(api::users);
    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        users.value.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .filter(|u| {
                    needle.is_empty()
                        || u.username.to_lowercase().contains(&needle)
                        || u.role.as_str().contains(&needle)
                        || u.teams.iter().any(|t| t.to_lowercase().contains(&needle))
                })
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let me = Memo::new(move |_| app.user.with(|u| u.as_ref().map(|u| u.id)));

    let row = move |user: User| {
        let is_me = me.get_untracked() == Some(user.id);
        let created = parse_time(&user.created_at);
        let (id, name) = (user.id, user.username.clone());
        let change_role = move |ev: ev::Event| {
            let Some(role) = Role::parse(&event_target_value(&ev)) else {
                return;
            };
            let name = name.clone();
            spawn_local(async move {
                match api::set_user_role(id, role).await {
                    Ok(updated) => {
                        app.toasts
                            .success(format!("{name} is now {}", updated.role.as_str()));
                        users.update_ok(|list| {
                            if let Some(u) = list.iter_mut().find(|u| u.id == id) {
                                *u = updated;
                            }
                        });
                    }
                    Err(e) => {
                        app.toasts
                            .error(format!("Could not change {name}'s role: {}", e.message()));
                        users.reload();
                    }
                }
            });
        };
        let remove = {
            let name = user.username.clone();
            move |_| ask_delete(app, users, id, name.clone())
        };
        let toggle = {
            let name = user.username.clone();
            let disabled = user.disabled;
            move |_| {
                if disabled {
                    set_disabled(app, users, id, name.clone(), false);
                } else {
                    ask_disable(app, users, id, name.clone());
                }
            }
        };
        let role = user.role;
        let disabled = user.disabled;
        let teams = user.teams.clone();
        view! {
            <tr>
                <td class="cell-primary" data-label="Username">
                    <span class="row-title">{user.username.clone()}</span>
                    {is_me.then(|| view! { <span class="tag">"you"</span> })}
                    {disabled.then(|| view! { <span class="badge badge-red">"Disabled"</span> })}
                </td>
                <td data-label="Role">
                    <select
                        class="select select-sm"
                        aria-label=format!("Role of {}", user.username)
                        on:change=change_role
                    >
                        {Role::ALL
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == role>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                </td>
                <td data-label="Teams">
                    {if teams.is_empty() {
                        view! { <span class="muted">"None"</span> }.into_any()
                    } else {
                        view! {
                            <ul class="chips" aria-label=format!("Teams of {}", user.username)>
                                {teams.into_iter().map(|t| view! { <li class="chip">{t}</li> }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    }}
                </td>
                <td data-label="Created" class="cell-nowrap"><RelativeTime secs=created/></td>
                <td class="cell-actions">
                    <div class="row-actions">
                        {(!is_me).then(|| view! {
                            <button
                                type="button"
                                class="btn btn-sm"
                                aria-label=format!("{} {}", if disabled { "Enable" } else { "Disable" }, user.username)
                                on:click=toggle
                            >
                                {if disabled { "Enable" } else { "Disable" }}
                            </button>
                        })}
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Delete {}", user.username)
                            title="Delete user"
                            on:click=remove
                        >
                            {Icon::Trash.view()}
                        </button>
                    </div>
                </td>
            </tr>
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Users"</h1>
                    <p class="page-sub">"People who can sign in to berth, and what they may do."</p>
                </div>
            </div>
            <div class="split">
                <div class="split-main">
                    <Loaded remote=users what="users">
                        <div class="table-wrap">
                            <table class="table table-cards">
                                <thead>
                                    <tr>
                                        <th scope="col">"Username"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Teams"</th>
                                        <th scope="col">"Created"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || rows.get() key=|u| (u.id, u.role, u.disabled, u.teams.clone()) children=row/>
                                </tbody>
                            </table>
                            <Show when=move || rows.with(Vec::is_empty)>
                                <EmptyState title="No users match the filter"/>
                            </Show>
                        </div>
                    </Loaded>
                </div>
                <AddUser on_added=move || users.reload()/>
            </div>
        </div>
    }
}

fn ask_disable(app: AppState, users: Remote<Vec<User>>, id: i64, name: String) {
    let title = format!("Disable {name}?");
    let body = format!(
        "{name} can no longer sign in; their sessions, API tokens and open terminals stop at once. \
         Nothing of theirs is deleted, and Enable gives them back their access."
    );
    app.ask(ConfirmRequest::new(title, body, "Disable", move || {
        set_disabled(app, users, id, name.clone(), true);
    }));
}

fn set_disabled(app: AppState, users: Remote<Vec<User>>, id: i64, name: String, disabled: bool) {
    spawn_local(async move {
        match api::set_user_disabled(id, disabled).await {
            Ok(updated) => {
                let word = if updated.disabled {
                    "Disabled"
                } else {
                    "Enabled"
                };
                app.toasts.success(format!("{word} {name}"));
                users.update_ok(|list| {
                    if let Some(u) = list.iter_mut().find(|u| u.id == id) {
                        *u = updated;
                    }
                });
            }
            Err(e) => {
                let verb = if disabled { "disable" } else { "enable" };
                app.toasts
                    .error(format!("Could not {verb} {name}: {}", e.message()));
            }
        }
    });
}

fn ask_delete(app: AppState, users: Remote<Vec<User>>, id: i64, name: String) {
    let title = format!("Delete user {name}?");
    let body = format!(
        "{name} will no longer be able to sign in; their sessions and API tokens stop working."
    );
    app.ask(ConfirmRequest::new(title, body, "Delete", move || {
        let name = name.clone();
        spawn_local(async move {
            match api::delete_user(id).await {
                Ok(()) => {
                    app.toasts.success(format!("Deleted {name}"));
                    users.update_ok(|list| list.retain(|u| u.id != id));
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not delete {name}: {}", e.message())),
            }
        });
    }));
}

#[component]
fn AddUser(on_added: impl Fn() + Clone + 'static) -> impl IntoView {
    let app = use_app();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Operator.as_str().to_owned());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some(chosen) = Role::parse(&role.get_untracked()) else {
            return;
        };
        let user = NewUser {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            role: chosen,
        };
        busy.set(true);
        error.set(None);
        let on_added = on_added.clone();
        spawn_local(async move {
            match api::create_user(&user).await {
                Ok(created) => {
                    app.toasts.success(format!(
                        "Added {} as {}",
                        created.username,
                        created.role.as_str()
                    ));
                    username.set(String::new());
                    password.set(String::new());
                    on_added();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card split-side">
            <h2 class="card-title">"Add user"</h2>
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="new-user-name">"Username"</label>
                    <input id="new-user-name" class="input" type="text" required autocomplete="off" spellcheck="false" bind:value=username/>
                </div>
                <div class="field">
                    <label for="new-user-password">"Password"</label>
                    <input id="new-user-password" class="input" type="password" required autocomplete="new-password" bind:value=password/>
                </div>
                <div class="field">
                    <label for="new-user-role">"Role"</label>
                    <select id="new-user-role" class="select" bind:value=role>
                        {Role::ALL
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                    <p class="field-hint">
                        {move || Role::parse(&role.get()).map(role_hint)}
                    </p>
                </div>
                {move || error.get().map(|e| view! { <div class="form-error" role="alert">{e.message()}</div> })}
                <button type="submit" class="btn btn-primary" disabled=busy>
                    {Icon::Plus.view()}
                    <span>"Add user"</span>
                </button>
            </form>
        </section>
    }
}
