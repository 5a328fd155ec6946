//! qualdex: index interview transcripts, code them with a YAML codebook and
//! build the cross-case tables of a multi-case study.
//!
//! Data flows one way: files ([`corpus`]) → index ([`index`]) → coding
//! ([`codebook`], [`coding`]) → queries ([`query`]) → tables ([`table`]) →
//! renderers ([`render`]). The command line lives in [`cli`]; nothing below it
//! parses arguments.

pub mod analysis;
pub mod cli;
pub mod codebook;
pub mod coding;
pub mod corpus;
pub mod diag;
pub mod fsutil;
pub mod index;
pub mod query;
pub mod querylang;
pub mod refresh;
pub mod render;
pub mod report;
pub mod study;
pub mod table;
pub mod yaml;
