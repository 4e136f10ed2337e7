//! Hotspot labels from metadata.
//!
//! - **Captions** (a `description`, `caption`, `text` or `title` column): the three most
//!   distinctive words of each cluster by class-based TF-IDF (Grootendorst's c-TF-IDF, as in
//!   BERTopic): all of a cluster's captions form one document; a word scores its frequency
//!   in the cluster times ln(1 + A / its frequency in the whole collection), A being the
//!   mean number of words per cluster. Words every cluster uses ("a", "the", "image") sink.
//! - Else the most frequent **category**, else the most frequent **tag** (tags split on
//!   `|`, `,` or `;`), else "Cluster N".

use rustc_hash::FxHashMap;

use crate::dataset::Table;

/// A cluster's label and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterLabel {
    pub label: String,
    pub source: &'static str,
    pub top_category: Option<(String, f32)>,
}

const CAPTION_COLUMNS: [&str; 4] = ["description", "caption", "text", "title"];

/// Words that carry no topic in captions.
const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "from",
    "are",
    "was",
    "were",
    "its",
    "his",
    "her",
    "their",
    "has",
    "have",
    "had",
    "not",
    "but",
    "all",
    "any",
    "can",
    "one",
    "two",
    "out",
    "into",
    "over",
    "under",
    "onto",
    "off",
    "some",
    "more",
    "most",
    "very",
    "also",
    "there",
    "here",
    "than",
    "then",
    "them",
    "they",
    "who",
    "what",
    "which",
    "when",
    "where",
    "while",
    "you",
    "your",
    "our",
    "been",
    "being",
    "will",
    "would",
    "could",
    "should",
    "about",
    "near",
    "next",
    "other",
    "such",
    "each",
    "many",
    "few",
    "front",
    "back",
    "top",
    "side",
    "image",
    "picture",
    "photo",
    "photograph",
    "showing",
    "shows",
    "shown",
    "view",
    "small",
    "large",
    "big",
    "little",
];

fn column<'a>(table: &'a Table, names: &[&str]) -> Option<&'a [String]> {
    crate::layout::meta::find_column(&table.columns, &table.cells, names)
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && w.chars().any(char::is_alphabetic))
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
}

/// The most frequent non-empty value among `members` and its share of them.
fn most_frequent<'a>(
    members: &[usize],
    value_of: impl Fn(usize) -> Vec<&'a str>,
) -> Option<(String, f32)> {
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    for &i in members {
        for v in value_of(i) {
            *counts.entry(v).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(v, c)| (v.to_string(), c as f32 / members.len().max(1) as f32))
}

/// Labels for clusters given by their member indices (rows of `metadata`).
pub fn label_clusters(metadata: &Table, members: &[Vec<usize>]) -> Vec<ClusterLabel> {
    let category = column(metadata, &["category"]);
    let tags = column(metadata, &["tags", "tag"]);
    let captions = column(metadata, &CAPTION_COLUMNS);
    fn cell(col: Option<&[String]>, i: usize) -> &str {
        col.and_then(|c| c.get(i)).map_or("", |s| s.trim())
    }
    let top_categories: Vec<Option<(String, f32)>> = members
        .iter()
        .map(|m| {
            category.and_then(|_| {
                most_frequent(m, |i| {
                    let v = cell(category, i);
                    if v.is_empty() { vec![] } else { vec![v] }
                })
            })
        })
        .collect();
    let caption_words = captions.map(|col| caption_labels(col, members));
    members
        .iter()
        .enumerate()
        .map(|(c, m)| {
            let top_category = top_categories[c].clone();
            if let Some(words) = caption_words.as_ref().and_then(|w| w[c].clone()) {
                return ClusterLabel {
                    label: words,
                    source: "captions",
                    top_category,
                };
            }
            if let Some((cat, _)) = &top_category {
                return ClusterLabel {
                    label: cat.clone(),
                    source: "category",
                    top_category,
                };
            }
            let tag = tags.and_then(|_| {
                most_frequent(m, |i| {
                    cell(tags, i)
                        .split(['|', ',', ';'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .collect()
                })
            });
            if let Some((t, _)) = tag {
                return ClusterLabel {
                    label: t,
                    source: "tags",
                    top_category,
                };
            }
            ClusterLabel {
                label: format!("Cluster {}", c + 1),
                source: "none",
                top_category,
            }
        })
        .collect()
}

/// The three most distinctive caption words of each cluster (None when it has none).
fn caption_labels(captions: &[String], members: &[Vec<usize>]) -> Vec<Option<String>> {
    // Whole-collection word frequencies (every image, clustered or not).
    let mut total: FxHashMap<String, f64> = FxHashMap::default();
    for text in captions {
        for w in words(text) {
            *total.entry(w).or_default() += 1.0;
        }
    }
    let per_cluster: Vec<FxHashMap<String, f64>> = members
        .iter()
        .map(|m| {
            let mut counts: FxHashMap<String, f64> = FxHashMap::default();
            for &i in m {
                if let Some(text) = captions.get(i) {
                    // A word counts once per caption, so one long caption cannot dominate.
                    let mut seen: Vec<String> = words(text).collect();
                    seen.sort();
                    seen.dedup();
                    for w in seen {
                        *counts.entry(w).or_default() += 1.0;
                    }
                }
            }
            counts
        })
        .collect();
    let words_per_cluster = per_cluster
        .iter()
        .map(|c| c.values().sum::<f64>())
        .sum::<f64>()
        / per_cluster.len().max(1) as f64;
    per_cluster
        .iter()
        .zip(members)
        .map(|(counts, m)| {
            let size: f64 = counts.values().sum();
            if size == 0.0 {
                return None;
            }
            // In clusters of 4 or more, a word must occur in at least two captions.
            let min_count = if m.len() >= 4 { 2.0 } else { 1.0 };
            let mut scored: Vec<(f64, &String)> = counts
                .iter()
                .filter(|(_, c)| **c >= min_count)
                .map(|(w, c)| {
                    let f = total.get(w).copied().unwrap_or(1.0);
                    (c / size * (1.0 + words_per_cluster / f).ln(), w)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            let top: Vec<&str> = scored.iter().take(3).map(|s| s.1.as_str()).collect();
            (!top.is_empty()).then(|| top.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cols: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            cells: (0..cols.len())
                .map(|c| rows.iter().map(|r| r[c].to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn captions_give_distinctive_words() {
        let t = table(
            &["filename", "category", "description"],
            &[
                &["a", "animals", "A frog on a leaf."],
                &["b", "animals", "A green frog in the pond."],
                &["c", "animals", "A frog and a toad."],
                &["d", "food", "A slice of pizza on a plate."],
                &["e", "food", "Pizza with cheese."],
                &["f", "food", "A plate of pizza and a fork."],
            ],
        );
        let l = label_clusters(&t, &[vec![0, 1, 2], vec![3, 4, 5]]);
        assert_eq!(l[0].source, "captions");
        assert!(l[0].label.starts_with("frog"), "{}", l[0].label);
        assert!(l[1].label.starts_with("pizza"), "{}", l[1].label);
        assert_eq!(l[1].top_category, Some(("food".to_string(), 1.0)));
    }

    #[test]
    fn falls_back_to_category_tags_then_numbers() {
        let t = table(
            &["filename", "category"],
            &[&["a", "x"], &["b", "y"], &["c", "y"]],
        );
        let l = label_clusters(&t, &[vec![0, 1, 2]]);
        assert_eq!((l[0].label.as_str(), l[0].source), ("y", "category"));
        let t = table(&["filename", "tags"], &[&["a", "sea|boat"], &["b", "boat"]]);
        let l = label_clusters(&t, &[vec![0, 1]]);
        assert_eq!((l[0].label.as_str(), l[0].source), ("boat", "tags"));
        let t = table(&["filename"], &[&["a"], &["b"]]);
        let l = label_clusters(&t, &[vec![0], vec![1]]);
        assert_eq!(l[1].label, "Cluster 2");
        assert_eq!(l[1].source, "none");
    }
}
