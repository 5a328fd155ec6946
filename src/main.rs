//! The `qualdex` binary: everything happens in [`qualdex::cli`].

fn main() -> std::process::ExitCode {
    qualdex::cli::main()
}
