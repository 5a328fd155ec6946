//! Links the `qualdex` binary as a position-dependent executable on Linux.
//!
//! A position-independent executable has its tables of pointers patched at
//! every start (about 27,000 relocations over 500 KB here), which the kernel
//! does page by page: some 0.4 ms of a command that often takes 5-10 ms, and
//! scripts run qualdex thousands of times. Only the binaries are linked this
//! way; the library and its procedural macros are built as usual.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
