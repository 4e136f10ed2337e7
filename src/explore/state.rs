//! The filters a person has set (the search text and each facet's choice) and what they
//! let through, with every facet counted under the *other* filters.
//!
//! Each facet's choice is an expression of the filter language that is one OR-group, so
//! the whole state reads back as one expression (`search facet₁ facet₂ …`: the language's
//! implicit AND) for `export --where` and saved views. Evaluation computes the search's
//! and each facet's row sets once, then per facet the AND of all the others: k facets cost
//! k + 1 evaluations and k² word-wise ANDs (122 KiB each at 1M rows).

use std::collections::BTreeMap;

use super::bits::Bits;
use super::explorer::Explorer;
use super::facets::{Facet, FacetCounts, FacetFilter, FacetKind};

/// What the person has chosen.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FilterState {
    /// The search box's text (filter language).
    pub search: String,
    /// Column → its facet's choice.
    pub facets: BTreeMap<String, FacetFilter>,
}

/// One facet as the panel shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct FacetView {
    pub column: String,
    pub kind: FacetKind,
    /// (value, count under the other filters, chosen), most frequent first.
    pub values: Vec<(String, usize, bool)>,
    /// Histogram under the other filters, and the numeric range the bins span.
    pub bins: Vec<usize>,
    pub range: Option<(f64, f64)>,
    /// The chosen range, if any.
    pub brush: Option<(f64, f64)>,
}

/// What the filters let through.
pub struct Outcome {
    pub pass: Bits,
    /// Why the search text does not work (it is then ignored).
    pub error: Option<String>,
    pub facets: Vec<FacetView>,
}

impl FilterState {
    pub fn is_empty(&self) -> bool {
        self.search.trim().is_empty() && self.facets.is_empty()
    }

    /// The whole state as one filter expression.
    pub fn expression(&self, facets: &[Facet]) -> String {
        let mut parts = vec![self.search.trim().to_string()];
        for (column, choice) in &self.facets {
            if let Some(f) = facets.iter().find(|f| &f.column == column) {
                parts.push(f.expression(choice));
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.join(" ")
    }

    /// Toggles `value` in the value facet of `column`.
    pub fn toggle_value(&mut self, column: &str, value: &str) {
        let entry = self
            .facets
            .entry(column.to_string())
            .or_insert_with(|| FacetFilter::Values(Default::default()));
        if let FacetFilter::Values(set) = entry {
            if !set.remove(value) {
                set.insert(value.to_string());
            }
            if set.is_empty() {
                self.facets.remove(column);
            }
        } else {
            *entry = FacetFilter::Values([value.to_string()].into());
        }
    }

    /// Evaluates the state over `explorer`'s images.
    pub fn evaluate(&self, explorer: &Explorer, facets: &[Facet]) -> Outcome {
        let n = explorer.len();
        let (search, error) = match explorer.filter(&self.search) {
            Ok(bits) => (bits, None),
            Err(e) => (Bits::full(n), Some(e.to_string())),
        };
        // Each chosen facet's rows (a facet expression that fails is left out).
        let chosen: Vec<(&str, Bits)> = self
            .facets
            .iter()
            .filter_map(|(column, choice)| {
                let f = facets.iter().find(|f| &f.column == column)?;
                let bits = explorer.filter(&f.expression(choice)).ok()?;
                Some((column.as_str(), bits))
            })
            .collect();
        let others = |skip: &str| {
            let mut mask = search.clone();
            for (c, b) in &chosen {
                if *c != skip {
                    mask.and(b);
                }
            }
            mask
        };
        let catalog = explorer.catalog();
        let views = facets
            .iter()
            .filter(|f| f.kind != FacetKind::Text)
            .filter_map(|f| {
                let column = catalog.column(&f.column)?;
                let counts: FacetCounts = f.counts(column, &others(&f.column));
                let choice = self.facets.get(&f.column);
                let picked =
                    |v: &str| matches!(choice, Some(FacetFilter::Values(s)) if s.contains(v));
                Some(FacetView {
                    column: f.column.clone(),
                    kind: f.kind,
                    values: f
                        .values
                        .iter()
                        .zip(counts.values.iter().copied().chain(std::iter::repeat(0)))
                        .map(|(v, c)| (v.clone(), c, picked(v)))
                        .collect(),
                    bins: counts.bins,
                    range: f.range,
                    brush: match choice {
                        Some(FacetFilter::Range(lo, hi)) => Some((*lo, *hi)),
                        _ => None,
                    },
                })
            })
            .collect();
        Outcome {
            pass: others(""),
            error,
            facets: views,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggling_adds_and_removes_values() {
        let mut s = FilterState::default();
        s.toggle_value("category", "birds");
        s.toggle_value("category", "cats");
        s.toggle_value("category", "birds");
        assert_eq!(
            s.facets["category"],
            FacetFilter::Values(["cats".to_string()].into())
        );
        s.toggle_value("category", "cats");
        assert!(s.is_empty());
    }
}
