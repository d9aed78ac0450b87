//! Copying to the clipboard, and ids shown short (12 characters, monospace)
//! that copy the full id on click.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::use_app;

/// Copies `text`. The Clipboard API exists only in secure contexts, and berth
/// is often opened over plain HTTP on a LAN, so there is a fallback.
pub fn copy_text(text: &str) -> bool {
    let window = window();
    if window.is_secure_context() {
        let _ = window.navigator().clipboard().write_text(text);
        return true;
    }
    copy_with_selection(text)
}

fn copy_with_selection(text: &str) -> bool {
    let document = document();
    let Some(body) = document.body() else {
        return false;
    };
    let Ok(element) = document.create_element("textarea") else {
        return false;
    };
    let area: web_sys::HtmlTextAreaElement = element.unchecked_into();
    area.set_value(text);
    let _ = area.set_attribute("readonly", "");
    let _ = area.set_attribute("style", "position:fixed;top:0;left:0;opacity:0");
    if body.append_child(&area).is_err() {
        return false;
    }
    area.select();
    let copied = document
        .unchecked_ref::<web_sys::HtmlDocument>()
        .exec_command("copy")
        .unwrap_or(false);
    area.remove();
    copied
}

/// The first 12 characters of an id, without a `sha256:` prefix.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.get(..12).unwrap_or(id)
}

/// A short id in monospace; a click copies the full id.
#[component]
pub fn ShortId(#[prop(into)] id: String) -> impl IntoView {
    let toasts = use_app().toasts;
    let short = short_id(&id).to_owned();
    let label = format!("Copy full id {short}");
    let title = format!("{id} (click to copy)");
    let copy = move |_| {
        if copy_text(&id) {
            toasts.success("Copied the full id");
        } else {
            toasts.error("Could not copy: the browser refused");
        }
    };
    view! {
        <button type="button" class="id-copy mono" title=title aria-label=label on:click=copy>
            {short}
        </button>
    }
}
