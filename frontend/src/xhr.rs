//! Uploads that show how far they got. `fetch` cannot report how much of a
//! request body has been sent; `XMLHttpRequest` can (`upload.onprogress`).
//! The answer is read as it arrives too (`onprogress`, the new part of
//! `responseText` each time), so a build's progress lines stream the same
//! way as with `fetch`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{ProgressEvent, XmlHttpRequest};

use crate::api::{problem_of, ApiError};

/// How much of an upload has been sent: (bytes sent, bytes in all).
pub type Sent = (f64, f64);

#[derive(Default)]
struct State {
    /// The answer's status, once its headers are in.
    status: Option<u16>,
    /// Parts of the answer not read yet.
    chunks: VecDeque<String>,
    /// How much of `responseText` has been taken (UTF-16 units).
    seen: u32,
    /// The answer is complete (or the request failed: `error`).
    done: bool,
    error: Option<String>,
    waker: Option<Waker>,
}

impl State {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// A request under way. Dropping it before the answer is complete aborts
/// it.
pub struct XhrRequest {
    xhr: XmlHttpRequest,
    state: Rc<RefCell<State>>,
    _handlers: Vec<Handler>,
}

/// Sends `body` (a `Blob`, a `File` or a string) with `method` to `url`;
/// `on_sent` hears how much of it has gone out.
pub fn send(
    method: &str,
    url: &str,
    content_type: &str,
    body: &JsValue,
    on_sent: impl Fn(Sent) + 'static,
) -> Result<XhrRequest, ApiError> {
    let xhr = XmlHttpRequest::new().map_err(|e| ApiError::network(js_text(&e)))?;
    xhr.open_with_async(method, url, true)
        .map_err(|e| ApiError::network(js_text(&e)))?;
    for (name, value) in [
        ("Content-Type", content_type),
        ("Accept", "application/json, application/x-ndjson"),
    ] {
        xhr.set_request_header(name, value)
            .map_err(|e| ApiError::network(js_text(&e)))?;
    }
    let state = Rc::new(RefCell::new(State::default()));

    // Takes whatever of the answer arrived since last time.
    let take_new = {
        let (xhr, state) = (xhr.clone(), state.clone());
        move || {
            let Ok(Some(text)) = xhr.response_text() else {
                return;
            };
            let text = js_sys::JsString::from(text);
            let mut s = state.borrow_mut();
            let len = text.length();
            if len > s.seen {
                let new = String::from(text.substring(s.seen, len));
                s.chunks.push_back(new);
                s.seen = len;
            }
        }
    };

    let mut handlers = Vec::new();
    let on_upload = Handler::new(move |event: JsValue| {
        if let Some(event) = event.dyn_ref::<ProgressEvent>() {
            if event.length_computable() {
                on_sent((event.loaded(), event.total()));
            }
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_upload.as_ref().unchecked_ref()));
    }
    handlers.push(on_upload);

    let on_ready = {
        let (xhr, state) = (xhr.clone(), state.clone());
        Handler::new(move |_| {
            // HEADERS_RECEIVED (2) or later: the status is known.
            if xhr.ready_state() >= 2 {
                let mut s = state.borrow_mut();
                if s.status.is_none() && xhr.status().unwrap_or(0) != 0 {
                    s.status = xhr.status().ok();
                    s.wake();
                }
            }
        })
    };
    xhr.set_onreadystatechange(Some(on_ready.as_ref().unchecked_ref()));
    handlers.push(on_ready);

    let on_progress = {
        let (state, take_new) = (state.clone(), take_new.clone());
        Handler::new(move |_| {
            take_new();
            state.borrow_mut().wake();
        })
    };
    xhr.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    handlers.push(on_progress);

    let on_load = {
        let (xhr, state) = (xhr.clone(), state.clone());
        Handler::new(move |_| {
            take_new();
            let mut s = state.borrow_mut();
            if s.status.is_none() {
                s.status = xhr.status().ok();
            }
            s.done = true;
            s.wake();
        })
    };
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    handlers.push(on_load);

    let on_error = {
        let state = state.clone();
        Handler::new(move |_| {
            let mut s = state.borrow_mut();
            s.error = Some("the connection broke off".into());
            s.done = true;
            s.wake();
        })
    };
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(on_error.as_ref().unchecked_ref()));
    handlers.push(on_error);

    let sent = match (body.dyn_ref::<web_sys::Blob>(), body.as_string()) {
        (Some(blob), _) => xhr.send_with_opt_blob(Some(blob)),
        (None, Some(text)) => xhr.send_with_opt_str(Some(&text)),
        (None, None) => return Err(ApiError::network("the upload is not a file")),
    };
    sent.map_err(|e| ApiError::network(js_text(&e)))?;
    Ok(XhrRequest {
        xhr,
        state,
        _handlers: handlers,
    })
}

impl XhrRequest {
    /// Waits for the answer's status. A failure status waits for the whole
    /// answer and gives its problem+json as the error.
    pub async fn answer(self) -> Result<XhrRequest, ApiError> {
        let state = self.state.clone();
        let status = poll_fn(|cx| {
            let mut s = state.borrow_mut();
            if let Some(e) = &s.error {
                return Poll::Ready(Err(ApiError::network(e)));
            }
            match s.status {
                Some(status) => Poll::Ready(Ok(status)),
                None if s.done => Poll::Ready(Err(ApiError::network("no answer"))),
                None => {
                    s.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await?;
        if (200..300).contains(&status) {
            return Ok(self);
        }
        let status_text = self.xhr.status_text().unwrap_or_default();
        let text = self.text_to_end().await.unwrap_or_default();
        Err(problem_of(status, &status_text, &text))
    }

    /// The next part of the answer, `None` at its end.
    pub async fn next_chunk(&mut self) -> Option<Result<String, String>> {
        let state = self.state.clone();
        poll_fn(|cx| {
            let mut s = state.borrow_mut();
            if let Some(chunk) = s.chunks.pop_front() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if let Some(e) = s.error.take() {
                return Poll::Ready(Some(Err(e)));
            }
            if s.done {
                return Poll::Ready(None);
            }
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The rest of the answer, whole.
    pub async fn text_to_end(mut self) -> Result<String, String> {
        let mut all = String::new();
        while let Some(chunk) = self.next_chunk().await {
            all.push_str(&chunk?);
        }
        Ok(all)
    }
}

impl Drop for XhrRequest {
    fn drop(&mut self) {
        let done = self.state.borrow().done;
        if !done {
            self.xhr.set_onabort(None);
            self.xhr.set_onerror(None);
            let _ = self.xhr.abort();
        }
        self.xhr.set_onload(None);
        self.xhr.set_onprogress(None);
        self.xhr.set_onreadystatechange(None);
        if let Ok(upload) = self.xhr.upload() {
            upload.set_onprogress(None);
        }
    }
}

fn js_text(value: &JsValue) -> String {
    crate::components::progress::js_error(value)
}

/// Sends `body` and reads the whole JSON answer; `on_sent` hears the
/// upload's progress.
pub async fn send_json<T: serde::de::DeserializeOwned>(
    method: &str,
    url: &str,
    content_type: &str,
    body: &JsValue,
    on_sent: impl Fn(Sent) + 'static,
) -> Result<T, ApiError> {
    let answer = send(method, url, content_type, body, on_sent)?
        .answer()
        .await?;
    let text = answer.text_to_end().await.map_err(ApiError::network)?;
    serde_json::from_str(&text).map_err(|e| ApiError {
        status: 0,
        title: "Unexpected answer".into(),
        detail: format!("berth's answer could not be read: {e}"),
    })
}
