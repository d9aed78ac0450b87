//! berth's dashboard: a Leptos app compiled to WASM, served by the berth
//! binary. This file mounts the app and declares its routes; pages live in
//! `pages/`, shared widgets in `components/`, and every HTTP call goes
//! through `api`.

pub mod api;
pub mod components;
pub mod live;
pub mod pages;
pub mod state;
pub mod xhr;

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    hooks::use_navigate,
    path, NavigateOptions,
};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::components::{layout::Shell, modal::ConfirmHost, toast::ToastHost};
use crate::pages::audit::AuditPage;
// issue 10: the endpoint's security policy.
use crate::pages::endpoint_settings::EndpointSettingsPage;
use crate::pages::teams::TeamsPage;
use crate::pages::{
    container::ContainerPage, containers::ContainersPage, home::Home, host::HostPage,
    login::LoginPage, networks::NetworksPage, not_found::NotFound, ports::PortsPage, run::RunPage,
    setup::SetupPage, tokens::TokensPage, users::UsersPage, volumes::VolumesPage,
};
// issue 6: stacks.
use crate::pages::{stack::StackPage, stack_new::NewStackPage, stacks::StacksPage};
// issue 5: images, build, registries.
use crate::pages::{
    build::BuildPage, image::ImagePage, images::ImagesPage, registries::RegistriesPage,
};
use crate::state::{now_secs, use_app, AppState};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    if let Some(splash) = document().get_element_by_id("boot") {
        splash.remove();
    }
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let app = AppState::new();
    provide_context(app);
    // issue 4: one events WebSocket for the shown endpoint (live::use_changes).
    live::provide_live();
    set_interval(move || app.now.set(now_secs()), Duration::from_secs(30));

    view! {
        <Router>
            <SignInOnUnauthorized/>
            <Routes fallback=NotFound>
                <Route path=path!("/setup") view=SetupPage/>
                <Route path=path!("/login") view=LoginPage/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=Home/>
                    <Route path=path!("/endpoints/:ep/containers") view=ContainersPage/>
                    <Route path=path!("/endpoints/:ep/containers/new") view=RunPage/>
                    <Route path=path!("/endpoints/:ep/containers/:id") view=ContainerPage/>
                    <Route path=path!("/endpoints/:ep/host") view=HostPage/>
                    <Route path=path!("/endpoints/:ep/images") view=ImagesPage/>
                    <Route path=path!("/endpoints/:ep/images/build") view=BuildPage/>
                    <Route path=path!("/endpoints/:ep/images/:id") view=ImagePage/>
                    <Route path=path!("/endpoints/:ep/volumes") view=VolumesPage/>
                    <Route path=path!("/endpoints/:ep/networks") view=NetworksPage/>
                    <Route path=path!("/endpoints/:ep/ports") view=PortsPage/>
                    <Route path=path!("/endpoints/:ep/settings") view=EndpointSettingsPage/>
                    <Route path=path!("/endpoints/:ep/stacks") view=StacksPage/>
                    <Route path=path!("/endpoints/:ep/stacks/new") view=NewStackPage/>
                    <Route path=path!("/endpoints/:ep/stacks/:name") view=StackPage/>
                    <Route path=path!("/endpoints/:ep") view=Home/>
                    <Route path=path!("/settings/users") view=UsersPage/>
                    <Route path=path!("/settings/teams") view=TeamsPage/>
                    <Route path=path!("/settings/tokens") view=TokensPage/>
                    <Route path=path!("/settings/registries") view=RegistriesPage/>
                    <Route path=path!("/settings/audit") view=AuditPage/>
                    <Route path=path!("/*any") view=NotFound/>
                </ParentRoute>
            </Routes>
            <ToastHost/>
            <ConfirmHost/>
        </Router>
    }
}

/// Any call answered 401 (the session ended) sends the user to sign in.
#[component]
fn SignInOnUnauthorized() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let handle = window_event_listener_untyped(api::UNAUTHORIZED_EVENT, move |_| {
        let here = window().location().pathname().unwrap_or_default();
        if here != "/login" {
            app.after_login.set_value(Some(here));
            app.user.set(None);
            app.confirm.set(None);
            navigate("/login", NavigateOptions::default());
        }
    });
    on_cleanup(move || handle.remove());
}
