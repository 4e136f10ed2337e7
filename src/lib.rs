//! clip-plot: a folder of images plus their embeddings, prepared into a map you can fly through.
//!
//! Data flow one way: [`dataset`] (the user's files, read-only) → [`prepare`] (thumbnails,
//! layouts) → [`cache`] (on disk) → the viewer. See ARCHITECTURE.md.
pub mod app;
pub mod cache;
pub mod cluster;
pub mod dataset;
pub mod demo;
pub mod explore;
pub mod export;
pub mod layout;
pub mod prepare;
pub mod render;
pub mod thumbs;
pub mod ui;
