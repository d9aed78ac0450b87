//! Badges: one palette for states everywhere, and the word is always there
//! (colour is never the only signal).

use leptos::prelude::*;
use protocol::{ContainerState, EndpointStatus, Role};

/// The badge colour of a container state.
pub fn state_tone(state: ContainerState) -> &'static str {
    match state {
        ContainerState::Running => "green",
        ContainerState::Paused => "amber",
        ContainerState::Restarting | ContainerState::Created | ContainerState::Removing => "blue",
        ContainerState::Dead => "red",
        ContainerState::Exited | ContainerState::Unknown => "grey",
    }
}

#[component]
pub fn StateBadge(
    state: ContainerState,
    #[prop(optional, into)] title: Option<String>,
) -> impl IntoView {
    view! {
        <span class=format!("badge badge-{}", state_tone(state)) title=title>
            <span class="badge-dot" aria-hidden="true"></span>
            {state.as_str()}
        </span>
    }
}

/// The health of a container with a healthcheck.
#[component]
pub fn HealthBadge(health: String) -> impl IntoView {
    let tone = match health.as_str() {
        "healthy" => "green",
        "unhealthy" => "red",
        _ => "blue",
    };
    view! { <span class=format!("badge badge-{tone}")>{health}</span> }
}

#[component]
pub fn RoleBadge(role: Role) -> impl IntoView {
    let tone = match role {
        Role::Admin => "accent",
        Role::Operator => "blue",
        Role::Viewer => "grey",
    };
    view! { <span class=format!("badge badge-{tone}")>{role.as_str()}</span> }
}

/// The up/down dot of an endpoint, with its word for screen readers.
#[component]
pub fn EndpointDot(status: EndpointStatus) -> impl IntoView {
    let (class, word) = match status {
        EndpointStatus::Up => ("dot dot-up", "up"),
        EndpointStatus::Down => ("dot dot-down", "down"),
    };
    view! {
        <span class=class title=word aria-hidden="true"></span>
        <span class="sr-only">{format!(" ({word})")}</span>
    }
}
