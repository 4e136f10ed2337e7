//! Metadata layouts (PixPlot's): categorical, date, geographic, alphabetic and custom x/y.
//!
//! Each is offered only when the metadata has what it needs (see [`metadata_layouts`]) and
//! comes with labels the viewer draws: block captions, years, initials. Layout space is
//! y-up (north up, later rows of a year column higher), in units of one thumbnail cell,
//! then normalised to [-1, 1] with the labels, outlines and cell size scaled alike.
//! Images that lack the value a layout needs are not dropped: they sit in a labelled block
//! below the map ("no date", "no location", …), so every image has a place in every layout
//! and layout switches can animate all of them.
//! Inside every block, images are ordered by the UMAP layout ([`super::grid`]), so similar
//! images stay together within a category or a year.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use super::grid::grid_cells_in;

/// A caption drawn on the map.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MapLabel {
    pub text: String,
    pub x: f32,
    pub y: f32,
    /// Images the label stands for.
    pub count: usize,
    /// 0: always drawn (subject to overlaps); 1: a finer group's, drawn once the camera is
    /// close enough that its `extent` fills a good part of the view.
    #[serde(default)]
    pub level: u8,
    /// Size of what the label names (its longer side, layout units); 0: unknown.
    #[serde(default)]
    pub extent: f32,
}

impl MapLabel {
    /// Where the label sits.
    pub fn at(&self) -> Vec2 {
        Vec2::new(self.x, self.y)
    }
}

/// Positions plus what the viewer draws with them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelledLayout {
    #[serde(skip)]
    pub positions: Vec<Vec2>,
    /// Side of one thumbnail cell in normalised units.
    pub cell: f32,
    pub labels: Vec<MapLabel>,
    /// Polylines (GeoJSON outlines on the geographic layout).
    pub outlines: Vec<Vec<Vec2>>,
}

impl LabelledLayout {
    /// Centres the layout on its bounding box (labels and outlines included) and scales it
    /// so the longer side spans [-1, 1].
    fn normalised(mut self) -> Self {
        let half_cell = Vec2::splat(self.cell / 2.0);
        let corners = self
            .positions
            .iter()
            .flat_map(|&p| [p - half_cell, p + half_cell]);
        let labels = self.labels.iter().map(MapLabel::at);
        let outlines = self.outlines.iter().flatten().copied();
        let [lo, hi] = super::bounds(corners.chain(labels).chain(outlines));
        if !lo.x.is_finite() {
            return self;
        }
        let centre = lo.midpoint(hi);
        let half = ((hi - lo).max_element() / 2.0).max(f32::MIN_POSITIVE);
        let f = |p: Vec2| (p - centre) / half;
        self.positions.iter_mut().for_each(|p| *p = f(*p));
        for l in &mut self.labels {
            Vec2 { x: l.x, y: l.y } = f(l.at());
        }
        for line in &mut self.outlines {
            line.iter_mut().for_each(|p| *p = f(*p));
        }
        self.cell /= half;
        self
    }
}

impl From<Vec<Vec2>> for LabelledLayout {
    /// A layout with nothing drawn along (PCA, UMAP).
    fn from(positions: Vec<Vec2>) -> Self {
        Self {
            positions,
            ..Default::default()
        }
    }
}

/// Cells between blocks, and room for a block's caption under it.
const GAP: f32 = 1.0;
const CAPTION: f32 = 1.5;

/// A group of images laid out as one compact block.
struct Block {
    text: String,
    members: Vec<usize>,
    cols: usize,
    rows: usize,
}

impl Block {
    fn new(text: String, members: Vec<usize>, cols: Option<usize>) -> Self {
        let m = members.len().max(1);
        let cols = cols
            .unwrap_or_else(|| (m as f64).sqrt().ceil() as usize)
            .clamp(1, m);
        Self {
            text,
            rows: m.div_ceil(cols),
            members,
            cols,
        }
    }
    /// Writes member positions with the block's bottom-left cell at `origin`; returns the
    /// caption under it.
    fn place(&self, origin: Vec2, hint: &[Vec2], out: &mut [Vec2]) -> MapLabel {
        let local: Vec<Vec2> = self.members.iter().map(|&i| hint[i]).collect();
        let cells = grid_cells_in(&local, self.cols, self.rows);
        for (&i, c) in self.members.iter().zip(&cells) {
            out[i] = origin + Vec2::new(c[0] as f32, c[1] as f32) + 0.5;
        }
        MapLabel {
            text: self.text.clone(),
            x: origin.x + self.cols as f32 / 2.0,
            y: origin.y - CAPTION / 2.0,
            count: self.members.len(),
            ..Default::default()
        }
    }
}

/// Packs blocks on shelves (largest first), top shelf first, into a roughly square area.
fn shelf_pack(blocks: &[Block], hint: &[Vec2], n: usize) -> LabelledLayout {
    let area: f32 = blocks
        .iter()
        .map(|b| (b.cols as f32 + GAP) * (b.rows as f32 + GAP + CAPTION))
        .sum();
    let widest = blocks.iter().map(|b| b.cols).max().unwrap_or(1) as f32;
    let width = area.sqrt().max(widest);
    let mut positions = vec![Vec2::ZERO; n];
    let mut labels = Vec::with_capacity(blocks.len());
    let (mut x, mut top, mut shelf_h) = (0.0f32, 0.0f32, 0.0f32);
    for b in blocks {
        if x > 0.0 && x + b.cols as f32 > width {
            top -= shelf_h + GAP + CAPTION;
            x = 0.0;
            shelf_h = 0.0;
        }
        labels.push(b.place(Vec2::new(x, top - b.rows as f32), hint, &mut positions));
        x += b.cols as f32 + GAP;
        shelf_h = shelf_h.max(b.rows as f32);
    }
    LabelledLayout {
        positions,
        cell: 1.0,
        labels,
        outlines: Vec::new(),
    }
}

/// The index of a column by (case-insensitive) name with at least one non-empty value.
pub fn find_column<'a>(
    columns: &[String],
    cells: &'a [Vec<String>],
    names: &[&str],
) -> Option<&'a [String]> {
    names.iter().find_map(|want| {
        columns
            .iter()
            .position(|c| c.trim().eq_ignore_ascii_case(want))
            .map(|i| cells[i].as_slice())
            .filter(|v| v.iter().any(|s| !s.trim().is_empty()))
    })
}

/// One block per category (largest first), labelled with the category and its size.
/// Needs at least two different categories.
pub fn categorical(values: &[String], hint: &[Vec2]) -> Option<LabelledLayout> {
    let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    let mut missing = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v.trim() {
            "" => missing.push(i),
            v => groups.entry(v).or_default().push(i),
        }
    }
    if groups.len() < 2 {
        return None;
    }
    let mut blocks: Vec<Block> = groups
        .into_iter()
        .map(|(k, m)| Block::new(k.to_string(), m, None))
        .collect();
    blocks.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.text.cmp(&b.text))
    });
    if !missing.is_empty() {
        blocks.push(Block::new("no category".into(), missing, None));
    }
    Some(shelf_pack(&blocks, hint, values.len()).normalised())
}

/// The year in a date-like value: a whole number, or the first four-digit number
/// ("1887", "1887-05-02", "c. 1890", "05/02/1887").
pub fn parse_year(v: &str) -> Option<i32> {
    let v = v.trim();
    if let Ok(y) = v.parse::<i32>() {
        return Some(y);
    }
    if let Ok(y) = v.parse::<f64>()
        && y.fract() == 0.0
        && y.abs() < 1e6
    {
        return Some(y as i32);
    }
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 4 {
                return v[start..i].parse().ok();
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A column of images per year, oldest on the left, filled bottom-up, labelled with the
/// year. Needs at least one parseable year.
pub fn date(values: &[String], hint: &[Vec2]) -> Option<LabelledLayout> {
    let mut years: std::collections::BTreeMap<i32, Vec<usize>> = Default::default();
    let mut missing = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match parse_year(v) {
            Some(y) => years.entry(y).or_default().push(i),
            None => missing.push(i),
        }
    }
    if years.is_empty() {
        return None;
    }
    let tallest = years
        .values()
        .map(Vec::len)
        .max()
        .unwrap_or(1)
        .max(missing.len());
    let columns = years.len() + usize::from(!missing.is_empty());
    // Column width so the whole picture is about as tall as wide.
    let w = ((tallest as f64 / columns as f64).sqrt().ceil() as usize).max(1);
    let mut blocks: Vec<Block> = years
        .into_iter()
        .map(|(y, m)| Block::new(y.to_string(), m, Some(w)))
        .collect();
    if !missing.is_empty() {
        blocks.push(Block::new("no date".into(), missing, Some(w)));
    }
    let mut positions = vec![Vec2::ZERO; values.len()];
    let mut labels = Vec::new();
    let mut x = 0.0f32;
    for b in &blocks {
        labels.push(b.place(Vec2::new(x, 0.0), hint, &mut positions));
        x += b.cols as f32 + GAP;
    }
    Some(
        LabelledLayout {
            positions,
            cell: 1.0,
            labels,
            outlines: Vec::new(),
        }
        .normalised(),
    )
}

fn parse_coordinate(v: &str, limit: f64) -> Option<f64> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && x.abs() <= limit)
}

/// Longitude → x, latitude → y (equirectangular), with `outlines` (GeoJSON polylines in
/// degrees) drawn behind. Images without coordinates form a block under the map.
/// Needs at least one image with both.
pub fn geographic(
    lat: &[String],
    lng: &[String],
    outlines: &[Vec<Vec2>],
) -> Option<LabelledLayout> {
    let points: Vec<Option<Vec2>> = (0..lat.len())
        .map(|i| {
            let la = parse_coordinate(&lat[i], 90.0)?;
            let lo = parse_coordinate(lng.get(i)?, 180.0)?;
            Some(Vec2::new(lo as f32, la as f32))
        })
        .collect();
    scatter(&points, outlines, "no location")
}

/// The user's own x/y columns; rows without both numbers form a block under the map.
/// Needs at least one row with both.
pub fn custom(xs: &[String], ys: &[String]) -> Option<LabelledLayout> {
    let points: Vec<Option<Vec2>> = (0..xs.len())
        .map(|i| {
            let x = parse_coordinate(&xs[i], f64::MAX)?;
            let y = parse_coordinate(ys.get(i)?, f64::MAX)?;
            Some(Vec2::new(x as f32, y as f32))
        })
        .collect();
    scatter(&points, &[], "no position")
}

/// Coordinates given by the user (`--coords`); images without one form a block labelled
/// "no position" under the others. Needs at least one image with a position.
pub fn given(points: &[Option<Vec2>]) -> Option<LabelledLayout> {
    scatter(points, &[], "no position")
}

/// Points where given; the rest in a block labelled `missing_label` under them. Thumbnails
/// are sized so those placed would cover about a third of their bounding box.
fn scatter(
    points: &[Option<Vec2>],
    outlines: &[Vec<Vec2>],
    missing_label: &str,
) -> Option<LabelledLayout> {
    let n = points.len();
    let [lo, hi] = super::bounds(points.iter().flatten().copied());
    let missing: Vec<usize> = (0..n).filter(|&i| points[i].is_none()).collect();
    let placed = n - missing.len();
    if placed == 0 {
        return None;
    }
    let extent = (hi - lo).max_element();
    let floor = if extent > 0.0 { extent * 1e-3 } else { 1.0 };
    let span = (hi - lo).max(Vec2::splat(floor));
    let cell = (span.element_product() * 0.3 / placed as f32).sqrt();
    let mut positions: Vec<Vec2> = points.iter().map(|p| p.unwrap_or(Vec2::ZERO)).collect();
    let mut labels = Vec::new();
    if !missing.is_empty() {
        let b = Block::new(missing_label.into(), missing, None);
        let no_hint = vec![Vec2::ZERO; n];
        let mut local = vec![Vec2::ZERO; n];
        let label = b.place(Vec2::ZERO, &no_hint, &mut local);
        let origin = Vec2::new(lo.x, lo.y - cell * (2.0 * GAP + CAPTION + b.rows as f32));
        for &i in &b.members {
            positions[i] = origin + local[i] * cell;
        }
        let at = origin + label.at() * cell;
        labels.push(MapLabel {
            x: at.x,
            y: at.y,
            ..label
        });
    }
    Some(
        LabelledLayout {
            positions,
            cell,
            labels,
            outlines: outlines.to_vec(),
        }
        .normalised(),
    )
}

/// Images in file-name order (the name without its folders, case-insensitive; the full path
/// breaks ties), row by row from the top left, each initial labelled where its run begins.
pub fn alphabetic(filenames: &[String]) -> LabelledLayout {
    let n = filenames.len();
    let mut order: Vec<usize> = (0..n).collect();
    let base = |i: usize| filenames[i].rsplit('/').next().unwrap_or("");
    order.sort_by_cached_key(|&i| (base(i).to_lowercase(), filenames[i].clone()));
    let cols = ((n as f64).sqrt().ceil() as usize).max(1);
    let mut positions = vec![Vec2::ZERO; n];
    let mut labels: Vec<MapLabel> = Vec::new();
    let mut last: Option<char> = None;
    for (rank, &i) in order.iter().enumerate() {
        let (c, r) = (rank % cols, rank / cols);
        positions[i] = Vec2::new(c as f32 + 0.5, -(r as f32) - 0.5);
        let name = base(i);
        let initial = name
            .chars()
            .next()
            .map(|c| c.to_uppercase().next().unwrap_or(c));
        if initial != last {
            if let Some(ch) = initial {
                labels.push(MapLabel {
                    text: ch.to_string(),
                    x: positions[i].x,
                    y: positions[i].y + 0.5,
                    count: 0,
                    ..Default::default()
                });
            }
            last = initial;
        }
        if let Some(l) = labels.last_mut() {
            l.count += 1;
        }
    }
    LabelledLayout {
        positions,
        cell: 1.0,
        labels,
        outlines: Vec::new(),
    }
    .normalised()
}

/// Polylines ([lng, lat] in degrees) of a GeoJSON file's polygons and lines.
pub fn geojson_outlines(text: &str) -> Result<Vec<Vec<Vec2>>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    fn ring(v: &serde_json::Value) -> Option<Vec<Vec2>> {
        v.as_array()?
            .iter()
            .map(|p| {
                let p = p.as_array()?;
                Some(Vec2::new(
                    p.first()?.as_f64()? as f32,
                    p.get(1)?.as_f64()? as f32,
                ))
            })
            .collect()
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<Vec<Vec2>>) {
        match v.get("type").and_then(|t| t.as_str()) {
            Some("FeatureCollection") => {
                for f in v
                    .get("features")
                    .and_then(|f| f.as_array())
                    .into_iter()
                    .flatten()
                {
                    walk(f, out);
                }
            }
            Some("Feature") => {
                if let Some(g) = v.get("geometry") {
                    walk(g, out);
                }
            }
            Some("GeometryCollection") => {
                for g in v
                    .get("geometries")
                    .and_then(|f| f.as_array())
                    .into_iter()
                    .flatten()
                {
                    walk(g, out);
                }
            }
            Some(kind) => {
                let coords = v.get("coordinates");
                let lines: Vec<&serde_json::Value> = match kind {
                    "LineString" => coords.into_iter().collect(),
                    "Polygon" | "MultiLineString" => coords
                        .and_then(|c| c.as_array())
                        .into_iter()
                        .flatten()
                        .collect(),
                    "MultiPolygon" => coords
                        .and_then(|c| c.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.as_array())
                        .flatten()
                        .collect(),
                    _ => Vec::new(),
                };
                out.extend(lines.into_iter().filter_map(ring).filter(|l| l.len() >= 2));
            }
            None => {}
        }
    }
    walk(&value, &mut out);
    if out.is_empty() {
        return Err("no LineString, Polygon or Multi* geometry found".into());
    }
    Ok(out)
}

/// Every metadata layout the data supports, by name: `categorical` (a `category` column
/// with two or more values), `date` (`year` or `date` with a year in it), `geographic`
/// (`lat` and `lng`/`lon`), `custom` (`x` and `y`), and always `alphabetic`.
pub fn metadata_layouts(
    columns: &[String],
    cells: &[Vec<String>],
    filenames: &[String],
    hint: &[Vec2],
    outlines: &[Vec<Vec2>],
) -> Vec<(&'static str, LabelledLayout)> {
    let col = |names: &[&str]| find_column(columns, cells, names);
    let mut out = Vec::new();
    if let Some(v) = col(&["category"])
        && let Some(l) = categorical(v, hint)
    {
        out.push(("categorical", l));
    }
    if let Some(v) = col(&["year", "date"])
        && let Some(l) = date(v, hint)
    {
        out.push(("date", l));
    }
    if let (Some(lat), Some(lng)) = (
        col(&["lat", "latitude"]),
        col(&["lng", "lon", "long", "longitude"]),
    ) && let Some(l) = geographic(lat, lng, outlines)
    {
        out.push(("geographic", l));
    }
    out.push(("alphabetic", alphabetic(filenames)));
    if let (Some(x), Some(y)) = (col(&["x"]), col(&["y"]))
        && let Some(l) = custom(x, y)
    {
        out.push(("custom", l));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::vec2;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn distinct(p: &[Vec2]) -> bool {
        let mut seen = std::collections::HashSet::new();
        p.iter()
            .all(|q| seen.insert((q.x.to_bits(), q.y.to_bits())))
    }

    #[test]
    fn years_parse() {
        assert_eq!(parse_year("1887"), Some(1887));
        assert_eq!(parse_year("1887-05-02"), Some(1887));
        assert_eq!(parse_year("c. 1890"), Some(1890));
        assert_eq!(parse_year("05/02/1887"), Some(1887));
        assert_eq!(parse_year("2001.0"), Some(2001));
        assert_eq!(parse_year("unknown"), None);
        assert_eq!(parse_year(""), None);
    }

    #[test]
    fn categorical_blocks_are_separate_and_labelled() {
        let cats = s(&["a", "b", "a", "", "b", "a", "c"]);
        let hint = vec![Vec2::ZERO; 7];
        let l = categorical(&cats, &hint).unwrap();
        assert!(distinct(&l.positions));
        let texts: Vec<&str> = l.labels.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, vec!["a", "b", "c", "no category"]);
        assert_eq!(l.labels[0].count, 3);
        assert!(
            l.positions
                .iter()
                .flat_map(|p| p.to_array())
                .all(|v| v.abs() <= 1.0 + 1e-5)
        );
        assert!(categorical(&s(&["x", "x"]), &hint[..2]).is_none());
    }

    #[test]
    fn dates_go_left_to_right() {
        let years = s(&["1990", "1980", "1990", "n/a", "1985"]);
        let l = date(&years, &[Vec2::ZERO; 5]).unwrap();
        assert!(distinct(&l.positions));
        assert!(l.positions[1][0] < l.positions[4][0] && l.positions[4][0] < l.positions[0][0]);
        let texts: Vec<&str> = l.labels.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, vec!["1980", "1985", "1990", "no date"]);
    }

    #[test]
    fn geography_keeps_compass_directions() {
        let lat = s(&["48.85", "-33.9", "", "40.7"]);
        let lng = s(&["2.35", "151.2", "10", "-74.0"]);
        let l = geographic(&lat, &lng, &[vec![vec2(-180.0, 0.0), vec2(180.0, 0.0)]]).unwrap();
        let (paris, sydney, ny) = (l.positions[0], l.positions[1], l.positions[3]);
        assert!(sydney[1] < paris[1] && ny[0] < paris[0] && paris[0] < sydney[0]);
        assert_eq!(l.labels[0].text, "no location");
        assert!(l.positions[2][1] < sydney[1]);
        assert_eq!(l.outlines.len(), 1);
        assert!(geographic(&s(&["x"]), &s(&["y"]), &[]).is_none());
    }

    #[test]
    fn alphabetic_orders_by_name() {
        let names = s(&["b/zebra.jpg", "apple.jpg", "b/Banana.jpg"]);
        let l = alphabetic(&names);
        // apple, Banana, zebra in reading order.
        let key = |p: Vec2| (-(p[1] * 1000.0) as i64, (p[0] * 1000.0) as i64);
        assert!(key(l.positions[1]) < key(l.positions[2]));
        assert!(key(l.positions[2]) < key(l.positions[0]));
        let texts: Vec<&str> = l.labels.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, vec!["A", "B", "Z"]);
    }

    #[test]
    fn geojson_outlines_parse() {
        let g = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[2,2],[3,2],[3,3]]],[[[5,5],[6,6]]]]}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[9,9]]}}]}"#;
        let o = geojson_outlines(g).unwrap();
        assert_eq!(o.len(), 4);
        assert_eq!(o[0][1], vec2(1.0, 0.0));
        assert!(geojson_outlines("{}").is_err());
        assert!(geojson_outlines("not json").is_err());
    }
}
