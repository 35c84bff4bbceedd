//! Where a new doc comment for a region goes, following each language's convention.
//!
//! * Python: a docstring as the first statement of the body, at the body's indentation.
//!   A body on the same line as its header (`def f(): return 1`) has no such place: `None`.
//! * Rust: `///` lines directly above the item and above its attributes, where rustdoc
//!   and rustfmt put them.
//! * JavaScript and TypeScript (JSDoc, TSDoc), Java (Javadoc), C and C++ (Doxygen's
//!   Javadoc style): a `/** … */` block above the declaration, above an `export`,
//!   decorators, annotations and a `template <…>` line.
//! * Go: `//` lines directly above the declaration, the first starting with the declared
//!   name (`// Add returns …`), as `go doc` and gofmt expect.
//!
//! Blocks, selections and lambdas cannot carry documentation: `None`. Neither can
//! anonymous closures, except in JavaScript and TypeScript, where a function bound to a
//! property (`module.exports.f = function …`) is one and documented as such.

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
    /// `/** … */` above the declaration: JSDoc, TSDoc, Javadoc, Doxygen.
    DocBlock,
    /// `// Name …` lines above the declaration (Go).
    GoLineComment,
}

/// Where a new doc comment would be inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocInsertion {
    /// Byte offset at the start of a line: insert the comment (ending in a line break) here.
    pub offset: usize,
    /// Indentation for each line of the new comment.
    pub indent: String,
    pub style: DocStyle,
    /// The documented item's name, which a Go doc comment starts with.
    pub name: Option<String>,
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
                name: region.name.clone(),
                existing,
            })
        }
        _ => {
            let closures_documented = matches!(
                region.language,
                Language::JavaScript | Language::TypeScript | Language::Tsx
            );
            let undocumentable = matches!(
                region.kind,
                RegionKind::Block(_) | RegionKind::Selection | RegionKind::Lambda
            ) || (region.kind == RegionKind::Closure && !closures_documented);
            if undocumentable {
                return None;
            }
            let style = match region.language {
                Language::Rust => DocStyle::RustLineComment,
                Language::Go => DocStyle::GoLineComment,
                _ => DocStyle::DocBlock,
            };
            Some(DocInsertion {
                offset: line_start(region.byte_range.start),
                indent: indent_of(region.byte_range.start),
                style,
                name: region.name.clone(),
                existing,
            })
        }
    }
}
