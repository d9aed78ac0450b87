//! `/setup`: the first admin account, created with the one-time token berth
//! printed when it started.

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::{hooks::use_navigate, NavigateOptions};
use protocol::SetupRequest;

use crate::api::{self, ApiError};
use crate::components::layout::AuthCard;
use crate::state::use_app;

#[component]
pub fn SetupPage() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let token = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let request = SetupRequest {
            token: token.get_untracked().trim().to_owned(),
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::setup(&request).await {
                Ok(session) => {
                    app.sign_in(session);
                    navigate("/", NavigateOptions::default());
                }
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    let token_error = move || error.get().filter(|e| e.status == 403);
    let form_error = move || error.get().filter(|e| e.status != 403);

    view! {
        <AuthCard title="Set up berth">
            <p class="auth-lead">
                "When berth started, it printed a one-time line "
                <code>"setup token: …"</code>
                " on its standard output (see "
                <code>"docker logs"</code>
                " or the service's journal). Paste that token here to create the first admin account."
            </p>
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="setup-token">"Setup token"</label>
                    <input
                        id="setup-token"
                        class="input mono"
                        type="text"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        aria-invalid=move || token_error().is_some().then_some("true")
                        aria-describedby="setup-token-error"
                        bind:value=token
                    />
                    <p id="setup-token-error" class="field-error" role="alert">
                        {move || token_error().map(|e| e.message())}
                    </p>
                </div>
                <div class="field">
                    <label for="setup-username">"Username"</label>
                    <input
                        id="setup-username"
                        class="input"
                        type="text"
                        required
                        autocomplete="username"
                        spellcheck="false"
                        bind:value=username
                    />
                </div>
                <div class="field">
                    <label for="setup-password">"Password"</label>
                    <input
                        id="setup-password"
                        class="input"
                        type="password"
                        required
                        autocomplete="new-password"
                        bind:value=password
                    />
                </div>
                {move || {
                    form_error()
                        .map(|e| {
                            let done = e.status == 409;
                            view! {
                                <div class="form-error" role="alert">
                                    <span>{e.message()}</span>
                                    {done
                                        .then(|| {
                                            view! {
                                                " "
                                                <a href="/login">"Sign in instead"</a>
                                            }
                                        })}
                                </div>
                            }
                        })
                }}
                <button type="submit" class="btn btn-primary btn-block" disabled=busy>
                    {move || if busy.get() { "Creating…" } else { "Create admin" }}
                </button>
            </form>
        </AuthCard>
    }
}
