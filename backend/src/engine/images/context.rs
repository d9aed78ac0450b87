//! Build contexts on their way to the engine, with `.dockerignore` applied.
//!
//! The engine's classic builder leaves `.dockerignore` to the client (the
//! docker CLI leaves ignored files out of the context it sends), so berth
//! does the same: the upload is spooled to an unnamed temporary file (never
//! held in memory), its `.dockerignore` read, and the archive streamed on
//! without the entries it excludes, following the CLI's pattern rules. A
//! context without `.dockerignore` goes on unchanged.

use std::io::{Read, Seek, SeekFrom, Write};
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::super::{EngineError, EngineResult};
use crate::limits::UnpackMeter;

/// A context stream, whichever way it was made.
pub type ContextStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// The largest `.dockerignore` read.
const MAX_IGNORE_FILE: u64 = 1024 * 1024;
/// The most patterns a `.dockerignore` may hold.
const MAX_PATTERNS: usize = 10_000;
/// Chunks read from the spool, and written to the engine, are this big.
const CHUNK: usize = 64 * 1024;
/// Chunks of a filtered context held between the filter and the engine.
const FILTER_BUFFER: usize = 8;

/// Spools `upload` and returns the context to send: unchanged without a
/// `.dockerignore`, else re-packed without the entries it excludes (the
/// Dockerfile and `.dockerignore` itself are always kept, as the CLI does).
pub async fn prepare<S>(upload: S, dockerfile: &str) -> EngineResult<ContextStream>
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    prepare_spooled(spool(upload).await?, dockerfile).await
}

/// [`prepare`] for a context already spooled to `spool` (a tar, gzipped or
/// not), as a form upload is: it is read from its start, not copied again.
pub async fn prepare_spooled(
    spool: std::fs::File,
    dockerfile: &str,
) -> EngineResult<ContextStream> {
    let reader = spool
        .try_clone()
        .map_err(|e| EngineError::Other(format!("cannot reopen the spooled build context: {e}")))?;
    let dockerfile = clean_path(dockerfile);
    let ignore = tokio::task::spawn_blocking(move || read_ignore_file(reader))
        .await
        .map_err(|e| EngineError::Other(format!("the context check stopped: {e}")))??;
    let Some(ignore) = ignore else {
        // The clones share one offset: start over.
        let mut spool = spool;
        spool.seek(SeekFrom::Start(0)).map_err(|e| {
            EngineError::Other(format!("cannot rewind the spooled build context: {e}"))
        })?;
        return Ok(Box::pin(file_stream(tokio::fs::File::from_std(spool))));
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(FILTER_BUFFER);
    tokio::task::spawn_blocking(move || {
        let failed = tx.clone();
        if let Err(e) = filter(spool, &ignore, &dockerfile, ChannelWriter::new(tx)) {
            // The receiver is gone when the build was cancelled: nothing to tell.
            let _ = failed.blocking_send(Err(e));
        }
    });
    Ok(Box::pin(futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

/// Writes the upload to an unnamed temporary file.
async fn spool<S>(upload: S) -> EngineResult<std::fs::File>
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let file = tempfile::tempfile().map_err(|e| {
        EngineError::Other(format!(
            "cannot make a temporary file for the build context: {e}"
        ))
    })?;
    let copy = file
        .try_clone()
        .map_err(|e| EngineError::Other(format!("cannot reopen the temporary file: {e}")))?;
    let mut out = tokio::fs::File::from_std(copy);
    let mut upload = Box::pin(upload);
    while let Some(chunk) = upload.next().await {
        let chunk = chunk.map_err(|e| EngineError::BadRequest(e.to_string()))?;
        out.write_all(&chunk)
            .await
            .map_err(|e| EngineError::Other(format!("cannot spool the build context: {e}")))?;
    }
    out.flush()
        .await
        .map_err(|e| EngineError::Other(format!("cannot spool the build context: {e}")))?;
    Ok(file)
}

/// The most a context may unpack to, and how much larger than it was sent.
const MAX_UNPACKED: u64 = 4 << 30;
const MAX_RATIO: u64 = 100;
/// What may be read between two entries' data (headers, long names, pax).
const MAX_HEADER_RUN: u64 = 1 << 20;

/// The archive, decompressed when it is gzipped, from its start, read
/// through a meter that stops a bomb (see `limits::UnpackMeter`).
fn open_archive(mut file: std::fs::File) -> std::io::Result<(Box<dyn Read + Send>, UnpackMeter)> {
    let sent = file.metadata()?.len();
    let cap = sent
        .saturating_mul(MAX_RATIO)
        .clamp(MAX_HEADER_RUN, MAX_UNPACKED);
    let meter = UnpackMeter::new(cap, MAX_HEADER_RUN);
    file.seek(SeekFrom::Start(0))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    file.seek(SeekFrom::Start(0))?;
    let reader = std::io::BufReader::with_capacity(CHUNK, file);
    let read: Box<dyn Read + Send> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(meter.reader(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Box::new(meter.reader(reader))
    };
    Ok((read, meter))
}

fn bad_archive(e: std::io::Error) -> EngineError {
    EngineError::BadRequest(format!(
        "the build context is not a valid tar archive (gzip allowed): {e}"
    ))
}

/// Reads the whole archive once (so a broken one is refused before the
/// build starts) and returns its `.dockerignore`, parsed.
fn read_ignore_file(file: std::fs::File) -> EngineResult<Option<Ignore>> {
    let (read, meter) = open_archive(file).map_err(bad_archive)?;
    let mut archive = tar::Archive::new(read);
    let mut found = None;
    for entry in archive.entries().map_err(bad_archive)? {
        let mut entry = entry.map_err(bad_archive)?;
        meter.allow(entry.size().saturating_add(MAX_HEADER_RUN));
        let path = entry.path().map_err(bad_archive)?;
        if clean_path(&path.to_string_lossy()) != ".dockerignore" {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let mut text = String::new();
        (&mut entry)
            .take(MAX_IGNORE_FILE)
            .read_to_string(&mut text)
            .map_err(|_| EngineError::BadRequest(".dockerignore is not UTF-8 text".into()))?;
        found = Some(Ignore::parse(&text)?);
    }
    Ok(found)
}

/// Re-packs the archive into `out` without the entries `ignore` excludes.
fn filter(
    file: std::fs::File,
    ignore: &Ignore,
    dockerfile: &str,
    out: ChannelWriter,
) -> std::io::Result<()> {
    let (read, meter) = open_archive(file)?;
    let mut archive = tar::Archive::new(read);
    let mut builder = tar::Builder::new(out);
    for entry in archive.entries()? {
        let mut entry = entry?;
        meter.allow(entry.size().saturating_add(MAX_HEADER_RUN));
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let path = entry.path()?.into_owned();
        let clean = clean_path(&path.to_string_lossy());
        let always = clean == ".dockerignore" || clean == dockerfile;
        if !always && clean != "." && ignore.excludes(&clean) {
            continue;
        }
        let mut header = entry.header().clone();
        if kind.is_gnu_sparse() {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(entry.size());
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            builder.append_link(&mut header, &path, target)?;
        } else {
            builder.append_data(&mut header, &path, &mut entry)?;
        }
    }
    builder.into_inner()?.finish()
}

/// `std::io::Write` into the channel the engine reads from, in chunks.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: BytesMut,
}

impl ChannelWriter {
    fn new(tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> Self {
        ChannelWriter {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the build was cancelled"))
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A file read in chunks, as a stream.
fn file_stream(file: tokio::fs::File) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = BytesMut::with_capacity(CHUNK);
        match file.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// A path as Go's `filepath.Clean` writes it, relative to the context:
/// no `.` segments, no doubled or trailing `/`, `..` resolved, no leading `/`.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// `.dockerignore` patterns, matched the way the docker CLI matches them:
/// the last pattern that matches a path (or one of its parent directories)
/// decides, and `!` patterns keep what earlier ones excluded.
pub struct Ignore {
    patterns: Vec<Pattern>,
}

struct Pattern {
    keep: bool,
    /// How many path segments the pattern has, to match parent directories.
    segments: usize,
    regex: regex::Regex,
}

impl Ignore {
    pub fn parse(text: &str) -> EngineResult<Ignore> {
        let mut patterns = Vec::new();
        for (n, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let keep = line.starts_with('!');
            if keep {
                line = line[1..].trim();
            }
            if line.is_empty() {
                continue;
            }
            let cleaned = clean_path(line);
            let regex = regex::Regex::new(&glob_regex(&cleaned)).map_err(|_| {
                EngineError::BadRequest(format!(
                    ".dockerignore line {}: {raw:?} is not a pattern berth understands",
                    n + 1
                ))
            })?;
            patterns.push(Pattern {
                keep,
                segments: cleaned.split('/').count(),
                regex,
            });
            if patterns.len() > MAX_PATTERNS {
                return Err(EngineError::BadRequest(format!(
                    ".dockerignore has more than {MAX_PATTERNS} patterns"
                )));
            }
        }
        Ok(Ignore { patterns })
    }

    /// Whether `path` (cleaned, relative to the context) is left out.
    pub fn excludes(&self, path: &str) -> bool {
        let parent_dirs: Vec<&str> = match path.rsplit_once('/') {
            Some((parent, _)) => parent.split('/').collect(),
            None => Vec::new(),
        };
        let mut excluded = false;
        for p in &self.patterns {
            let mut matched = p.regex.is_match(path);
            if !matched && !parent_dirs.is_empty() && p.segments <= parent_dirs.len() {
                matched = p.regex.is_match(&parent_dirs[..p.segments].join("/"));
            }
            if matched {
                excluded = !p.keep;
            }
        }
        excluded
    }
}

/// The regular expression for a `.dockerignore` glob: `*` and `?` stay
/// within a path segment, `**` spans any number of segments, `[...]` is a
/// class, `\` escapes.
fn glob_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(next) => re.push_str(&regex::escape(&next.to_string())),
                None => re.push_str(r"\\"),
            },
            '[' => {
                // A class runs to its `]`; `[!...]` negates like `[^...]`.
                let mut class = String::from("[");
                if chars.peek() == Some(&'!') || chars.peek() == Some(&'^') {
                    chars.next();
                    class.push('^');
                }
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    if c == '\\' || c == '[' {
                        class.push('\\');
                    }
                    class.push(c);
                }
                if closed {
                    class.push(']');
                    re.push_str(&class);
                } else {
                    // Not a class after all: take it literally.
                    re.push_str(&regex::escape(&format!("[{}", &class[1..])));
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> Ignore {
        Ignore::parse(text).expect("parse")
    }

    #[test]
    fn patterns_follow_the_docker_cli() {
        let i = ignore("# a comment\nsecret.txt\n*.log\n/build\nnode_modules\n**/*.tmp\ndocs/**\n!docs/keep.md\n");
        assert!(i.excludes("secret.txt"));
        assert!(
            !i.excludes("sub/secret.txt"),
            "a bare name is anchored at the root"
        );
        assert!(i.excludes("app.log"));
        assert!(!i.excludes("logs/app.log"), "* does not cross /");
        assert!(i.excludes("build"));
        assert!(
            i.excludes("build/out/bin"),
            "a directory takes its contents with it"
        );
        assert!(i.excludes("node_modules/x/index.js"));
        assert!(i.excludes("a/b/c.tmp") && i.excludes("c.tmp"));
        assert!(i.excludes("docs/guide.md"));
        assert!(!i.excludes("docs/keep.md"), "! keeps what was excluded");
        assert!(!i.excludes("src/main.rs"));
        assert!(!i.excludes("Dockerfile"));

        let i = ignore("*\n!src\n!Dockerfile\n");
        assert!(i.excludes("README.md"));
        assert!(!i.excludes("src/lib.rs") && !i.excludes("src"));
        let i = ignore("file?.txt\n[ab].md\n[!c]x\n./dir/../other\n");
        assert!(i.excludes("file1.txt") && !i.excludes("file10.txt"));
        assert!(i.excludes("a.md") && !i.excludes("c.md"));
        assert!(i.excludes("dx") && !i.excludes("cx"));
        assert!(i.excludes("other/thing"));
        let i = ignore("a.b\n");
        assert!(!i.excludes("axb"), "dots are literal");
    }

    #[test]
    fn paths_are_cleaned_like_go_does() {
        assert_eq!(clean_path("./a//b/"), "a/b");
        assert_eq!(clean_path("/a/../b"), "b");
        assert_eq!(clean_path("./"), ".");
        assert_eq!(clean_path(".dockerignore"), ".dockerignore");
    }

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data.as_bytes())
                .expect("append");
        }
        b.into_inner().expect("tar")
    }

    fn names(archive: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(archive);
        a.entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    async fn run(upload: Vec<u8>) -> EngineResult<Vec<u8>> {
        let stream = futures_util::stream::iter(
            upload
                .chunks(1000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let mut out = prepare(stream, "Dockerfile").await?;
        let mut all = Vec::new();
        while let Some(chunk) = out.next().await {
            all.extend_from_slice(&chunk.expect("chunk"));
        }
        Ok(all)
    }

    #[tokio::test]
    async fn ignored_entries_are_left_out_of_the_context() {
        let long = format!("deep/{}/file.txt", "d".repeat(120));
        let upload = tar_of(&[
            ("Dockerfile", "FROM scratch\n"),
            ("keep.txt", "kept"),
            ("secret.txt", "out"),
            (&long, "long names survive"),
            (".dockerignore", "secret.txt\nDockerfile\n.dockerignore\n"),
        ]);
        let sent = run(upload).await.expect("filtered");
        assert_eq!(
            names(&sent),
            vec!["Dockerfile", "keep.txt", long.as_str(), ".dockerignore"]
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_of(&[
            ("Dockerfile", "x"),
            ("a.log", "y"),
            (".dockerignore", "*.log"),
        ]))
        .expect("gzip");
        let sent = run(gz.finish().expect("gzip")).await.expect("filtered");
        assert_eq!(names(&sent), vec!["Dockerfile", ".dockerignore"]);
    }

    #[tokio::test]
    async fn contexts_without_dockerignore_go_on_unchanged_and_broken_ones_are_refused() {
        let upload = tar_of(&[("Dockerfile", "FROM scratch\n"), ("a", "b")]);
        assert!(run(upload.clone()).await.expect("same") == upload);
        let mut broken = tar_of(&[("Dockerfile", "FROM scratch\n"), ("a", &"b".repeat(5000))]);
        broken.truncate(1500);
        match run(broken).await {
            Err(EngineError::BadRequest(m)) => assert!(m.contains("not a valid tar"), "{m}"),
            other => panic!("{:?}", other.map(|v| v.len())),
        }
    }
}
