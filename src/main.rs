//! The `qualdex` binary: everything happens in [`qualdex::cli`].

// Coding and indexing allocate many small strings (evidence, unit ids) on
// every thread; mimalloc keeps that cheap where the system allocator does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    qualdex::cli::main()
}
