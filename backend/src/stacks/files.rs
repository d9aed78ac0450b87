//! A stack's folder: the build contexts and other files its compose file
//! points at by relative path, besides `compose.yaml` and `.env` (which the
//! stack's revisions own). List, upload (a tar, unpacked), remove.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use protocol::{BuildContextState, StackFile, StackFiles, StackUpload};

use super::{row, stack_dir};
use crate::compose::build;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// The largest upload of a stack's files (unpacked).
pub const MAX_UPLOAD: usize = 256 * 1024 * 1024;
/// The most files a listing shows.
const MAX_LISTED: usize = 5_000;
/// The files at the folder's root that the stack's revisions own.
const OWNED: [&str; 2] = ["compose.yaml", ".env"];

/// A path inside the stack's folder as the API spells it: relative, `/`
/// separated, no `.` or `..`, no trailing slash.
fn clean(path: &str) -> AppResult<String> {
    let trimmed = path.trim().trim_start_matches("./").trim_end_matches('/');
    let mut parts = Vec::new();
    for part in trimmed.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(AppError::BadRequest(format!(
                    "{path:?} would leave the stack's folder"
                )))
            }
            p if p.contains('\0') || p.contains('\\') => {
                return Err(AppError::BadRequest(format!(
                    "{path:?} is not a path berth takes"
                )))
            }
            p => parts.push(p),
        }
    }
    if path.trim().starts_with('/') {
        return Err(AppError::BadRequest(format!(
            "{path:?} must be relative to the stack's folder"
        )));
    }
    Ok(parts.join("/"))
}

fn owned(clean: &str) -> bool {
    OWNED.contains(&clean)
}

/// `target` (inside `dir`) reached without passing a symbolic link: a link
/// in the folder must never carry a write or a removal outside it.
fn no_links(dir: &Path, target: &Path) -> AppResult<()> {
    let rel = target.strip_prefix(dir).map_err(|_| {
        AppError::BadRequest(format!(
            "{} is outside the stack's folder",
            target.display()
        ))
    })?;
    let mut here = dir.to_path_buf();
    for part in rel.components() {
        let Component::Normal(part) = part else {
            return Err(AppError::BadRequest(format!(
                "{} is not a plain path",
                rel.display()
            )));
        };
        here.push(part);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(AppError::BadRequest(format!(
                    "{} passes a symbolic link; berth does not write through links",
                    rel.display()
                )))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// The files in the stack's folder, with whether each build context the
/// compose file names is there.
pub async fn list(state: &AppState, ep: &str, name: &str) -> AppResult<StackFiles> {
    let row = row(state, ep, name).await?;
    let dir = stack_dir(state, ep, name);
    let project_dir = dir.display().to_string();
    let builds: Vec<(String, crate::compose::model::Build)> =
        super::parse_in_folder(&row.compose, &row.env, &project_dir)
            .map(|file| {
                file.services
                    .values()
                    .filter_map(|s| s.build.clone().map(|b| (s.name.clone(), b)))
                    .collect()
            })
            .unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        let mut files = walk(&dir)?;
        files.contexts = builds
            .into_iter()
            .map(|(service, build)| context_state(&dir, service, &build))
            .collect();
        Ok::<_, AppError>(files)
    })
    .await
    .map_err(|e| AppError::internal(format!("listing failed: {e}")))?
}

/// Whether `build`'s context folder is in the stack's folder, with its
/// Dockerfile.
fn context_state(
    dir: &Path,
    service: String,
    build: &crate::compose::model::Build,
) -> BuildContextState {
    let path = clean(&build.context).unwrap_or_else(|_| build.context.clone());
    let folder = build::inside(dir, &path).ok();
    let present = folder.as_ref().is_some_and(|f| f.is_dir());
    let dockerfile = build.dockerfile.as_deref().unwrap_or("Dockerfile");
    let ready = present
        && folder
            .as_ref()
            .and_then(|f| clean(dockerfile).ok().map(|d| f.join(d)))
            .is_some_and(|d| d.is_file());
    BuildContextState {
        service,
        context: build.context.clone(),
        path,
        ready,
        present,
    }
}

fn walk(dir: &Path) -> AppResult<StackFiles> {
    let mut out = StackFiles::default();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((here, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&here)
            .map_err(|e| AppError::internal(format!("cannot read {}: {e}", here.display())))?;
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                file_name
            } else {
                format!("{prefix}/{file_name}")
            };
            if owned(&path) {
                continue;
            }
            // Never followed: a link is listed as itself.
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if meta.is_dir() {
                pending.push((entry.path(), path));
                continue;
            }
            if out.files.len() >= MAX_LISTED {
                out.truncated = true;
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64);
            out.total_bytes += meta.len();
            out.files.push(StackFile {
                path,
                size: meta.len(),
                modified,
            });
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Unpacks a tar into the stack's folder, under `into`. Entries that would
/// land outside it (absolute paths, `..`, links) are refused, and so is the
/// whole upload.
pub async fn upload(
    state: &AppState,
    ep: &str,
    name: &str,
    into: Option<&str>,
    body: Bytes,
) -> AppResult<StackUpload> {
    row(state, ep, name).await?;
    let into = clean(into.unwrap_or_default())?;
    let dir = stack_dir(state, ep, name);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
    tokio::task::spawn_blocking(move || unpack(&body, &dir, &into))
        .await
        .map_err(|e| AppError::internal(format!("unpacking failed: {e}")))?
}

fn unpack(body: &[u8], dir: &Path, into: &str) -> AppResult<StackUpload> {
    use std::io::Read;
    let gz = body.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(body))
    } else {
        Box::new(body)
    };
    let mut archive = tar::Archive::new(reader);
    let bad =
        |e: std::io::Error| AppError::BadRequest(format!("the upload is not a tar archive: {e}"));
    // Every entry is checked before anything is written.
    let mut plan: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0usize;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path().map_err(bad)?.into_owned();
        let text = raw.display().to_string();
        if raw.is_absolute() {
            return Err(AppError::BadRequest(format!(
                "{text:?} would land outside the stack's folder"
            )));
        }
        let inner = clean(&text).map_err(|_| {
            AppError::BadRequest(format!("{text:?} would land outside the stack's folder"))
        })?;
        if inner.is_empty() {
            continue;
        }
        let rel = if into.is_empty() {
            inner
        } else {
            format!("{into}/{inner}")
        };
        if owned(&rel) {
            skipped.push(rel);
            continue;
        }
        let target = build::inside(dir, &rel).map_err(|_| {
            AppError::BadRequest(format!("{text:?} would land outside the stack's folder"))
        })?;
        no_links(dir, &target)?;
        match entry.header().entry_type() {
            tar::EntryType::Directory => plan.push((target, None)),
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).map_err(bad)?;
                total += data.len();
                if total > MAX_UPLOAD {
                    return Err(AppError::PayloadTooLarge(format!(
                        "the unpacked files are larger than {} MiB",
                        MAX_UPLOAD >> 20
                    )));
                }
                plan.push((target, Some(data)));
            }
            // pax and GNU long-name headers are read by the tar crate itself.
            tar::EntryType::XGlobalHeader => {}
            other => {
                return Err(AppError::BadRequest(format!(
                    "{text:?} is a {other:?}; only files and folders are taken"
                )))
            }
        }
    }
    let mut files = 0;
    for (target, data) in plan {
        match data {
            None => std::fs::create_dir_all(&target).map_err(|e| {
                AppError::internal(format!("cannot create {}: {e}", target.display()))
            })?,
            Some(data) => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        AppError::internal(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                if target.is_dir() {
                    return Err(AppError::Conflict(format!(
                        "{} is a folder in the stack; remove it before uploading a file there",
                        target.strip_prefix(dir).unwrap_or(&target).display()
                    )));
                }
                std::fs::write(&target, data).map_err(|e| {
                    AppError::internal(format!("cannot write {}: {e}", target.display()))
                })?;
                files += 1;
            }
        }
    }
    Ok(StackUpload { files, skipped })
}

/// Removes a file or a folder (`path`) from the stack's folder; answers
/// the path as berth spells it. The files its revisions own stay.
pub async fn remove(state: &AppState, ep: &str, name: &str, path: &str) -> AppResult<String> {
    row(state, ep, name).await?;
    let rel = clean(path)?;
    if rel.is_empty() {
        return Err(AppError::BadRequest(
            "name a file or folder inside the stack's folder".into(),
        ));
    }
    if owned(&rel) {
        return Err(AppError::BadRequest(format!(
            "{rel} belongs to the stack's revisions: change it in the editor"
        )));
    }
    let dir = stack_dir(state, ep, name);
    let target = build::inside(&dir, &rel).map_err(AppError::BadRequest)?;
    let shown = rel.clone();
    tokio::task::spawn_blocking(move || -> AppResult<()> {
        no_links(&dir, target.parent().unwrap_or(&dir))?;
        let meta = std::fs::symlink_metadata(&target)
            .map_err(|_| AppError::NotFound(format!("the stack's folder has no {shown}")))?;
        let result = if meta.is_dir() {
            std::fs::remove_dir_all(&target)
        } else {
            std::fs::remove_file(&target)
        };
        result.map_err(|e| AppError::internal(format!("cannot remove {shown}: {e}")))
    })
    .await
    .map_err(|e| AppError::internal(format!("removing failed: {e}")))??;
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_kept_inside() {
        assert_eq!(clean("./web/app.txt").expect("test"), "web/app.txt");
        assert_eq!(clean("web//a/./b/").expect("test"), "web/a/b");
        assert_eq!(clean("").expect("test"), "");
        assert!(clean("../x").is_err());
        assert!(clean("web/../../x").is_err());
        assert!(clean("/etc/passwd").is_err());
        assert!(clean("a\\b").is_err());
    }

    #[test]
    fn a_link_in_the_folder_stops_writes_through_it() {
        let tmp = tempfile::tempdir().expect("test");
        let outside = tempfile::tempdir().expect("test");
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("out")).expect("test");
        let err = no_links(tmp.path(), &tmp.path().join("out/evil.txt")).expect_err("a link");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        no_links(tmp.path(), &tmp.path().join("web/new/file.txt")).expect("test");
    }

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, body.as_bytes()).expect("test");
        }
        b.into_inner().expect("test")
    }

    #[test]
    fn uploads_land_under_into_and_skip_the_owned_files() {
        let tmp = tempfile::tempdir().expect("test");
        std::fs::write(tmp.path().join("compose.yaml"), "services: {}\n").expect("test");
        let body = tar_of(&[("compose.yaml", "evil"), ("a.txt", "A"), ("sub/b.txt", "B")]);
        let done = unpack(&body, tmp.path(), "").expect("test");
        assert_eq!(done.files, 2);
        assert_eq!(done.skipped, vec!["compose.yaml".to_owned()]);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("compose.yaml")).expect("test"),
            "services: {}\n"
        );
        let done = unpack(&tar_of(&[("c.txt", "C")]), tmp.path(), "web/static").expect("test");
        assert_eq!(done.files, 1);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("web/static/c.txt")).expect("test"),
            "C"
        );
        let listed = walk(tmp.path()).expect("test");
        let paths: Vec<&str> = listed.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["a.txt", "sub/b.txt", "web/static/c.txt"]);
        assert_eq!(listed.total_bytes, 3);
    }
}
