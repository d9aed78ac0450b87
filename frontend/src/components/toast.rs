//! Toasts: short notes in the corner about what an action did. Errors stay
//! longer and are announced as alerts.

use std::time::Duration;

use leptos::prelude::*;

use crate::components::icons::Icon;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    id: u64,
    kind: ToastKind,
    text: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

impl Toasts {
    pub fn new() -> Self {
        Toasts {
            list: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
        }
    }

    pub fn success(&self, text: impl Into<String>) {
        self.push(ToastKind::Success, text.into(), Duration::from_secs(5));
    }

    pub fn error(&self, text: impl Into<String>) {
        self.push(ToastKind::Error, text.into(), Duration::from_secs(10));
    }

    fn push(&self, kind: ToastKind, text: String, ttl: Duration) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.list.update(|list| {
            list.push(Toast { id, kind, text });
            // A burst of failures should not bury the page.
            if list.len() > 4 {
                list.remove(0);
            }
        });
        let this = *self;
        set_timeout(move || this.dismiss(id), ttl);
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|list| list.retain(|t| t.id != id));
    }
}

/// Where toasts appear; rendered once, at the root.
#[component]
pub fn ToastHost() -> impl IntoView {
    let toasts = crate::state::use_app().toasts;
    view! {
        <div class="toasts">
            <For each=move || toasts.list.get() key=|t| t.id let(toast)>
                <div
                    class="toast"
                    class:toast-error=toast.kind == ToastKind::Error
                    role=if toast.kind == ToastKind::Error { "alert" } else { "status" }
                >
                    <span class="toast-icon">
                        {if toast.kind == ToastKind::Error { Icon::Alert } else { Icon::Check }.view()}
                    </span>
                    <span class="toast-text">{toast.text.clone()}</span>
                    <button
                        class="btn-icon btn-ghost"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.dismiss(toast.id)
                    >
                        {Icon::Close.view()}
                    </button>
                </div>
            </For>
        </div>
    }
}
