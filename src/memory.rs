//! How the process takes memory from the system.

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing to do).
/// mimalloc hands freed memory back to the system in small pieces; with huge pages on,
/// touching such a piece again faulted in a whole 2 MiB page, which the kernel zeroes
/// first: in `bench/files.rs`, 12-23% of all CPU samples were the kernel zeroing pages
/// (`clear_page_erms` in `perf`); without them an extraction of 300,000 rows took 0.81 s
/// instead of 1.27 s.
/// The setting is the whole process's: `main` calls it first.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_process_takes_no_huge_pages_after() {
        super::no_huge_pages();
        assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap());
    }
}
