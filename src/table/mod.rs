//! Tables computed from the index and its manifest. A table never formats:
//! it returns a [`crate::render::Table`] for a renderer.

pub mod corpus;
