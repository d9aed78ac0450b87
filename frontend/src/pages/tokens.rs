//! `/settings/tokens`: API tokens for scripts and CI. A token's secret is
//! shown once, when it is created; each expires (90 days unless chosen
//! otherwise) and may be limited to reading or to some endpoints.

use leptos::{ev, prelude::*, task::spawn_local};
use protocol::{ApiToken, CreatedToken, NewToken, TokenScope};

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
                <td data-label="Expires" class="cell-nowrap">
                    {expiry_view(&token, app.now)}
                </td>
                <td data-label="Scope">
                    <ScopeChips scope=token.scope.clone()/>
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
                        ". A token acts as you, never with more than your role now, and may be limited to reading or to some endpoints."
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
                                        <th scope="col">"Expires"</th>
                                        <th scope="col">"Scope"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || rows.get() key=|t| (t.id, t.last_used_at.clone(), t.expired) children=row/>
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

/// The expiry choices of the form, in days; `None` is never.
const EXPIRIES: [(&str, Option<u32>); 5] = [
    ("7 days", Some(7)),
    ("30 days", Some(30)),
    ("90 days", Some(90)),
    ("1 year", Some(365)),
    ("Never", None),
];
const DEFAULT_EXPIRY: &str = "90 days";

/// The request the form makes: no endpoint ticked means every endpoint.
fn new_token(name: &str, expiry: Option<u32>, read_only: bool, endpoints: &[String]) -> NewToken {
    NewToken {
        name: name.trim().to_owned(),
        expires_in_days: expiry,
        // Never is said explicitly; a number of days says itself.
        expires_at: if expiry.is_none() { Some(None) } else { None },
        scope: Some(TokenScope {
            read_only,
            endpoints: (!endpoints.is_empty()).then(|| endpoints.to_vec()),
        }),
    }
}

#[component]
fn CreateToken(on_created: impl Fn(CreatedToken) + Clone + 'static) -> impl IntoView {
    let app = use_app();
    let name = RwSignal::new(String::new());
    let expiry = RwSignal::new(Some(90u32));
    let read_only = RwSignal::new(false);
    let endpoints = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let body = new_token(
            &name.get_untracked(),
            expiry.get_untracked(),
            read_only.get_untracked(),
            &endpoints.get_untracked(),
        );
        busy.set(true);
        error.set(None);
        let on_created = on_created.clone();
        spawn_local(async move {
            match api::create_token(&body).await {
                Ok(token) => {
                    name.set(String::new());
                    on_created(token);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let known = Memo::new(move |_| {
        app.endpoints.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .map(|e| (e.id.clone(), e.name.clone()))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let endpoint_box = move |(id, label): (String, String)| {
        let ticked = {
            let id = id.clone();
            move || endpoints.with(|eps| eps.contains(&id))
        };
        let toggle = move |ev: ev::Event| {
            let on = event_target_checked(&ev);
            endpoints.update(|eps| {
                eps.retain(|e| *e != id);
                if on {
                    eps.push(id.clone());
                }
            });
        };
        view! {
            <label class="check">
                <input type="checkbox" prop:checked=ticked on:change=toggle/>
                <span>{label}</span>
            </label>
        }
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
                <div class="field">
                    <label for="token-expiry">"Expires after"</label>
                    <select
                        id="token-expiry"
                        class="select"
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if let Some((_, days)) = EXPIRIES.iter().find(|(text, _)| *text == v) {
                                expiry.set(*days);
                            }
                        }
                    >
                        {EXPIRIES
                            .iter()
                            .map(|(text, _)| view! { <option value=*text selected=*text == DEFAULT_EXPIRY>{*text}</option> })
                            .collect_view()}
                    </select>
                    <p class="field-hint">"A token that never expires works until you delete it."</p>
                </div>
                <div class="field">
                    <label class="check">
                        <input type="checkbox" bind:checked=read_only/>
                        <span>"Read-only"</span>
                    </label>
                    <p class="field-hint">"It may only read, as a viewer does: no changes, no terminals."</p>
                </div>
                <div class="field" role="group" aria-labelledby="token-endpoints" aria-describedby="token-endpoints-hint">
                    <span id="token-endpoints" class="field-label">"Endpoints"</span>
                    <div class="checks">
                        <For each=move || known.get() key=|(id, _)| id.clone() children=endpoint_box/>
                    </div>
                    <p id="token-endpoints-hint" class="field-hint">"Leave all unticked for every endpoint you may reach; other endpoints look absent to the token."</p>
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

/// When a token stops working, said from `now` (Unix seconds).
fn expiry_text(expires_at: Option<f64>, expired: bool, now: f64) -> String {
    let Some(at) = expires_at else {
        return "Never".to_owned();
    };
    let left = (at - now) as i64;
    if expired || left <= 0 {
        return "Expired".to_owned();
    }
    let (n, unit) = match left {
        0..=3599 => ((left / 60).max(1), "minute"),
        3600..=86_399 => (left / 3600, "hour"),
        86_400..=10_367_999 => (left / 86_400, "day"),
        10_368_000..=63_071_999 => (left / 2_592_000, "month"),
        _ => (left / 31_536_000, "year"),
    };
    if n == 1 {
        format!("in 1 {unit}")
    } else {
        format!("in {n} {unit}s")
    }
}

fn expiry_view(token: &ApiToken, now: RwSignal<f64>) -> impl IntoView {
    let at = token.expires_at.as_deref().and_then(parse_time);
    let expired = token.expired;
    let title = token.expires_at.clone().unwrap_or_default();
    view! {
        <span class:muted=move || at.is_none() title=title>
            {move || {
                let text = expiry_text(at, expired, now.get());
                if text == "Expired" {
                    view! { <span class="badge badge-red">"Expired"</span> }.into_any()
                } else {
                    text.into_any()
                }
            }}
        </span>
    }
}

/// The scope in words: what it takes away from the owner's rights.
fn scope_words(scope: &TokenScope) -> Vec<String> {
    let mut words = Vec::new();
    if scope.read_only {
        words.push("Read-only".to_owned());
    }
    match &scope.endpoints {
        None => {}
        Some(eps) => words.extend(eps.iter().cloned()),
    }
    words
}

#[component]
fn ScopeChips(scope: TokenScope) -> impl IntoView {
    let words = scope_words(&scope);
    if words.is_empty() {
        return view! { <span class="muted">"Your role"</span> }.into_any();
    }
    view! {
        <span class="chips">
            {words.into_iter().map(|w| view! { <span class="chip">{w}</span> }).collect_view()}
        </span>
    }
    .into_any()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_asks_for_what_it_shows() {
        let t = new_token(" ci ", Some(90), false, &[]);
        assert_eq!(t.name, "ci");
        assert_eq!(t.expires_in_days, Some(90));
        assert_eq!(t.expires_at, None);
        assert_eq!(t.scope, Some(TokenScope::default()));
        let never = new_token("ci", None, true, &["local".to_owned()]);
        assert_eq!(never.expires_in_days, None);
        assert_eq!(never.expires_at, Some(None));
        let json = serde_json::to_value(&never).expect("json");
        assert_eq!(json["expires_at"], serde_json::Value::Null);
        assert_eq!(json["scope"]["endpoints"][0], "local");
        assert!(json.get("expires_in_days").is_none());
    }

    #[test]
    fn expiry_reads_as_time_left() {
        let now = 1_000_000.0;
        assert_eq!(expiry_text(None, false, now), "Never");
        assert_eq!(
            expiry_text(Some(now + 90.0 * 86_400.0), false, now),
            "in 90 days"
        );
        assert_eq!(
            expiry_text(Some(now + 400.0 * 86_400.0), false, now),
            "in 13 months"
        );
        assert_eq!(
            expiry_text(Some(now + 3.0 * 365.0 * 86_400.0), false, now),
            "in 3 years"
        );
        assert_eq!(expiry_text(Some(now + 7200.0), false, now), "in 2 hours");
        assert_eq!(expiry_text(Some(now + 30.0), false, now), "in 1 minute");
        assert_eq!(expiry_text(Some(now - 1.0), false, now), "Expired");
        assert_eq!(expiry_text(Some(now + 60.0), true, now), "Expired");
    }

    #[test]
    fn the_scope_names_only_its_limits() {
        assert!(scope_words(&TokenScope::default()).is_empty());
        let s = TokenScope {
            read_only: true,
            endpoints: Some(vec!["local".into()]),
        };
        assert_eq!(scope_words(&s), ["Read-only", "local"]);
    }
}
