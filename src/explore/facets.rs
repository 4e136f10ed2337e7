//! Facets: every metadata column typed from its values, counted under the filters of all
//! the *other* facets (cross-filtering, as Embedding Atlas does), and turned back into the
//! filter language so a facet click, the search box, a saved view and `export --where`
//! all mean the same thing.
//!
//! Typing (first rule that holds): a list column (`tags`, or `|` in a tenth of the filled
//! cells) → [`FacetKind::List`]; nine in ten filled cells numbers or years → numeric, and
//! [`FacetKind::Year`] when the column is called year/date or its cells are dates rather
//! than plain numbers; values that repeat (at most 5000 distinct, on average each twice)
//! → categorical; anything else is free text (search only). Values are counted on
//! integer codes made once, so a count pass over a million rows is a tight loop over the
//! rows the other filters let through.

use std::collections::BTreeSet;

use rayon::prelude::*;

use super::bits::Bits;
use super::catalog::{Catalog, Column, FILENAME, number_of};

/// How a column is shown and filtered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FacetKind {
    /// A value list with counts and checkboxes.
    Categorical,
    /// As categorical, each cell a `|`-separated list.
    List,
    /// A histogram with a range brush.
    Numeric,
    /// A histogram of years with a range brush (PixPlot's date slider).
    Year,
    /// Free text: search only.
    Text,
}

/// Most distinct values a categorical facet lists.
const MAX_CATEGORIES: usize = 5000;
/// Histogram bins of a numeric facet.
pub const BINS: usize = 40;

/// One typed column.
pub struct Facet {
    pub column: String,
    pub kind: FacetKind,
    /// Distinct values (lower-cased, as the filter compares them), most frequent first.
    pub values: Vec<String>,
    /// Per row, the codes of its values (`codes[starts[i]..starts[i + 1]]`).
    starts: Vec<u32>,
    codes: Vec<u32>,
    /// Numeric range [min, max] of the filled cells.
    pub range: Option<(f64, f64)>,
}

/// A facet's active filter.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FacetFilter {
    /// Any of these values.
    Values(BTreeSet<String>),
    /// An inclusive range.
    Range(f64, f64),
}

/// Counts of one facet under the other facets' filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FacetCounts {
    /// Per value (categorical, list), in `values` order.
    pub values: Vec<usize>,
    /// Per bin (numeric, year).
    pub bins: Vec<usize>,
    /// Rows let through by the other filters.
    pub total: usize,
}

impl Facet {
    /// Types `column` and codes its values.
    pub fn new(column: &Column) -> Self {
        let n = column.len();
        let filled = (0..n).filter(|&i| !column.text(i).is_empty()).count();
        let numbers = column.numbers();
        let numeric = numbers.iter().filter(|v| !v.is_nan()).count();
        let kind = if column.is_list {
            FacetKind::List
        } else if filled > 0 && numeric * 10 >= filled * 9 {
            let named = ["year", "date"]
                .iter()
                .any(|k| column.name.trim().to_ascii_lowercase().contains(k));
            let plain = (0..n)
                .filter(|&i| !column.text(i).is_empty())
                .all(|i| column.text(i).parse::<f64>().is_ok());
            if named || !plain {
                FacetKind::Year
            } else {
                FacetKind::Numeric
            }
        } else {
            FacetKind::Categorical
        };
        let mut facet = Self {
            column: column.name.clone(),
            kind,
            values: Vec::new(),
            starts: Vec::new(),
            codes: Vec::new(),
            range: None,
        };
        match kind {
            FacetKind::Numeric | FacetKind::Year => {
                let filled = numbers.iter().copied().filter(|v| !v.is_nan());
                facet.range = filled.fold(None, |r, v| match r {
                    None => Some((v, v)),
                    Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
                });
            }
            _ => facet.code_values(column, filled),
        }
        facet
    }

    /// Codes the values, most frequent first; too many distinct values make it free text.
    fn code_values(&mut self, column: &Column, filled: usize) {
        let mut counts: rustc_hash::FxHashMap<&str, usize> = Default::default();
        for i in 0..column.len() {
            for item in column.items(i) {
                *counts.entry(item).or_default() += 1;
            }
        }
        // Values repeat: on average each stands in two cells (items, for lists).
        let items: usize = counts.values().sum();
        let repeats = counts.len() * 2 <= items.max(filled).max(1);
        if column.name == FILENAME || counts.len() > MAX_CATEGORIES || !repeats {
            self.kind = FacetKind::Text;
            return;
        }
        let mut values: Vec<(&str, usize)> = counts.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let code_of: rustc_hash::FxHashMap<&str, u32> = values
            .iter()
            .enumerate()
            .map(|(k, (v, _))| (*v, k as u32))
            .collect();
        self.starts.push(0);
        for i in 0..column.len() {
            for item in column.items(i) {
                self.codes.push(code_of[item]);
            }
            self.starts.push(self.codes.len() as u32);
        }
        self.values = values.into_iter().map(|(v, _)| v.to_string()).collect();
    }

    /// Counts what `mask` lets through: per value, or per histogram bin.
    pub fn counts(&self, column: &Column, mask: &Bits) -> FacetCounts {
        let total = mask.count();
        match self.kind {
            FacetKind::Categorical | FacetKind::List => {
                let mut values = vec![0usize; self.values.len()];
                for i in mask.ones() {
                    let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
                    for &c in &self.codes[a..b] {
                        values[c as usize] += 1;
                    }
                }
                FacetCounts {
                    values,
                    total,
                    ..Default::default()
                }
            }
            FacetKind::Numeric | FacetKind::Year => {
                let numbers = column.numbers();
                let mut bins = vec![0usize; BINS];
                for i in mask.ones() {
                    if let Some(b) = self.bin_of(numbers[i]) {
                        bins[b] += 1;
                    }
                }
                FacetCounts {
                    bins,
                    total,
                    ..Default::default()
                }
            }
            FacetKind::Text => FacetCounts {
                total,
                ..Default::default()
            },
        }
    }

    /// The value codes of row `i` (indices into [`Self::values`]).
    pub fn codes_of(&self, i: usize) -> &[u32] {
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.codes[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The histogram bin of `v`.
    pub fn bin_of(&self, v: f64) -> Option<usize> {
        let (lo, hi) = self.range?;
        if v.is_nan() || v < lo || v > hi {
            return None;
        }
        if hi <= lo {
            return Some(0);
        }
        Some((((v - lo) / (hi - lo) * BINS as f64) as usize).min(BINS - 1))
    }

    /// The value range of bin `b`: [start, end).
    pub fn bin_range(&self, b: usize) -> Option<(f64, f64)> {
        let (lo, hi) = self.range?;
        let w = (hi - lo) / BINS as f64;
        Some((lo + w * b as f64, lo + w * (b + 1) as f64))
    }

    /// The filter-language expression for `filter` on this facet.
    pub fn expression(&self, filter: &FacetFilter) -> String {
        let column = quote_column(&self.column);
        match filter {
            FacetFilter::Values(values) => values
                .iter()
                .map(|v| format!("{column}={}", quote_value(v)))
                .collect::<Vec<_>>()
                .join(" OR "),
            FacetFilter::Range(lo, hi) => {
                let (lo, hi) = if self.kind == FacetKind::Year {
                    (lo.floor(), hi.ceil())
                } else {
                    (*lo, *hi)
                };
                format!("{column}:{lo}..{hi}")
            }
        }
    }
}

/// A column name as the filter language reads it back.
fn quote_column(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, ':' | '=' | '<' | '>' | '!' | '"'))
        && !name.starts_with('-');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', ""))
    }
}

/// A value as the filter language reads it back (quotes inside are dropped: the language
/// has no escape, and facet values come from cells).
fn quote_value(v: &str) -> String {
    if v.is_empty() || v.contains(char::is_whitespace) || v.contains('"') || v == "OR" {
        format!("\"{}\"", v.replace('"', ""))
    } else {
        v.to_string()
    }
}

/// Every metadata column's facet (the file name is left out).
pub fn facets(catalog: &Catalog) -> Vec<Facet> {
    catalog
        .columns
        .par_iter()
        .filter(|c| c.name != FILENAME)
        .map(Facet::new)
        .collect()
}

/// Is `v` a number the facet reads? (Used by the range brush to label its ends.)
pub fn is_number(v: &str) -> bool {
    number_of(v).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Table;
    use crate::explore::filter::{Scope, evaluate};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn catalog() -> Catalog {
        Catalog::new(
            &s(&["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg"]),
            &Table {
                columns: s(&["category", "tags", "year", "size", "description", "taken"]),
                cells: vec![
                    s(&["bird", "bird", "cat", "cat", "cat", ""]),
                    s(&["a|b", "b", "", "a", "c|a", "b"]),
                    s(&["1970", "1971", "1980", "1999", "", "2000"]),
                    s(&["1.5", "2", "3", "4", "5", "6"]),
                    s(&["one", "two", "three", "four", "five", "six"]),
                    s(&["1970-01-02", "c. 1971", "", "", "", ""]),
                ],
            },
        )
    }

    #[test]
    fn columns_are_typed_from_their_values() {
        let cat = catalog();
        let kinds: Vec<(String, FacetKind)> = facets(&cat)
            .into_iter()
            .map(|f| (f.column, f.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("category".into(), FacetKind::Categorical),
                ("tags".into(), FacetKind::List),
                ("year".into(), FacetKind::Year),
                ("size".into(), FacetKind::Numeric),
                ("description".into(), FacetKind::Text),
                ("taken".into(), FacetKind::Year),
            ]
        );
    }

    #[test]
    fn counts_follow_the_mask_and_expressions_filter_the_same_rows() {
        let cat = catalog();
        let all = facets(&cat);
        let category = &all[0];
        let col = cat.column("category").unwrap();
        assert_eq!(category.values, vec!["cat", "bird"]);
        assert_eq!(category.counts(col, &Bits::full(6)).values, vec![3, 2]);
        let mask = Bits::from_fn(6, |i| i >= 1);
        assert_eq!(category.counts(col, &mask).values, vec![3, 1]);
        let tags = &all[1];
        assert_eq!(tags.values, vec!["a", "b", "c"]);
        let tcol = cat.column("tags").unwrap();
        assert_eq!(tags.counts(tcol, &Bits::full(6)).values, vec![3, 3, 1]);

        let scope = Scope {
            catalog: &cat,
            tags: None,
            hotspots: None,
        };
        let rows = |e: &str| evaluate(e, &scope).unwrap().ones().collect::<Vec<_>>();
        let pick = FacetFilter::Values(["bird".to_string()].into());
        assert_eq!(category.expression(&pick), "category=bird");
        assert_eq!(rows(&category.expression(&pick)), vec![0, 1]);
        let pick = FacetFilter::Values(["a".to_string(), "c".to_string()].into());
        assert_eq!(rows(&tags.expression(&pick)), vec![0, 3, 4]);
        let year = &all[2];
        assert_eq!(year.range, Some((1970.0, 2000.0)));
        let e = year.expression(&FacetFilter::Range(1970.2, 1980.5));
        assert_eq!(e, "year:1970..1981");
        assert_eq!(rows(&e), vec![0, 1, 2]);
        let ycol = cat.column("year").unwrap();
        let c = year.counts(ycol, &Bits::full(6));
        assert_eq!(c.bins.iter().sum::<usize>(), 5);
        assert_eq!(c.bins[0], 1);
        assert_eq!(c.bins[BINS - 1], 1);
    }

    #[test]
    fn odd_names_and_values_read_back() {
        assert_eq!(quote_column("Date taken"), "\"Date taken\"");
        assert_eq!(quote_value("wild animals"), "\"wild animals\"");
        assert_eq!(quote_value("OR"), "\"OR\"");
    }
}
