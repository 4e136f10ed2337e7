//! Saved views: what the map shows (layout, camera, filters, colour-by, dim or hide)
//! under a name, so a view can be reopened in the window (`--view NAME`), drawn
//! (`render --view NAME`) and exported (`export --view NAME`) exactly.
//!
//! Views are the user's data: `user/views.json`, written atomically, names and
//! expressions escaped by serde's JSON (a view called `"; rm -rf /` is only ever text).
//! The window also keeps the view it closed on as `last`, restored when the dataset is
//! opened again without `--view`. The filters are stored as the window holds them (search
//! text and each facet's choice), not as one expression, so the panels come back as they
//! were; [`View::expression`] turns them into the filter language for the commands.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use super::facets::Facet;
use super::state::FilterState;
use crate::cache::{CacheDir, CacheError};

/// Where the views live in the cache.
pub const VIEWS_FILE: &str = "user/views.json";
/// The longest view name, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// A camera as saved: the centre and how much of the layout fits across the view.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedCamera {
    pub centre: Vec2,
    pub span: f32,
}

/// One saved view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    pub layout: String,
    pub camera: Option<SavedCamera>,
    #[serde(default)]
    pub filters: FilterState,
    #[serde(default)]
    pub colour_by: Option<String>,
    /// Filtered-out images hidden rather than dimmed.
    #[serde(default)]
    pub hide: bool,
}

impl View {
    /// The view's filters as one filter-language expression.
    pub fn expression(&self, facets: &[Facet]) -> String {
        self.filters.expression(facets)
    }
}

#[derive(Default, Serialize, Deserialize)]
struct ViewFile {
    version: u32,
    #[serde(default)]
    last: Option<View>,
    #[serde(default)]
    views: Vec<View>,
}

/// The views of one dataset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Views {
    pub saved: Vec<View>,
    /// The view the window was closed on.
    pub last: Option<View>,
}

/// A view name as stored: trimmed, without control characters, not too long.
pub fn clean_name(name: &str) -> Result<String, String> {
    super::clean_name(name, "view", MAX_NAME_CHARS)
}

impl Views {
    /// Reads the dataset's views (none yet: none).
    pub fn load(dir: &CacheDir) -> Result<Self, CacheError> {
        if !dir.root.join(VIEWS_FILE).is_file() {
            return Ok(Self::default());
        }
        let file: ViewFile = dir.read_json(VIEWS_FILE)?;
        Ok(Self {
            saved: file.views,
            last: file.last,
        })
    }

    /// Writes the views atomically.
    pub fn save(&self, dir: &CacheDir) -> Result<(), CacheError> {
        let file = ViewFile {
            version: 1,
            last: self.last.clone(),
            views: self.saved.clone(),
        };
        dir.write_json(&dir.root.join(VIEWS_FILE), &file)
    }

    /// The view called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Result<&View, String> {
        let name = name.trim();
        self.saved
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<&str> = self.saved.iter().map(|v| v.name.as_str()).collect();
                if names.is_empty() {
                    format!(
                        "this dataset has no saved view called '{name}' (no views yet: save \
                         one in the window's Views panel)"
                    )
                } else {
                    format!(
                        "this dataset has no saved view called '{name}' (views: {})",
                        names.join(", ")
                    )
                }
            })
    }

    /// Saves `view` under its name, replacing a view of the same name.
    pub fn put(&mut self, mut view: View) -> Result<(), String> {
        view.name = clean_name(&view.name)?;
        match self
            .saved
            .iter_mut()
            .find(|v| v.name.eq_ignore_ascii_case(&view.name))
        {
            Some(old) => *old = view,
            None => self.saved.push(view),
        }
        Ok(())
    }

    /// Forgets the view called `name`; whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.saved.len();
        self.saved
            .retain(|v| !v.name.eq_ignore_ascii_case(name.trim()));
        self.saved.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str) -> View {
        View {
            name: name.into(),
            layout: "umap".into(),
            camera: Some(SavedCamera {
                centre: Vec2::new(0.25, -0.5),
                span: 0.3,
            }),
            filters: FilterState {
                search: "owl -\"barn owl\"".into(),
                facets: Default::default(),
            },
            colour_by: Some("category".into()),
            hide: true,
        }
    }

    #[test]
    fn cameras_are_saved_as_the_same_json_as_before_glam() {
        // Views saved when the centre was a `[f32; 2]` still open, and are written alike.
        let old = r#"{"centre":[0.25,-0.5],"span":0.3}"#;
        let camera: SavedCamera = serde_json::from_str(old).unwrap();
        assert_eq!(camera.centre, Vec2::new(0.25, -0.5));
        assert_eq!(serde_json::to_string(&camera).unwrap(), old);
    }

    #[test]
    fn views_round_trip_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().to_path_buf());
        let mut views = Views::default();
        views.put(view("  Owls\"; rm -rf / ")).unwrap();
        views.put(view("Second")).unwrap();
        views.last = Some(view("last"));
        assert!(views.put(view("a\nb")).is_err());
        assert!(views.put(view(" ")).is_err());
        views.save(&cache).unwrap();
        let back = Views::load(&cache).unwrap();
        assert_eq!(back, views);
        assert_eq!(back.saved[0].name, "Owls\"; rm -rf /");
        assert_eq!(
            back.get("second").unwrap().filters.search,
            "owl -\"barn owl\""
        );
        let text = std::fs::read_to_string(dir.path().join(VIEWS_FILE)).unwrap();
        assert!(text.contains(r#"Owls\"; rm -rf /"#), "{text}");
        // Saving under an existing name replaces it.
        let mut other = view("SECOND");
        other.layout = "grid".into();
        views.put(other).unwrap();
        assert_eq!(views.saved.len(), 2);
        assert_eq!(views.get("second").unwrap().layout, "grid");
        assert!(views.get("third").unwrap_err().contains("views: Owls"));
        assert!(views.remove("owls\"; rm -rf /"));
    }
}
