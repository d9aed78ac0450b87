//! The environment and labels of a container or an image, as cards.

use std::collections::BTreeMap;

use leptos::prelude::*;

/// `KEY=value` lines, keys set apart.
#[component]
pub fn EnvCard(env: Vec<String>) -> impl IntoView {
    view! {
        <section class="card">
            <h2 class="card-title">{format!("Environment ({})", env.len())}</h2>
            {if env.is_empty() {
                view! { <p class="muted">"No environment variables."</p> }.into_any()
            } else {
                view! {
                    <ul class="list list-mono">
                        {env
                            .into_iter()
                            .map(|var| {
                                let (k, v) = var.split_once('=').map_or((var.clone(), String::new()), |(k, v)| (k.to_owned(), v.to_owned()));
                                view! { <li><span class="env-key">{k}</span>"="<span class="break">{v}</span></li> }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
pub fn LabelsCard(labels: BTreeMap<String, String>) -> impl IntoView {
    view! {
        <section class="card">
            <h2 class="card-title">{format!("Labels ({})", labels.len())}</h2>
            {if labels.is_empty() {
                view! { <p class="muted">"No labels."</p> }.into_any()
            } else {
                view! {
                    <dl class="kv kv-mono">
                        {labels
                            .into_iter()
                            .map(|(k, v)| view! { <div class="kv-row"><dt class="break">{k}</dt><dd class="break">{v}</dd></div> })
                            .collect_view()}
                    </dl>
                }
                .into_any()
            }}
        </section>
    }
}
