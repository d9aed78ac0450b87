//! State the whole app shares, provided once as context: who is signed in,
//! the endpoints, the top bar's search text, the breadcrumb's last item, a
//! ticking clock for relative times, toasts and the confirm dialog.

use leptos::prelude::*;
use protocol::{Endpoint, EndpointRole, Role, SessionInfo, User};

use crate::api::ApiError;
use crate::components::modal::ConfirmRequest;
use crate::components::toast::Toasts;

/// Where the endpoint chosen last is remembered across visits.
const LAST_ENDPOINT_KEY: &str = "berth-endpoint";
/// The endpoint berth creates on first start.
pub const DEFAULT_ENDPOINT: &str = "local";

#[derive(Clone, Copy)]
pub struct AppState {
    /// The signed-in user; `None` until `/api/v1/me` answered.
    pub user: RwSignal<Option<User>>,
    /// The endpoints the signed-in user reaches and their role on each
    /// (from `/api/v1/me`; admins reach all, as admin).
    pub roles: RwSignal<Vec<EndpointRole>>,
    /// Where to go after signing in, when a 401 interrupted the user.
    pub after_login: StoredValue<Option<String>>,
    /// `None` while loading.
    pub endpoints: RwSignal<Option<Result<Vec<Endpoint>, ApiError>>>,
    /// The endpoint used last, for pages outside `/endpoints/{ep}`.
    pub last_endpoint: RwSignal<String>,
    /// The top bar's search box: list pages filter their rows with it.
    pub search: RwSignal<String>,
    /// The last breadcrumb item (the object a detail page shows).
    pub crumb: RwSignal<Option<String>>,
    /// Unix seconds, refreshed every 30 s so relative times move on.
    pub now: RwSignal<f64>,
    pub toasts: Toasts,
    pub confirm: RwSignal<Option<ConfirmRequest>>,
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

impl AppState {
    pub fn new() -> Self {
        let last =
            local_storage_get(LAST_ENDPOINT_KEY).unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        AppState {
            user: RwSignal::new(None),
            roles: RwSignal::new(Vec::new()),
            after_login: StoredValue::new(None),
            endpoints: RwSignal::new(None),
            last_endpoint: RwSignal::new(last),
            search: RwSignal::new(String::new()),
            crumb: RwSignal::new(None),
            now: RwSignal::new(now_secs()),
            toasts: Toasts::new(),
            confirm: RwSignal::new(None),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user
            .with(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin))
    }

    /// Takes in who signed in and what they reach.
    pub fn sign_in(&self, session: SessionInfo) {
        self.roles.set(session.endpoints);
        self.user.set(Some(session.user));
    }

    /// The user's role on `ep`: admins are admins everywhere; others have
    /// the role of their grant, or none (the endpoint is not theirs).
    pub fn role_on(&self, ep: &str) -> Option<Role> {
        if self.is_admin() {
            return Some(Role::Admin);
        }
        self.roles
            .with(|roles| roles.iter().find(|r| r.endpoint == ep).map(|r| r.role))
    }

    /// Whether the user may change things on `ep` (operator or admin there).
    pub fn can_operate(&self, ep: &str) -> bool {
        self.role_on(ep).is_some_and(|r| r >= Role::Operator)
    }

    /// A signed-in non-admin whom no endpoint is shared with.
    pub fn reaches_nothing(&self) -> bool {
        self.user
            .with(|u| u.as_ref().is_some_and(|u| u.role != Role::Admin))
            && self.roles.with(Vec::is_empty)
    }

    /// Remembers the endpoint a page is showing.
    pub fn visit_endpoint(&self, ep: &str) {
        if self.last_endpoint.with_untracked(|last| last != ep) {
            self.last_endpoint.set(ep.to_owned());
            local_storage_set(LAST_ENDPOINT_KEY, ep);
        }
    }

    /// The endpoint to open when none is named: the one used last if it still
    /// exists, else `local`, else the first one.
    pub fn home_endpoint(&self) -> String {
        let last = self.last_endpoint.get_untracked();
        if !self.is_admin_untracked() {
            // A non-admin reaches only the endpoints granted to them.
            let reached: Vec<String> = self
                .roles
                .with_untracked(|roles| roles.iter().map(|r| r.endpoint.clone()).collect());
            return pick_endpoint(&reached, &last).unwrap_or(last);
        }
        self.endpoints.with_untracked(|eps| match eps {
            Some(Ok(eps)) if !eps.iter().any(|e| e.id == last) => eps
                .iter()
                .find(|e| e.id == DEFAULT_ENDPOINT)
                .or_else(|| eps.first())
                .map(|e| e.id.clone())
                .unwrap_or(last),
            _ => last,
        })
    }

    fn is_admin_untracked(&self) -> bool {
        self.user
            .with_untracked(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin))
    }

    pub fn ask(&self, request: ConfirmRequest) {
        self.confirm.set(Some(request));
    }
}

/// Of the endpoints one reaches: the one used last, else `local`, else the
/// first; `None` when there is none.
pub fn pick_endpoint(reached: &[String], last: &str) -> Option<String> {
    reached
        .iter()
        .find(|e| *e == last)
        .or_else(|| reached.iter().find(|e| *e == DEFAULT_ENDPOINT))
        .or_else(|| reached.first())
        .cloned()
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

pub fn now_secs() -> f64 {
    js_sys::Date::now() / 1000.0
}

pub fn local_storage_get(key: &str) -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()?
        .get_item(key)
        .ok()
        .flatten()
}

pub fn local_storage_set(key: &str, value: &str) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_picked_among_those_reached() {
        let reached = vec!["edge".to_owned(), "local".to_owned()];
        assert_eq!(pick_endpoint(&reached, "edge").as_deref(), Some("edge"));
        assert_eq!(pick_endpoint(&reached, "gone").as_deref(), Some("local"));
        let others = vec!["b".to_owned(), "a".to_owned()];
        assert_eq!(pick_endpoint(&others, "local").as_deref(), Some("b"));
        assert_eq!(pick_endpoint(&[], "local"), None);
    }
}
