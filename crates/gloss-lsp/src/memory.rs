//! Giving memory back after large documents come and go.
//!
//! Opening or editing a file of megabytes passes several short-lived copies of it through the
//! transport, the JSON decoder and the document store, and re-parses grow and drop tree nodes by
//! the hundred thousand. glibc's allocator keeps what those freed inside its arenas, so a server
//! that edits a 5 MB file a few times held hundreds of megabytes it no longer used. After such an
//! operation, once things are quiet for a moment, the freed pages are handed back to the system.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Documents from this size on are worth a trim after they change.
pub const LARGE_DOCUMENT_BYTES: usize = 1 << 20;
/// A burst of edits to a large file ends in one trim, not one per keystroke.
const SETTLE: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct Trimmer {
    scheduled: Arc<AtomicBool>,
}

impl Trimmer {
    /// Schedules one trim shortly, unless one is scheduled already. Needs a tokio runtime.
    pub fn after_large_change(&self) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let scheduled = self.scheduled.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SETTLE).await;
            scheduled.store(false, Ordering::Release);
            // A trim walks the arenas (milliseconds on a large heap): off the async workers.
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
        });
    }
}

/// Returns the allocator's free pages to the operating system.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only inspects and releases the allocator's own free lists; it is
    // thread-safe and has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
