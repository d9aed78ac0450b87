//! `/settings/audit`: the audit log (admins). Every change made through
//! berth, allowed or refused: who, what, on which target, when and how it
//! ended, and from which address. Filters go to the server (actor, action, target); the outcome
//! and the top bar's search narrow what is on screen.

use std::time::Duration;

use leptos::{ev, prelude::*};
use protocol::AuditEntry;

use crate::api;
use crate::components::{
    format::{parse_time, RelativeTime},
    remote::{EmptyState, Loaded, RefreshButton, Remote},
};
use crate::state::use_app;

/// Rows asked for at first, and added by "Show more".
const PAGE: u32 = 200;
/// The most the server returns in one answer.
const MOST: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    All,
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    const ALL: [Outcome; 4] = [Outcome::All, Outcome::Ok, Outcome::Denied, Outcome::Failed];

    fn label(self) -> &'static str {
        match self {
            Outcome::All => "All",
            Outcome::Ok => "Allowed",
            Outcome::Denied => "Denied",
            Outcome::Failed => "Failed",
        }
    }

    fn admits(self, entry: &AuditEntry) -> bool {
        match self {
            Outcome::All => true,
            Outcome::Ok => entry.outcome == "ok",
            Outcome::Denied => entry.outcome == "denied",
            Outcome::Failed => entry.outcome == "failed",
        }
    }
}

/// The badge of an outcome: allowed green, denied amber, failed red.
fn outcome_badge(entry: &AuditEntry) -> impl IntoView {
    let (class, word) = match entry.outcome.as_str() {
        "ok" => ("badge badge-green", "allowed"),
        "denied" => ("badge badge-amber", "denied"),
        _ => ("badge badge-red", "failed"),
    };
    // Repeated refusals within a minute share one row.
    let times = (entry.count > 1).then(|| {
        view! {
            <span class="badge audit-count" title="The same refusal, repeated within a minute">
                {format!("×{}", entry.count)}
            </span>
        }
    });
    view! {
        <span class=class>{word}</span>
        <span class="muted mono audit-status">{entry.status}</span>
        {times}
    }
}

fn matches(entry: &AuditEntry, needle: &str) -> bool {
    needle.is_empty()
        || [&entry.actor, &entry.action, &entry.target]
            .iter()
            .any(|f| f.to_lowercase().contains(needle))
        || entry
            .address
            .as_deref()
            .is_some_and(|a| a.to_lowercase().contains(needle))
}

/// A text filter applied a moment after typing stops.
#[derive(Clone, Copy)]
struct Debounced {
    typed: RwSignal<String>,
    applied: RwSignal<String>,
}

impl Debounced {
    fn new() -> Self {
        let this = Debounced {
            typed: RwSignal::new(String::new()),
            applied: RwSignal::new(String::new()),
        };
        let generation = StoredValue::new(0u64);
        Effect::new(move |_| {
            let text = this.typed.get();
            let now = generation.get_value().wrapping_add(1);
            generation.set_value(now);
            set_timeout(
                move || {
                    if generation.try_get_value() == Some(now) {
                        this.applied.try_set(text.trim().to_owned());
                    }
                },
                Duration::from_millis(300),
            );
        });
        this
    }

    /// Sets both at once (a click on a cell filters by it).
    fn set(&self, text: String) {
        self.typed.set(text.clone());
        self.applied.set(text);
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let app = use_app();
    app.search.set(String::new());
    let actor = Debounced::new();
    let action = Debounced::new();
    let target = Debounced::new();
    let outcome = RwSignal::new(Outcome::All);
    let limit = RwSignal::new(PAGE);
    // New filters start from the first page again.
    Effect::new(move |_| {
        actor.applied.track();
        action.applied.track();
        target.applied.track();
        limit.set(PAGE);
    });

    let log = Remote::new(move || {
        let (actor, action, target, limit) = (
            actor.applied.get(),
            action.applied.get(),
            target.applied.get(),
            limit.get(),
        );
        async move { api::audit(&actor, &action, &target, limit).await }
    });
    let users = Remote::new(api::users);

    let fetched = Memo::new(move |_| {
        log.value
            .with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len))
    });
    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        let outcome = outcome.get();
        log.value.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .filter(|e| outcome.admits(e) && matches(e, &needle))
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let filtered = Memo::new(move |_| {
        !actor.applied.get().is_empty()
            || !action.applied.get().is_empty()
            || !target.applied.get().is_empty()
            || outcome.get() != Outcome::All
            || !app.search.get().trim().is_empty()
    });
    // The actions seen so far, for the action box's suggestions.
    let actions = Memo::new(move |before: Option<&Vec<String>>| {
        let mut seen = before.cloned().unwrap_or_default();
        log.value.with(|v| {
            if let Some(Ok(all)) = v {
                for e in all {
                    if !seen.contains(&e.action) {
                        seen.push(e.action.clone());
                    }
                }
            }
        });
        seen.sort();
        seen
    });

    let row = move |entry: AuditEntry| {
        let (who, what) = (entry.actor.clone(), entry.action.clone());
        view! {
            <tr data-action=entry.action.clone() data-outcome=entry.outcome.clone()>
                <td data-label="When" class="cell-nowrap">
                    <RelativeTime secs=parse_time(&entry.at)/>
                </td>
                <td data-label="Who">
                    {if entry.actor.is_empty() {
                        view! { <span class="muted">"anonymous"</span> }.into_any()
                    } else {
                        view! {
                            <button type="button" class="link-button" title="Show only this person's actions" on:click=move |_| actor.set(who.clone())>
                                {entry.actor.clone()}
                            </button>
                        }
                        .into_any()
                    }}
                </td>
                <td data-label="Action">
                    <button type="button" class="link-button mono" title="Show only this action" on:click=move |_| action.set(what.clone())>
                        {entry.action.clone()}
                    </button>
                </td>
                <td data-label="Target" class="mono break">{entry.target.clone()}</td>
                <td data-label="From" class="mono muted cell-nowrap">{entry.address.clone().unwrap_or_else(|| "—".into())}</td>
                <td data-label="Outcome" class="cell-nowrap">{outcome_badge(&entry)}</td>
            </tr>
        }
    };

    let text_filter = move |id: &'static str,
                            label: &'static str,
                            hint: &'static str,
                            f: Debounced,
                            list: Option<&'static str>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input
                    id=id
                    class="input"
                    type="search"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder=hint
                    list=list
                    prop:value=move || f.typed.get()
                    on:input=move |ev: ev::Event| f.typed.set(event_target_value(&ev))
                />
            </div>
        }
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Audit log"</h1>
                    <p class="page-sub">"Every change made through berth, allowed or refused: who, what, on which target, and how it ended. Newest first."</p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=log/>
                </div>
            </div>
            <section class="card audit-filters" aria-label="Filters">
                {text_filter("audit-actor", "Who", "anyone", actor, Some("audit-users"))}
                {text_filter("audit-action", "Action", "any action", action, Some("audit-actions"))}
                {text_filter("audit-target", "Target contains", "any target", target, None)}
                <datalist id="audit-users">
                    {move || users.value.with(|v| match v {
                        Some(Ok(list)) => list.iter().map(|u| view! { <option value=u.username.clone()></option> }).collect_view().into_any(),
                        _ => ().into_any(),
                    })}
                </datalist>
                <datalist id="audit-actions">
                    {move || actions.get().into_iter().map(|a| view! { <option value=a></option> }).collect_view()}
                </datalist>
                <div class="field">
                    <span class="field-label" id="audit-outcome-label">"Outcome"</span>
                    <div class="segmented" role="radiogroup" aria-labelledby="audit-outcome-label">
                        {Outcome::ALL
                            .into_iter()
                            .map(|o| view! {
                                <button
                                    type="button"
                                    role="radio"
                                    class="segment"
                                    aria-checked=move || if outcome.get() == o { "true" } else { "false" }
                                    on:click=move |_| outcome.set(o)
                                >
                                    {o.label()}
                                </button>
                            })
                            .collect_view()}
                    </div>
                </div>
                <Show when=move || filtered.get()>
                    <button type="button" class="btn btn-ghost audit-clear" on:click=move |_| {
                        actor.set(String::new());
                        action.set(String::new());
                        target.set(String::new());
                        outcome.set(Outcome::All);
                        app.search.set(String::new());
                    }>"Clear filters"</button>
                </Show>
            </section>
            <Loaded remote=log what="the audit log">
                <div class="table-wrap">
                    <table class="table table-cards audit-log" aria-label="Audit log">
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"Who"</th>
                                <th scope="col">"Action"</th>
                                <th scope="col">"Target"</th>
                                <th scope="col">"From"</th>
                                <th scope="col">"Outcome"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=move || rows.get() key=|e| e.id children=row/>
                        </tbody>
                    </table>
                    {move || {
                        if rows.with(Vec::is_empty) {
                            if filtered.get() {
                                view! { <EmptyState title="No entries match the filters"/> }.into_any()
                            } else {
                                view! {
                                    <EmptyState
                                        title="Nothing logged yet"
                                        hint="Changes made through berth (runs, deploys, sign-ins, users) show here, with refusals."
                                    />
                                }
                                .into_any()
                            }
                        } else {
                            ().into_any()
                        }
                    }}
                </div>
                {move || {
                    let (shown, asked) = (fetched.get(), limit.get());
                    if shown < asked as usize {
                        ().into_any()
                    } else if asked < MOST {
                        view! {
                            <div class="list-more">
                                <button type="button" class="btn" on:click=move |_| limit.update(|l| *l = (*l + PAGE).min(MOST))>
                                    "Show older entries"
                                </button>
                            </div>
                        }
                        .into_any()
                    } else {
                        view! {
                            <p class="muted list-more">{format!("The newest {MOST} entries are shown: narrow the filters to see older ones.")}</p>
                        }
                        .into_any()
                    }
                }}
            </Loaded>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actor: &str, action: &str, outcome: &str) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: String::new(),
            actor: actor.into(),
            action: action.into(),
            target: "container web-1".into(),
            outcome: outcome.into(),
            status: 200,
            address: Some("192.0.2.7".into()),
            count: 1,
        }
    }

    #[test]
    fn outcomes_and_the_search_narrow_the_rows() {
        let denied = entry("ann", "container.stop", "denied");
        assert!(Outcome::Denied.admits(&denied));
        assert!(!Outcome::Ok.admits(&denied));
        assert!(Outcome::All.admits(&denied));
        assert!(matches(&denied, "web-1"));
        assert!(matches(&denied, "ann"));
        assert!(!matches(&denied, "image"));
        assert!(matches(&denied, "192.0.2"));
    }
}
