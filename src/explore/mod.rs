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
pub use catalog::Catalog;
pub use explorer::{ExploreError, Explorer};
pub use filter::{Expr, FilterError, Scope, evaluate};
pub use tags::UserTags;
