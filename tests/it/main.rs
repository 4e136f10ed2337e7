//! Every integration test in one binary: one link of wgpu, egui and parquet instead of
//! ten (linking was most of CI's time), and one place for the fixtures they share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod bad_inputs;
mod coords;
mod explore;
mod image_tables;
mod img2dataset;
mod ingest;
mod layout_quality;
mod layouts;
mod panels;
mod prepare;
mod render;
mod session;
mod shards;
mod vector_tables;
mod webdataset;
mod window;
