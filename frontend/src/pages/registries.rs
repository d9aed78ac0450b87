//! `/settings/registries` (admins): the registry logins berth keeps for
//! pulls, pushes and builds, with "Test login" and delete, and a form to add
//! one (the registry checks it before berth keeps it). Passwords go in and
//! never come back.

use leptos::{ev, prelude::*, task::spawn_local};
use protocol::{NewRegistry, Registry};

use crate::api::{self, ApiError};
use crate::components::{
    format::{parse_time, RelativeTime},
    icons::Icon,
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, Remote},
};
use crate::state::{use_app, AppState};

#[component]
pub fn RegistriesPage() -> impl IntoView {
    let app = use_app();
    app.search.set(String::new());
    let admin = Memo::new(move |_| app.is_admin());
    move || {
        if admin.get() {
            view! { <RegistryAdmin/> }.into_any()
        } else {
            view! {
                <div class="page">
                    <div class="page-head"><h1>"Registries"</h1></div>
                    <EmptyState title="Only admins manage registry logins" hint="Ask an admin to add the login your pulls and pushes need."/>
                </div>
            }
            .into_any()
        }
    }
}

fn matches_filter(r: &Registry, needle: &str) -> bool {
    needle.is_empty()
        || r.url.to_lowercase().contains(needle)
        || r.host.to_lowercase().contains(needle)
        || r.username.to_lowercase().contains(needle)
}

#[component]
fn RegistryAdmin() -> impl IntoView {
    let app = use_app();
    let list = Remote::new(api::registries);
    let testing = RwSignal::new(Vec::<i64>::new());
    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        list.value.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .filter(|r| matches_filter(r, &needle))
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let total = Memo::new(move |_| {
        list.value
            .with(|v| matches!(v, Some(Ok(all)) if !all.is_empty()))
    });

    let row = move |r: Registry| {
        let id = r.id;
        let busy = move || testing.with(|t| t.contains(&id));
        let test = {
            let host = r.host.clone();
            move |_| {
                let host = host.clone();
                testing.update(|t| t.push(id));
                spawn_local(async move {
                    let result = api::test_registry(id).await;
                    testing.update(|t| t.retain(|x| *x != id));
                    match result {
                        Ok(check) => app.toasts.success(format!(
                            "{host}: {}",
                            if check.message.is_empty() {
                                "login accepted".to_owned()
                            } else {
                                check.message
                            }
                        )),
                        Err(e) if e.status == 401 => app
                            .toasts
                            .error(format!("{host} refused the login: {}", e.message())),
                        Err(e) => app.toasts.error(format!(
                            "Could not test the login for {host}: {}",
                            e.message()
                        )),
                    }
                });
            }
        };
        let remove = {
            let (host, user) = (r.host.clone(), r.username.clone());
            move |_| ask_delete(app, list, id, host.clone(), user.clone())
        };
        view! {
            <tr data-registry=r.host.clone()>
                <td class="cell-primary" data-label="Registry">
                    <span class="row-title mono">{r.host.clone()}</span>
                    {(r.url != r.host).then(|| view! { <span class="muted mono registry-url">{format!(" {}", r.url)}</span> })}
                </td>
                <td data-label="Username" class="mono">{r.username.clone()}</td>
                <td data-label="Created" class="cell-nowrap"><RelativeTime secs=parse_time(&r.created_at)/></td>
                <td class="cell-actions">
                    <div class="row-actions">
                        {move || busy().then(|| view! { <span class="spinner spinner-sm" role="status" aria-label="Testing"></span> })}
                        <button
                            type="button"
                            class="btn btn-sm"
                            aria-label=format!("Test login to {}", r.host)
                            disabled=busy
                            on:click=test
                        >
                            "Test login"
                        </button>
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Delete login for {}", r.host)
                            title="Delete"
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
                    <h1>"Registries"</h1>
                    <p class="page-sub">"Logins berth uses by itself when it pulls, pushes or builds images from these registries. Passwords are kept encrypted and never shown again."</p>
                </div>
            </div>
            <div class="split">
                <div class="split-main">
                    <Loaded remote=list what="registries">
                        <div class="table-wrap">
                            <table class="table table-cards" style:display=move || if total.get() { "" } else { "none" }>
                                <thead>
                                    <tr>
                                        <th scope="col">"Registry"</th>
                                        <th scope="col">"Username"</th>
                                        <th scope="col">"Created"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || rows.get() key=|r| (r.id, r.username.clone()) children=row/>
                                </tbody>
                            </table>
                            {move || if !total.get() {
                                view! {
                                    <EmptyState
                                        title="No registry logins yet"
                                        hint="Add one with the form: pulls and pushes of that registry's images then log in by themselves."
                                    />
                                }
                                .into_any()
                            } else if rows.with(Vec::is_empty) {
                                view! {
                                    <EmptyState title=format!("No registries match “{}”", app.search.get().trim())>
                                        <button type="button" class="btn" on:click=move |_| app.search.set(String::new())>"Clear filter"</button>
                                    </EmptyState>
                                }
                                .into_any()
                            } else {
                                ().into_any()
                            }}
                        </div>
                    </Loaded>
                </div>
                <AddRegistry on_added=move || list.reload()/>
            </div>
        </div>
    }
}

fn ask_delete(app: AppState, list: Remote<Vec<Registry>>, id: i64, host: String, user: String) {
    let title = format!("Delete the login for {host}?");
    let body = format!(
        "berth forgets {user}'s login for {host}: pulls and pushes of its private images fail until a login is added again."
    );
    app.ask(ConfirmRequest::new(title, body, "Delete", move || {
        let host = host.clone();
        spawn_local(async move {
            match api::delete_registry(id).await {
                Ok(()) => {
                    app.toasts.success(format!("Deleted the login for {host}"));
                    list.update_ok(|all| all.retain(|r| r.id != id));
                }
                Err(e) => app.toasts.error(format!(
                    "Could not delete the login for {host}: {}",
                    e.message()
                )),
            }
        });
    }));
}

#[component]
fn AddRegistry(on_added: impl Fn() + Clone + 'static) -> impl IntoView {
    let app = use_app();
    let url = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let registry = NewRegistry {
            url: url.get_untracked().trim().to_owned(),
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        let on_added = on_added.clone();
        spawn_local(async move {
            match api::create_registry(&registry).await {
                Ok(created) => {
                    app.toasts.success(format!(
                        "Logged in to {} as {}; berth keeps the login",
                        created.host, created.username
                    ));
                    url.set(String::new());
                    username.set(String::new());
                    password.set(String::new());
                    on_added();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let message = move || {
        error.get().map(|e| {
            let text = if e.status == 401 && !e.message().contains("refused") {
                format!("The registry refused the login: {}", e.message())
            } else {
                e.message()
            };
            view! { <div class="form-error" id="registry-form-error" role="alert">{text}</div> }
        })
    };
    let invalid = move || error.with(Option::is_some).then_some("true");

    view! {
        <section class="card split-side">
            <h2 class="card-title">"Add registry login"</h2>
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="registry-url">"Registry"</label>
                    <input
                        id="registry-url"
                        class="input mono"
                        type="text"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="registry.example.com:5000"
                        aria-invalid=invalid
                        aria-describedby="registry-form-error"
                        bind:value=url
                    />
                    <p class="field-hint">"Its host and port; Docker Hub is docker.io."</p>
                </div>
                <div class="field">
                    <label for="registry-username">"Username"</label>
                    <input id="registry-username" class="input" type="text" required autocomplete="off" spellcheck="false" aria-invalid=invalid bind:value=username/>
                </div>
                <div class="field">
                    <label for="registry-password">"Password"</label>
                    <input id="registry-password" class="input" type="password" required autocomplete="new-password" aria-invalid=invalid bind:value=password/>
                    <p class="field-hint">"Or an access token. The registry checks it before berth keeps it."</p>
                </div>
                {message}
                <button type="submit" class="btn btn-primary" class:is-loading=busy disabled=busy>
                    {Icon::Plus.view()}
                    <span>{move || if busy.get() { "Checking the login…" } else { "Add registry" }}</span>
                </button>
            </form>
        </section>
    }
}
