//! The confirm dialog: destructive actions ask first and name their object
//! ("Remove container web-1?"). One native `<dialog>` serves the whole app,
//! so focus is trapped, Escape cancels and the page behind is inert.

use leptos::{html, prelude::*};

use crate::state::use_app;

#[derive(Clone)]
pub struct ConfirmRequest {
    /// The question, naming the object: "Remove container web-1?".
    pub title: String,
    /// What happens, in a sentence or two.
    pub body: String,
    /// The confirming button's word: "Remove", "Delete".
    pub confirm: String,
    pub on_confirm: Callback<()>,
}

impl ConfirmRequest {
    pub fn new(
        title: impl Into<String>,
        body: impl Into<String>,
        confirm: impl Into<String>,
        on_confirm: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        ConfirmRequest {
            title: title.into(),
            body: body.into(),
            confirm: confirm.into(),
            on_confirm: Callback::new(move |()| on_confirm()),
        }
    }
}

#[component]
pub fn ConfirmHost() -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        let wanted = app.confirm.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if wanted && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !wanted && dialog.open() {
                dialog.close();
            }
        }
    });
    let cancel = move |_| app.confirm.set(None);
    let confirm = move |_| {
        if let Some(request) = app.confirm.get_untracked() {
            app.confirm.set(None);
            request.on_confirm.run(());
        }
    };
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-labelledby="confirm-title"
            aria-describedby="confirm-body"
            on:close=move |_| app.confirm.set(None)
        >
            {move || {
                app.confirm
                    .get()
                    .map(|request| {
                        view! {
                            <h2 id="confirm-title" class="modal-title">{request.title}</h2>
                            <p id="confirm-body" class="modal-body">{request.body}</p>
                            <div class="modal-actions">
                                <button type="button" class="btn" autofocus on:click=cancel>
                                    "Cancel"
                                </button>
                                <button type="button" class="btn btn-danger" on:click=confirm>
                                    {request.confirm}
                                </button>
                            </div>
                        }
                    })
            }}
        </dialog>
    }
}
