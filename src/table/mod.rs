//! Tables computed from the index and its manifest. A table never formats:
//! it returns data that converts into a [`crate::render::Table`].

pub mod codebook;
pub mod coded;
pub mod cooccur;
pub mod corpus;
pub mod framework;
pub mod matrix;
pub mod quotes;
pub mod saturation;
pub mod spec;
pub mod structure;
