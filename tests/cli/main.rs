//! Integration tests: the real `qualdex` binary on studies the tests write.
//! One test binary (fast to link); one module per concern.
// Tests and benchmarks report to the person running them.
#![allow(clippy::print_stderr)]

mod support;

mod coding;
mod demo;
mod errors;
mod ingest;
mod report;
mod safety_codings;
mod safety_index;
mod safety_inputs;
mod safety_locks;
mod safety_output;
mod safety_paths;
mod search;
mod tables;
