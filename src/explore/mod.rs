//! Acting on parts of a collection: the filter language ([`filter`]) over a searchable
//! [`catalog`] of file names and metadata, facets with cross-filtered counts, the user's
//! tags, and exact similarity search. Pure code over plain data: the window, `export
//! --where` and `tag --where` all go through it, and it is tested without a window.

pub mod bits;
pub mod catalog;
pub mod colour;
pub mod explorer;
pub mod facets;
pub mod filter;
pub mod hotspots;
pub mod similar;
pub mod state;
pub mod tags;
pub mod takeaway;
pub mod views;

pub use bits::Bits;

/// A name the user gives (a hotspot, a view) as stored: trimmed, non-empty, without
/// control characters, at most `max` characters; `what` names it in the message.
pub fn clean_name(name: &str, what: &str, max: usize) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("a {what} needs a name"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{what} names cannot hold control characters (tabs, line breaks)"
        ));
    }
    if name.chars().count() > max {
        return Err(format!("{what} names are at most {max} characters"));
    }
    Ok(name.to_string())
}
pub use catalog::Catalog;
pub use explorer::{ExploreError, Explorer};
pub use filter::{Expr, FilterError, Scope, evaluate};
pub use tags::UserTags;
