//! Colour by a field: each image gets a palette entry from one metadata column, drawn as
//! a coloured frame and a light tint, with a legend whose entries are filters.
//!
//! Categorical and list columns colour their 10 most frequent values (a list cell takes
//! its most frequent item) with a qualitative palette (Tableau 10, readable on dark and
//! light backgrounds) and everything else grey as "other"; numeric and year columns split
//! their range into 8 equal steps coloured along viridis (perceptually even, readable by
//! colour-blind people). An image gets a palette index (0: uncoloured), 8 bits the shader
//! reads from the per-image state word, so colouring a million images costs one pass over
//! the facet's codes and one upload, and the palette itself is a 256-entry table.
//! Clicking a legend entry toggles its value (or step's range) as a facet filter, so the
//! legend, the facets panel, saved views and `export --where` agree.

use super::catalog::Catalog;
use super::facets::{Facet, FacetFilter, FacetKind};

/// Qualitative palette, Tableau 10.
const QUALITATIVE: [[u8; 3]; 10] = [
    [78, 121, 167],
    [242, 142, 43],
    [225, 87, 89],
    [118, 183, 178],
    [89, 161, 79],
    [237, 201, 72],
    [176, 122, 161],
    [255, 157, 167],
    [156, 117, 95],
    [186, 176, 172],
];
/// "Other" and values a numeric column does not have.
const GREY: [u8; 3] = [110, 110, 110];
/// Viridis, 8 steps.
const VIRIDIS: [[u8; 3]; 8] = [
    [68, 1, 84],
    [70, 50, 126],
    [54, 92, 141],
    [39, 127, 142],
    [31, 161, 135],
    [74, 193, 109],
    [160, 218, 57],
    [253, 231, 37],
];
/// Steps of a numeric colouring.
pub const STEPS: usize = VIRIDIS.len();

/// One legend entry.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub colour: [u8; 3],
    pub count: usize,
    /// What clicking it filters by (None: "other", which is not one filter).
    pub filter: Option<FacetFilter>,
}

/// Every image's colour by one column.
#[derive(Clone, Debug, PartialEq)]
pub struct Colouring {
    pub column: String,
    /// Per image: palette index, 0 for none.
    pub index: Vec<u8>,
    /// Palette index k's colour is `palette[k - 1]`.
    pub palette: Vec<[u8; 3]>,
    pub legend: Vec<LegendEntry>,
}

impl Colouring {
    /// The colour of image `i`, if it has one.
    pub fn colour_of(&self, i: usize) -> Option<[u8; 3]> {
        let k = *self.index.get(i)? as usize;
        (k > 0).then(|| self.palette.get(k - 1).copied()).flatten()
    }
}

/// Colours the images by `column` (None: no such column, or free text).
pub fn colour_by(catalog: &Catalog, facets: &[Facet], column: &str) -> Option<Colouring> {
    let facet = facets
        .iter()
        .find(|f| f.column.eq_ignore_ascii_case(column))?;
    let col = catalog.column(&facet.column)?;
    match facet.kind {
        FacetKind::Categorical | FacetKind::List => Some(categorical(facet, col.len())),
        FacetKind::Numeric | FacetKind::Year => Some(numeric(facet, col.numbers())),
        FacetKind::Text => None,
    }
}

fn categorical(facet: &Facet, n: usize) -> Colouring {
    let shown = facet.values.len().min(QUALITATIVE.len());
    let other = facet.values.len() > shown;
    let mut index = vec![0u8; n];
    let mut counts = vec![0usize; shown + 1];
    for (i, slot) in index.iter_mut().enumerate() {
        // Codes are ordered most frequent first, so the smallest code is the most frequent.
        let Some(&code) = facet.codes_of(i).iter().min() else {
            continue;
        };
        let k = (code as usize).min(shown);
        counts[k] += 1;
        *slot = (k + 1) as u8;
    }
    let mut palette: Vec<[u8; 3]> = QUALITATIVE[..shown].to_vec();
    palette.push(GREY);
    let mut legend: Vec<LegendEntry> = (0..shown)
        .map(|k| LegendEntry {
            label: facet.values[k].clone(),
            colour: palette[k],
            count: counts[k],
            filter: Some(FacetFilter::Values([facet.values[k].clone()].into())),
        })
        .collect();
    if other {
        legend.push(LegendEntry {
            label: format!("other ({} values)", facet.values.len() - shown),
            colour: GREY,
            count: counts[shown],
            filter: None,
        });
    }
    Colouring {
        column: facet.column.clone(),
        index,
        palette,
        legend,
    }
}

fn numeric(facet: &Facet, numbers: &[f64]) -> Colouring {
    let mut index = vec![0u8; numbers.len()];
    let mut counts = [0usize; STEPS];
    let Some((lo, hi)) = facet.range else {
        return Colouring {
            column: facet.column.clone(),
            index,
            palette: VIRIDIS.to_vec(),
            legend: Vec::new(),
        };
    };
    let width = (hi - lo) / STEPS as f64;
    for (slot, &v) in index.iter_mut().zip(numbers) {
        if v.is_nan() || v < lo || v > hi {
            continue;
        }
        let k = if width > 0.0 {
            (((v - lo) / width) as usize).min(STEPS - 1)
        } else {
            0
        };
        counts[k] += 1;
        *slot = (k + 1) as u8;
    }
    let year = facet.kind == FacetKind::Year;
    let fmt = |v: f64| {
        if year {
            format!("{:.0}", v.floor())
        } else {
            format!("{v:.3}")
        }
    };
    let steps = if width > 0.0 { STEPS } else { 1 };
    let legend = (0..steps)
        .map(|k| {
            let (a, b) = (lo + width * k as f64, lo + width * (k + 1) as f64);
            LegendEntry {
                label: format!("{} – {}", fmt(a), fmt(b)),
                colour: VIRIDIS[k],
                count: counts[k],
                filter: Some(FacetFilter::Range(a, b)),
            }
        })
        .collect();
    Colouring {
        column: facet.column.clone(),
        index,
        palette: VIRIDIS.to_vec(),
        legend,
    }
}

/// Columns that can colour the map, in facet order.
pub fn colourable(facets: &[Facet]) -> Vec<String> {
    facets
        .iter()
        .filter(|f| f.kind != FacetKind::Text)
        .map(|f| f.column.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Table;
    use crate::explore::facets::facets;

    fn catalog() -> Catalog {
        let mut cells = vec![Vec::new(), Vec::new()];
        for i in 0..40 {
            let kind = match i % 4 {
                0 | 1 => "bird",
                2 => "cat",
                _ => "fish",
            };
            cells[0].push(kind.to_string());
            cells[1].push((1900 + i).to_string());
        }
        cells[0][39] = String::new();
        let table = Table {
            columns: vec!["kind".into(), "year".into()],
            cells,
        };
        let names: Vec<String> = (0..40).map(|i| format!("{i}.jpg")).collect();
        Catalog::new(&names, &table)
    }

    #[test]
    fn categories_get_colours_and_legend_counts() {
        let c = catalog();
        let f = facets(&c);
        let col = colour_by(&c, &f, "KIND").unwrap();
        let labels: Vec<(&str, usize)> = col
            .legend
            .iter()
            .map(|e| (e.label.as_str(), e.count))
            .collect();
        assert_eq!(labels, [("bird", 20), ("cat", 10), ("fish", 9)]);
        assert_eq!(col.colour_of(0), Some(QUALITATIVE[0]));
        assert_eq!(col.colour_of(2), Some(QUALITATIVE[1]));
        assert_eq!(col.colour_of(39), None, "an empty cell stays uncoloured");
        assert_eq!(
            col.legend[1].filter,
            Some(FacetFilter::Values(["cat".to_string()].into()))
        );
    }

    #[test]
    fn years_step_along_viridis() {
        let c = catalog();
        let f = facets(&c);
        let col = colour_by(&c, &f, "year").unwrap();
        assert_eq!(col.legend.len(), STEPS);
        assert_eq!(col.legend.iter().map(|e| e.count).sum::<usize>(), 40);
        assert_eq!(col.colour_of(0), Some(VIRIDIS[0]));
        assert_eq!(col.colour_of(39), Some(VIRIDIS[STEPS - 1]));
        assert_eq!(col.legend[0].label, "1900 – 1904");
        assert!(colour_by(&c, &f, "nope").is_none());
        assert_eq!(colourable(&f), ["kind", "year"]);
    }
}
