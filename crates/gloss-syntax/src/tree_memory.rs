//! How much memory a parse allocates, so that a re-parse of a large document can stop before it
//! builds a second tree beside the first.
//!
//! A tree-sitter tree takes about 40 bytes per byte of source (some 200 MB for a 5 MB Python
//! file). An edit that changes how most of such a file parses (a bracket or quote near its top)
//! makes an incremental re-parse build a new tree of nearly that size while the old one is alive.
//! The old tree's nodes are then freed among the new tree's, and the allocator can give back few of
//! those pages: after a few hundred such edits the server held two trees' worth of memory for one.
//! Parsing from scratch after the old tree is gone reuses its memory instead, and costs about what
//! such an incremental re-parse costs anyway. Counting what tree-sitter allocates, per thread,
//! tells the two kinds of re-parse apart while one runs.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Once;
use std::sync::atomic::{AtomicIsize, Ordering};

thread_local! {
    /// Bytes tree-sitter asked for on this thread since it started (reallocations counted at
    /// their whole new size: an upper bound, which is what a budget needs).
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

/// Bytes of tree-sitter's allocations alive now, all threads together, and the most there were
/// since [`reset_peak`].
/// Signed: a block allocated before [`install`] and freed after it takes off what was never
/// put on.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn count_allocation(requested: usize, pointer: *mut c_void) {
    // `try_with`: tree-sitter may allocate while this thread's locals are being torn down.
    let _ =
        ALLOCATED.try_with(|allocated| allocated.set(allocated.get().saturating_add(requested)));
    if !pointer.is_null() {
        let size = usable_size(pointer);
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

fn count_free(pointer: *mut c_void) {
    if !pointer.is_null() {
        LIVE.fetch_sub(usable_size(pointer), Ordering::Relaxed);
    }
}

fn usable_size(pointer: *mut c_void) -> isize {
    // SAFETY: `pointer` is a live allocation of libc's allocator.
    let size = unsafe { libc::malloc_usable_size(pointer) };
    isize::try_from(size).unwrap_or(isize::MAX)
}

unsafe extern "C" fn counting_malloc(size: usize) -> *mut c_void {
    // SAFETY: plain libc allocation; tree-sitter checks the result.
    let pointer = unsafe { libc::malloc(size) };
    count_allocation(size, pointer);
    pointer
}

unsafe extern "C" fn counting_calloc(count: usize, size: usize) -> *mut c_void {
    // SAFETY: as above.
    let pointer = unsafe { libc::calloc(count, size) };
    count_allocation(count.saturating_mul(size), pointer);
    pointer
}

unsafe extern "C" fn counting_realloc(pointer: *mut c_void, size: usize) -> *mut c_void {
    count_free(pointer);
    // SAFETY: `pointer` is null or came from libc's allocator, through these functions or
    // tree-sitter's defaults, which are libc's too.
    let moved = unsafe { libc::realloc(pointer, size) };
    if moved.is_null() && size > 0 {
        // The old block is still there, and still counted as freed: count it back.
        if !pointer.is_null() {
            LIVE.fetch_add(usable_size(pointer), Ordering::Relaxed);
        }
        return moved;
    }
    count_allocation(size, moved);
    moved
}

unsafe extern "C" fn counting_free(pointer: *mut c_void) {
    count_free(pointer);
    // SAFETY: as above.
    unsafe { libc::free(pointer) }
}

/// Routes tree-sitter's allocations through the counters. Idempotent; called before any parse.
pub(crate) fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: the new functions allocate from and free to the same libc heap as tree-sitter's
        // defaults, so objects allocated before the switch are freed correctly after it, which is
        // the condition `ts_set_allocator` puts on switching while the library is in use.
        unsafe {
            tree_sitter::set_allocator(
                Some(counting_malloc),
                Some(counting_calloc),
                Some(counting_realloc),
                Some(counting_free),
            );
        }
    });
}

/// Bytes tree-sitter has allocated on this thread so far; subtract two readings for a span.
pub(crate) fn allocated_on_this_thread() -> usize {
    ALLOCATED.with(Cell::get)
}

/// Bytes of tree-sitter's memory in use now, all threads together.
#[cfg(test)]
pub(crate) fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak from what is in use now; [`peak`] then reads the most since.
#[cfg(test)]
pub(crate) fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

#[cfg(test)]
pub(crate) fn peak() -> isize {
    PEAK.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_is_counted_on_its_own_thread() {
        install();
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .expect("grammar loads");
        let before = allocated_on_this_thread();
        let source = "def f(x):\n    return x + 1\n".repeat(200);
        let tree = parser.parse(&source, None).expect("parses");
        let during = allocated_on_this_thread() - before;
        // Thousands of nodes of tens of bytes each.
        assert!(during > source.len(), "{during} bytes for {}", source.len());
        drop(tree);
        let other_thread = std::thread::spawn(allocated_on_this_thread)
            .join()
            .expect("joins");
        assert_eq!(other_thread, 0);
    }
}
