//! Images and registries over HTTP: list, inspect, build, pull, push, tag,
//! remove, prune, export and import on an endpoint, and the registry logins
//! berth keeps for pulls, pushes and builds.
//!
//! Build, pull and push answer with progress as JSON lines
//! (`application/x-ndjson`, one [`Progress`] per line, the last one `done`
//! or `error`). Uploads (a build context, an image archive) are streamed to
//! the engine as they arrive, within a per-route body limit; a build context
//! sent as a form of files is written out as a tar, within the same limit,
//! as its parts arrive. berth never unpacks them itself.
//!
//! Builds, pulls, pushes and imports each take a place in
//! `limits::Limits::tasks` (a few per user, a few more in total) before
//! they start, and give it back when their progress ends or the client goes
//! away; past that they are refused with 429 naming what is running.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, RequestExt};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use protocol::{
    check_image_name, registry_host, BuildOptions, ImageDetail, ImagePruneReport, ImageRef,
    ImageReference, ImageRemoval, ImageSummary, ImportReport, NewRegistry, Progress, Registry,
    RegistryCheck, RegistryLogin, Role, TaggedImage,
};
use serde::Deserialize;

use super::{redact, with_body_limit, AppPath, Route};
use crate::auth::policy::{audit_stream, AuditTarget};
use crate::auth::{Access, Principal};
use crate::error::{AppError, AppJson, AppQuery, AppResult};
use crate::limits::{is_length_limit, Limits, Slot};
use crate::{AppState, LOCAL_ENDPOINT};

mod form;

use form::{build_body, read_build_form, BuildBody};

const VIEWER: Access = Access::AtLeast(Role::Viewer);
const OPERATOR: Access = Access::AtLeast(Role::Operator);
const ADMIN: Access = Access::AtLeast(Role::Admin);

/// The largest build context berth takes.
const MAX_BUILD_CONTEXT: usize = 2 << 30;
/// The largest image archive berth takes (images can be big).
const MAX_IMPORT: u64 = 16 << 30;
/// What is read of an upload before it goes on, to check it is an archive.
const SNIFF_BYTES: usize = 512;

pub fn routes() -> Vec<Route> {
    const I: &str = "/api/v1/endpoints/{ep}/images";
    const ONE: &str = "/api/v1/endpoints/{ep}/images/{id}";
    let import_limit = usize::try_from(MAX_IMPORT).unwrap_or(usize::MAX);
    vec![
        Route::get(I, VIEWER, "image.list", "List images with their tags, size, and the containers that use each (`dangling=true|false` filters)", list).query::<ListQuery>().returns::<Vec<protocol::ImageSummary>>(200),
        with_body_limit(
            Route::post("/api/v1/endpoints/{ep}/images/build", OPERATOR, "image.build", "Build an image with the classic builder from a build context: a tar body (`application/x-tar`, gzip allowed), or a `multipart/form-data` form whose file parts are the context's files at their filenames (`src/app.py`), a part named `Dockerfile` the Dockerfile, or one `context` part a whole `.tar`/`.tar.gz`/`.tgz`. Options in the query, or as the form's text fields: `tag`, `dockerfile`, `nocache`, `target`, `buildargs` as a JSON object, `pull`; progress streams as JSON lines", build).query::<protocol::BuildOptions>().raw_body(super::Payload::BuildContext).streams::<protocol::Progress>(),
            MAX_BUILD_CONTEXT,
        ),
        Route::post("/api/v1/endpoints/{ep}/images/pull", OPERATOR, "image.pull", "Pull an image (`{\"reference\"}`) with the stored login for its registry; per-layer progress streams as JSON lines", pull).body::<protocol::ImageReference>().streams::<protocol::Progress>(),
        Route::post("/api/v1/endpoints/{ep}/images/prune", OPERATOR, "image.prune", "Remove dangling images, or with `all=true` every image no container uses (`label=` narrows it); reports the space reclaimed", prune).query::<PruneQuery>().returns::<protocol::ImagePruneReport>(200),
        with_body_limit(
            Route::post("/api/v1/endpoints/{ep}/images/import", OPERATOR, "image.import", "Load images from a `docker save` archive (the body); names the images loaded", import).raw_body(super::Payload::Bytes("application/x-tar")).returns::<protocol::ImportReport>(201),
            import_limit,
        ),
        Route::get(ONE, VIEWER, "image.inspect", "An image's settings, its layers (the instruction that made each, its size, the other images that share it) and the containers that use it", inspect).returns::<protocol::ImageDetail>(200),
        Route::delete(ONE, OPERATOR, "image.remove", "Remove an image or one of its tags (409 naming the containers that use it unless `force=true`)", remove).query::<RemoveQuery>().returns::<protocol::ImageRemoval>(200).errors(&[409]),
        Route::post("/api/v1/endpoints/{ep}/images/{id}/tag", OPERATOR, "image.tag", "Give an image another name (`{\"reference\"}`)", tag).body::<protocol::ImageReference>().returns::<protocol::TaggedImage>(201),
        Route::post("/api/v1/endpoints/{ep}/images/{id}/push", OPERATOR, "image.push", "Push an image as `{\"reference\"}` (tagging it so first) with the stored login for its registry; per-layer progress streams as JSON lines", push).body::<protocol::ImageReference>().streams::<protocol::Progress>(),
        Route::get("/api/v1/endpoints/{ep}/images/{id}/export", OPERATOR, "image.export", "Download an image as a tar archive (`docker save`); its files and `ENV` are the image's secrets, so operators only", export).replies(200, super::Payload::Bytes("application/x-tar")),
        Route::get("/api/v1/registries", ADMIN, "registry.list", "The registry logins berth keeps (never their passwords)", list_registries).returns::<Vec<protocol::Registry>>(200),
        Route::post("/api/v1/registries", ADMIN, "registry.create", "Keep a login for a registry (`{\"url\",\"username\",\"password\"}`) after checking it with the registry; 401 when the registry refuses it", create_registry).body::<protocol::NewRegistry>().returns::<protocol::Registry>(201).errors(&[409]),
        Route::delete("/api/v1/registries/{id}", ADMIN, "registry.remove", "Forget a registry login", remove_registry).no_content(),
        Route::post("/api/v1/registries/{id}/test", ADMIN, "registry.test", "Log in to the registry with the kept login; 401 when it is refused", test_registry).returns::<protocol::RegistryCheck>(200),
    ]
}

// ---------------------------------------------------------------- reads

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
struct ListQuery {
    dangling: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<AppJson<Vec<ImageSummary>>> {
    let mut images = state.endpoints.get(&ep)?.list_images().await?;
    if let Some(dangling) = q.dangling {
        images.retain(|i| i.dangling == dangling);
    }
    Ok(AppJson(images))
}

async fn inspect(
    State(state): State<AppState>,
    me: Principal,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<AppJson<ImageDetail>> {
    let engine = state.endpoints.get(&ep)?;
    check_image_name(&id).map_err(AppError::BadRequest)?;
    let mut detail = engine.image_detail(&id).await?;
    if redact::hides_values(&me) {
        redact::image_detail(&mut detail);
    }
    Ok(AppJson(detail))
}

async fn export(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_image_name(&id).map_err(AppError::BadRequest)?;
    let (file, tar) = engine.export_image(&id).await?;
    let mut response = Body::from_stream(tar).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

// ---------------------------------------------------------------- changes

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
struct RemoveQuery {
    #[serde(default)]
    force: bool,
}

async fn remove(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<RemoveQuery>,
) -> AppResult<AppJson<ImageRemoval>> {
    let engine = state.endpoints.get(&ep)?;
    check_image_name(&id).map_err(AppError::BadRequest)?;
    Ok(AppJson(engine.remove_image(&id, q.force).await?))
}

async fn tag(
    State(state): State<AppState>,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<ImageReference>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_image_name(&id).map_err(AppError::BadRequest)?;
    let target = ImageRef::parse(req.reference.trim()).map_err(AppError::BadRequest)?;
    let image_id = engine.tag_image(&id, &target).await?;
    let reference = format!("{}:{}", target.repository(), target.tag_or_latest());
    let audit = Extension(AuditTarget(format!("image {id} -> {reference}")));
    let body = AppJson(TaggedImage {
        id: image_id,
        reference,
    });
    Ok((StatusCode::CREATED, audit, body).into_response())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
struct PruneQuery {
    #[serde(default)]
    all: bool,
    label: Option<String>,
}

async fn prune(
    State(state): State<AppState>,
    AppPath(ep): AppPath<String>,
    AppQuery(q): AppQuery<PruneQuery>,
) -> AppResult<AppJson<ImagePruneReport>> {
    let engine = state.endpoints.get(&ep)?;
    let label = q.label.as_deref().filter(|l| !l.is_empty());
    if let Some(l) = label {
        if l.len() > 512 || l.chars().any(char::is_control) {
            return Err(AppError::BadRequest(format!(
                "{l:?} is not a label filter (`key` or `key=value`)"
            )));
        }
    }
    Ok(AppJson(engine.prune_images(q.all, label).await?))
}

async fn pull(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppJson(req): AppJson<ImageReference>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    let reference = ImageRef::parse(req.reference.trim()).map_err(AppError::BadRequest)?;
    let slot = limits
        .tasks
        .acquire(me.user_id, format!("pull of {reference}"))?;
    let login = state
        .store
        .registry_login_for(&state.config.data_dir, &reference.registry_host())
        .await?;
    let progress = engine.pull_image(&reference, login).await?;
    Ok(progress_response(
        progress,
        format!("image {reference}"),
        slot,
    ))
}

async fn push(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    AppPath((ep, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<ImageReference>,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    check_image_name(&id).map_err(AppError::BadRequest)?;
    let target = ImageRef::parse(req.reference.trim()).map_err(AppError::BadRequest)?;
    let slot = limits
        .tasks
        .acquire(me.user_id, format!("push of {target}"))?;
    let login = state
        .store
        .registry_login_for(&state.config.data_dir, &target.registry_host())
        .await?;
    let progress = engine.push_image(&id, &target, login).await?;
    Ok(progress_response(
        progress,
        format!("image {id} -> {target}"),
        slot,
    ))
}

async fn build(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    AppQuery(mut options): AppQuery<BuildOptions>,
    request: Request,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    // Taken before the context is read: the upload is part of the build.
    let slot = limits.tasks.acquire(me.user_id, build_label(&options))?;
    if build_body(request.headers())? == BuildBody::Form {
        let spool = read_build_form(request, &mut options, MAX_BUILD_CONTEXT).await?;
        let logins = state.store.registry_logins(&state.config.data_dir).await?;
        let progress = engine
            .build_image_from_file(&options, logins, spool)
            .await?;
        return Ok(progress_response(
            progress,
            build_audit_target(&options),
            slot,
        ));
    }
    let upload = Upload::new(request, MAX_BUILD_CONTEXT, "build context")?;
    let too_large = upload.too_large.clone();
    let context = upload.checked_archive().await?;
    let logins = state.store.registry_logins(&state.config.data_dir).await?;
    let progress = match engine.build_image(&options, logins, context).await {
        Ok(p) => p,
        Err(_) if too_large.load(Ordering::Relaxed) => {
            return Err(too_large_error("build context", MAX_BUILD_CONTEXT))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(progress_response(
        progress,
        build_audit_target(&options),
        slot,
    ))
}

/// What a running build is called in a refusal: its tag, when the query
/// names one (a form's fields are read later).
fn build_label(options: &BuildOptions) -> String {
    match options.tag.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => format!("build of {t}"),
        None => "a build".to_string(),
    }
}

fn build_audit_target(options: &BuildOptions) -> String {
    match options.tag.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => format!("image build {t}"),
        None => "image build (untagged)".to_string(),
    }
}

async fn import(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    me: Principal,
    AppPath(ep): AppPath<String>,
    request: Request,
) -> AppResult<Response> {
    let engine = state.endpoints.get(&ep)?;
    // Held until the engine has loaded the archive.
    let _slot = limits.tasks.acquire(me.user_id, "an image import")?;
    let limit = usize::try_from(MAX_IMPORT).unwrap_or(usize::MAX);
    let upload = Upload::new(request, limit, "image archive")?;
    let too_large = upload.too_large.clone();
    let archive = upload.checked_archive().await?;
    let report: ImportReport = match engine.import_images(archive).await {
        Ok(r) => r,
        Err(_) if too_large.load(Ordering::Relaxed) => {
            return Err(AppError::PayloadTooLarge(format!(
                "the image archive is larger than the {} GiB berth accepts",
                MAX_IMPORT >> 30
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let names: Vec<String> = report
        .images
        .iter()
        .map(|i| i.repo_tags.first().cloned().unwrap_or_else(|| i.id.clone()))
        .collect();
    let audit = Extension(AuditTarget(format!("images {}", names.join(", "))));
    Ok((StatusCode::CREATED, audit, AppJson(report)).into_response())
}

/// Progress as JSON lines, one per event, sent as they come. `slot` is
/// given back when the progress ends, or when the client goes away (the
/// body, and the stream with it, is dropped).
fn progress_response(
    progress: impl Stream<Item = Progress> + Send + 'static,
    target: String,
    slot: Slot,
) -> Response {
    let progress = holding(progress, slot);
    let (progress, later) = audit_stream(progress, |p| matches!(p, Progress::Error { .. }));
    let lines = progress.map(|p| {
        let mut line = serde_json::to_vec(&p).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    let mut response = Body::from_stream(lines).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies that buffer would hold the progress back until the end.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    (Extension(AuditTarget(target)), Extension(later), response).into_response()
}

/// `stream`, keeping `slot` until its last item.
fn holding<S>(stream: S, slot: Slot) -> impl Stream<Item = S::Item> + Send + 'static
where
    S: Stream + Send + 'static,
    S::Item: Send,
{
    futures_util::stream::unfold(
        (Box::pin(stream), Some(slot)),
        |(mut stream, mut slot)| async move {
            match stream.next().await {
                Some(item) => Some((item, (stream, slot))),
                None => {
                    slot.take();
                    None
                }
            }
        },
    )
}

/// An upload body on its way to the engine, within `limit` bytes.
struct Upload {
    body: Body,
    limit: usize,
    what: &'static str,
    too_large: Arc<AtomicBool>,
}

impl Upload {
    fn new(request: Request, limit: usize, what: &'static str) -> AppResult<Upload> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("multipart/")
            || content_type.starts_with("application/x-www-form")
        {
            return Err(AppError::UnsupportedMediaType(format!(
                "send the {what} itself as the request body (Content-Type: application/x-tar), not as a form"
            )));
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large_error(what, limit));
        }
        Ok(Upload {
            // The route's `DefaultBodyLimit` caps it.
            body: request.into_limited_body(),
            limit,
            what,
            too_large: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The body as a stream, after checking that it starts like an archive
    /// (a tar, or gzip, bzip2, xz or zstd, which the engine unpacks itself).
    async fn checked_archive(
        self,
    ) -> AppResult<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
        let (what, limit, flag) = (self.what, self.limit, self.too_large.clone());
        let mut body = self.body.into_data_stream().map(move |chunk| {
            chunk.map_err(|e| {
                if is_length_limit(&e) {
                    flag.store(true, Ordering::Relaxed);
                    std::io::Error::new(
                        std::io::ErrorKind::FileTooLarge,
                        too_large_error(what, limit).to_string(),
                    )
                } else {
                    std::io::Error::other(format!("the {what} upload broke off"))
                }
            })
        });
        let mut head: Vec<Bytes> = Vec::new();
        let mut seen = 0;
        while seen < SNIFF_BYTES {
            match body.next().await {
                Some(Ok(chunk)) => {
                    seen += chunk.len();
                    head.push(chunk);
                }
                Some(Err(e)) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                    return Err(too_large_error(what, limit))
                }
                Some(Err(e)) => return Err(AppError::BadRequest(e.to_string())),
                None => break,
            }
        }
        let start: Vec<u8> = head
            .iter()
            .flat_map(|c| c.iter().copied())
            .take(SNIFF_BYTES)
            .collect();
        check_archive(&start, what)?;
        Ok(futures_util::stream::iter(head.into_iter().map(Ok)).chain(body))
    }
}

fn too_large_error(what: &str, limit: usize) -> AppError {
    AppError::PayloadTooLarge(format!(
        "the {what} is larger than the {} MiB berth accepts",
        limit >> 20
    ))
}

/// Refuses a body that is not an archive the engine can read.
fn check_archive(start: &[u8], what: &str) -> AppResult<()> {
    if start.is_empty() {
        return Err(AppError::BadRequest(format!(
            "the body is empty: send the {what} as a tar archive (gzip allowed)"
        )));
    }
    let compressed = start.starts_with(&[0x1f, 0x8b])
        || start.starts_with(b"BZh")
        || start.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
        || start.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let tar = start.len() >= 262 && &start[257..262] == b"ustar";
    if compressed || tar {
        return Ok(());
    }
    if start.len() >= 512 && start[..512].iter().all(|b| *b == 0) {
        return Err(AppError::BadRequest(format!(
            "the {what} is an empty tar archive"
        )));
    }
    Err(AppError::BadRequest(format!(
        "the body is not a tar archive: send the {what} as a tar (gzip, bzip2 or xz compressed or not)"
    )))
}

// ---------------------------------------------------------------- registries

async fn list_registries(State(state): State<AppState>) -> AppResult<AppJson<Vec<Registry>>> {
    Ok(AppJson(state.store.list_registries().await?))
}

async fn create_registry(
    State(state): State<AppState>,
    AppJson(req): AppJson<NewRegistry>,
) -> AppResult<Response> {
    let host = registry_host(&req.url).map_err(AppError::BadRequest)?;
    let username = req.username.trim();
    if username.is_empty() || username.len() > 255 || username.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "a username is needed (up to 255 characters)".into(),
        ));
    }
    if req.password.is_empty() || req.password.len() > 4096 {
        return Err(AppError::BadRequest(
            "a password or access token is needed (up to 4096 characters)".into(),
        ));
    }
    if let Some(existing) = state
        .store
        .list_registries()
        .await?
        .into_iter()
        .find(|r| r.host.eq_ignore_ascii_case(&host))
    {
        return Err(AppError::Conflict(format!(
            "berth already keeps a login for {host} (id {}); delete it first to replace it",
            existing.id
        )));
    }
    let login = RegistryLogin {
        host,
        username: username.to_string(),
        password: req.password,
    };
    // Nothing is kept unless the registry takes it.
    let check = state
        .endpoints
        .get(LOCAL_ENDPOINT)?
        .check_registry_login(&login)
        .await?;
    if !check.ok {
        return Err(AppError::Unauthorized(check.message));
    }
    let registry = state
        .store
        .create_registry(&state.config.data_dir, req.url.trim(), &login)
        .await?;
    let audit = Extension(AuditTarget(format!(
        "registry {} (user {})",
        registry.host, registry.username
    )));
    Ok((StatusCode::CREATED, audit, AppJson(registry)).into_response())
}

async fn remove_registry(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> AppResult<Response> {
    let registry = state.store.delete_registry(id).await?;
    let audit = Extension(AuditTarget(format!(
        "registry {} (user {})",
        registry.host, registry.username
    )));
    Ok((StatusCode::NO_CONTENT, audit).into_response())
}

async fn test_registry(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> AppResult<Response> {
    let login = state
        .store
        .registry_login(&state.config.data_dir, id)
        .await?;
    let check: RegistryCheck = state
        .endpoints
        .get(LOCAL_ENDPOINT)?
        .check_registry_login(&login)
        .await?;
    if !check.ok {
        return Err(AppError::Unauthorized(check.message));
    }
    let audit = Extension(AuditTarget(format!(
        "registry {} (user {})",
        login.host, login.username
    )));
    Ok((audit, AppJson(check)).into_response())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_archives_are_taken() {
        let mut tar = vec![0u8; 512];
        tar[0] = b'a';
        tar[257..262].copy_from_slice(b"ustar");
        assert!(check_archive(&tar, "build context").is_ok());
        assert!(check_archive(&[0x1f, 0x8b, 8, 0], "build context").is_ok());
        assert!(check_archive(b"", "build context").is_err());
        assert!(check_archive(&[0u8; 512], "build context").is_err());
        assert!(check_archive(b"FROM busybox\n", "build context").is_err());
    }

    #[tokio::test]
    async fn a_body_past_the_route_limit_is_recognised() {
        // What `into_limited_body` makes of a body under `DefaultBodyLimit`.
        let body = Body::new(http_body_util::Limited::new(Body::from(vec![0u8; 100]), 10));
        let err = body
            .into_data_stream()
            .next()
            .await
            .and_then(Result::err)
            .expect("an error");
        assert!(is_length_limit(&err));
        let other = axum::Error::new(std::io::Error::other("reset"));
        assert!(!is_length_limit(&other));
    }
}
