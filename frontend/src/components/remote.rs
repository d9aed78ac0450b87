//! Data loaded from the API by a page, and the views of its states: loading,
//! failed (with the endpoint-down banner for 503) and empty.

use std::future::Future;

use leptos::{prelude::*, task::spawn_local};

use crate::api::ApiError;
use crate::components::icons::Icon;
use crate::components::layout::endpoint_path;

/// What a page can show of a [`Remote`] without looking at the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Loading,
    Failed(ApiError),
    Ready,
}

/// A value fetched from the API. It loads again when a signal the fetcher
/// read changes (the endpoint in the URL) and on [`Remote::reload`]; a reload
/// keeps the old value on screen until the new one arrives, so rows don't
/// flicker.
pub struct Remote<T: 'static> {
    pub value: RwSignal<Option<Result<T, ApiError>>>,
    pub loading: RwSignal<bool>,
    pub phase: Memo<Phase>,
    trigger: RwSignal<u32>,
    keep: StoredValue<bool>,
}

impl<T> Clone for Remote<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Remote<T> {}

impl<T: Send + Sync + 'static> Remote<T> {
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<T, ApiError>> + 'static,
    {
        let value = RwSignal::new(None::<Result<T, ApiError>>);
        let loading = RwSignal::new(true);
        let trigger = RwSignal::new(0u32);
        let keep = StoredValue::new(false);
        let generation = StoredValue::new(0u64);
        let phase = Memo::new(move |_| {
            value.with(|v| match v {
                None => Phase::Loading,
                Some(Err(e)) => Phase::Failed(e.clone()),
                Some(Ok(_)) => Phase::Ready,
            })
        });
        Effect::new(move |_| {
            trigger.track();
            let fut = fetch();
            let this_run = generation.get_value().wrapping_add(1);
            generation.set_value(this_run);
            if !keep.get_value() {
                value.set(None);
            }
            keep.set_value(false);
            loading.set(true);
            spawn_local(async move {
                let result = fut.await;
                // An answer to an older request (another endpoint) is dropped.
                if generation.try_get_value() == Some(this_run) {
                    value.set(Some(result));
                    loading.set(false);
                }
            });
        });
        Remote {
            value,
            loading,
            phase,
            trigger,
            keep,
        }
    }

    pub fn reload(&self) {
        self.keep.set_value(true);
        self.trigger.update(|n| *n = n.wrapping_add(1));
    }

    /// Changes the loaded value in place (after an edit the server confirmed).
    pub fn update_ok(&self, f: impl FnOnce(&mut T)) {
        self.value.update(|v| {
            if let Some(Ok(v)) = v {
                f(v);
            }
        });
    }
}

#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <div class="state state-loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            <span>{format!("Loading {what}…")}</span>
        </div>
    }
}

/// A failed load. A 503 on an engine route means the endpoint is down: the
/// page is replaced by a banner saying so.
#[component]
pub fn LoadError(
    error: ApiError,
    /// The endpoint the page is about, for engine routes.
    #[prop(optional, into)]
    endpoint: Option<String>,
    /// What was being loaded: "containers".
    #[prop(into)]
    what: String,
    #[prop(into)] on_retry: Callback<()>,
) -> impl IntoView {
    let retry = move |_| on_retry.run(());
    match endpoint.filter(|_| error.is_unavailable()) {
        Some(ep) => view! {
            <div class="banner banner-danger" role="alert">
                {Icon::Alert.view()}
                <div class="banner-text">
                    <strong>{format!("Endpoint {ep} is unreachable: {}", error.message())}</strong>
                    <p>"berth cannot talk to this host's Docker engine. Check that the engine runs and that berth can reach it."</p>
                </div>
                <button type="button" class="btn" on:click=retry>"Retry"</button>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="banner banner-danger" role="alert">
                {Icon::Alert.view()}
                <div class="banner-text">
                    <strong>{format!("Could not load {what}")}</strong>
                    <p>{error.message()}</p>
                </div>
                <button type="button" class="btn" on:click=retry>"Retry"</button>
            </div>
        }
        .into_any(),
    }
}

/// A [`Remote`]'s three states in one place: a spinner while it first
/// loads, the error with a Retry button (an endpoint-down banner on engine
/// routes, given `endpoint`), else `children`.
#[component]
pub fn Loaded<T: Send + Sync + 'static>(
    remote: Remote<T>,
    /// What is being loaded: "containers".
    #[prop(into)]
    what: String,
    /// The endpoint the page is about, for engine routes.
    #[prop(optional, into)]
    endpoint: Option<Signal<String>>,
    children: ChildrenFn,
) -> impl IntoView {
    move || match remote.phase.get() {
        Phase::Loading => view! { <Loading what=what.clone()/> }.into_any(),
        Phase::Failed(error) => {
            let retry = move |()| remote.reload();
            match endpoint {
                Some(ep) => view! {
                    <LoadError error=error endpoint=ep.get() what=what.clone() on_retry=retry/>
                }
                .into_any(),
                None => {
                    view! { <LoadError error=error what=what.clone() on_retry=retry/> }.into_any()
                }
            }
        }
        Phase::Ready => children().into_any(),
    }
}

/// A detail page's [`Remote`] (one container, image or stack): a spinner,
/// "not found" with the way back to its list, the error with Retry, else
/// `children` (the page itself).
#[component]
pub fn DetailLoaded<T: Send + Sync + 'static>(
    remote: Remote<T>,
    /// What the page shows: "container".
    what: &'static str,
    /// The list it comes from, under the endpoint: "containers".
    list: &'static str,
    /// How it may have gone away: "removed".
    gone: &'static str,
    /// Its id or name, as the address has it.
    #[prop(into)]
    name: Signal<String>,
    #[prop(into)] ep: Signal<String>,
    children: ChildrenFn,
) -> impl IntoView {
    move || {
        match remote.phase.get() {
        Phase::Loading => {
            view! { <div class="page"><Loading what=format!("the {what}")/></div> }.into_any()
        }
        Phase::Failed(error) if error.is_not_found() => {
            let mut title = format!("{what} not found");
            title[..1].make_ascii_uppercase();
            view! {
                <div class="page">
                    <EmptyState
                        title=title
                        hint=format!("There is no {what} “{}” on this endpoint. It may have been {gone}.", name.get())
                    >
                        <a class="btn" href=endpoint_path(&ep.get(), list)>{format!("Back to {list}")}</a>
                    </EmptyState>
                </div>
            }
            .into_any()
        }
        Phase::Failed(error) => view! {
            <div class="page">
                <LoadError error=error endpoint=ep.get() what=format!("the {what}") on_retry=move |()| remote.reload()/>
            </div>
        }
        .into_any(),
        Phase::Ready => children().into_any(),
    }
    }
}

/// An empty list: what is missing and what to do next.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="empty">
            <p class="empty-title">{title}</p>
            {hint.map(|h| view! { <p class="empty-hint">{h}</p> })}
            {children.map(|c| c())}
        </div>
    }
}

/// The list pages' "Refresh" button: reloads `list`, spinning while it loads.
#[component]
pub fn RefreshButton<T: Send + Sync + 'static>(list: Remote<T>) -> impl IntoView {
    view! {
        <button
            type="button"
            class="btn"
            class:is-loading=move || list.loading.get()
            on:click=move |_| list.reload()
        >
            {Icon::Refresh.view()}
            <span>"Refresh"</span>
        </button>
    }
}
