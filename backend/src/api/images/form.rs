//! A build context sent as a multipart form: each file part is written
//! into a tar at its filename as it arrives (a `Dockerfile` part, or one
//! `context` part carrying a whole tar), within the build route's limit;
//! options may come as text fields. Part headers are bounded too.

use std::collections::HashSet;
use std::io::SeekFrom;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use protocol::BuildOptions;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{check_archive, is_length_limit, too_large_error, SNIFF_BYTES};
use crate::error::{AppError, AppResult};

/// The Content-Types a build context goes as a tar body with.
const ARCHIVE_TYPES: [&str; 4] = [
    "application/x-tar",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
];
/// The largest `Dockerfile` part: it is held until the form ends, when its
/// path (the `dockerfile` option, which may come later) is known.
const MAX_DOCKERFILE_PART: usize = 1 << 20;
/// The largest text field (an option such as `buildargs`).
const MAX_FORM_FIELD: usize = 64 << 10;
/// The most files a form may hold; a bigger tree goes as a tar.
const MAX_FORM_FILES: usize = 10_000;
/// The longest path a file part may name.
const MAX_FORM_PATH: usize = 1024;

/// How a build request sends its context.
#[derive(Debug, PartialEq)]
pub(super) enum BuildBody {
    /// A tar (gzip allowed) as the body.
    Archive,
    /// A `multipart/form-data` form of files.
    Form,
}

/// Which [`BuildBody`] a request's Content-Type says it is. Without one the
/// body is taken as a tar, as `curl -T` sends it.
pub(super) fn build_body(headers: &axum::http::HeaderMap) -> AppResult<BuildBody> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(BuildBody::Archive);
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "multipart/form-data" {
        return Ok(BuildBody::Form);
    }
    if ARCHIVE_TYPES.contains(&essence.as_str()) {
        return Ok(BuildBody::Archive);
    }
    Err(AppError::UnsupportedMediaType(format!(
        "a build takes its context as a tar body (Content-Type: {}; gzip allowed) or as a multipart/form-data form of files, not {}",
        ARCHIVE_TYPES.join(", "),
        if essence.is_empty() { "an unreadable Content-Type" } else { &essence }
    )))
}

/// Reads a build form into a tar spooled to a temporary file, writing each
/// file part as it arrives; the options its text fields carry go into
/// `options`. The form and the tar it makes are both held to `limit` bytes.
pub(super) async fn read_build_form(
    request: Request,
    options: &mut BuildOptions,
    limit: usize,
) -> AppResult<std::fs::File> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large_error("build context", limit));
    }
    let (parts, body) = request.into_parts();
    let mut guard = HeaderGuard::new(&parts.headers);
    let body = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        guard.feed(&chunk).map_err(axum::Error::new)?;
        Ok::<_, axum::Error>(chunk)
    });
    let request = Request::from_parts(parts, Body::from_stream(body));
    // Under the route's `DefaultBodyLimit`, like a tar body.
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| AppError::BadRequest(format!("the form cannot be read: {}", e.body_text())))?;
    let mut context = FormContext::new(limit)?;
    let mut fields_seen: HashSet<String> = HashSet::new();
    while let Some(mut part) = form.next_field().await.map_err(|e| form_error(&e, limit))? {
        let name = part.name().unwrap_or("").to_string();
        let filename = part_filename(part.headers(), part.file_name());
        let what = match &filename {
            Some(f) => format!("the part {name:?} (filename {f:?})"),
            None => format!("the part {name:?}"),
        };
        let tar_name = filename.as_deref().map(str::to_ascii_lowercase);
        if name == "Dockerfile" {
            let text = read_part(&mut part, &what, MAX_DOCKERFILE_PART, limit).await?;
            context.set_dockerfile(what, text)?;
        } else if name == "context"
            && tar_name
                .as_deref()
                .is_some_and(|f| [".tar", ".tar.gz", ".tgz"].iter().any(|x| f.ends_with(x)))
        {
            context.add_archive(&what, &mut part).await?;
        } else if let Some(filename) = filename {
            let path = context_path(&filename)
                .map_err(|reason| AppError::BadRequest(format!("{what}: {reason}")))?;
            context.add_file(&what, path, &mut part).await?;
        } else {
            if !fields_seen.insert(name.clone()) {
                return Err(AppError::BadRequest(format!(
                    "the form field {name:?} is given twice"
                )));
            }
            let value = read_part(&mut part, &what, MAX_FORM_FIELD, limit).await?;
            let value = String::from_utf8(value.to_vec())
                .map_err(|_| AppError::BadRequest(format!("{what} is not UTF-8 text")))?;
            set_build_option(options, &name, &what, value.trim())?;
        }
    }
    context.finish(options.dockerfile.as_deref()).await
}

/// What a form's broken read means: too large, cut off, or not a form.
fn form_error(e: &MultipartError, limit: usize) -> AppError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(long) = s.downcast_ref::<PartHeadersTooLong>() {
            return AppError::BadRequest(long.to_string());
        }
        source = s.source();
    }
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE || is_length_limit(e) {
        return too_large_error("build context", limit);
    }
    if e.status().is_server_error() {
        return AppError::BadRequest("the build context upload broke off".into());
    }
    AppError::BadRequest(format!(
        "the body is not a valid multipart/form-data form: {}",
        e.body_text()
    ))
}

/// The most a form part's header block may take: multer holds a header
/// block in memory until its blank line, however long it grows.
const MAX_PART_HEADERS: usize = 64 << 10;

#[derive(Debug, thiserror::Error)]
#[error("a form part's headers are longer than the {} KiB berth takes", MAX_PART_HEADERS >> 10)]
struct PartHeadersTooLong;

/// Watches a form's bytes on their way to multer and stops a part header
/// block that runs past [`MAX_PART_HEADERS`].
struct HeaderGuard {
    /// `--boundary`, which opens every part (`None`: no boundary, and
    /// multer refuses the form itself).
    delimiter: Option<regex::bytes::Regex>,
    delimiter_len: usize,
    state: GuardState,
    /// The end of the last chunk, for a match split between two chunks.
    carry: Vec<u8>,
}

#[derive(Clone, Copy)]
enum GuardState {
    /// In a part's data (or before the first part).
    Data,
    /// Just after a delimiter: `--` ends the form, else headers follow.
    Delimiter,
    /// In a header block, this many bytes into it.
    Headers(usize),
    /// After the last part.
    Done,
}

impl HeaderGuard {
    fn new(headers: &axum::http::HeaderMap) -> HeaderGuard {
        let boundary = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(';').skip(1).find_map(|p| {
                    let (key, value) = p.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("boundary")
                        .then(|| value.trim().trim_matches('"').to_string())
                })
            })
            .filter(|b| !b.is_empty());
        let delimiter = boundary.map(|b| format!("--{b}"));
        HeaderGuard {
            delimiter_len: delimiter.as_ref().map_or(0, String::len),
            delimiter: delimiter.and_then(|d| regex::bytes::Regex::new(&regex::escape(&d)).ok()),
            state: GuardState::Data,
            carry: Vec::new(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), PartHeadersTooLong> {
        let Some(delimiter) = &self.delimiter else {
            return Ok(());
        };
        if matches!(self.state, GuardState::Done) {
            return Ok(());
        }
        let carried = self.carry.len();
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        let mut at = 0;
        loop {
            match self.state {
                GuardState::Done => return Ok(()),
                GuardState::Data => match delimiter.find_at(&buf, at) {
                    Some(m) => {
                        at = m.end();
                        self.state = GuardState::Delimiter;
                    }
                    None => {
                        let keep = buf.len().saturating_sub(self.delimiter_len).max(at);
                        self.carry = buf[keep..].to_vec();
                        return Ok(());
                    }
                },
                GuardState::Delimiter => {
                    if buf.len() - at < 2 {
                        self.carry = buf[at..].to_vec();
                        return Ok(());
                    }
                    self.state = if &buf[at..at + 2] == b"--" {
                        GuardState::Done
                    } else {
                        GuardState::Headers(0)
                    };
                }
                GuardState::Headers(seen) => {
                    match buf[at..].windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(i) if seen + i > MAX_PART_HEADERS => return Err(PartHeadersTooLong),
                        Some(i) => {
                            at += i + 4;
                            self.state = GuardState::Data;
                        }
                        None => {
                            let seen = seen + (buf.len() - at.max(carried));
                            if seen > MAX_PART_HEADERS {
                                return Err(PartHeadersTooLong);
                            }
                            self.state = GuardState::Headers(seen);
                            let keep = buf.len().saturating_sub(3).max(at);
                            self.carry = buf[keep..].to_vec();
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// A part, whole, up to `max` bytes.
async fn read_part(part: &mut Field<'_>, what: &str, max: usize, limit: usize) -> AppResult<Bytes> {
    let mut data = BytesMut::new();
    while let Some(chunk) = part.chunk().await.map_err(|e| form_error(&e, limit))? {
        if data.len() + chunk.len() > max {
            return Err(AppError::PayloadTooLarge(format!(
                "{what} is larger than the {} KiB berth takes for it",
                max >> 10
            )));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data.freeze())
}

/// Sets a build option from a form field; one the query sets already may
/// only be repeated, not changed.
fn set_build_option(
    options: &mut BuildOptions,
    name: &str,
    what: &str,
    value: &str,
) -> AppResult<()> {
    let conflict = || {
        AppError::BadRequest(format!(
            "{name} is given both in the query and as a form field, differently"
        ))
    };
    let text = |slot: &mut Option<String>| match slot.as_deref().filter(|s| !s.is_empty()) {
        Some(set) if set != value => Err(conflict()),
        _ => {
            *slot = Some(value.to_string());
            Ok(())
        }
    };
    let flag = |slot: &mut bool| {
        let on = match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" | "" => false,
            _ => {
                return Err(AppError::BadRequest(format!(
                    "the form field {name} is true or false, not {value:?}"
                )))
            }
        };
        if *slot && !on {
            return Err(conflict());
        }
        *slot = on;
        Ok(())
    };
    match name {
        "tag" => text(&mut options.tag),
        "dockerfile" => text(&mut options.dockerfile),
        "target" => text(&mut options.target),
        "buildargs" => text(&mut options.buildargs),
        "nocache" => flag(&mut options.nocache),
        "pull" => flag(&mut options.pull),
        _ => Err(AppError::BadRequest(format!(
            "{what} is neither a file (a file part has a filename, as curl's -F 'file=@app.py' sends) nor an option the build takes (tag, dockerfile, target, buildargs, nocache, pull)"
        ))),
    }
}

/// A part's filename: `filename="..."` as browsers and curl send it, or
/// RFC 5987's `filename*=UTF-8''...` (percent-encoded), which some clients
/// send for names with `/` in them and which multer does not read.
fn part_filename(headers: &axum::http::HeaderMap, plain: Option<&str>) -> Option<String> {
    let extended = headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';').map(str::trim).find_map(|p| {
                let (key, value) = p.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("filename*")
                    .then_some(value.trim())
            })
        })
        .and_then(|value| {
            let (charset, rest) = value.split_once('\'')?;
            let (_language, encoded) = rest.split_once('\'')?;
            if !charset.eq_ignore_ascii_case("utf-8") {
                return None;
            }
            percent_decode(encoded)
        });
    extended.or_else(|| plain.map(str::to_string))
}

fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// A file part's filename as a path inside the context (`/`-separated,
/// relative, cleaned), or why it cannot be one.
fn context_path(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("the filename is empty; give the file's path in the context".into());
    }
    if raw.len() > MAX_FORM_PATH {
        return Err(format!(
            "the filename is longer than the {MAX_FORM_PATH} bytes berth takes"
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("the filename holds a control character (such as NUL)".into());
    }
    if raw.starts_with('/') {
        return Err("the filename is an absolute path; name the file relative to the context, such as src/app.py".into());
    }
    if raw.split('/').any(|s| s == "..") {
        return Err("the filename leaves the build context (`..`)".into());
    }
    let segments: Vec<&str> = raw
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if segments.is_empty() || raw.ends_with('/') {
        return Err("the filename names a folder, not a file".into());
    }
    Ok(segments.join("/"))
}

/// A build context made of a form's parts: a tar written to an unnamed
/// temporary file as they arrive, or the tar one `context` part carries.
struct FormContext {
    file: tokio::fs::File,
    /// Bytes written; the tar may outgrow the form (an entry takes at least
    /// 1 KiB), so it is held to the limit too.
    written: u64,
    limit: usize,
    mtime: u64,
    files: HashSet<String>,
    folders: HashSet<String>,
    /// The `Dockerfile` part, and how to name it.
    dockerfile: Option<(String, Bytes)>,
    /// The part that carried the whole context as a tar.
    archive: Option<String>,
}

impl FormContext {
    fn new(limit: usize) -> AppResult<FormContext> {
        let file = tempfile::tempfile().map_err(|e| {
            AppError::internal(format!(
                "cannot make a temporary file for a build form: {e}"
            ))
        })?;
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(FormContext {
            file: tokio::fs::File::from_std(file),
            written: 0,
            limit,
            mtime,
            files: HashSet::new(),
            folders: HashSet::new(),
            dockerfile: None,
            archive: None,
        })
    }

    async fn write(&mut self, data: &[u8]) -> AppResult<()> {
        if self.written + data.len() as u64 > self.limit as u64 {
            return Err(too_large_error("build context", self.limit));
        }
        self.file
            .write_all(data)
            .await
            .map_err(|e| AppError::internal(format!("cannot spool a build form: {e}")))?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Refuses a second file part while a `context` part carries the whole context.
    fn no_archive(&self, what: &str) -> AppResult<()> {
        match &self.archive {
            Some(archive) => Err(AppError::BadRequest(format!(
                "{archive} carries the whole build context as a tar, so the form cannot hold {what} too"
            ))),
            None => Ok(()),
        }
    }

    fn set_dockerfile(&mut self, what: String, text: Bytes) -> AppResult<()> {
        self.no_archive(&what)?;
        if self.dockerfile.is_some() {
            return Err(AppError::BadRequest(
                "the form holds two parts named Dockerfile".into(),
            ));
        }
        self.dockerfile = Some((what, text));
        Ok(())
    }

    /// Takes `path` for `what`: each path once, and never both a file and
    /// a folder.
    fn claim(&mut self, what: &str, path: &str) -> AppResult<()> {
        if self.files.len() >= MAX_FORM_FILES {
            return Err(AppError::PayloadTooLarge(format!(
                "the form holds more than the {MAX_FORM_FILES} files berth takes; send a context that big as a tar"
            )));
        }
        if self.files.contains(path) {
            return Err(AppError::BadRequest(format!(
                "{what}: {path} is in the build context twice"
            )));
        }
        if self.folders.contains(path) {
            return Err(AppError::BadRequest(format!(
                "{what}: {path} is a folder of other files in the build context"
            )));
        }
        let mut folders = Vec::new();
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let folder = &path[..at + i];
            if self.files.contains(folder) {
                return Err(AppError::BadRequest(format!(
                    "{what}: {folder} is a file in the build context, so it cannot hold {path}"
                )));
            }
            folders.push(folder.to_string());
            at += i + 1;
        }
        self.folders.extend(folders);
        self.files.insert(path.to_string());
        Ok(())
    }

    /// Writes a file part as the entry `path`, as its data arrives: the
    /// entry's header goes first with no size, and is written again once
    /// the size is known.
    async fn add_file(&mut self, what: &str, path: String, part: &mut Field<'_>) -> AppResult<()> {
        self.no_archive(what)?;
        self.claim(what, &path)?;
        let start = self.written;
        self.write(&entry_header(&path, 0, self.mtime)?).await?;
        let mut size = 0u64;
        while let Some(chunk) = part.chunk().await.map_err(|e| form_error(&e, self.limit))? {
            self.write(&chunk).await?;
            size += chunk.len() as u64;
        }
        self.pad(size).await?;
        let head = entry_header(&path, size, self.mtime)?;
        let io = |e: std::io::Error| AppError::internal(format!("cannot spool a build form: {e}"));
        self.file.flush().await.map_err(io)?;
        self.file.seek(SeekFrom::Start(start)).await.map_err(io)?;
        self.file.write_all(&head).await.map_err(io)?;
        self.file.flush().await.map_err(io)?;
        self.file
            .seek(SeekFrom::Start(self.written))
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn add_bytes(&mut self, path: &str, data: &[u8]) -> AppResult<()> {
        self.write(&entry_header(path, data.len() as u64, self.mtime)?)
            .await?;
        self.write(data).await?;
        self.pad(data.len() as u64).await
    }

    /// Fills the last 512-byte block of an entry's data.
    async fn pad(&mut self, size: u64) -> AppResult<()> {
        let rest = (512 - size % 512) % 512;
        self.write(&[0u8; 512][..rest as usize]).await
    }

    /// Takes a `context` part's tar (gzip allowed) as the whole context.
    async fn add_archive(&mut self, what: &str, part: &mut Field<'_>) -> AppResult<()> {
        self.no_archive(what)?;
        if let Some((first, _)) = &self.dockerfile {
            return Err(AppError::BadRequest(format!(
                "{what} carries the whole build context as a tar, so the form cannot hold {first} too"
            )));
        }
        if let Some(first) = self.files.iter().next() {
            return Err(AppError::BadRequest(format!(
                "{what} carries the whole build context as a tar, so the form cannot hold other files too (such as {first})"
            )));
        }
        self.archive = Some(what.to_string());
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        while let Some(chunk) = part.chunk().await.map_err(|e| form_error(&e, self.limit))? {
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            self.write(&chunk).await?;
        }
        check_archive(&head, "build context").map_err(|_| {
            AppError::BadRequest(format!(
                "{what} is not a tar archive (gzip allowed) with files in it"
            ))
        })
    }

    /// Ends the tar (placing the `Dockerfile` part at `dockerfile`, the
    /// option's path) and hands back its file.
    async fn finish(mut self, dockerfile: Option<&str>) -> AppResult<std::fs::File> {
        if self.archive.is_none() {
            let option = dockerfile.filter(|d| !d.is_empty()).unwrap_or("Dockerfile");
            let path = context_path(option).map_err(|reason| {
                AppError::BadRequest(format!(
                    "dockerfile={option:?} is not a path inside the build context: {reason}"
                ))
            })?;
            match self.dockerfile.take() {
                Some((what, text)) => {
                    self.claim(&what, &path)?;
                    self.add_bytes(&path, &text).await?;
                }
                None if !self.files.contains(&path) => {
                    return Err(AppError::BadRequest(format!(
                        "the form holds no Dockerfile: add a part named Dockerfile (curl -F Dockerfile=@Dockerfile) or a file part named {path}"
                    )))
                }
                None => {}
            }
            self.write(&[0u8; 1024]).await?;
        }
        self.file
            .flush()
            .await
            .map_err(|e| AppError::internal(format!("cannot spool a build form: {e}")))?;
        Ok(self.file.into_std().await)
    }
}

/// The bytes that open a regular file's tar entry: its header, after a GNU
/// long-name entry when `path` is longer than a header holds. Their length
/// does not depend on `size`.
fn entry_header(path: &str, size: u64, mtime: u64) -> AppResult<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_data(&mut header, path, std::io::empty())
        .map_err(|e| AppError::BadRequest(format!("{path:?} cannot go in a tar archive: {e}")))?;
    // Not `into_inner`: that would end the archive too.
    Ok(std::mem::take(tar.get_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_content_type_decides_how_a_build_is_sent() {
        let kind = |ct: Option<&str>| {
            let mut h = axum::http::HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(ct).expect("value"),
                );
            }
            build_body(&h)
        };
        assert_eq!(kind(None).expect("tar"), BuildBody::Archive);
        for ct in [
            "application/x-tar",
            "Application/GZIP",
            "application/x-gzip; q=1",
            "application/octet-stream",
        ] {
            assert_eq!(kind(Some(ct)).expect(ct), BuildBody::Archive, "{ct}");
        }
        assert_eq!(
            kind(Some("multipart/form-data; boundary=x")).expect("form"),
            BuildBody::Form
        );
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json",
        ] {
            match kind(Some(ct)) {
                Err(AppError::UnsupportedMediaType(m)) => {
                    assert!(
                        m.contains(ct)
                            && m.contains("application/x-tar")
                            && m.contains("multipart/form-data"),
                        "{m}"
                    )
                }
                other => panic!("{ct}: {other:?}"),
            }
        }
    }

    #[test]
    fn file_parts_name_relative_paths_inside_the_context() {
        assert_eq!(context_path("app.py").as_deref(), Ok("app.py"));
        assert_eq!(context_path("./src//app.py").as_deref(), Ok("src/app.py"));
        assert_eq!(
            context_path(".dockerignore").as_deref(),
            Ok(".dockerignore")
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "src/",
            ".",
            "a\0b",
            "a\nb",
        ] {
            assert!(context_path(bad).is_err(), "{bad:?}");
        }
        assert!(context_path(&"a".repeat(MAX_FORM_PATH + 1)).is_err());
    }

    #[test]
    fn extended_filenames_are_decoded() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(
                "form-data; name=\"file\"; filename*=utf-8''src%2Fcaf%C3%A9.py",
            ),
        );
        assert_eq!(part_filename(&h, None).as_deref(), Some("src/café.py"));
        let plain = axum::http::HeaderMap::new();
        assert_eq!(
            part_filename(&plain, Some("src/app.py")).as_deref(),
            Some("src/app.py")
        );
        assert_eq!(part_filename(&plain, None), None);
        assert_eq!(percent_decode("%zz"), None);
    }

    const BOUNDARY: &str = "berth-test-boundary";

    /// A form part: its name, its filename, its data.
    type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

    /// A multipart body: (name, filename, data) per part.
    fn form(parts: &[Part<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, data) in parts {
            out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let disposition = match filename {
                Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\""),
                None => format!("form-data; name=\"{name}\""),
            };
            out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n\r\n").as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }

    fn form_request(body: Body) -> Request {
        Request::builder()
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .expect("request")
    }

    async fn read_form(
        parts: &[Part<'_>],
        options: &mut BuildOptions,
        limit: usize,
    ) -> AppResult<Vec<(String, String)>> {
        let body = form(parts);
        // In small chunks, so parts and headers straddle them.
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let request = form_request(Body::from_stream(futures_util::stream::iter(chunks)));
        let mut file = read_build_form(request, options, limit).await?;
        std::io::Seek::seek(&mut file, SeekFrom::Start(0)).expect("rewind");
        let mut archive = tar::Archive::new(file);
        let mut out = Vec::new();
        for entry in archive.entries_with_seek().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).expect("data");
            assert_eq!(entry.header().mode().expect("mode"), 0o644);
            out.push((path, text));
        }
        Ok(out)
    }

    fn entries(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn a_form_becomes_a_tar_with_each_file_at_its_path() {
        let long = format!("deep/{}/file.txt", "d".repeat(120));
        let big = "x".repeat(3000);
        let mut options = BuildOptions::default();
        let got = read_form(
            &[
                ("tag", None, b"app:1"),
                ("file", Some("src/app.py"), b"print('hi')\n"),
                ("Dockerfile", None, b"FROM scratch\n"),
                ("file", Some(long.as_str()), b"long"),
                ("whatever", Some("./big.txt"), big.as_bytes()),
                ("file", Some("empty"), b""),
                ("dockerfile", None, b"build/Dockerfile"),
                ("nocache", None, b"true"),
                ("buildargs", None, br#"{"A":"b"}"#),
            ],
            &mut options,
            1 << 20,
        )
        .await
        .expect("a tar");
        assert_eq!(
            got,
            entries(&[
                ("src/app.py", "print('hi')\n"),
                (long.as_str(), "long"),
                ("big.txt", big.as_str()),
                ("empty", ""),
                ("build/Dockerfile", "FROM scratch\n"),
            ])
        );
        assert_eq!(options.tag.as_deref(), Some("app:1"));
        assert_eq!(options.dockerfile.as_deref(), Some("build/Dockerfile"));
        assert_eq!(options.buildargs.as_deref(), Some(r#"{"A":"b"}"#));
        assert!(options.nocache && !options.pull);

        // A Dockerfile sent as a file part at the Dockerfile's path.
        let got = read_form(
            &[("file", Some("Dockerfile"), b"FROM scratch\n")],
            &mut BuildOptions::default(),
            1 << 20,
        )
        .await
        .expect("a tar");
        assert_eq!(got, entries(&[("Dockerfile", "FROM scratch\n")]));

        // A whole tar as the `context` part, options from the query kept.
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o644);
        tar.append_data(&mut h, "Dockerfile", &b"abc"[..])
            .expect("append");
        let tar = tar.into_inner().expect("tar");
        let mut options = BuildOptions {
            tag: Some("app:2".into()),
            ..Default::default()
        };
        let got = read_form(
            &[("tag", None, b"app:2"), ("context", Some("ctx.TAR"), &tar)],
            &mut options,
            1 << 20,
        )
        .await
        .expect("the tar");
        assert_eq!(got, entries(&[("Dockerfile", "abc")]));
    }

    async fn form_error_detail(
        parts: &[Part<'_>],
        options: &mut BuildOptions,
    ) -> (StatusCode, String) {
        match read_form(parts, options, 1 << 20).await {
            Ok(e) => panic!("taken: {e:?}"),
            Err(e) => (e.status_code(), e.to_string()),
        }
    }

    #[tokio::test]
    async fn bad_forms_are_refused_naming_the_part() {
        let d: Part<'_> = ("Dockerfile", None, b"FROM scratch\n");
        let cases: Vec<(Vec<Part<'_>>, &str)> = vec![
            (vec![d, ("file", Some("../x"), b"x")], "\"../x\""),
            (vec![d, ("file", Some("/etc/x"), b"x")], "absolute"),
            (vec![d, ("file", Some(""), b"x")], "empty"),
            (
                vec![d, ("file", Some("a"), b"x"), ("other", Some("./a"), b"y")],
                "twice",
            ),
            (
                vec![d, ("file", Some("a"), b"x"), ("file", Some("a/b"), b"y")],
                "cannot hold a/b",
            ),
            (
                vec![d, ("file", Some("a/b"), b"x"), ("file", Some("a"), b"y")],
                "folder",
            ),
            (vec![d, ("file", Some("Dockerfile"), b"x")], "twice"),
            (vec![d, d], "two parts named Dockerfile"),
            (vec![("file", Some("app.py"), b"x")], "no Dockerfile"),
            (vec![], "no Dockerfile"),
            (vec![d, ("file", None, b"x")], "neither a file"),
            (vec![d, ("tag", None, b"a"), ("tag", None, b"b")], "twice"),
            (vec![d, ("nocache", None, b"maybe")], "true or false"),
            (
                vec![d, ("context", Some("c.tar.gz"), b"x")],
                "carries the whole build context",
            ),
            (
                vec![("context", Some("c.tgz"), b"not a tar")],
                "not a tar archive",
            ),
            (
                vec![d, ("dockerfile", None, b"../Dockerfile")],
                "dockerfile=",
            ),
        ];
        for (parts, want) in cases {
            let (status, detail) = form_error_detail(&parts, &mut BuildOptions::default()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{detail}");
            assert!(detail.contains(want), "{want:?} in {detail}");
        }
        let (_, detail) = form_error_detail(
            &[d, ("file", Some("../x"), b"x")],
            &mut BuildOptions::default(),
        )
        .await;
        assert!(detail.contains("\"file\""), "names the part: {detail}");
        let mut options = BuildOptions {
            tag: Some("app:1".into()),
            ..Default::default()
        };
        let (_, detail) = form_error_detail(&[d, ("tag", None, b"app:2")], &mut options).await;
        assert!(
            detail.contains("both in the query and as a form field"),
            "{detail}"
        );
    }

    #[tokio::test]
    async fn forms_are_held_to_the_limit() {
        // The tar outgrows the form: each file takes at least 1 KiB in it.
        let parts: Vec<Part<'_>> = vec![
            ("Dockerfile", None, b"FROM scratch\n"),
            ("file", Some("a"), b"1"),
            ("file", Some("b"), b"2"),
            ("file", Some("c"), b"3"),
            ("file", Some("d"), b"4"),
        ];
        assert!(form(&parts).len() < 4096);
        match read_form(&parts, &mut BuildOptions::default(), 4096).await {
            Err(AppError::PayloadTooLarge(m)) => assert!(m.contains("build context"), "{m}"),
            other => panic!("{other:?}"),
        }
        // A body past the route's limit, as `DefaultBodyLimit` cuts it.
        let big = vec![b'x'; 10_000];
        let body = form(&[
            ("Dockerfile", None, b"FROM scratch\n"),
            ("file", Some("big"), &big),
        ]);
        let request = form_request(Body::new(http_body_util::Limited::new(
            Body::from(body),
            5000,
        )));
        match read_build_form(request, &mut BuildOptions::default(), 1 << 20).await {
            Err(AppError::PayloadTooLarge(m)) => assert!(m.contains("build context"), "{m}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        // A form that says it is bigger than the limit is refused unread.
        let mut request = form_request(Body::empty());
        request
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(4097));
        assert!(matches!(
            read_build_form(request, &mut BuildOptions::default(), 4096).await,
            Err(AppError::PayloadTooLarge(_))
        ));
        // A part's header block is held to its own limit.
        let mut body =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Long: ")
                .into_bytes();
        body.extend(std::iter::repeat_n(b'y', MAX_PART_HEADERS + 10));
        match read_build_form(
            form_request(Body::from(body)),
            &mut BuildOptions::default(),
            1 << 20,
        )
        .await
        {
            Err(AppError::BadRequest(m)) => assert!(m.contains("headers are longer"), "{m}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn the_header_guard_lets_ordinary_forms_through() {
        let body = form(&[
            ("Dockerfile", None, b"FROM scratch\n"),
            ("file", Some("a"), &[b'z'; 200_000]),
            ("file", Some("b"), b"--not-the-boundary\r\n\r\n"),
        ]);
        for size in [1, 3, 64, 1 << 16] {
            let mut h = axum::http::HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&format!("multipart/form-data; boundary=\"{BOUNDARY}\""))
                    .expect("value"),
            );
            let mut guard = HeaderGuard::new(&h);
            assert!(guard.delimiter.is_some());
            for chunk in body.chunks(size) {
                guard.feed(chunk).expect("ordinary headers");
            }
            assert!(matches!(guard.state, GuardState::Done), "{size}");
        }
    }
}
