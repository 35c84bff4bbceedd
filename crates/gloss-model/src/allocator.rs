//! Handing the allocator's free pages back to the operating system.
//!
//! glibc keeps what a process frees inside its heap, and gives back only the top of it on its
//! own. A model thread that ran a long prompt, or a server that re-parsed a large file, would hold
//! tens to hundreds of megabytes it no longer uses until something asks for a trim.

/// Returns the allocator's free pages to the operating system (glibc only; elsewhere nothing).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only inspects and releases the allocator's own free lists; it is
    // thread-safe and has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
