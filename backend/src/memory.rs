//! Memory that goes back to the system. glibc's allocator raises its mmap
//! threshold each time a large block is freed, so after the first password
//! hash (19 MiB) every later one is carved from a heap that is never
//! returned: a burst of sign-ins left berth at 187 MiB for good. A fixed
//! threshold keeps large blocks in their own mappings, unmapped when freed,
//! and two arenas keep small ones from spreading over one heap per thread.
//! glibc reads these settings only at start, from the environment, so the
//! binary starts itself once more with them set (berth's own code takes no
//! `unsafe` to call `mallopt`).

/// Large blocks (from 256 KiB) are mapped on their own, returned when freed.
const MMAP_THRESHOLD: &str = "262144";
/// Heaps small allocations are spread over, whatever the thread count.
const ARENA_MAX: &str = "2";
/// Set once the settings are in place, so the binary starts itself at most once.
const TUNED: &str = "BERTH_MALLOC_TUNED";

/// Restarts the binary with glibc's allocator settings, unless they are
/// already set (by this function, or by whoever started berth). Returns
/// only when no restart happened: settings already in place, not glibc, or
/// the restart failed (berth then runs untuned and says so later).
pub fn tune() -> Option<String> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return None;
    }
    let set = |k: &str| std::env::var_os(k).is_some();
    if set(TUNED) || set("MALLOC_MMAP_THRESHOLD_") || set("GLIBC_TUNABLES") {
        return None;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return Some(format!("cannot find berth's own binary: {e}")),
    };
    restart(&exe)
}

#[cfg(unix)]
fn restart(exe: &std::path::Path) -> Option<String> {
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(TUNED, "1")
        .env("MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD)
        .env("MALLOC_ARENA_MAX", ARENA_MAX)
        .exec();
    Some(format!("cannot restart with the allocator settings: {e}"))
}

#[cfg(not(unix))]
fn restart(_: &std::path::Path) -> Option<String> {
    None
}
