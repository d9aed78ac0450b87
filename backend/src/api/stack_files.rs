//! A stack's folder over HTTP: list, upload (a tar, unpacked), remove. The
//! folder's rules, and an upload's bounds, live in `stacks::files`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, RequestExt};
use protocol::{Role, StackFiles};
use serde::Deserialize;

use super::{AppPath, Route};
use crate::auth::policy::AuditTarget;
use crate::auth::Access;
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::stacks::files::{self, MAX_UPLOAD};
use crate::AppState;

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);

pub fn routes() -> Vec<Route> {
    const FILES: &str = "/api/v1/endpoints/{ep}/stacks/{name}/files";
    vec![
        Route::get(FILES, VIEWER, "stack.files.list", "The files in the stack's folder besides compose.yaml and .env (build contexts, files mounted by relative path)", list).returns::<protocol::StackFiles>(200),
        super::with_body_limit(
            Route::put(FILES, OPERATOR, "stack.files", "Upload files into the stack's folder: a tar (gzip allowed), unpacked under `into` (default the folder itself); compose.yaml and .env at the top are skipped", upload).query::<UploadQuery>().raw_body(super::Payload::Bytes("application/x-tar")).returns::<protocol::StackUpload>(200),
            MAX_UPLOAD,
        ),
        Route::delete(FILES, OPERATOR, "stack.files.delete", "Remove a file or a folder (`path`) from the stack's folder", remove).query::<RemoveQuery>().no_content(),
    ]
}

async fn list(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
) -> AppResult<AppJson<StackFiles>> {
    Ok(AppJson(files::list(&state, &ep, &name).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// A folder inside the stack's folder to unpack into.
    #[serde(default)]
    into: Option<String>,
}

async fn upload(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<UploadQuery>,
    request: Request,
) -> AppResult<Response> {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD as u64) {
        return Err(AppError::PayloadTooLarge(format!(
            "the upload is larger than the {} MiB berth accepts",
            MAX_UPLOAD >> 20
        )));
    }
    // Within the route's `DefaultBodyLimit`; spooled to disk, never held.
    let body = request.into_limited_body();
    let unpacked = files::upload(&state, &ep, &name, q.into.as_deref(), body).await?;
    Ok((
        Extension(AuditTarget(format!("stack {name} files"))),
        AppJson(unpacked),
    )
        .into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RemoveQuery {
    path: String,
}

async fn remove(
    State(state): State<AppState>,
    AppPath((ep, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<RemoveQuery>,
) -> AppResult<Response> {
    let rel = files::remove(&state, &ep, &name, &q.path).await?;
    Ok((
        StatusCode::NO_CONTENT,
        Extension(AuditTarget(format!("stack {name} file {rel}"))),
    )
        .into_response())
}
