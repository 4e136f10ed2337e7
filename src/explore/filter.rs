//! The filter language, shared by the search box, the facets, `export --where` and
//! `tag --where`: parsed once into an [`Expr`], evaluated on the rayon pool into [`Bits`].
//!
//! ```text
//! owl                   the file name or any metadata column contains "owl" (any case)
//! "barn owl"            a phrase, the same way
//! category:bird         the column contains "bird"
//! category=birds        the column is exactly "birds" (any case)
//! year>=1970  year<1980 numbers; year-like text reads as the date layout reads it
//! year:1970..1979       an inclusive range
//! -owl   -category=x    negation
//! a OR b                either; OR binds tighter than the implicit AND between terms:
//!                       `cat OR dog year>2000` is (cat OR dog) AND year>2000
//! tag:keep              the user's tag "keep" (`tags:` is PixPlot's metadata column)
//! hotspot:3  hotspot:"red flowers"   an image's hotspot, by number or label
//! "Date taken":1990..1999            a column name with spaces, quoted
//! ```
//! Gmail and GitHub search read OR the same way; parentheses are left out (a facet panel
//! covers the cases people nest for). A bad expression gives one [`FilterError`] naming the
//! term and what is wrong with it; nothing here panics on any input.

use super::bits::Bits;
use super::catalog::{Catalog, Column, number_of};
use super::tags::UserTags;
use crate::cluster::Hotspots;

/// What a term compares.
#[derive(Clone, Debug, PartialEq)]
enum Leaf {
    /// Any column contains the text.
    Anywhere(String),
    Contains(String, String),
    Equals(String, String),
    /// Column, operator, number.
    Compare(String, Op, f64),
    /// Inclusive range.
    Range(String, f64, f64),
    Tag(String),
    HotspotId(i32),
    HotspotLabel(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Ne,
}

#[derive(Clone, Debug, PartialEq)]
struct Term {
    negated: bool,
    leaf: Leaf,
    /// The term as written, and where it starts, for messages.
    source: String,
    at: usize,
}

/// A parsed expression: AND over groups, each an OR of terms. Empty: every image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expr {
    groups: Vec<Vec<Term>>,
}

/// What is wrong with an expression: the term, where it starts (in characters), and why.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("in `{term}` (at character {at}): {why}")]
pub struct FilterError {
    pub term: String,
    pub at: usize,
    pub why: String,
}

/// What the filter evaluates against.
pub struct Scope<'a> {
    pub catalog: &'a Catalog,
    pub tags: Option<&'a UserTags>,
    pub hotspots: Option<&'a Hotspots>,
}

impl Expr {
    /// Parses `text`; columns are checked against `catalog`.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Self, FilterError> {
        let tokens = tokenize(text)?;
        let mut groups: Vec<Vec<Term>> = Vec::new();
        let mut pending_or = false;
        for (k, token) in tokens.iter().enumerate() {
            if token.is_or() {
                if groups.is_empty() || pending_or || k + 1 == tokens.len() {
                    return Err(token.error("OR needs a term on each side"));
                }
                pending_or = true;
                continue;
            }
            let term = parse_term(token, catalog)?;
            match groups.last_mut() {
                Some(group) if pending_or => group.push(term),
                _ => groups.push(vec![term]),
            }
            pending_or = false;
        }
        Ok(Self { groups })
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The images the expression lets through.
    pub fn eval(&self, scope: &Scope) -> Result<Bits, FilterError> {
        let n = scope.catalog.len();
        let mut out = Bits::full(n);
        for group in &self.groups {
            let mut any = Bits::empty(n);
            for term in group {
                any.or(&term.eval(scope)?);
            }
            out.and(&any);
        }
        Ok(out)
    }
}

/// Parses and evaluates in one step.
pub fn evaluate(text: &str, scope: &Scope) -> Result<Bits, FilterError> {
    Expr::parse(text, scope.catalog)?.eval(scope)
}

impl Term {
    fn eval(&self, scope: &Scope) -> Result<Bits, FilterError> {
        let n = scope.catalog.len();
        let column = |name: &str| -> Result<&Column, FilterError> {
            scope
                .catalog
                .column(name)
                .ok_or_else(|| self.error("no such column"))
        };
        let mut bits = match &self.leaf {
            Leaf::Anywhere(text) => scope.catalog.any_contains(text),
            Leaf::Contains(c, text) => column(c)?.contains(text),
            Leaf::Equals(c, value) => column(c)?.equals(value),
            Leaf::Compare(c, op, v) => {
                let numbers = column(c)?.numbers();
                let (op, v) = (*op, *v);
                Bits::from_fn(n, |i| {
                    let x = numbers[i];
                    match op {
                        Op::Lt => x < v,
                        Op::Le => x <= v,
                        Op::Gt => x > v,
                        Op::Ge => x >= v,
                        Op::Ne => !x.is_nan() && x != v,
                    }
                })
            }
            Leaf::Range(c, lo, hi) => {
                let numbers = column(c)?.numbers();
                let (lo, hi) = (*lo, *hi);
                Bits::from_fn(n, |i| numbers[i] >= lo && numbers[i] <= hi)
            }
            Leaf::Tag(name) => scope
                .tags
                .and_then(|t| t.rows(name))
                .cloned()
                .unwrap_or_else(|| Bits::empty(n)),
            Leaf::HotspotId(id) => hotspot_rows(scope, *id, n),
            Leaf::HotspotLabel(label) => {
                let Some(h) = scope.hotspots else {
                    return Err(self.error("this dataset has no hotspots yet"));
                };
                let exact = h
                    .hotspots
                    .iter()
                    .find(|s| s.label.trim().eq_ignore_ascii_case(label));
                let spot = exact.or_else(|| {
                    h.hotspots
                        .iter()
                        .find(|s| s.label.to_lowercase().contains(label.as_str()))
                });
                match spot {
                    Some(s) => hotspot_rows(scope, s.id as i32, n),
                    None => {
                        let names: Vec<&str> =
                            h.hotspots.iter().map(|s| s.label.as_str()).collect();
                        return Err(self.error(&format!(
                            "no hotspot is called that (hotspots: {})",
                            shorten(&names)
                        )));
                    }
                }
            }
        };
        if self.negated {
            bits.not();
        }
        Ok(bits)
    }

    fn error(&self, why: &str) -> FilterError {
        FilterError {
            term: self.source.clone(),
            at: self.at,
            why: why.to_string(),
        }
    }
}

fn hotspot_rows(scope: &Scope, id: i32, n: usize) -> Bits {
    match scope.hotspots {
        Some(h) if h.assignment.len() == n => Bits::from_fn(n, |i| h.assignment[i] == id),
        _ => Bits::empty(n),
    }
}

/// The first names of a long list, for messages.
fn shorten(names: &[&str]) -> String {
    const MAX: usize = 12;
    if names.len() <= MAX {
        names.join(", ")
    } else {
        format!("{}, … ({} in all)", names[..MAX].join(", "), names.len())
    }
}

/// A token: its text (quotes kept) and where it starts, in characters.
#[derive(Debug)]
struct Token {
    text: String,
    at: usize,
}

impl Token {
    fn is_or(&self) -> bool {
        self.text == "OR"
    }

    fn error(&self, why: &str) -> FilterError {
        FilterError {
            term: self.text.clone(),
            at: self.at,
            why: why.to_string(),
        }
    }
}

/// Splits at whitespace outside double quotes.
fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut quoted = false;
    for (k, ch) in text.chars().enumerate() {
        if ch.is_whitespace() && !quoted {
            if !current.is_empty() {
                tokens.push(Token {
                    text: std::mem::take(&mut current),
                    at: start,
                });
            }
            continue;
        }
        if current.is_empty() {
            start = k;
        }
        if ch == '"' {
            quoted = !quoted;
        }
        current.push(ch);
    }
    if quoted {
        return Err(FilterError {
            term: current,
            at: start,
            why: "a quote is not closed: add the closing \"".into(),
        });
    }
    if !current.is_empty() {
        tokens.push(Token {
            text: current,
            at: start,
        });
    }
    Ok(tokens)
}

/// Removes one pair of surrounding quotes.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Lower-cased and trimmed, as the catalog stores text.
fn folded(s: &str) -> String {
    unquote(s).trim().to_lowercase().replace('\0', "")
}

/// Where a `column<op>value` term splits: the column's end, the operator, the value's start.
fn split_operator(body: &str) -> Option<(usize, &'static str, usize)> {
    let bytes = body.as_bytes();
    let mut i = 0;
    // A quoted column name.
    if bytes.first() == Some(&b'"') {
        let close = body[1..].find('"')? + 1;
        i = close + 1;
    } else {
        while i < bytes.len() && !matches!(bytes[i], b':' | b'=' | b'<' | b'>' | b'!' | b'"') {
            i += 1;
        }
    }
    if i == 0 || i >= bytes.len() {
        return None;
    }
    for op in [">=", "<=", "!=", ":", "=", ">", "<"] {
        if body[i..].starts_with(op) {
            return Some((i, op, i + op.len()));
        }
    }
    None
}

fn parse_term(token: &Token, catalog: &Catalog) -> Result<Term, FilterError> {
    let (negated, body) = match token.text.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => (true, rest),
        Some(_) => return Err(token.error("a lone '-' negates nothing: write -word")),
        None => (false, token.text.as_str()),
    };
    let leaf = match split_operator(body) {
        None => {
            let text = folded(body);
            if text.is_empty() {
                return Err(token.error("an empty phrase matches nothing: write a word"));
            }
            Leaf::Anywhere(text)
        }
        Some((col_end, op, value_start)) => {
            let column = unquote(&body[..col_end]).trim().to_string();
            let raw_value = &body[value_start..];
            let value = unquote(raw_value).trim();
            if value.is_empty() {
                return Err(token.error(&format!("`{column}{op}` needs a value after '{op}'")));
            }
            column_leaf(token, catalog, &column, op, value)?
        }
    };
    Ok(Term {
        negated,
        leaf,
        source: token.text.clone(),
        at: token.at,
    })
}

fn column_leaf(
    token: &Token,
    catalog: &Catalog,
    column: &str,
    op: &str,
    value: &str,
) -> Result<Leaf, FilterError> {
    let number = |v: &str| -> Result<f64, FilterError> {
        number_of(v).ok_or_else(|| token.error(&format!("'{v}' is not a number or a year")))
    };
    // User tags and hotspots come before metadata columns of the same name.
    if column.eq_ignore_ascii_case("tag") {
        return match op {
            ":" | "=" => Ok(Leaf::Tag(value.to_string())),
            _ => Err(token.error("tags are matched with tag:NAME")),
        };
    }
    if column.eq_ignore_ascii_case("hotspot") {
        return match (op, value.parse::<i32>()) {
            (":" | "=", Ok(id)) => Ok(Leaf::HotspotId(id)),
            (":" | "=", Err(_)) => Ok(Leaf::HotspotLabel(value.to_lowercase())),
            _ => Err(token.error("hotspots are matched with hotspot:N or hotspot:\"label\"")),
        };
    }
    let Some(col) = catalog.column(column) else {
        return Err(token.error(&format!(
            "there is no column '{column}' (columns: {}; or quote the phrase: \"{}\")",
            shorten(&catalog.column_names()),
            token.text.trim_start_matches('-')
        )));
    };
    let name = col.name.clone();
    Ok(match op {
        ":" => match value.split_once("..") {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo.trim())?, number(hi.trim())?);
                if lo > hi {
                    return Err(token.error(&format!(
                        "the range starts after it ends: write {column}:{hi}..{lo}"
                    )));
                }
                Leaf::Range(name, lo, hi)
            }
            None => Leaf::Contains(name, folded(value)),
        },
        "=" => Leaf::Equals(name, folded(value)),
        "!=" => match number_of(value) {
            Some(v) if value.parse::<f64>().is_ok() => Leaf::Compare(name, Op::Ne, v),
            _ => {
                return Err(
                    token.error(&format!("use -{column}={value} to leave out a text value"))
                );
            }
        },
        ">=" => Leaf::Compare(name, Op::Ge, number(value)?),
        "<=" => Leaf::Compare(name, Op::Le, number(value)?),
        ">" => Leaf::Compare(name, Op::Gt, number(value)?),
        _ => Leaf::Compare(name, Op::Lt, number(value)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Table;

    fn catalog() -> Catalog {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Catalog::new(
            &s(&[
                "a/owl.jpg",
                "b/barn owl.png",
                "c/cat.jpg",
                "d/dog.jpg",
                "e/x.jpg",
            ]),
            &Table {
                columns: s(&["category", "year", "Date taken", "description"]),
                cells: vec![
                    s(&["birds", "Birds", "pets", "pets", ""]),
                    s(&["1970", "c. 1975", "1980-02-01", "2001", "n/a"]),
                    s(&["1990", "1991", "", "1999", "2000"]),
                    s(&["A barn owl", "", "Tabby", "Good dog", "nothing"]),
                ],
            },
        )
    }

    fn rows(text: &str) -> Vec<usize> {
        let cat = catalog();
        let scope = Scope {
            catalog: &cat,
            tags: None,
            hotspots: None,
        };
        evaluate(text, &scope)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .ones()
            .collect()
    }

    fn error(text: &str) -> FilterError {
        let cat = catalog();
        Expr::parse(text, &cat).expect_err(text)
    }

    #[test]
    fn every_form_of_the_language_selects_what_it_says() {
        assert_eq!(rows(""), vec![0, 1, 2, 3, 4]);
        assert_eq!(rows("OWL"), vec![0, 1]);
        assert_eq!(rows("\"barn owl\""), vec![0, 1]);
        assert_eq!(rows("\"barn owl\" filename:png"), vec![1]);
        assert_eq!(rows("category:bird"), vec![0, 1]);
        assert_eq!(rows("category=birds"), vec![0, 1]);
        assert_eq!(rows("category=bird"), Vec::<usize>::new());
        assert_eq!(rows("year>=1975"), vec![1, 2, 3]);
        assert_eq!(rows("year<1975"), vec![0]);
        assert_eq!(rows("year>1975 year<=2001"), vec![2, 3]);
        assert_eq!(rows("year:1970..1980"), vec![0, 1, 2]);
        assert_eq!(rows("year!=1970"), vec![1, 2, 3]);
        assert_eq!(rows("-owl"), vec![2, 3, 4]);
        assert_eq!(rows("-category=pets"), vec![0, 1, 4]);
        assert_eq!(rows("cat OR dog"), vec![2, 3]);
        assert_eq!(rows("cat OR dog year>1990"), vec![3]);
        assert_eq!(rows("owl OR cat OR dog -year<1975"), vec![1, 2, 3]);
        assert_eq!(rows("\"Date taken\":1990..1991"), vec![0, 1]);
        assert_eq!(rows("filename:.png"), vec![1]);
        assert_eq!(rows("description:\"good dog\""), vec![3]);
        assert_eq!(rows("category=\"pets\""), vec![2, 3]);
    }

    #[test]
    fn bad_expressions_name_the_term_and_never_panic() {
        let e = error("owl colour:red");
        assert_eq!(e.term, "colour:red");
        assert_eq!(e.at, 4);
        assert!(
            e.why.contains("no column 'colour'") && e.why.contains("category"),
            "{e}"
        );
        assert!(error("year>=abc").why.contains("not a number"));
        assert!(error("year:1990..x").why.contains("not a number"));
        assert!(
            error("year:2000..1990")
                .why
                .contains("starts after it ends")
        );
        assert!(error("year>=").why.contains("needs a value"));
        assert!(error("\"barn owl").why.contains("not closed"));
        assert!(error("OR owl").why.contains("OR needs"));
        assert!(error("owl OR").why.contains("OR needs"));
        assert!(error("owl OR OR cat").why.contains("OR needs"));
        assert!(error("owl -").why.contains("negates nothing"));
        assert!(error("category!=pets").why.contains("-category=pets"));
        assert!(error("tag>3").why.contains("tag:NAME"));
        // Anything at all: an error or a result, never a panic.
        let cat = catalog();
        let scope = Scope {
            catalog: &cat,
            tags: None,
            hotspots: None,
        };
        for text in [
            "\"",
            "\"\"",
            ":",
            "::",
            "a:",
            ":b",
            "=",
            "<>",
            "\"a\":",
            "-\"\"",
            "a..b",
            "year:..",
            "year:1..",
            "é:ü",
            "hotspot:",
            "hotspot:x",
            "tag:",
            "\0",
            "-OR",
            "a OR -b",
        ] {
            let _ = evaluate(text, &scope);
        }
        assert!(
            evaluate("hotspot:\"red\"", &scope).is_err(),
            "no hotspots yet"
        );
        assert_eq!(evaluate("hotspot:3", &scope).map(|b| b.count()), Ok(0));
    }

    #[test]
    fn hotspots_match_by_number_and_label() {
        let cat = catalog();
        let spot = |id: u32, label: &str| crate::cluster::Hotspot {
            id,
            label: label.into(),
            label_source: "none".into(),
            size: 2,
            medoid: 0,
            centroid: glam::Vec2::ZERO,
            top_category: None,
        };
        let h = Hotspots {
            hotspots: vec![spot(0, "Owls"), spot(1, "Pets and friends")],
            assignment: vec![0, 0, 1, 1, -1],
            ..Default::default()
        };
        let scope = Scope {
            catalog: &cat,
            tags: None,
            hotspots: Some(&h),
        };
        let ones = |t: &str| evaluate(t, &scope).unwrap().ones().collect::<Vec<_>>();
        assert_eq!(ones("hotspot:1"), vec![2, 3]);
        assert_eq!(ones("hotspot:\"owls\""), vec![0, 1]);
        assert_eq!(ones("hotspot:pets"), vec![2, 3]);
        assert_eq!(ones("-hotspot:0"), vec![2, 3, 4]);
        let e = evaluate("hotspot:\"fish\"", &scope).unwrap_err();
        assert!(e.why.contains("Owls, Pets and friends"), "{e}");
    }
}
