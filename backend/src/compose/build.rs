//! Building the images of services that have `build`, from the stack's
//! files, before `up` starts anything.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use protocol::images::{BuildOptions, Progress, RegistryLogin};
use protocol::StackProgress;
use tokio::sync::mpsc;

use super::model::Service;
use crate::engine::{Engine, EngineError};

/// The largest build context berth sends.
const MAX_CONTEXT: u64 = 512 * 1024 * 1024;

/// `base/relative`, refusing anything that climbs out of `base`.
pub fn inside(base: &Path, relative: &str) -> Result<PathBuf, String> {
    let rel = Path::new(relative);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "build context {relative:?} must be a path inside the stack's folder"
        ));
    }
    Ok(base.join(rel))
}

/// Where a service's `dockerfile_inline` goes in its build context.
const INLINE_DOCKERFILE: &str = ".berth-inline.Dockerfile";

/// A tar of `dir` (plus the inline Dockerfile, when there is one). Symlinks are stored as links, never followed, so a link
/// cannot pull a host file into an image.
fn tar_dir(dir: &Path, inline: Option<&str>) -> Result<Vec<u8>, String> {
    let mut size = 0u64;
    for entry in walk(dir)? {
        size += entry.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_CONTEXT {
            return Err(format!(
                "the build context {} is larger than {} MiB",
                dir.display(),
                MAX_CONTEXT >> 20
            ));
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder
        .append_dir_all(".", dir)
        .map_err(|e| format!("cannot read the build context {}: {e}", dir.display()))?;
    if let Some(text) = inline {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, INLINE_DOCKERFILE, text.as_bytes())
            .map_err(|e| format!("cannot pack the inline Dockerfile: {e}"))?;
    }
    builder
        .into_inner()
        .map_err(|e| format!("cannot pack the build context: {e}"))
}

fn walk(dir: &Path) -> Result<Vec<std::fs::DirEntry>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| format!("cannot read the build context {}: {e}", d.display()))?;
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
            out.push(e);
        }
    }
    Ok(out)
}

/// Builds `service`'s image as `tag`, streaming its output; the error names
/// the failing step.
pub async fn build_service(
    engine: &Engine,
    base: &Path,
    service: &Service,
    tag: &str,
    logins: Vec<RegistryLogin>,
    tx: &mpsc::Sender<StackProgress>,
) -> Result<(), EngineError> {
    let Some(build) = &service.build else {
        return Ok(());
    };
    let dir = inside(base, &build.context).map_err(EngineError::BadRequest)?;
    if !dir.is_dir() {
        return Err(EngineError::BadRequest(format!(
            "the build context {} is not there; upload the stack's files first",
            build.context
        )));
    }
    let inline = build.dockerfile_inline.clone();
    let archive = tokio::task::spawn_blocking(move || tar_dir(&dir, inline.as_deref()))
        .await
        .map_err(|e| EngineError::Other(format!("packing the context failed: {e}")))?
        .map_err(EngineError::BadRequest)?;
    let options = BuildOptions {
        tag: Some(tag.to_string()),
        dockerfile: if build.dockerfile_inline.is_some() {
            Some(INLINE_DOCKERFILE.to_string())
        } else {
            build.dockerfile.clone()
        },
        target: build.target.clone(),
        buildargs: (!build.args.is_empty())
            .then(|| serde_json::to_string(&build.args).unwrap_or_default()),
        labels: (!build.labels.is_empty())
            .then(|| serde_json::to_string(&build.labels).unwrap_or_default()),
        network: build.network.clone(),
        shm_size: build.shm_size,
        extra_hosts: (!build.extra_hosts.is_empty()).then(|| build.extra_hosts.join(",")),
        cache_from: (!build.cache_from.is_empty()).then(|| build.cache_from.join(",")),
        nocache: build.no_cache,
        pull: build.pull,
    };
    let context =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(archive)) });
    let mut progress = Box::pin(engine.build_image(&options, logins, context).await?);
    let name = service.name.clone();
    while let Some(p) = progress.next().await {
        let text = match p {
            Progress::Log { text } | Progress::Status { text } => text,
            Progress::Step {
                current,
                total,
                text,
            } => format!("Step {current}/{total} : {text}"),
            Progress::Layer { id, status, .. } => format!("{id}: {status}"),
            Progress::Error { message, step, .. } => {
                return Err(EngineError::BadRequest(match step {
                    Some(step) => format!("building {name} failed at {step}: {message}"),
                    None => format!("building {name} failed: {message}"),
                }));
            }
            Progress::Done { .. } => {
                for extra in &build.tags {
                    let target = protocol::images::ImageRef::parse(extra).map_err(|e| {
                        EngineError::BadRequest(format!("build tag {extra:?}: {e}"))
                    })?;
                    engine.tag_image(tag, &target).await?;
                }
                return Ok(());
            }
        };
        let _ = tx
            .send(StackProgress::Log {
                service: name.clone(),
                text: text.trim_end().to_string(),
            })
            .await;
    }
    Err(EngineError::Other(format!(
        "the build of {name} ended without a result"
    )))
}
