//! The layouts a prepared dataset can offer, in one table: cache name, title, family, the
//! order the window lists them in, and what a layout needs from the data to be offered.
//!
//! Everything that names a layout (the panels, hotspot rules, error messages, the first
//! layout shown, the "computing…" entries) reads this table instead of repeating string
//! literals; a layout not in the table (a future user-given one) still works by name and
//! sorts last.

/// Where a layout's positions come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Computed from the embeddings (UMAP and what derives from it, PCA).
    Embedding,
    /// Computed from metadata columns.
    Metadata,
}

/// One known layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutKind {
    /// The name in the cache, on the command line and in views.
    pub name: &'static str,
    /// What the window calls it.
    pub title: &'static str,
    pub family: Family,
    /// Whether hotspots (clusters of the UMAP layout) mean something here.
    pub shows_hotspots: bool,
    /// What the data must have for the layout to be offered (empty: always offered).
    pub needs: &'static str,
}

/// Every known layout, in the order the window lists them.
pub const LAYOUTS: [LayoutKind; 10] = [
    LayoutKind {
        name: "umap",
        title: "UMAP",
        family: Family::Embedding,
        shows_hotspots: true,
        needs: "",
    },
    LayoutKind {
        name: "supervised",
        title: "UMAP by label",
        family: Family::Embedding,
        shows_hotspots: false,
        needs: "a `label` metadata column with at least two values",
    },
    LayoutKind {
        name: "pca",
        title: "PCA",
        family: Family::Embedding,
        shows_hotspots: false,
        needs: "",
    },
    LayoutKind {
        name: "grid",
        title: "Grid",
        family: Family::Embedding,
        shows_hotspots: true,
        needs: "",
    },
    LayoutKind {
        name: "jittered",
        title: "Jittered",
        family: Family::Embedding,
        shows_hotspots: true,
        needs: "",
    },
    LayoutKind {
        name: "categorical",
        title: "Categories",
        family: Family::Metadata,
        shows_hotspots: false,
        needs: "a `category` metadata column with at least two values",
    },
    LayoutKind {
        name: "date",
        title: "Date",
        family: Family::Metadata,
        shows_hotspots: false,
        needs: "a `year` or `date` metadata column with a year in some row",
    },
    LayoutKind {
        name: "geographic",
        title: "Map",
        family: Family::Metadata,
        shows_hotspots: false,
        needs: "`lat` and `lng` metadata columns, both filled in some row",
    },
    LayoutKind {
        name: "alphabetic",
        title: "Alphabetic",
        family: Family::Metadata,
        shows_hotspots: false,
        needs: "",
    },
    LayoutKind {
        name: "custom",
        title: "Custom x/y",
        family: Family::Metadata,
        shows_hotspots: false,
        needs: "`x` and `y` metadata columns, both filled in some row",
    },
];

/// The layouts computed from embeddings that every dataset gets.
pub const UMAP: &str = LAYOUTS[0].name;
pub const PCA: &str = LAYOUTS[2].name;
pub const GRID: &str = LAYOUTS[3].name;
pub const JITTERED: &str = LAYOUTS[4].name;

/// The layout whose clusters are the hotspots when prepare computed UMAP; with `--no-umap`
/// they are found in the given layout instead ([`crate::cache::PreparedDataset::hotspot_source`]).
pub const HOTSPOT_SOURCE: &str = UMAP;

/// The order in which a freshly opened dataset picks its first layout.
pub const FIRST_CHOICE: [&str; 3] = [UMAP, PCA, GRID];

/// The layout a freshly opened dataset shows among `available`: UMAP; else coordinates
/// the user gave (`--coords`, a name not in the table: with `--no-umap` they are the map);
/// else [`FIRST_CHOICE`]'s order; else any.
pub fn first_layout<'a>(available: impl Iterator<Item = &'a str> + Clone) -> Option<String> {
    let has = |name: &str| available.clone().any(|n| n == name);
    if has(UMAP) {
        return Some(UMAP.into());
    }
    available
        .clone()
        .find(|n| kind(n).is_none() && variant(n).is_none())
        .or_else(|| FIRST_CHOICE.into_iter().find(|n| has(n)))
        .or_else(|| available.clone().next())
        .map(str::to_string)
}

/// The embedding layouts a running prepare will still add (listed as "computing…").
pub const PENDING_WHILE_PREPARING: [&str; 3] = [UMAP, GRID, JITTERED];

/// The table entry of `name`, if it is a known layout.
pub fn kind(name: &str) -> Option<&'static LayoutKind> {
    LAYOUTS.iter().find(|k| k.name == name)
}

/// What the window calls layout `name`.
pub fn title(name: &str) -> String {
    if let Some((k, d)) = variant(name) {
        return format!("UMAP {k} neighbours, min. distance {d}");
    }
    kind(name).map_or_else(|| name.to_string(), |k| k.title.to_string())
}

/// The cache name of the UMAP variant with `n_neighbors` and `min_dist`: `umap-n5-d0.01`.
pub fn variant_name(n_neighbors: usize, min_dist: f32) -> String {
    format!("umap-n{n_neighbors}-d{min_dist}")
}

/// The parameters of a UMAP variant's name ([`variant_name`]).
pub fn variant(name: &str) -> Option<(usize, f32)> {
    let (k, d) = name.strip_prefix("umap-n")?.split_once("-d")?;
    Some((k.parse().ok()?, d.parse().ok()?))
}

/// Sort key: the table's order (UMAP variants right after UMAP, by neighbours then
/// distance), unknown layouts last by name.
pub fn order(name: &str) -> (usize, String) {
    if let Some((k, d)) = variant(name) {
        return (0, format!("{UMAP}~{k:06}-{d:012.6}"));
    }
    let rank = LAYOUTS
        .iter()
        .position(|k| k.name == name)
        .unwrap_or(LAYOUTS.len());
    (rank, name.to_string())
}

/// Whether hotspots are drawn and fly-to works in layout `name`.
pub fn shows_hotspots(name: &str, source: &str) -> bool {
    name == source || (name != UMAP && kind(name).is_some_and(|k| k.shows_hotspots))
}

/// Why layout `name` is not in a dataset that has `available`: one sentence for the user.
pub fn missing_message(name: &str, available: &[String]) -> String {
    let have = available.join(", ");
    match kind(name) {
        Some(k) if !k.needs.is_empty() => format!(
            "this dataset has no '{name}' layout: it needs {}. Layouts it has: {have}",
            k.needs
        ),
        Some(_) => format!(
            "the '{name}' layout is not computed yet: run `clip-plot-view prepare` on the \
             dataset. Layouts it has: {have}"
        ),
        None => {
            let known: Vec<&str> = LAYOUTS.iter().map(|k| k.name).collect();
            format!(
                "there is no layout called '{name}' (layouts: {}). Layouts this dataset has: {have}",
                known.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_ordered() {
        for (i, a) in LAYOUTS.iter().enumerate() {
            for b in &LAYOUTS[i + 1..] {
                assert_ne!(a.name, b.name);
            }
            assert_eq!(order(a.name).0, i);
        }
        assert_eq!(order("mine").0, LAYOUTS.len());
        let mut names = vec![
            "pca",
            "umap-n50-d0.5",
            "umap-n5-d0.01",
            "umap",
            "umap-n5-d0.5",
        ];
        names.sort_by_key(|n| order(n));
        assert_eq!(
            names,
            [
                "umap",
                "umap-n5-d0.01",
                "umap-n5-d0.5",
                "umap-n50-d0.5",
                "pca"
            ]
        );
        assert_eq!(variant(&variant_name(5, 0.01)), Some((5, 0.01)));
        assert_eq!(
            title("umap-n5-d0.01"),
            "UMAP 5 neighbours, min. distance 0.01"
        );
        assert_eq!(variant("umap"), None);
        assert_eq!(title("umap"), "UMAP");
        assert_eq!(title("mine"), "mine");
        assert!(shows_hotspots("grid", UMAP) && !shows_hotspots("pca", UMAP));
        let first = |names: &[&str]| first_layout(names.iter().copied());
        assert_eq!(first(&["pca", "given", "umap"]).as_deref(), Some("umap"));
        assert_eq!(
            first(&["alphabetic", "given", "pca"]).as_deref(),
            Some("given")
        );
        assert_eq!(
            first(&["alphabetic", "grid", "pca"]).as_deref(),
            Some("pca")
        );
        assert_eq!(first(&["alphabetic"]).as_deref(), Some("alphabetic"));
        assert_eq!(first(&[]), None);
        assert!(shows_hotspots("given", "given") && shows_hotspots("jittered", "given"));
        assert!(!shows_hotspots("umap", "given") && !shows_hotspots("given", UMAP));
    }

    #[test]
    fn missing_layouts_say_what_they_need() {
        let have = vec!["umap".to_string(), "pca".to_string()];
        let m = missing_message("date", &have);
        assert!(
            m.contains("`year` or `date`") && m.contains("umap, pca"),
            "{m}"
        );
        assert!(!m.contains("Delete"), "{m}");
        let m = missing_message("nope", &have);
        assert!(
            m.contains("no layout called 'nope'") && m.contains("categorical"),
            "{m}"
        );
    }
}
