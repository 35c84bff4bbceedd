//! Where a new doc comment for a region goes, following each language's convention.
//!
//! * Python: a docstring as the first statement of the body, at the body's indentation.
//!   A body on the same line as its header (`def f(): return 1`) has no such place: `None`.
//! * Rust: `///` lines directly above the item and above its attributes, where rustdoc
//!   and rustfmt put them.
//! * JavaScript: a `/** … */` JSDoc block above the declaration, above an `export` and
//!   any decorators.
//!
//! Blocks, selections, lambdas and Rust closures cannot carry documentation: `None`.

use std::ops::Range;

use crate::document::Document;
use crate::language::Language;
use crate::region::{Region, RegionKind};

/// The shape of doc comment a language expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocStyle {
    /// `"""…"""` as the first statement of the body.
    PythonDocstring,
    /// `/// …` lines above the item.
    RustLineComment,
    /// `/** … */` above the declaration.
    JsDoc,
}

/// Where a new doc comment would be inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocInsertion {
    /// Byte offset at the start of a line: insert the comment (ending in a line break) here.
    pub offset: usize,
    /// Indentation for each line of the new comment.
    pub indent: String,
    pub style: DocStyle,
    /// The region's current doc text, which an edit should replace rather than duplicate.
    pub existing: Vec<Range<usize>>,
}

impl DocInsertion {
    pub fn has_doc(&self) -> bool {
        !self.existing.is_empty()
    }
}

/// Where a doc comment for `region` belongs; see the module docs for the conventions.
pub fn doc_comment_insertion(document: &Document, region: &Region) -> Option<DocInsertion> {
    let line_start = |offset: usize| {
        let line = document.line_of_offset(offset);
        document.line_index().line_start(line as usize).unwrap_or(0)
    };
    let indent_of = |offset: usize| {
        let line = document.line_text(document.line_of_offset(offset));
        line[..line.len() - line.trim_start().len()].to_string()
    };
    let existing = region.doc_ranges.clone();
    match region.language {
        Language::Python => {
            let documentable = matches!(
                region.kind,
                RegionKind::Function | RegionKind::Method | RegionKind::Class
            );
            if !documentable {
                return None;
            }
            let body = region.body_range.clone()?;
            let header_line = document.line_of_offset(region.node_range.start);
            if document.line_of_offset(body.start) == header_line {
                return None;
            }
            let first = existing.first().map_or(body.start, |doc| doc.start);
            Some(DocInsertion {
                offset: line_start(first),
                indent: indent_of(body.start),
                style: DocStyle::PythonDocstring,
                existing,
            })
        }
        Language::Rust | Language::JavaScript => {
            let undocumentable = matches!(
                region.kind,
                RegionKind::Block(_) | RegionKind::Selection | RegionKind::Lambda
            ) || (region.language == Language::Rust
                && region.kind == RegionKind::Closure);
            if undocumentable {
                return None;
            }
            let style = if region.language == Language::Rust {
                DocStyle::RustLineComment
            } else {
                DocStyle::JsDoc
            };
            Some(DocInsertion {
                offset: line_start(region.byte_range.start),
                indent: indent_of(region.byte_range.start),
                style,
                existing,
            })
        }
    }
}
