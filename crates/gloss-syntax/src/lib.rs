//! Documents, positions, languages, region picking and model context for gloss.
//!
//! This crate knows nothing about LSP transports or models: it answers "what is the user
//! pointing at, and what does the model need to know to explain it" with plain types.
//!
//! * [`Document`] keeps text, version, language and a tree-sitter tree in step under
//!   incremental edits; positions convert between UTF-8, UTF-16 and UTF-32 columns.
//! * [`pick_at`] and [`pick_selection`] choose a [`Region`] by rules driven by the
//!   per-language query files in `queries/<language>/`.
//! * [`gather_context`] collects the enclosing header, doc text, imports and callees
//!   under a token budget, cutting long code by the rule in [`truncate_middle`].
//! * [`doc_comment_insertion`] says where a new doc comment would go.

mod context;
mod doc_insert;
mod document;
mod language;
mod line_index;
mod outline;
mod pick;
mod position;
mod queries;
mod region;
mod syntax;
mod tree_memory;
mod truncate;

pub use context::{
    Callee, Context, ContextOptions, DEFAULT_MAX_CALLEES, DEFAULT_TOKEN_BUDGET, estimate_tokens,
    gather_context,
};
pub use doc_insert::{DocInsertion, DocStyle, doc_comment_insertion};
pub use document::{Document, LARGE_DOCUMENT_BYTES, REPARSE_BUDGET_BYTES};
pub use language::Language;
pub use line_index::LineIndex;
pub use pick::{DEFAULT_LONG_FUNCTION_LINES, PickOptions, pick_at, pick_selection};
pub use position::{Position, PositionEncoding, Range};
pub use queries::check_queries;
pub use region::{BlockKind, Region, RegionKind};
pub use truncate::{Truncated, omission_marker, truncate_middle};
