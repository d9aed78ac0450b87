//! Any path the app does not know.

use leptos::prelude::*;

use crate::components::remote::EmptyState;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <div class="page">
            <EmptyState title="Page not found" hint="This address does not lead anywhere in berth.">
                <a class="btn" href="/">"Go to containers"</a>
            </EmptyState>
        </div>
    }
}
