//! `/login`: sign in with a username and password.

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::{hooks::use_navigate, NavigateOptions};
use protocol::LoginRequest;

use crate::api::{self, ApiError};
use crate::components::layout::AuthCard;
use crate::state::use_app;

/// Only paths inside the app are followed after sign-in.
fn safe_next(path: Option<String>) -> String {
    path.filter(|p| p.starts_with('/') && !p.starts_with("//") && p != "/login" && p != "/setup")
        .unwrap_or_else(|| "/".to_owned())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);

    // A fresh install has nobody to sign in as yet.
    {
        let navigate = navigate.clone();
        spawn_local(async move {
            if let Ok(status) = api::setup_status().await {
                if status.needed {
                    let options = NavigateOptions {
                        replace: true,
                        ..NavigateOptions::default()
                    };
                    navigate("/setup", options);
                }
            }
        });
    }

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let request = LoginRequest {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::login(&request).await {
                Ok(session) => {
                    app.sign_in(session);
                    let next = safe_next(app.after_login.try_get_value().flatten());
                    app.after_login.set_value(None);
                    navigate(&next, NavigateOptions::default());
                }
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <AuthCard title="Sign in to berth">
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="login-username">"Username"</label>
                    <input
                        id="login-username"
                        class="input"
                        type="text"
                        required
                        autofocus
                        autocomplete="username"
                        spellcheck="false"
                        bind:value=username
                    />
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input
                        id="login-password"
                        class="input"
                        type="password"
                        required
                        autocomplete="current-password"
                        bind:value=password
                    />
                </div>
                {move || {
                    error.get().map(|e| view! { <div class="form-error" role="alert">{e.message()}</div> })
                }}
                <button type="submit" class="btn btn-primary btn-block" disabled=busy>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </AuthCard>
    }
}
