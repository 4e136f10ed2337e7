//! What the window does with the explore requests: hotspot edits and undo, take-away,
//! colour-by and its legend, hiding, saved views, tags on one image, duplicates, and the
//! panels' lists derived from the session (selection thumbnails, tag counts, legend),
//! each rebuilt when the session's version of it changes.

use std::sync::Arc;

use super::session::Combine;
use super::{App, color_image, jobs, thumb_row};
use crate::explore::facets::FacetFilter;
use crate::explore::takeaway::{Method, Progress, safe_name};
use crate::ui::{DuplicateGroup, Request, SELECTION_PAGE};

/// Duplicate groups listed, and members shown per group.
const DUPLICATE_GROUPS: usize = 60;
const DUPLICATE_MEMBERS: usize = 12;

/// A take-away in progress.
pub(super) struct TakeAway {
    pub progress: Arc<Progress>,
    pub total: usize,
}

impl App {
    /// Requests that edit the user's data or what the map shows.
    pub(super) fn handle_explore(&mut self, request: Request) -> Result<(), String> {
        let (Some(g), Some(s)) = (&self.gfx, &mut self.session) else {
            return Ok(());
        };
        match request {
            Request::EditHotspots(edit) => {
                s.edit_hotspots(&edit)?;
                self.ui.hotspot_ticks.clear();
            }
            Request::HotspotFromSelection(name) => {
                s.hotspot_from_selection(&name)?;
                self.ui.status.message = Some(format!(
                    "made a hotspot of {} images (first in the list)",
                    s.selected
                ));
            }
            Request::Undo => {
                self.ui.status.message = Some(match s.undo()? {
                    Some(what) => format!("undid the last {what}"),
                    None => "nothing to undo".into(),
                });
            }
            Request::TakeAway(method) => {
                if s.selected == 0 {
                    return Err("select some images first".into());
                }
                if self.take_away.is_some() {
                    return Err("a copy is already running".into());
                }
                jobs::pick_take_away_folder(method, self.notifier.clone());
            }
            Request::CancelTakeAway => {
                if let Some(t) = &self.take_away {
                    t.progress
                        .cancel
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Request::Deselect(i) => s.select_with(&[i as u32], Combine::Remove),
            Request::SelectImages(ids) => {
                let ids: Vec<u32> = ids.into_iter().map(|i| i as u32).collect();
                s.select(&ids, false);
            }
            Request::SelectionPage(page) => {
                self.ui.selection_page = page;
                self.selection_seen = None;
            }
            Request::SetColourBy(column) => {
                s.set_colour_by(&g.gpu, column.as_deref())?;
                self.sync_colouring();
            }
            Request::LegendClick(k) => return self.legend_click(k),
            Request::SetHide(hide) => {
                s.hide = hide;
                self.ui.hide = hide;
            }
            Request::SaveView(name) => {
                s.save_view(&name, self.camera.camera)?;
                self.ui.status.message = Some(format!(
                    "saved view '{}' (clip-plot-view DATASET --view \"{}\" opens it)",
                    name.trim(),
                    name.trim()
                ));
                self.sync_views();
            }
            Request::OpenView(name) => self.open_view(&name)?,
            Request::DeleteView(name) => {
                if s.views.remove(&name) {
                    s.views.save(s.cache_dir()).map_err(|e| e.to_string())?;
                }
                self.sync_views();
            }
            Request::TagImage(i, name, on) => {
                s.tag_rows(&name, &[i], on)?;
                if let Some(lb) = &mut self.ui.lightbox
                    && lb.image == i
                {
                    lb.tags = s.tags_of(i);
                }
            }
            Request::ToggleTagFilter(name) => {
                self.ui.search = toggle_term(&self.ui.search, &tag_term(&name));
                self.handle_filter(Request::SetSearch(self.ui.search.clone()))?;
            }
            Request::FindDuplicates => self.find_duplicates()?,
            _ => {}
        }
        Ok(())
    }

    /// A legend entry toggles its value (or its step's range) as the colour column's facet.
    fn legend_click(&mut self, k: usize) -> Result<(), String> {
        let Some(s) = &self.session else {
            return Ok(());
        };
        let (Some(c), Some(entry)) = (&s.colouring, self.ui.legend.get(k)) else {
            return Ok(());
        };
        let column = c.column.clone();
        let request = match &entry.filter {
            None => return Err("\"other\" is many values: pick them in the facets".into()),
            Some(FacetFilter::Values(values)) => {
                let value = values.iter().next().cloned().unwrap_or_default();
                Request::ToggleFacetValue(column, value)
            }
            Some(FacetFilter::Range(a, b)) => {
                let same = matches!(s.filters.facets.get(&column),
                    Some(FacetFilter::Range(x, y)) if x == a && y == b);
                if same {
                    Request::ClearFacet(column)
                } else {
                    Request::SetFacetRange(column, *a, *b)
                }
            }
        };
        self.handle_filter(request)
    }

    /// Shows saved view `name`.
    pub(super) fn open_view(&mut self, name: &str) -> Result<(), String> {
        let (Some(g), Some(s)) = (&self.gfx, &mut self.session) else {
            return Ok(());
        };
        let view = s.views.get(name)?.clone();
        let camera = s.apply_view(&g.gpu, &view)?;
        self.ui.current = s.current.clone();
        self.ui.search = s.filters.search.clone();
        self.ui.hide = s.hide;
        if let Some(camera) = camera {
            self.camera.fly_to(camera, 0.8);
        }
        self.sync_colouring();
        self.ui.status.message = Some(format!("view '{}'", view.name));
        Ok(())
    }

    /// Starts copying or linking the selection into `folder`.
    pub(super) fn start_take_away(&mut self, method: Method, folder: std::path::PathBuf) {
        let Some(s) = &self.session else {
            return;
        };
        let images: Vec<_> = s
            .selected_ids()
            .into_iter()
            .filter_map(|i| {
                let name = s.prepared.images.get(i as usize)?.to_string();
                Some((name, s.prepared.source(i as usize).ok()?))
            })
            .collect();
        let progress = Arc::new(Progress::default());
        self.take_away = Some(TakeAway {
            progress: progress.clone(),
            total: images.len(),
        });
        jobs::take_away(images, folder, method, progress, self.notifier.clone());
    }

    /// Groups of near-identical images, with thumbnails, for the duplicates window.
    fn find_duplicates(&mut self) -> Result<(), String> {
        let Some(s) = &self.session else {
            return Ok(());
        };
        let graph = s
            .prepared
            .dir
            .read_neighbours()
            .map_err(|e| format!("no neighbour table yet ({e}): let prepare finish"))?;
        let groups =
            crate::explore::similar::duplicate_groups(&graph, self.ui.duplicate_min.min(1.0));
        let found = groups.len();
        let rows = groups
            .into_iter()
            .take(DUPLICATE_GROUPS)
            .map(|members| DuplicateGroup {
                members: members
                    .into_iter()
                    .take(DUPLICATE_MEMBERS)
                    .map(|i| {
                        let texture = s.large_thumb(i).map(|img| {
                            self.egui.load_texture(
                                format!("duplicate {i}"),
                                color_image(&img),
                                egui::TextureOptions::LINEAR,
                            )
                        });
                        (i, s.prepared.images[i].to_string(), texture)
                    })
                    .collect(),
            })
            .collect();
        self.ui.duplicates = Some(rows);
        self.ui.status.message = Some(format!(
            "{found} groups of near-duplicates (similarity at least {:.2})",
            self.ui.duplicate_min
        ));
        Ok(())
    }

    /// The panels' derived lists, rebuilt when the session's versions moved on.
    pub(super) fn sync_derived(&mut self) {
        let Some(s) = &self.session else {
            return;
        };
        let key = (s.selection_version, self.ui.selection_page);
        if self.selection_seen != Some(key) {
            self.selection_seen = Some(key);
            self.sync_selection();
        }
        let Some(s) = &self.session else {
            return;
        };
        let key = (s.tags_version, s.outcome_version);
        if self.tags_seen != Some(key) {
            self.tags_seen = Some(key);
            self.sync_tag_counts();
        }
        let Some(s) = &self.session else {
            return;
        };
        let active = s.colouring.as_ref().map(|c| {
            let chosen = s.filters.facets.get(&c.column);
            c.legend
                .iter()
                .map(|e| match (&e.filter, chosen) {
                    (Some(FacetFilter::Values(v)), Some(FacetFilter::Values(set))) => {
                        v.iter().all(|x| set.contains(x))
                    }
                    (Some(FacetFilter::Range(a, b)), Some(FacetFilter::Range(x, y))) => {
                        a == x && b == y
                    }
                    _ => false,
                })
                .collect()
        });
        self.ui.legend_active = active.unwrap_or_default();
        self.ui.take_away = self.take_away.as_ref().map(|t| {
            (
                t.progress.done.load(std::sync::atomic::Ordering::Relaxed),
                t.total,
            )
        });
    }

    /// The selection count and the thumbnails of the page shown.
    fn sync_selection(&mut self) {
        let Some(s) = &self.session else {
            return;
        };
        self.ui.selected = s.selected;
        let ids = s.selected_ids();
        let pages = ids.len().div_ceil(SELECTION_PAGE).max(1);
        self.ui.selection_page = self.ui.selection_page.min(pages - 1);
        let start = self.ui.selection_page * SELECTION_PAGE;
        self.ui.selection_rows = ids
            .iter()
            .skip(start)
            .take(SELECTION_PAGE)
            .map(|&i| thumb_row(&self.egui, s, i as usize, "selected"))
            .collect();
    }

    /// Each user tag with how many images the filters let through carry it.
    fn sync_tag_counts(&mut self) {
        let Some(s) = &self.session else {
            return;
        };
        let pass = s.outcome.as_ref().map(|o| &o.pass);
        self.ui.user_tags = s
            .explorer
            .tags
            .counts()
            .into_iter()
            .map(|(name, all)| {
                let count = match (pass, s.explorer.tags.rows(&name)) {
                    (Some(p), Some(rows)) => {
                        let mut b = rows.clone();
                        b.and(p);
                        b.count()
                    }
                    _ => all,
                };
                let on = has_term(&self.ui.search, &tag_term(&name));
                (name, count, on)
            })
            .collect();
    }

    /// The colour-by picker's columns and the legend from the session.
    pub(super) fn sync_colouring(&mut self) {
        let Some(s) = &mut self.session else {
            return;
        };
        self.ui.colour_columns = crate::explore::colour::colourable(s.facets());
        self.ui.colour_by = s.colouring.as_ref().map(|c| c.column.clone());
        self.ui.legend = s
            .colouring
            .as_ref()
            .map(|c| c.legend.clone())
            .unwrap_or_default();
    }

    /// The saved views' names from the session.
    pub(super) fn sync_views(&mut self) {
        if let Some(s) = &self.session {
            self.ui.views = s.views.saved.iter().map(|v| v.name.clone()).collect();
        }
    }
}

/// `tag:NAME` as the search box writes it (quoted when the name has spaces).
fn tag_term(name: &str) -> String {
    if name.contains(char::is_whitespace) || name.contains('"') {
        format!("tag:\"{}\"", name.replace('"', ""))
    } else {
        format!("tag:{name}")
    }
}

/// Whether `search` holds `term` as a whole term.
fn has_term(search: &str, term: &str) -> bool {
    term_at(search, term).is_some()
}

/// Where `term` stands alone in `search` (bounded by spaces or the ends).
fn term_at(search: &str, term: &str) -> Option<usize> {
    search.match_indices(term).map(|(i, _)| i).find(|&i| {
        let before = search[..i].chars().next_back();
        let after = search[i + term.len()..].chars().next();
        before.is_none_or(char::is_whitespace) && after.is_none_or(char::is_whitespace)
    })
}

/// `search` with `term` removed when it is there, else added at the end.
fn toggle_term(search: &str, term: &str) -> String {
    let out = match term_at(search, term) {
        Some(i) => format!("{}{}", &search[..i], &search[i + term.len()..]),
        None => format!("{search} {term}"),
    };
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl App {
    /// Opens an image in the system's viewer: its file, or, for a member of a tar shard or a
    /// row of a table of images (no viewer reads inside those), a copy written into the
    /// cache's `opened/` folder.
    pub(super) fn open_in_system_viewer(
        &mut self,
        source: &crate::dataset::ImageSource,
    ) -> Result<(), String> {
        if let crate::dataset::ImageSource::File(path) = source {
            return jobs::open_externally(path.as_os_str());
        }
        let Some(s) = &self.session else {
            return Ok(());
        };
        let name =
            (self.ui.lightbox.as_ref()).map_or_else(|| "image".into(), |lb| safe_name(&lb.title));
        let folder = s.prepared.dir.opened();
        let path = folder.join(name);
        let failed = |e: std::io::Error| format!("{}: {e}", source.describe());
        let bytes = source.read().map_err(failed)?;
        std::fs::create_dir_all(&folder)
            .and_then(|()| crate::cache::atomic_write(&path, &bytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        jobs::open_externally(path.as_os_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_terms_toggle_in_the_search() {
        assert_eq!(tag_term("keep"), "tag:keep");
        assert_eq!(tag_term("to check"), "tag:\"to check\"");
        let t = tag_term("to check");
        let s = toggle_term("owl", &t);
        assert_eq!(s, "owl tag:\"to check\"");
        assert!(has_term(&s, &t));
        assert_eq!(toggle_term(&s, &t), "owl");
        assert!(!has_term("tag:keeper", "tag:keep"));
        assert_eq!(toggle_term("tag:keeper", "tag:keep"), "tag:keeper tag:keep");
    }
}
