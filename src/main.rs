//! The `qualdex` binary: everything happens in [`qualdex::cli`].

// Coding and indexing allocate many small strings (evidence, unit ids) on
// every thread; mimalloc keeps that cheap where the system allocator does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // mimalloc asks for transparent huge pages, and the kernel then zeroes
    // 2 MiB on each thread's first allocation: a millisecond or two of a
    // search that takes ten. Small pages cost nothing measurable elsewhere.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    qualdex::cli::main()
}
