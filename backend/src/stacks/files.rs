//! A stack's folder: the build contexts and other files its compose file
//! points at by relative path, besides `compose.yaml` and `.env` (which the
//! stack's revisions own). List, upload (a tar, unpacked), remove.
//!
//! An upload is bounded at every step: the body as sent (spooled to an
//! unnamed file, never held in memory), each entry's declared size (checked
//! before its data is read), the entries' total, their number, how much
//! larger than the upload they are (a gzip bomb stops at its first entry
//! past that), and the size of a header or long name. Entries are written
//! to a staging folder as they are read and moved into the stack's folder
//! only once the whole archive has passed: a refused upload leaves nothing.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use futures_util::StreamExt;
use protocol::{BuildContextState, StackFile, StackFiles, StackUpload};
use tokio::io::AsyncWriteExt;

use super::{row, stack_dir};
use crate::compose::build;
use crate::error::{AppError, AppResult};
use crate::limits::{Tripped, UnpackMeter};
use crate::AppState;

/// The largest upload of a stack's files, as sent (gzip or not).
pub const MAX_UPLOAD: usize = 256 * 1024 * 1024;
/// The most the files of one upload may add up to, unpacked.
pub const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
/// The most entries (files, folders, headers) one upload may hold.
pub const MAX_ENTRIES: usize = 10_000;
/// How many times larger than the upload its files may be, unpacked.
pub const MAX_RATIO: u64 = 100;
/// Unpacked files up to this size are not held to [`MAX_RATIO`] (a small
/// archive of text compresses well).
pub const RATIO_FLOOR: u64 = 1024 * 1024;
/// The most the archive may read between two entries' data: headers, GNU
/// long names and pax records (which are read into memory).
pub const MAX_HEADER_RUN: u64 = 1024 * 1024;
/// What headers may add to the entries' data in the unpacked stream.
const HEADER_SLACK: u64 = 4096 * MAX_ENTRIES as u64;
/// Staging folders are made in berth's data folder under this prefix.
const STAGING_PREFIX: &str = ".stack-upload-";
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

/// Unpacks a tar (gzip allowed) into the stack's folder, under `into`.
/// Entries that would land outside it (absolute paths, `..`, links) are
/// refused, and so is the whole upload; so is one past any bound (413).
pub async fn upload(
    state: &AppState,
    ep: &str,
    name: &str,
    into: Option<&str>,
    body: Body,
) -> AppResult<StackUpload> {
    row(state, ep, name).await?;
    let into = clean(into.unwrap_or_default())?;
    let dir = stack_dir(state, ep, name);
    let data_dir = state.config.data_dir.clone();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let (file, sent) = spool(body, &data_dir).await?;
    tokio::task::spawn_blocking(move || {
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(&data_dir)
            .map_err(|e| AppError::internal(format!("cannot make a staging folder: {e}")))?;
        // The staging folder goes when `staging` drops, whatever happened.
        unpack(file, sent, &dir, staging.path(), &into)
    })
    .await
    .map_err(|e| AppError::internal(format!("unpacking failed: {e}")))?
}

/// Removes the staging folders uploads that were cut short by a crash
/// left in `data_dir` (a finished or failed upload removes its own).
pub(super) fn remove_staging(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX)
        {
            super::remove_leftover(&entry.path());
        }
    }
}

fn upload_too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "the upload is larger than the {} MiB berth accepts",
        MAX_UPLOAD >> 20
    ))
}

/// Writes the body to an unnamed file in `data_dir` as it arrives, within
/// [`MAX_UPLOAD`]; answers the file (at its start) and its length.
async fn spool(body: Body, data_dir: &Path) -> AppResult<(std::fs::File, u64)> {
    let io = |e: std::io::Error| AppError::internal(format!("cannot spool an upload: {e}"));
    let file = tempfile::tempfile_in(data_dir).map_err(io)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut stream = body.into_data_stream();
    let mut sent = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::limits::is_length_limit(&e) {
                upload_too_large()
            } else {
                AppError::BadRequest("the upload broke off".into())
            }
        })?;
        sent += chunk.len() as u64;
        if sent > MAX_UPLOAD as u64 {
            return Err(upload_too_large());
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    let mut file = file.into_std().await;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok((file, sent))
}

fn expands_too_much(cap: u64) -> AppError {
    AppError::PayloadTooLarge(format!(
        "the upload unpacks to more than {} MiB: berth refuses archives that expand more than {MAX_RATIO} times (or past {} MiB)",
        cap.div_ceil(1024 * 1024),
        MAX_UNPACKED >> 20
    ))
}

/// Why the meter stopped the archive, as the answer.
fn tripped(why: Tripped, cap: u64) -> AppError {
    match why {
        Tripped::Expansion => expands_too_much(cap),
        Tripped::HeaderRun => AppError::PayloadTooLarge(format!(
            "an entry's header, long name or pax record is larger than the {} KiB berth reads",
            MAX_HEADER_RUN >> 10
        )),
    }
}

/// How much the entries' data of an upload of `sent` bytes may add up to.
fn data_budget(sent: u64) -> u64 {
    sent.saturating_mul(MAX_RATIO)
        .clamp(RATIO_FLOOR, MAX_UNPACKED)
}

/// What the archive asks to be written, once it has all passed.
enum Planned {
    Folder(PathBuf),
    /// The file in the staging folder, and where it goes.
    File(PathBuf, PathBuf),
}

/// Unpacks the tar (gzip allowed) `body`, `sent` bytes as uploaded, into
/// `dir` under `into`, through `staging`.
fn unpack(
    body: impl Read,
    sent: u64,
    dir: &Path,
    staging: &Path,
    into: &str,
) -> AppResult<StackUpload> {
    let mut body = BufReader::new(body);
    let gz = body
        .fill_buf()
        .map(|head| head.starts_with(&[0x1f, 0x8b]))
        .unwrap_or(false);
    let raw: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(body))
    } else {
        Box::new(body)
    };
    let budget = data_budget(sent);
    let cap = budget.saturating_add(HEADER_SLACK);
    let meter = UnpackMeter::new(cap, MAX_HEADER_RUN);
    let mut archive = tar::Archive::new(meter.reader(raw));
    let tripped_or = |e: std::io::Error| match meter.tripped() {
        Some(why) => tripped(why, cap),
        None => AppError::BadRequest(format!("the upload is not a tar archive: {e}")),
    };
    let mut plan: Vec<Planned> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut skipped = Vec::new();
    let mut entries = 0usize;
    let mut total = 0u64;
    for entry in archive.entries().map_err(tripped_or)? {
        let mut entry = entry.map_err(tripped_or)?;
        entries += 1;
        if entries > MAX_ENTRIES {
            return Err(AppError::PayloadTooLarge(format!(
                "the upload holds more than the {MAX_ENTRIES} entries berth unpacks at once"
            )));
        }
        let raw_path = entry.path().map_err(tripped_or)?.into_owned();
        let text = raw_path.display().to_string();
        if raw_path.is_absolute() {
            return Err(AppError::BadRequest(format!(
                "{text:?} would land outside the stack's folder"
            )));
        }
        let inner = clean(&text).map_err(|_| {
            AppError::BadRequest(format!("{text:?} would land outside the stack's folder"))
        })?;
        let kind = entry.header().entry_type();
        let size = entry.header().size().map_err(tripped_or)?;
        let is_file = matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous);
        // Before a byte of its data is read.
        if is_file {
            if size > budget || total + size > budget {
                return Err(if budget < MAX_UNPACKED && total + size <= MAX_UNPACKED {
                    AppError::PayloadTooLarge(format!(
                        "{text:?} would make the upload unpack to more than {MAX_RATIO} times the {sent} bytes sent: berth does not unpack archives that expand like that"
                    ))
                } else {
                    AppError::PayloadTooLarge(format!(
                        "{text:?} ({} MiB) would make the unpacked files larger than the {} MiB berth takes in one upload",
                        size.div_ceil(1024 * 1024),
                        MAX_UNPACKED >> 20
                    ))
                });
            }
            total += size;
        }
        // What is not read of it is skipped by the archive: within this.
        meter.allow(size.saturating_add(MAX_HEADER_RUN));
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
        let staged = staging.join(&rel);
        match kind {
            tar::EntryType::Directory => {
                stage_folder(staging, &staged, &text)?;
                if seen.insert(target.clone()) {
                    plan.push(Planned::Folder(target));
                }
            }
            _ if is_file => {
                if let Some(parent) = staged.parent() {
                    stage_folder(staging, parent, &text)?;
                }
                if staged.is_dir() {
                    return Err(AppError::BadRequest(format!(
                        "{text:?} is both a folder and a file in the upload"
                    )));
                }
                let mut out = std::fs::File::create(&staged).map_err(|e| {
                    AppError::internal(format!("cannot write {}: {e}", staged.display()))
                })?;
                std::io::copy(&mut entry, &mut out).map_err(|e| match meter.tripped() {
                    Some(why) => tripped(why, cap),
                    None => AppError::BadRequest(format!("{text:?} cannot be read: {e}")),
                })?;
                if seen.insert(target.clone()) {
                    plan.push(Planned::File(staged, target));
                }
            }
            // pax and GNU long-name headers are read by the tar crate itself.
            tar::EntryType::XGlobalHeader => {}
            other => {
                return Err(AppError::BadRequest(format!(
                    "{text:?} is a {other:?}; only files and folders are taken"
                )))
            }
        }
        meter.allow(MAX_HEADER_RUN);
    }
    check_places(dir, &plan)?;
    let mut files = 0;
    for item in plan {
        match item {
            Planned::Folder(target) => std::fs::create_dir_all(&target).map_err(|e| {
                AppError::internal(format!("cannot create {}: {e}", target.display()))
            })?,
            Planned::File(staged, target) => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        AppError::internal(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                // A rename, unless the stack's folder is on another disk.
                if std::fs::rename(&staged, &target).is_err() {
                    std::fs::copy(&staged, &target).map_err(|e| {
                        AppError::internal(format!(
                            "cannot move {} into place: {e}",
                            target.display()
                        ))
                    })?;
                }
                files += 1;
            }
        }
    }
    Ok(StackUpload { files, skipped })
}

/// Makes `folder` (inside `staging`) for the entry `text`.
fn stage_folder(staging: &Path, folder: &Path, text: &str) -> AppResult<()> {
    let mut here = staging.to_path_buf();
    if let Ok(rel) = folder.strip_prefix(staging) {
        for part in rel.components() {
            here.push(part);
            if here.is_file() {
                return Err(AppError::BadRequest(format!(
                    "{text:?} is inside {}, which the upload has as a file",
                    here.strip_prefix(staging).unwrap_or(&here).display()
                )));
            }
        }
    }
    std::fs::create_dir_all(folder)
        .map_err(|e| AppError::internal(format!("cannot stage {}: {e}", folder.display())))
}

/// Before anything moves: every file lands where no folder is, and every
/// folder where no file is, so the move cannot stop half way.
fn check_places(dir: &Path, plan: &[Planned]) -> AppResult<()> {
    let shown = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    for item in plan {
        let target = match item {
            Planned::Folder(t) | Planned::File(_, t) => t,
        };
        if matches!(item, Planned::File(..)) && target.is_dir() {
            return Err(AppError::Conflict(format!(
                "{} is a folder in the stack; remove it before uploading a file there",
                shown(target)
            )));
        }
        let mut ancestors: Vec<&Path> = target
            .ancestors()
            .skip(usize::from(matches!(item, Planned::File(..))))
            .take_while(|a| a.starts_with(dir) && *a != dir)
            .collect();
        ancestors.reverse();
        for folder in ancestors {
            if folder.exists() && !folder.is_dir() {
                return Err(AppError::Conflict(format!(
                    "{} is a file in the stack; remove it before uploading into it",
                    shown(folder)
                )));
            }
        }
    }
    Ok(())
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

    /// Unpacks `body` into `dir` through a fresh staging folder, which
    /// must be gone afterwards whatever happened.
    fn unpack_into(body: &[u8], dir: &Path, into: &str) -> AppResult<StackUpload> {
        let staging = tempfile::tempdir().expect("test");
        unpack(body, body.len() as u64, dir, staging.path(), into)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).expect("test");
        gz.finish().expect("test")
    }

    #[test]
    fn uploads_land_under_into_and_skip_the_owned_files() {
        let tmp = tempfile::tempdir().expect("test");
        std::fs::write(tmp.path().join("compose.yaml"), "services: {}\n").expect("test");
        let body = tar_of(&[("compose.yaml", "evil"), ("a.txt", "A"), ("sub/b.txt", "B")]);
        let done = unpack_into(&body, tmp.path(), "").expect("test");
        assert_eq!(done.files, 2);
        assert_eq!(done.skipped, vec!["compose.yaml".to_owned()]);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("compose.yaml")).expect("test"),
            "services: {}\n"
        );
        let done =
            unpack_into(&gzip(&tar_of(&[("c.txt", "C")])), tmp.path(), "web/static").expect("test");
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

    /// A tar whose one entry's header declares `size` bytes, with only a
    /// few of them there.
    fn declaring(path: &str, size: u64) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("test");
        h.set_size(size);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        let mut body = h.as_bytes().to_vec();
        body.extend_from_slice(&[b'x'; 1024]);
        body
    }

    #[test]
    fn an_entry_declaring_more_than_the_budget_is_refused_before_it_is_read() {
        let tmp = tempfile::tempdir().expect("test");
        let err =
            unpack_into(&declaring("big.bin", 10 << 30), tmp.path(), "").expect_err("too large");
        assert!(matches!(err, AppError::PayloadTooLarge(_)), "{err}");
        assert!(err.to_string().contains("big.bin"), "{err}");
        assert!(!tmp.path().join("big.bin").exists());
    }

    #[test]
    fn a_gzip_bomb_is_refused_and_leaves_nothing() {
        let tmp = tempfile::tempdir().expect("test");
        let zeros = vec![0u8; 8 << 20];
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in [
            ("ok.txt", &b"fine"[..]),
            ("zeros1", &zeros),
            ("zeros2", &zeros),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, data).expect("test");
        }
        let bomb = gzip(&b.into_inner().expect("test"));
        assert!(bomb.len() < 100_000, "{}", bomb.len());
        let err = unpack_into(&bomb, tmp.path(), "").expect_err("a bomb");
        assert!(matches!(err, AppError::PayloadTooLarge(_)), "{err}");
        assert!(err.to_string().contains("expand"), "{err}");
        assert_eq!(walk(tmp.path()).expect("test").files.len(), 0);
    }

    #[test]
    fn a_long_name_past_the_header_bound_is_refused() {
        let tmp = tempfile::tempdir().expect("test");
        let mut h = tar::Header::new_gnu();
        h.set_path("././@LongLink").expect("test");
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(64 << 20);
        h.set_cksum();
        let mut body = h.as_bytes().to_vec();
        body.extend(std::iter::repeat_n(b'a', 2 << 20));
        let err = unpack_into(&gzip(&body), tmp.path(), "").expect_err("too long");
        assert!(matches!(err, AppError::PayloadTooLarge(_)), "{err}");
    }

    #[test]
    fn too_many_entries_are_refused() {
        let tmp = tempfile::tempdir().expect("test");
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..=MAX_ENTRIES {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            h.set_mode(0o755);
            h.set_cksum();
            b.append_data(&mut h, format!("d{i}/"), std::io::empty())
                .expect("test");
        }
        let err = unpack_into(&gzip(&b.into_inner().expect("test")), tmp.path(), "")
            .expect_err("too many");
        assert!(err.to_string().contains("entries"), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).expect("test").count(), 0);
    }

    #[test]
    fn a_file_over_a_folder_is_refused_before_anything_moves() {
        let tmp = tempfile::tempdir().expect("test");
        std::fs::create_dir_all(tmp.path().join("web/x")).expect("test");
        let body = tar_of(&[("a.txt", "A"), ("web/x", "X")]);
        let err = unpack_into(&body, tmp.path(), "").expect_err("a folder is there");
        assert!(matches!(err, AppError::Conflict(_)), "{err}");
        assert!(!tmp.path().join("a.txt").exists());
    }
}
