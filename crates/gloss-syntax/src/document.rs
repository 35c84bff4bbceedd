//! An open document: its text, version, language, line index and syntax tree, kept in step under edits.

use std::cell::RefCell;
use std::sync::Arc;

use tree_sitter::{InputEdit, Parser, Tree};

use crate::language::Language;
use crate::line_index::LineIndex;
use crate::outline::{Outline, OutlineCache};
use crate::position::{Position, PositionEncoding, Range};
use crate::queries::queries;

/// Text plus its tree-sitter tree, updated incrementally.
///
/// Cloning is cheap (the text and line index are shared until the next edit, and a
/// tree-sitter `Tree` clone only bumps a reference count), so snapshots can be handed
/// to other threads.
#[derive(Clone)]
pub struct Document {
    language: Language,
    version: i32,
    text: Arc<String>,
    lines: Arc<LineIndex>,
    tree: Option<Tree>,
    /// Built on first use by context gathering, then kept in step with edits.
    outline: OutlineCache,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("language", &self.language)
            .field("version", &self.version)
            .field("len", &self.text.len())
            .field("lines", &self.lines.line_count())
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// Parsers hold allocations worth reusing; they are not `Sync`, so each thread keeps its own.
    static PARSERS: RefCell<Vec<(Language, Parser)>> = const { RefCell::new(Vec::new()) };
}

fn parse(language: Language, text: &str, old_tree: Option<&Tree>) -> Option<Tree> {
    let parse_with = |parser: &mut Parser| parser.parse(text, old_tree);
    PARSERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut parsers) => {
            if let Some((_, parser)) = parsers.iter_mut().find(|(known, _)| *known == language) {
                return parse_with(parser);
            }
            let mut parser = Parser::new();
            parser.set_language(&language.tree_sitter_language()).ok()?;
            let tree = parse_with(&mut parser);
            parsers.push((language, parser));
            tree
        }
        Err(_) => {
            let mut parser = Parser::new();
            parser.set_language(&language.tree_sitter_language()).ok()?;
            parse_with(&mut parser)
        }
    })
}

/// Moves `offset` into `text` and back onto a character boundary.
pub(crate) fn clamp_offset(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl Document {
    pub fn new(language: Language, text: String, version: i32) -> Document {
        let lines = LineIndex::new(&text);
        let tree = parse(language, &text, None);
        Document {
            language,
            version,
            text: Arc::new(text),
            lines: Arc::new(lines),
            tree,
            outline: OutlineCache::default(),
        }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn set_version(&mut self, version: i32) {
        self.version = version;
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree; `None` only if tree-sitter refused to parse, which it does not
    /// do without a timeout or cancellation flag.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }

    pub fn line_index(&self) -> &LineIndex {
        &self.lines
    }

    /// Number of lines as LSP counts them (a trailing line break starts an empty line).
    pub fn line_count(&self) -> usize {
        self.lines.line_count()
    }

    /// Zero-based line of a byte offset (clamped).
    pub fn line_of_offset(&self, offset: usize) -> u32 {
        u32::try_from(self.lines.line_of(offset)).unwrap_or(u32::MAX)
    }

    /// Text of `line` without its line break; empty past the end.
    pub fn line_text(&self, line: u32) -> &str {
        &self.text[self.lines.line_content(&self.text, line as usize)]
    }

    /// Byte offset of an LSP position, clamped as the LSP spec says.
    pub fn offset_at(&self, position: Position, encoding: PositionEncoding) -> usize {
        self.lines.offset_at(&self.text, position, encoding)
    }

    /// LSP position of a byte offset (clamped to the text and to a character boundary).
    pub fn position_at(&self, offset: usize, encoding: PositionEncoding) -> Position {
        self.lines.position_at(&self.text, offset, encoding)
    }

    /// Byte range of an LSP range; a reversed range is put in order.
    pub fn byte_range(&self, range: Range, encoding: PositionEncoding) -> std::ops::Range<usize> {
        let start = self.offset_at(range.start, encoding);
        let end = self.offset_at(range.end, encoding);
        start.min(end)..start.max(end)
    }

    /// LSP range of a byte range.
    pub fn range_of(&self, bytes: std::ops::Range<usize>, encoding: PositionEncoding) -> Range {
        Range::new(
            self.position_at(bytes.start, encoding),
            self.position_at(bytes.end, encoding),
        )
    }

    /// Whether the tree has error or missing nodes.
    pub fn has_syntax_errors(&self) -> bool {
        self.tree
            .as_ref()
            .is_some_and(|tree| tree.root_node().has_error())
    }

    /// Applies an LSP content change: `None` replaces the whole text, otherwise `range`
    /// (counted in `encoding`, clamped) is replaced by `new_text` and the tree is
    /// reparsed incrementally.
    pub fn apply_change(
        &mut self,
        range: Option<Range>,
        new_text: &str,
        encoding: PositionEncoding,
    ) {
        match range {
            None => self.replace_all(new_text),
            Some(range) => {
                let bytes = self.byte_range(range, encoding);
                self.replace_bytes(bytes, new_text);
            }
        }
    }

    /// Replaces a byte range (clamped and snapped to character boundaries) and reparses
    /// incrementally.
    pub fn replace_bytes(&mut self, range: std::ops::Range<usize>, new_text: &str) {
        let start = clamp_offset(&self.text, range.start.min(range.end));
        let end = clamp_offset(&self.text, range.start.max(range.end));
        if start == end && new_text.is_empty() {
            return;
        }
        let start_position = self.lines.ts_point(&self.text, start);
        let old_end_position = self.lines.ts_point(&self.text, end);

        let text = Arc::make_mut(&mut self.text);
        let lines = Arc::make_mut(&mut self.lines);
        lines.replace(text, start, end, new_text);

        let new_end = start + new_text.len();
        let edit = InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position: self.lines.ts_point(&self.text, new_end),
        };
        let Some(mut old_tree) = self.tree.take() else {
            self.tree = parse(self.language, &self.text, None);
            self.outline.clear();
            return;
        };
        old_tree.edit(&edit);
        self.tree = parse(self.language, &self.text, Some(&old_tree));
        if self.tree.is_some() {
            self.outline.note_edit(&edit);
        } else {
            self.outline.clear();
        }
    }

    fn replace_all(&mut self, new_text: &str) {
        self.text = Arc::new(new_text.to_string());
        self.lines = Arc::new(LineIndex::new(new_text));
        self.tree = parse(self.language, new_text, None);
        self.outline.clear();
    }

    /// Builds (or brings up to date) the index of definitions and imports that
    /// [`gather_context`](crate::gather_context) uses, so that a later request does not pay
    /// for it; for example on a background thread after a large file is opened.
    pub fn warm_outline(&self) {
        let _ = self.outline();
    }

    /// The outline, built or brought up to date now.
    pub(crate) fn outline(&self) -> Option<Arc<Outline>> {
        let tree = self.tree.as_ref()?;
        let queries = queries(self.language)?;
        Some(self.outline.get(queries, tree, &self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn documents_are_snapshot_friendly() {
        assert_send_sync_clone::<Document>();
    }

    #[test]
    fn incremental_edit_updates_text_and_tree() {
        let mut document = Document::new(Language::Python, "def f():\n    return 1\n".into(), 1);
        let range = Range::new(Position::new(1, 11), Position::new(1, 12));
        document.apply_change(Some(range), "2 + 3", PositionEncoding::Utf16);
        assert_eq!(document.text(), "def f():\n    return 2 + 3\n");
        let fresh = Document::new(Language::Python, document.text().to_string(), 1);
        let sexp = |document: &Document| document.tree().map(|tree| tree.root_node().to_sexp());
        assert_eq!(sexp(&document), sexp(&fresh));
    }

    #[test]
    fn snapshots_do_not_see_later_edits() {
        let mut document = Document::new(Language::Rust, "fn a() {}".into(), 1);
        let snapshot = document.clone();
        document.apply_change(None, "fn b() {}", PositionEncoding::Utf16);
        document.set_version(2);
        assert_eq!(snapshot.text(), "fn a() {}");
        assert_eq!(snapshot.version(), 1);
        assert_eq!(document.text(), "fn b() {}");
        assert_eq!(document.version(), 2);
    }

    #[test]
    fn out_of_range_edits_clamp() {
        let mut document = Document::new(Language::JavaScript, "let a = 1;".into(), 0);
        let far = Position::new(40, 40);
        document.apply_change(
            Some(Range::new(far, far)),
            "\nlet b = 2;",
            PositionEncoding::Utf8,
        );
        assert_eq!(document.text(), "let a = 1;\nlet b = 2;");
        document.replace_bytes(std::ops::Range { start: 100, end: 3 }, "");
        assert_eq!(document.text(), "let");
    }
}
