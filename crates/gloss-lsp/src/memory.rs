//! Giving memory back after large documents come and go.
//!
//! Opening or editing a file of megabytes passes several short-lived copies of it through the
//! transport, the JSON decoder and the document store, and re-parses grow and drop tree nodes by
//! the hundred thousand. glibc's allocator keeps what those freed inside its arenas, so a server
//! that edits a 5 MB file a few times held hundreds of megabytes it no longer used. After such an
//! operation, once things are quiet for a moment, the freed pages are handed back to the system.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gloss_model::allocator::release_free_memory;
pub use gloss_syntax::LARGE_DOCUMENT_BYTES;

/// A burst of edits to a large file ends in one trim, not one per keystroke.
const SETTLE: Duration = Duration::from_millis(250);

/// Whether a trim is due already.
static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// Schedules one trim shortly, unless one is due already: after a large document changed, or
/// when the last request holding an earlier version of one let it go (its tree is freed then,
/// perhaps long after the edit's own trim ran).
pub fn trim_soon() {
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Off the runtime (a test, a plain thread): the trim takes milliseconds, do it now.
        SCHEDULED.store(false, Ordering::Release);
        release_free_memory();
        return;
    };
    runtime.spawn(async {
        tokio::time::sleep(SETTLE).await;
        SCHEDULED.store(false, Ordering::Release);
        // A trim walks the arenas (milliseconds on a large heap): off the async workers.
        let _ = tokio::task::spawn_blocking(release_free_memory).await;
    });
}

/// Makes every thread allocate from one glibc arena. By default each thread that meets
/// contention gets an arena of its own, and a tree parsed on one worker thread while the old one
/// is still held elsewhere fills a second arena that stays resident (with a 5 MB file open,
/// 10,000 messages of the protocol test left +118 MiB at rest, +94 MiB with one arena). The
/// server's threads mostly wait and the model's hot loop allocates little, so they rarely contend
/// for it. Call it before any thread starts.
pub fn use_one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes the allocator's parameters; called before other threads
    // exist, it races with nothing.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
