//! Stage 1, scan: find and join the images, embeddings and metadata ([`Dataset::open`]),
//! make the cache folder, sweep the temp files of an interrupted run, and read the last
//! run's manifest (what the later stages may reuse).

use super::run::Run;
use super::{PrepareError, io};
use crate::dataset::Dataset;

pub(crate) fn run(run: &mut Run) -> Result<Dataset, PrepareError> {
    run.progress.begin("scan", 0);
    let root = run.cache.root.clone();
    let mut options = run.opts.dataset.clone();
    options.cache = Some(root.clone());
    let dataset = Dataset::open(&options)?;
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    crate::cache::atomic::clean_temp_files(&root);
    run.previous = run.cache.read_manifest().ok();
    run.progress.end();
    Ok(dataset)
}
