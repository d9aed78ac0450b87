//! `/` and `/endpoints/{ep}`: straight on to a container list (or, for a
//! non-admin whom no endpoint is shared with, a page saying so).

use leptos::prelude::*;
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};

use crate::components::{
    layout::{endpoint_path, NoEndpoint},
    remote::Loading,
};
use crate::state::use_app;

#[component]
pub fn Home() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let params = use_params_map();
    Effect::new(move |_| {
        // Nowhere to go: the page says so instead.
        if app.reaches_nothing() {
            return;
        }
        let named = params.read().get("ep").filter(|ep| !ep.is_empty());
        // Without an endpoint in the URL, wait for the list to pick one.
        let ep = match named {
            Some(ep) => ep,
            None if app.endpoints.with(Option::is_some) => app.home_endpoint(),
            None => return,
        };
        let options = NavigateOptions {
            replace: true,
            ..NavigateOptions::default()
        };
        navigate(&endpoint_path(&ep, "containers"), options);
    });
    move || {
        if app.reaches_nothing() {
            view! { <NoEndpoint/> }.into_any()
        } else {
            view! { <Loading what="endpoints"/> }.into_any()
        }
    }
}
