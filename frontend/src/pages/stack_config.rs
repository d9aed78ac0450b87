//! The stack page's Config tab: the saved compose file as berth resolves it
//! for a deploy (`.env` interpolated, anchors and `<<` merges expanded,
//! profiles applied), read-only, with its warnings, a Copy and a Refresh.

use leptos::prelude::*;

use crate::api;
use crate::components::{
    copy::copy_text,
    icons::Icon,
    remote::{EmptyState, Loaded, Remote},
};
use crate::pages::stack_deploy::warnings_banner;
use crate::state::use_app;

/// The resolved file of stack `name`. It reloads when the saved revision
/// changes (`revision`), since only the saved file is resolved.
#[component]
pub fn ConfigTab(ep: Memo<String>, name: Memo<String>, revision: Memo<i64>) -> impl IntoView {
    let toasts = use_app().toasts;
    let config = Remote::new(move || {
        let (ep, name) = (ep.get(), name.get());
        async move { api::stack_config(&ep, &name).await }
    });
    Effect::new(move |before: Option<i64>| {
        let now = revision.get();
        if before.is_some_and(|b| b != now) {
            config.reload();
        }
        now
    });
    let copy = move |_| {
        let text = config.value.with_untracked(|v| match v {
            Some(Ok(c)) => Some(c.config.trim_start_matches('\n').to_owned()),
            _ => None,
        });
        if let Some(text) = text {
            if copy_text(&text) {
                toasts.success("Copied the resolved file");
            } else {
                toasts.error("Could not copy: select the text and copy it instead");
            }
        }
    };
    let has_text = move || {
        config
            .value
            .with(|v| matches!(v, Some(Ok(c)) if !c.config.trim().is_empty()))
    };
    view! {
        <section class="card">
            <div class="card-head">
                <div>
                    <h2 class="card-title">"Resolved file"</h2>
                    <p class="card-sub">
                        "The saved file as a deploy reads it: .env filled in, anchors and merge keys expanded, profiles applied. Edit it in the Editor tab."
                    </p>
                </div>
                <div class="stack-config-actions">
                    <button type="button" class="btn btn-sm" disabled=move || !has_text() on:click=copy>
                        {Icon::Copy.view()}
                        <span>"Copy"</span>
                    </button>
                    <button
                        type="button"
                        class="btn btn-sm"
                        class:is-loading=move || config.loading.get()
                        on:click=move |_| config.reload()
                    >
                        {Icon::Refresh.view()}
                        <span>"Refresh"</span>
                    </button>
                </div>
            </div>
            <Loaded remote=config what="the resolved file" endpoint=ep>
                {move || {
                    let (text, warnings) = config.value.with(|v| match v {
                        // A leading blank line is noise in a block that starts at its top.
                        Some(Ok(c)) => (c.config.trim_start_matches('\n').to_owned(), c.warnings.clone()),
                        _ => (String::new(), Vec::new()),
                    });
                    let body = if text.trim().is_empty() {
                        view! {
                            <EmptyState
                                title="Nothing to show"
                                hint="The saved file resolves to nothing. Write the stack's services in the Editor tab and save."
                            />
                        }
                        .into_any()
                    } else {
                        view! {
                            <pre class="code stack-config" tabindex="0" aria-label="Resolved compose file">{text}</pre>
                        }
                        .into_any()
                    };
                    view! {
                        {warnings_banner(warnings)}
                        {body}
                    }
                }}
            </Loaded>
        </section>
    }
}
