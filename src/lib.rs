//! clip-plot: a folder of images plus their embeddings, prepared into a map you can fly through.
pub mod dataset;
pub mod thumbs;
