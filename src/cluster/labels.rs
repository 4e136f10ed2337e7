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

/// The values among `members`, most frequent first (ties by value), with their counts.
fn ranked<'a>(members: &[usize], value_of: impl Fn(usize) -> Vec<&'a str>) -> Vec<(String, usize)> {
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    for &i in members {
        for v in value_of(i) {
            *counts.entry(v).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(v, c)| (v.to_string(), c))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Labels for clusters given by their member indices (rows of `metadata`), no two alike.
pub fn label_clusters(metadata: &Table, members: &[Vec<usize>]) -> Vec<ClusterLabel> {
    let category = column(metadata, &["category"]);
    let tags = column(metadata, &["tags", "tag"]);
    let captions = column(metadata, &CAPTION_COLUMNS);
    fn cell(col: Option<&[String]>, i: usize) -> &str {
        col.and_then(|c| c.get(i)).map_or("", |s| s.trim())
    }
    let caption_words = captions.map(|col| caption_words(col, members));
    let mut spares: Vec<Vec<String>> = Vec::with_capacity(members.len());
    let mut labels: Vec<ClusterLabel> = Vec::with_capacity(members.len());
    for (c, m) in members.iter().enumerate() {
        let categories = category.map_or_else(Vec::new, |_| {
            ranked(m, |i| {
                let v = cell(category, i);
                if v.is_empty() { vec![] } else { vec![v] }
            })
        });
        let top_category = categories
            .first()
            .map(|(v, n)| (v.clone(), *n as f32 / m.len().max(1) as f32));
        let cluster_tags = tags.map_or_else(Vec::new, |_| {
            ranked(m, |i| {
                cell(tags, i)
                    .split(['|', ',', ';'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect()
            })
        });
        let words = caption_words.as_ref().map_or(&[][..], |w| &w[c][..]);
        let names = |v: &[(String, usize)]| v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
        let (label, source, spare) = if !words.is_empty() {
            let cut = words.len().min(LABEL_WORDS);
            (words[..cut].join(", "), "captions", words[cut..].to_vec())
        } else if let Some((cat, _)) = categories.first() {
            let mut spare = names(&cluster_tags);
            spare.extend(names(&categories[1..]));
            (cat.clone(), "category", spare)
        } else if let Some((tag, _)) = cluster_tags.first() {
            (tag.clone(), "tags", names(&cluster_tags[1..]))
        } else {
            (format!("Cluster {}", c + 1), "none", Vec::new())
        };
        spares.push(spare);
        labels.push(ClusterLabel {
            label,
            source,
            top_category,
        });
    }
    let mut texts: Vec<String> = labels.iter().map(|l| l.label.clone()).collect();
    make_distinct(&mut texts, &spares);
    for (l, t) in labels.iter_mut().zip(texts) {
        l.label = t;
    }
    labels
}

/// Makes every label unique: where two or more share a label, each of them takes its next
/// spare term ("animals" → "animals, bird" and "animals, dog"), up to [`SPARE_WORDS`] times;
/// labels still alike are numbered in order ("pizza", "pizza (2)").
pub fn make_distinct(labels: &mut [String], spares: &[Vec<String>]) {
    let mut used = vec![0usize; labels.len()];
    for _ in 0..SPARE_WORDS {
        let mut groups: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (i, l) in labels.iter().enumerate() {
            groups.entry(l.as_str()).or_default().push(i);
        }
        let alike: Vec<usize> = groups
            .into_values()
            .filter(|g| g.len() > 1)
            .flatten()
            .collect();
        if alike.is_empty() {
            return;
        }
        for i in alike {
            let spare = spares.get(i).map_or(&[][..], |s| &s[..]);
            while let Some(term) = spare.get(used[i]) {
                used[i] += 1;
                let already = labels[i].split(", ").any(|w| w == term);
                if !already {
                    labels[i] = format!("{}, {term}", labels[i]);
                    break;
                }
            }
        }
    }
    let mut seen: FxHashMap<String, usize> = FxHashMap::default();
    for l in labels.iter() {
        seen.insert(l.clone(), 1);
    }
    let mut first: rustc_hash::FxHashSet<String> = Default::default();
    for l in labels.iter_mut() {
        if first.insert(l.clone()) {
            continue;
        }
        let mut k = 2;
        let name = loop {
            let candidate = format!("{l} ({k})");
            if !seen.contains_key(&candidate) {
                break candidate;
            }
            k += 1;
        };
        seen.insert(name.clone(), 1);
        *l = name;
    }
}

/// Caption words per label, and how many more a label may borrow to tell two apart.
const LABEL_WORDS: usize = 3;
const SPARE_WORDS: usize = 3;

/// Each cluster's most distinctive caption words, best first (empty when it has none):
/// the label takes the first [`LABEL_WORDS`], [`make_distinct`] the rest.
fn caption_words(captions: &[String], members: &[Vec<usize>]) -> Vec<Vec<String>> {
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
                return Vec::new();
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
            scored
                .iter()
                .take(LABEL_WORDS + SPARE_WORDS)
                .map(|s| s.1.clone())
                .collect()
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

    #[test]
    fn no_two_clusters_share_a_label() {
        // Two clusters of animals: the tags tell them apart.
        let t = table(
            &["filename", "category", "tags"],
            &[
                &["a", "animals", "bird"],
                &["b", "animals", "bird|sky"],
                &["c", "animals", "dog"],
                &["d", "animals", "dog"],
                &["e", "animals", ""],
                &["f", "animals", ""],
            ],
        );
        let l = label_clusters(&t, &[vec![0, 1], vec![2, 3], vec![4, 5]]);
        let names: Vec<&str> = l.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(names, ["animals, bird", "animals, dog", "animals"]);
        // Nothing to tell them apart: numbered.
        let mut same = vec!["pizza".to_string(), "pizza".into(), "pizza (2)".into()];
        make_distinct(&mut same, &[vec![], vec![], vec![]]);
        assert_eq!(same, ["pizza", "pizza (3)", "pizza (2)"]);
        // A spare term already in the label is skipped.
        let mut words = vec!["frog, toad".to_string(), "frog, toad".into()];
        make_distinct(&mut words, &[vec!["toad".into(), "pond".into()], vec![]]);
        assert_eq!(words, ["frog, toad, pond", "frog, toad"]);
    }
}
