//! A container's log as a download.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use protocol::{LogStream, Role};

use super::{AppPath, Route};
use crate::auth::Access;
use crate::engine::check_reference;
use crate::error::{AppQuery, AppResult};
use crate::ws::LogParams;
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![Route::get(
        "/api/v1/endpoints/{ep}/containers/{id}/logs",
        Access::AtLeast(Role::Viewer),
        "container.logs",
        "A container's log as a text file (`tail`, `since`, `timestamps`); stderr lines are marked",
        download,
    )
    .query::<crate::ws::LogParams>()
    .replies(200, super::Payload::Bytes("text/plain"))]
}

async fn download(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppQuery(params): AppQuery<LogParams>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_reference("container", &id)?;
    let mut query = params.query(false)?;
    if params.tail.is_none() {
        query.tail = Some("all".into());
    }
    let name = engine.inspect_container(&id).await?.name;
    // Streamed as it is read: a long log never sits in berth's memory.
    let lines = engine.log_lines(&id, &query).await?.map(|line| {
        line.map(|line| {
            let mut text = String::with_capacity(line.text.len() + 48);
            if let Some(ts) = &line.ts {
                text.push_str(ts);
                text.push(' ');
            }
            if line.stream == LogStream::Stderr {
                text.push_str("[stderr] ");
            }
            text.push_str(&line.text);
            text.push('\n');
            bytes::Bytes::from(text)
        })
    });
    let body = axum::body::Body::from_stream(lines);
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.log\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
