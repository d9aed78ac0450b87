//! Tabs for detail pages: a tab strip that arrow keys move through, and the
//! chosen tab kept in the address (`?tab=`) so it can be linked to and
//! survives a reload.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

/// One tab of a page.
pub trait TabItem: Copy + PartialEq + Send + Sync + 'static {
    fn label(self) -> &'static str;
    fn slug(self) -> &'static str;
}

/// The tab `?tab=` names among `all`, else the first.
pub fn tab_from_location<T: TabItem>(all: &[T]) -> Option<T> {
    let search = window().location().search().unwrap_or_default();
    let wanted = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("tab="))
        .unwrap_or_default();
    all.iter()
        .copied()
        .find(|t| t.slug() == wanted)
        .or_else(|| all.first().copied())
}

/// Puts `tab` in the address without a navigation; the default tab leaves
/// the address bare when `bare_default` is set.
pub fn remember_tab<T: TabItem>(tab: T, default: Option<T>) {
    let path = window().location().pathname().unwrap_or_default();
    let url = if Some(tab) == default {
        path
    } else {
        format!("{path}?tab={}", tab.slug())
    };
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// The strip of `tabs`, labelled `label` for screen readers. Each tab
/// controls the element with id `panel-<slug>`.
#[component]
pub fn TabStrip<T: TabItem>(
    tab: RwSignal<T>,
    #[prop(into)] tabs: Signal<Vec<T>>,
    label: &'static str,
) -> impl IntoView {
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let step: isize = match ev.key().as_str() {
            "ArrowRight" => 1,
            "ArrowLeft" => -1,
            _ => return,
        };
        ev.prevent_default();
        let all = tabs.get_untracked();
        if all.is_empty() {
            return;
        }
        let here = all
            .iter()
            .position(|t| *t == tab.get_untracked())
            .unwrap_or(0) as isize;
        let next = all[(here + step).rem_euclid(all.len() as isize) as usize];
        tab.set(next);
        if let Some(el) = document().get_element_by_id(&format!("tab-{}", next.slug())) {
            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label=label on:keydown=on_key>
            {move || {
                tabs.get()
                    .into_iter()
                    .map(|t| {
                        let selected = move || tab.get() == t;
                        view! {
                            <button
                                type="button"
                                role="tab"
                                class="tab"
                                id=format!("tab-{}", t.slug())
                                aria-controls=format!("panel-{}", t.slug())
                                aria-selected=move || if selected() { "true" } else { "false" }
                                tabindex=move || if selected() { "0" } else { "-1" }
                                on:click=move |_| tab.set(t)
                            >
                                {t.label()}
                            </button>
                        }
                    })
                    .collect_view()
            }}
        </div>
    }
}

/// The panel of the chosen tab, labelled by its tab in the strip.
#[component]
pub fn TabPanel<T: TabItem>(tab: RwSignal<T>, children: Children) -> impl IntoView {
    view! {
        <div
            class="tab-panel"
            role="tabpanel"
            id=move || format!("panel-{}", tab.get().slug())
            aria-labelledby=move || format!("tab-{}", tab.get().slug())
        >
            {children()}
        </div>
    }
}
