//! One prepared dataset opened for finding things: its catalog, the user's tags and the
//! named hotspots, answering filter expressions and similarity queries. The window's
//! session and the `export` and `tag` commands each hold one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bits::Bits;
use super::catalog::Catalog;
use super::filter::{Expr, FilterError, Scope};
use super::similar;
use super::tags::{TagError, UserTags, clean_name};
use crate::cache::{CacheError, PreparedDataset};
use crate::cluster::Hotspots;
use crate::dataset::paths::{ImageFile, PathIndex, Resolution};
use crate::layout::meta::MapLabel;

/// What a query can go wrong with.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("{0}")]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Tag(#[from] TagError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// An image named on the command line that is not in the dataset (or not uniquely).
    #[error("{0}")]
    Image(String),
    /// A saved view named on the command line that does not exist.
    #[error("{0}")]
    View(String),
    #[error(
        "this dataset has no similarity vectors yet: run `clip-plot-view prepare` on it (the \
         `vectors` stage writes them)"
    )]
    NoVectors,
}

/// A prepared dataset, searchable.
pub struct Explorer {
    pub prepared: Arc<PreparedDataset>,
    /// Built on first use: lower-casing a million rows' text is not worth doing for a
    /// window that only flies (opening stays well under a second).
    catalog: std::sync::OnceLock<Catalog>,
    /// Every metadata column typed, on first use (the window, views and colouring share it).
    facets: std::sync::OnceLock<Vec<super::facets::Facet>>,
    pub tags: UserTags,
    pub hotspots: Option<Hotspots>,
}

impl Explorer {
    /// Builds the catalog and reads the tags and hotspots of `prepared`.
    pub fn open(prepared: Arc<PreparedDataset>) -> Result<Self, CacheError> {
        let tags = UserTags::load(&prepared.dir, &prepared.images)?;
        let hotspots = super::hotspots::load(&prepared);
        Ok(Self {
            prepared,
            catalog: std::sync::OnceLock::new(),
            facets: std::sync::OnceLock::new(),
            tags,
            hotspots,
        })
    }

    pub fn len(&self) -> usize {
        self.prepared.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prepared.is_empty()
    }

    /// The searchable text of every image.
    pub fn catalog(&self) -> &Catalog {
        self.catalog.get_or_init(|| {
            let names = self.prepared.images.to_vec();
            Catalog::new(&names, self.prepared.metadata.table())
        })
    }

    /// Every metadata column's facet, typed once.
    pub fn facets(&self) -> &[super::facets::Facet] {
        self.facets
            .get_or_init(|| super::facets::facets(self.catalog()))
    }

    pub fn scope(&self) -> Scope<'_> {
        Scope {
            catalog: self.catalog(),
            tags: Some(&self.tags),
            hotspots: self.hotspots.as_ref(),
        }
    }

    /// The images `expression` lets through (an empty expression: all of them).
    pub fn filter(&self, expression: &str) -> Result<Bits, FilterError> {
        Expr::parse(expression, self.catalog())?.eval(&self.scope())
    }

    /// The image named `name` as the dataset's files name each other
    /// ([`PathIndex::resolve`]): its path in the images folder, the path of its file
    /// (absolute, or from the current folder: what a shell completes), else the longest
    /// path suffix only one image has; accents in either Unicode composition.
    pub fn find_image(&self, name: &str) -> Result<usize, ExploreError> {
        let images = &self.prepared.images;
        let manifest = self.prepared.manifest();
        let dir = Path::new(&manifest.dataset_root).join(&manifest.images_dir);
        let files: Vec<ImageFile> = (images.iter())
            .map(|rel| ImageFile {
                rel: rel.to_string(),
                abs: PathBuf::new(),
                size: 0,
                mtime_ns: 0,
                member: None,
            })
            .collect();
        let index = PathIndex::new(&dir, &files);
        let here = std::env::current_dir().unwrap_or_default();
        match index.resolve(name, &[&here]) {
            Resolution::Found(i) => Ok(i),
            Resolution::NotFound => Err(ExploreError::Image(format!(
                "no image of this dataset is called '{}': give its path relative to the \
                 images folder (for example '{}')",
                name.trim(),
                images.first().unwrap_or("")
            ))),
            Resolution::Ambiguous(many) => Err(ExploreError::Image(format!(
                "{} images are called '{}' ({}{}): give more of the path",
                many.len(),
                name.trim(),
                many.iter()
                    .take(5)
                    .map(|&i| &images[i])
                    .collect::<Vec<_>>()
                    .join(", "),
                if many.len() > 5 { ", …" } else { "" }
            ))),
        }
    }

    /// Every image's cosine similarity to the mean of `rows`.
    pub fn similarity_to(&self, rows: &[usize]) -> Result<Vec<f32>, ExploreError> {
        let vectors = crate::cache::vectors::open(&self.prepared.dir, self.len())
            .ok_or(ExploreError::NoVectors)?;
        let query = similar::query_of(&vectors, rows).ok_or_else(|| {
            ExploreError::Image("the chosen images have no usable embedding".into())
        })?;
        Ok(similar::similarities(&vectors, &query))
    }

    /// The saved view called `name`.
    pub fn view(&self, name: &str) -> Result<super::views::View, ExploreError> {
        let views = super::views::Views::load(&self.prepared.dir)?;
        views.get(name).cloned().map_err(ExploreError::View)
    }

    /// The images `view`'s filters let through.
    pub fn view_filter(&self, view: &super::views::View) -> Result<Bits, FilterError> {
        self.filter(&view.expression(self.facets()))
    }

    /// The images coloured by `column`, as a view or `render` asks.
    pub fn colouring(&self, column: &str) -> Result<super::colour::Colouring, ExploreError> {
        let facets = self.facets();
        super::colour::colour_by(self.catalog(), facets, column).ok_or_else(|| {
            ExploreError::View(format!(
                "'{column}' cannot colour the map (columns that can: {})",
                super::colour::colourable(facets).join(", ")
            ))
        })
    }

    /// The labels layout `layout` shows: its own (categories, years, initials, the "no
    /// position" block), and on UMAP-like layouts the hotspots' (as the user named them;
    /// with `shown`, only hotspots with an image in it).
    pub fn map_labels(
        &self,
        layout: &str,
        shown: Option<&Bits>,
    ) -> Result<Vec<MapLabel>, CacheError> {
        let mut labels = self
            .prepared
            .layout_extras(layout)
            .map(|e| e.labels)
            .unwrap_or_default();
        if crate::layout::kind::shows_hotspots(layout, &self.prepared.hotspot_source())
            && let Some(h) = &self.hotspots
        {
            let (positions, cell) = crate::render::layout_with_cell(&self.prepared, layout)?;
            let keep = |i: usize| shown.is_none_or(|b| b.get(i));
            let boxes = h.boxes_where(&positions, keep);
            let finer = h.finer_boxes_where(&positions, keep);
            labels.extend(h.map_labels(&boxes, &finer, cell));
        }
        Ok(labels)
    }

    /// Puts back `tags` (an undo) and saves them.
    pub fn restore_tags(&mut self, tags: UserTags) -> Result<(), CacheError> {
        self.tags = tags;
        self.tags.save(&self.prepared.dir, &self.prepared.images)
    }

    /// Adds (`on`) or removes tag `name` on `rows` and saves the tags; how many changed.
    pub fn tag(
        &mut self,
        name: &str,
        rows: impl IntoIterator<Item = usize>,
        on: bool,
    ) -> Result<usize, ExploreError> {
        let name = clean_name(name)?;
        let changed = self.tags.set(&name, rows, on);
        if changed > 0 {
            self.tags.save(&self.prepared.dir, &self.prepared.images)?;
        }
        Ok(changed)
    }
}
