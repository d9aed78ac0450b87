//! How much of berth one user, and everyone together, may hold at once:
//! live sockets and long image tasks (builds, pulls, pushes, imports). The
//! numbers are here, in one place; README.md's "Limits" lists them all.
//!
//! A [`Slot`] is taken before the work starts (before a socket's upgrade,
//! before a build reaches the engine) and given back when it is dropped:
//! when the socket closes, the progress stream ends or the client goes away.
//!
//! An [`UnpackMeter`] bounds what an uploaded archive expands to.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use crate::error::{AppError, AppResult};

/// Live sockets (logs, exec, stats, events) one user may hold at once.
pub const MAX_SOCKETS_PER_USER: usize = 32;
/// Live sockets berth holds at once, for everyone.
pub const MAX_SOCKETS: usize = 512;
/// The largest message (and frame) a client may send on a socket: exec
/// input, a stats watch list. A larger one closes the socket with 1009.
pub const MAX_WS_MESSAGE: usize = 64 * 1024;
/// Builds, pulls, pushes and imports one user may run at once.
pub const MAX_TASKS_PER_USER: usize = 2;
/// Builds, pulls, pushes and imports berth runs at once, for everyone.
pub const MAX_TASKS: usize = 8;
/// What a refused socket is told to wait before trying again.
const SOCKET_RETRY_SECS: u64 = 10;
/// What a refused image task is told to wait before trying again.
const TASK_RETRY_SECS: u64 = 5;

/// The limiters of one running berth, handed to handlers as an extension.
#[derive(Clone)]
pub struct Limits {
    pub sockets: Arc<Limiter>,
    pub tasks: Arc<Limiter>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sockets: Arc::new(Limiter::new(
                "live streams",
                MAX_SOCKETS_PER_USER,
                MAX_SOCKETS,
                SOCKET_RETRY_SECS,
            )),
            tasks: Arc::new(Limiter::new(
                "image builds, pulls, pushes and imports",
                MAX_TASKS_PER_USER,
                MAX_TASKS,
                TASK_RETRY_SECS,
            )),
        }
    }
}

/// The layer that gives every handler of one router the same [`Limits`].
pub fn layer() -> axum::Extension<Limits> {
    axum::Extension(Limits::default())
}

/// Counts what each user holds, and everyone together.
pub struct Limiter {
    what: &'static str,
    per_user: usize,
    total: usize,
    retry_after_secs: u64,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    next: u64,
    total: usize,
    /// Per user: each slot's id and what it is for.
    by_user: HashMap<i64, Vec<(u64, String)>>,
}

/// One place taken in a [`Limiter`]; given back when dropped.
#[must_use = "the place is given back as soon as the slot is dropped"]
pub struct Slot {
    limiter: Arc<Limiter>,
    user: i64,
    id: u64,
}

impl Limiter {
    pub fn new(what: &'static str, per_user: usize, total: usize, retry_after_secs: u64) -> Self {
        Limiter {
            what,
            per_user,
            total,
            retry_after_secs,
            held: Mutex::new(Held::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // The map stays consistent even if a holder panicked.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for `user`, doing `label` (e.g. "build of app:1"), or
    /// a 429 that says what the user already holds.
    pub fn acquire(self: &Arc<Self>, user: i64, label: impl Into<String>) -> AppResult<Slot> {
        let mut held = self.lock();
        let mine = held.by_user.get(&user).map_or(0, Vec::len);
        if mine >= self.per_user {
            let running = held
                .by_user
                .get(&user)
                .map(|v| summary(v.iter().map(|(_, l)| l.as_str())))
                .unwrap_or_default();
            return Err(AppError::TooManyRequests {
                message: format!(
                    "you already have {mine} {} running ({running}), the most berth runs for one user at a time; wait for one to end or close one",
                    self.what
                ),
                retry_after_secs: self.retry_after_secs,
            });
        }
        if held.total >= self.total {
            return Err(AppError::TooManyRequests {
                message: format!(
                    "berth already has {} {} running for all users, the most it runs at once",
                    held.total, self.what
                ),
                retry_after_secs: self.retry_after_secs,
            });
        }
        held.next += 1;
        held.total += 1;
        let id = held.next;
        held.by_user
            .entry(user)
            .or_default()
            .push((id, label.into()));
        Ok(Slot {
            limiter: self.clone(),
            user,
            id,
        })
    }

    /// How many places `user` holds now.
    pub fn held_by(&self, user: i64) -> usize {
        self.lock().by_user.get(&user).map_or(0, Vec::len)
    }

    /// How many places are held now, by everyone.
    pub fn held(&self) -> usize {
        self.lock().total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.limiter.lock();
        let Some(mine) = held.by_user.get_mut(&self.user) else {
            return;
        };
        let before = mine.len();
        mine.retain(|(id, _)| *id != self.id);
        let removed = before - mine.len();
        if mine.is_empty() {
            held.by_user.remove(&self.user);
        }
        held.total -= removed.min(held.total);
    }
}

/// Bounds the unpacked stream of an uploaded archive (what a gzip
/// decoder yields to the tar reader): its total, and what may be read
/// between two checkpoints. The tar reader reads GNU long names and pax
/// records whole into memory before it yields an entry; with
/// [`UnpackMeter::allow`] set to an entry's declared size after each entry,
/// and back to a small run before the next, neither a bomb nor a lying
/// header gets further than the bound.
#[derive(Clone)]
pub struct UnpackMeter(Arc<Mutex<Meter>>);

struct Meter {
    read: u64,
    cap: u64,
    allowance: u64,
    tripped: Option<Tripped>,
}

/// Why an [`UnpackMeter`] stopped the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tripped {
    /// The unpacked stream passed its cap.
    Expansion,
    /// More was read between two checkpoints than allowed (a header, long
    /// name or pax record past the bound).
    HeaderRun,
}

/// A reader counted by an [`UnpackMeter`].
pub struct Metered<R> {
    inner: R,
    meter: UnpackMeter,
}

impl UnpackMeter {
    /// At most `cap` bytes in all, and `first_run` before the first
    /// checkpoint.
    pub fn new(cap: u64, first_run: u64) -> Self {
        UnpackMeter(Arc::new(Mutex::new(Meter {
            read: 0,
            cap,
            allowance: first_run,
            tripped: None,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Meter> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn reader<R: Read>(&self, inner: R) -> Metered<R> {
        Metered {
            inner,
            meter: self.clone(),
        }
    }

    /// From now until the next call, at most `n` bytes may be read.
    pub fn allow(&self, n: u64) {
        self.lock().allowance = n;
    }

    /// Why reading was stopped, if it was.
    pub fn tripped(&self) -> Option<Tripped> {
        self.lock().tripped
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let got = self.inner.read(buf)?;
        let n = got as u64;
        let mut m = self.meter.lock();
        m.read += n;
        if m.read > m.cap {
            m.tripped.get_or_insert(Tripped::Expansion);
            return Err(std::io::Error::other("the archive unpacks to too much"));
        }
        if n > m.allowance {
            m.tripped.get_or_insert(Tripped::HeaderRun);
            return Err(std::io::Error::other("an archive header is too large"));
        }
        m.allowance -= n;
        Ok(got)
    }
}

/// Whether a body read failed because it passed the route's
/// `DefaultBodyLimit` (a 413, not a broken upload).
pub fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// "build of a:1, logs ×3": each label once, with its count, at most six.
fn summary<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for label in labels {
        match counted.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counted.push((label, 1)),
        }
    }
    let mut parts: Vec<String> = counted
        .iter()
        .take(6)
        .map(|(l, n)| {
            if *n > 1 {
                format!("{l} ×{n}")
            } else {
                (*l).to_string()
            }
        })
        .collect();
    if counted.len() > 6 {
        parts.push(format!("{} more", counted.len() - 6));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_user_and_in_total_and_given_back_on_drop() {
        let limiter = Arc::new(Limiter::new("image tasks", 2, 3, 5));
        let a = limiter.acquire(1, "build of app:1").expect("first");
        let _b = limiter.acquire(1, "pull of busybox").expect("second");
        let err = limiter
            .acquire(1, "push of app:1")
            .err()
            .expect("third refused");
        let text = err.to_string();
        assert!(text.contains("build of app:1, pull of busybox"), "{text}");
        assert!(matches!(
            err,
            AppError::TooManyRequests {
                retry_after_secs: 5,
                ..
            }
        ));
        let _c = limiter.acquire(2, "build of x").expect("another user");
        let err = limiter
            .acquire(3, "build of y")
            .err()
            .expect("total reached");
        assert!(err.to_string().contains("for all users"), "{err}");
        drop(a);
        assert_eq!(limiter.held_by(1), 1);
        assert_eq!(limiter.held(), 2);
        let _d = limiter.acquire(1, "push of app:1").expect("a place again");
        assert_eq!(limiter.held(), 3);
    }

    #[test]
    fn the_summary_counts_repeats() {
        let s = summary(["logs", "logs", "exec"].into_iter());
        assert_eq!(s, "logs ×2, exec");
    }
}
