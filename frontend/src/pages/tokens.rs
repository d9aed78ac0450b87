//! `/settings/tokens`: API tokens for scripts and CI. A token's secret is
//! shown once, when it is created.

use leptos::{ev, prelude::*, task::spawn_local};
use protocol::{ApiToken, CreatedToken};

use crate::api::{self, ApiError};
use crate::components::{
    copy::copy_text,
    format::{parse_time, RelativeTime},
    icons::Icon,
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, Remote},
};
use crate::state::{use_app, AppState};

#[component]
pub fn TokensPage() -> impl IntoView {
    let app = use_app();
    app.search.set(String::new());
    let tokens = Remote::new(api::tokens);
    let created = RwSignal::new(None::<CreatedToken>);
    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        tokens.value.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle))
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let total = Memo::new(move |_| {
        tokens
            .value
            .with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len))
    });

    let row = move |token: ApiToken| {
        let remove = {
            let name = token.name.clone();
            let id = token.id;
            move |_| ask_delete(app, tokens, id, name.clone())
        };
        view! {
            <tr>
                <td class="cell-primary" data-label="Name">
                    <span class="row-title">{token.name.clone()}</span>
                </td>
                <td data-label="Created" class="cell-nowrap">
                    <RelativeTime secs=parse_time(&token.created_at)/>
                </td>
                <td data-label="Last used" class="cell-nowrap">
                    <RelativeTime secs=token.last_used_at.as_deref().and_then(parse_time) never="Never used"/>
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Delete token {}", token.name)
                            title="Delete token"
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
                    <h1>"API tokens"</h1>
                    <p class="page-sub">
                        "Scripts and CI call berth's API with "
                        <code>"Authorization: Bearer <token>"</code>
                        ". A token acts as you, with your role."
                    </p>
                </div>
            </div>
            {move || created.get().map(|t| view! { <NewSecret token=t on_done=move || created.set(None)/> })}
            <div class="split">
                <div class="split-main">
                    <Loaded remote=tokens what="tokens">
                        <div class="table-wrap">
                            <table class="table table-cards">
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Created"</th>
                                        <th scope="col">"Last used"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || rows.get() key=|t| (t.id, t.last_used_at.clone()) children=row/>
                                </tbody>
                            </table>
                            {move || {
                                if total.get() == 0 {
                                    view! {
                                        <EmptyState
                                            title="No API tokens yet"
                                            hint="Create one with the form to let a script or a CI job call berth."
                                        />
                                    }
                                    .into_any()
                                } else if rows.with(Vec::is_empty) {
                                    view! { <EmptyState title="No tokens match the filter"/> }.into_any()
                                } else {
                                    ().into_any()
                                }
                            }}
                        </div>
                    </Loaded>
                </div>
                <CreateToken on_created=move |t: CreatedToken| {
                    created.set(Some(t));
                    tokens.reload();
                }/>
            </div>
        </div>
    }
}

fn ask_delete(app: AppState, tokens: Remote<Vec<ApiToken>>, id: i64, name: String) {
    let title = format!("Delete token {name}?");
    let body = "Scripts and jobs using it will be refused from now on. This cannot be undone.";
    app.ask(ConfirmRequest::new(title, body, "Delete", move || {
        let name = name.clone();
        spawn_local(async move {
            match api::delete_token(id).await {
                Ok(()) => {
                    app.toasts.success(format!("Deleted token {name}"));
                    tokens.update_ok(|list| list.retain(|t| t.id != id));
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not delete token {name}: {}", e.message())),
            }
        });
    }));
}

#[component]
fn CreateToken(on_created: impl Fn(CreatedToken) + Clone + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let wanted = name.get_untracked().trim().to_owned();
        busy.set(true);
        error.set(None);
        let on_created = on_created.clone();
        spawn_local(async move {
            match api::create_token(&wanted).await {
                Ok(token) => {
                    name.set(String::new());
                    on_created(token);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card split-side">
            <h2 class="card-title">"New token"</h2>
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="token-name">"Token name"</label>
                    <input
                        id="token-name"
                        class="input"
                        type="text"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="e.g. github-actions"
                        bind:value=name
                    />
                    <p class="field-hint">"Say what uses it, so you know which to delete later."</p>
                </div>
                {move || error.get().map(|e| view! { <div class="form-error" role="alert">{e.message()}</div> })}
                <button type="submit" class="btn btn-primary" disabled=busy>
                    {Icon::Plus.view()}
                    <span>"Create token"</span>
                </button>
            </form>
        </section>
    }
}

/// The secret of a token just created, shown this once.
#[component]
fn NewSecret(token: CreatedToken, on_done: impl Fn() + 'static) -> impl IntoView {
    let toasts = use_app().toasts;
    let secret = token.token.clone();
    let copy = move |_| {
        if copy_text(&secret) {
            toasts.success("Copied the token");
        } else {
            toasts.error("Could not copy: select the token and copy it by hand");
        }
    };
    view! {
        <section class="banner banner-success secret" aria-labelledby="new-token-title">
            {Icon::Key.view()}
            <div class="banner-text">
                <strong id="new-token-title">{format!("Token {} created", token.name)}</strong>
                <p>"Copy it now: berth keeps only a hash and won't show it again."</p>
                <div class="secret-row">
                    <label class="sr-only" for="token-secret">"Token secret"</label>
                    <input
                        id="token-secret"
                        class="input mono"
                        type="text"
                        readonly
                        value=token.token.clone()
                        on:focus=|ev| {
                            use wasm_bindgen::JsCast;
                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                input.select();
                            }
                        }
                    />
                    <button type="button" class="btn" on:click=copy>
                        {Icon::Copy.view()}
                        <span>"Copy token"</span>
                    </button>
                </div>
            </div>
            <button type="button" class="btn btn-ghost" on:click=move |_| on_done()>"Done"</button>
        </section>
    }
}
