//! An open document: its text, version, language, line index and syntax tree, kept in step under edits.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Set when the last parse was abandoned for its slowness.
    abandoned: Option<Abandoned>,
    /// Where the first byte of the text changed since the last parse is, when an edit since then
    /// is yet to be parsed by [`Document::reparse`].
    edited_from: Option<usize>,
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

/// Documents from this size on re-parse within [`REPARSE_BUDGET_BYTES`] (see
/// [`tree_memory`](crate::tree_memory) for why).
pub const LARGE_DOCUMENT_BYTES: usize = 1 << 20;

/// What an incremental re-parse of a large document may allocate before it is abandoned for a
/// parse from scratch. In a 1 MiB file of small functions an edit anywhere costs a Rust re-parse
/// 0.8 MB, but tree-sitter's Python grammar rebuilds every node after the edit: 46 MB for an
/// edit at the top, as much as a parse from scratch (and as slow), 2.6 MB for one in the last
/// function. An edit that changes how the rest of a file parses costs the same in any language.
pub const REPARSE_BUDGET_BYTES: usize = 8 << 20;

fn with_parser(language: Language, run: impl FnOnce(&mut Parser) -> Option<Tree>) -> Option<Tree> {
    crate::tree_memory::install();
    let new_parser = || {
        let mut parser = Parser::new();
        parser.set_language(&language.tree_sitter_language()).ok()?;
        Some(parser)
    };
    PARSERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut parsers) => {
            if let Some((_, parser)) = parsers.iter_mut().find(|(known, _)| *known == language) {
                return run(parser);
            }
            let mut parser = new_parser()?;
            let tree = run(&mut parser);
            parsers.push((language, parser));
            tree
        }
        Err(_) => run(&mut new_parser()?),
    })
}

/// How far behind its usual pace a parse may fall before it is abandoned. Well-formed code
/// parses at 0.1-0.15 ms per KiB on the machines we build on (5 MiB of Python in 0.5 s), but an
/// unclosed parenthesis followed, far below, by an unterminated string sends tree-sitter's error
/// recovery into a crawl that grows with the text between them: a 1 MiB file took 7 s, a 5 MiB
/// one 80-110 s. The server parses on the thread that reads the client's messages, so such a
/// parse would silence it; at this pace a parse gets an order of magnitude of headroom over a
/// busy machine's, and gives up within 2 s in a broken 1 MiB file.
const PARSE_SLACK: Duration = Duration::from_secs(1);
const PARSE_TIME_PER_KIB: Duration = Duration::from_millis(1);

/// How much text tree-sitter gets from one call for it, so that a parse that stops can tell how
/// far it read. Small beside the time it takes to parse (half a millisecond for 4 KiB).
const READ_CHUNK_BYTES: usize = 4 * 1024;

/// Where a parse abandoned for falling behind [`PARSE_TIME_PER_KIB`] stopped.
#[derive(Clone, Copy, Debug)]
struct Abandoned {
    /// The byte the parse had reached.
    at_byte: usize,
    /// The end of the text tree-sitter had been handed. The parse went as it did on the text
    /// before it alone, so an edit from there on would see it abandoned at the same place again
    /// (a parse of the broken 5 MiB file took seconds and tens of MB each time it was tried).
    read_to: usize,
}

/// Why [`parse_bounded`] stopped without a tree.
enum Unparsed {
    /// An incremental re-parse was about to allocate more than its budget.
    OverBudget,
    /// The parse fell behind [`PARSE_TIME_PER_KIB`].
    TooSlow(Abandoned),
    /// tree-sitter gave no tree for another reason (no grammar).
    Refused,
}

/// Parses `text` (incrementally from `old_tree` when there is one), giving up when it falls
/// behind the pace above or, with `memory_budget`, allocates more than that many bytes.
fn parse_bounded(
    language: Language,
    text: &str,
    old_tree: Option<&Tree>,
    memory_budget: Option<usize>,
) -> Result<Tree, Unparsed> {
    let mut stopped = None;
    let mut read_to = 0;
    let tree = with_parser(language, |parser| {
        let started = Instant::now();
        let allocated_before = crate::tree_memory::allocated_on_this_thread();
        let mut check = |state: &tree_sitter::ParseState| {
            let allocated =
                crate::tree_memory::allocated_on_this_thread().saturating_sub(allocated_before);
            if memory_budget.is_some_and(|budget| allocated > budget) {
                stopped = Some(Unparsed::OverBudget);
                return true;
            }
            let at_byte = state.current_byte_offset();
            let allowed = PARSE_SLACK + PARSE_TIME_PER_KIB * (at_byte / 1024) as u32;
            if started.elapsed() > allowed {
                stopped = Some(Unparsed::TooSlow(Abandoned {
                    at_byte,
                    read_to: 0,
                }));
                return true;
            }
            false
        };
        let mut read = |offset: usize, _| {
            let start = offset.min(text.len());
            let mut end = start.saturating_add(READ_CHUNK_BYTES).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            read_to = read_to.max(end);
            &text.as_bytes()[start..end]
        };
        let tree = parser.parse_with_options(
            &mut read,
            old_tree,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut check)),
        );
        if tree.is_none() {
            // A cancelled parse is resumed by the next call unless the parser forgets it.
            parser.reset();
        }
        tree
    });
    tree.ok_or(match stopped {
        Some(Unparsed::TooSlow(abandoned)) => Unparsed::TooSlow(Abandoned {
            read_to,
            ..abandoned
        }),
        stopped => stopped.unwrap_or(Unparsed::Refused),
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
        let parsed = parse_bounded(language, &text, None, None);
        let mut document = Document {
            language,
            version,
            text: Arc::new(text),
            lines: Arc::new(lines),
            tree: None,
            abandoned: None,
            edited_from: None,
            outline: OutlineCache::default(),
        };
        document.set_parsed(parsed);
        document
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

    /// The syntax tree; `None` when the last parse was abandoned (see
    /// [`Document::parse_abandoned_at`]).
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
        self.edit(range, new_text, encoding);
        self.reparse();
    }

    /// Like [`Document::apply_change`] without the re-parse: the several changes of one
    /// `didChange` cost one re-parse, by a call to [`Document::reparse`] after the last. Until
    /// then the tree describes no text (it is the old tree with the edits marked).
    pub fn edit(&mut self, range: Option<Range>, new_text: &str, encoding: PositionEncoding) {
        match range {
            None => self.replace_all(new_text),
            Some(range) => {
                let bytes = self.byte_range(range, encoding);
                self.edit_bytes(bytes, new_text);
            }
        }
    }

    /// Replaces a byte range (clamped and snapped to character boundaries) and reparses
    /// incrementally.
    pub fn replace_bytes(&mut self, range: std::ops::Range<usize>, new_text: &str) {
        self.edit_bytes(range, new_text);
        self.reparse();
    }

    fn edit_bytes(&mut self, range: std::ops::Range<usize>, new_text: &str) {
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

        self.note_edit_from(start);
        let new_end = start + new_text.len();
        let edit = InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position: self.lines.ts_point(&self.text, new_end),
        };
        match &mut self.tree {
            Some(tree) => {
                tree.edit(&edit);
                self.outline.note_edit(&edit);
            }
            None => self.outline.clear(),
        }
    }

    fn replace_all(&mut self, new_text: &str) {
        self.text = Arc::new(new_text.to_string());
        self.lines = Arc::new(LineIndex::new(new_text));
        // Let the new tree take the old one's memory where no snapshot holds it still (the
        // outline holds a tree too).
        self.tree = None;
        self.outline.clear();
        self.note_edit_from(0);
    }

    fn note_edit_from(&mut self, start: usize) {
        self.edited_from = Some(self.edited_from.map_or(start, |earlier| earlier.min(start)));
    }

    /// Brings the tree up to date with the edits since the last parse (see [`Document::edit`]).
    pub fn reparse(&mut self) {
        let Some(edited_from) = self.edited_from.take() else {
            return;
        };
        // The text before the earliest edit is the text the abandoned parse read there, so when
        // that covers all it read, a parse now would be abandoned at the same place.
        if self
            .abandoned
            .is_some_and(|abandoned| edited_from >= abandoned.read_to)
        {
            return;
        }
        let parsed = match self.tree.take() {
            None => parse_bounded(self.language, &self.text, None, None),
            Some(old_tree) if self.text.len() < LARGE_DOCUMENT_BYTES => {
                parse_bounded(self.language, &self.text, Some(&old_tree), None)
            }
            Some(old_tree) => {
                let budget = Some(REPARSE_BUDGET_BYTES);
                match parse_bounded(self.language, &self.text, Some(&old_tree), budget) {
                    Err(Unparsed::OverBudget) => {
                        // The new tree is to take the old one's memory, not to be built beside
                        // it; the outline holds the tree it was built from, so it goes too (the
                        // next request rebuilds it).
                        drop(old_tree);
                        self.outline.clear();
                        parse_bounded(self.language, &self.text, None, None)
                    }
                    parsed => parsed,
                }
            }
        };
        self.set_parsed(parsed);
    }

    fn set_parsed(&mut self, parsed: Result<Tree, Unparsed>) {
        self.abandoned = match &parsed {
            Err(Unparsed::TooSlow(abandoned)) => Some(*abandoned),
            _ => None,
        };
        self.tree = parsed.ok();
        if self.tree.is_none() {
            self.outline.clear();
        }
    }

    /// Where the last parse was abandoned for falling behind (see [`PARSE_TIME_PER_KIB`]):
    /// the document then has no tree until an edit lets it parse.
    pub fn parse_abandoned_at(&self) -> Option<usize> {
        self.abandoned.map(|abandoned| abandoned.at_byte)
    }

    /// Why there is no tree, in a sentence for the person editing, when the parse was abandoned.
    pub fn why_unparsed(&self) -> Option<String> {
        let at_byte = self.parse_abandoned_at()?;
        Some(format!(
            "gloss stopped parsing this file: a syntax error before line {} (an unclosed bracket \
             or string?) makes tree-sitter's error recovery too slow. Fix it and ask again.",
            self.line_of_offset(at_byte) + 1
        ))
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
        assert_eq!(sexp(&document), sexp(&fresh));
    }

    /// A Python file of `bytes` or a little more: many small functions, as generated code has.
    fn large_python(bytes: usize) -> String {
        let mut text = String::from("import os\n\n");
        let mut i = 0;
        while text.len() < bytes {
            text.push_str(&format!(
                "def function_{i}(value, other):\n    total = value * {i} + other\n    return os.path.join(str(total), 'x')\n\n"
            ));
            i += 1;
        }
        text
    }

    fn sexp(document: &Document) -> Option<String> {
        document.tree().map(|tree| tree.root_node().to_sexp())
    }

    /// What the protocol fuzz's edits made of its generated file: an unclosed parenthesis and,
    /// far below it, an unterminated string. Every line after them is in error, and
    /// tree-sitter's recovery slows with each (7 s for this MiB, unbounded). Returns the text
    /// and the byte range of the unclosed parameter list.
    fn python_that_parses_slowly() -> (String, std::ops::Range<usize>) {
        let functions = |range: std::ops::Range<usize>| {
            range
                .map(|i| {
                    format!(
                        "def generated_{i}(values):\n    \"\"\"Row {i}.\"\"\"\n    total = 0\n    \
                         for value in values:\n        total += value * {i}\n    return total\n\n"
                    )
                })
                .collect::<String>()
        };
        let mut text = functions(0..2000);
        text.push_str("def broken(value");
        let unclosed = text.len() - "value".len()..text.len();
        text.push_str("//\n    total = 0\n");
        text.push_str(&functions(2000..4000));
        text.push_str("    r(\"}'\nrn total\n");
        text.push_str(&functions(4000..8000));
        (text, unclosed)
    }

    #[test]
    fn a_parse_that_falls_behind_is_abandoned_until_an_edit_mends_it() {
        let (text, unclosed) = python_that_parses_slowly();
        let mut document = Document::new(Language::Python, text, 1);
        let at = document
            .parse_abandoned_at()
            .expect("the parse was abandoned");
        assert!(document.tree().is_none());
        let why = document.why_unparsed().expect("a reason");
        assert!(why.contains("syntax error before line"), "{why}");
        assert!(
            at > unclosed.start,
            "abandoned at byte {at}, before the error"
        );

        document.replace_bytes(unclosed, "values):");
        assert_eq!(document.parse_abandoned_at(), None);
        assert_eq!(document.why_unparsed(), None);
        let tree = document.tree().expect("the mended text parses");
        assert!(
            tree.root_node().has_error(),
            "the unterminated string is left"
        );
    }

    #[test]
    fn an_edit_past_what_an_abandoned_parse_read_is_not_parsed_again() {
        let (text, unclosed) = python_that_parses_slowly();
        let mut document = Document::new(Language::Python, text, 1);
        let at = document
            .parse_abandoned_at()
            .expect("the parse was abandoned");

        // The parse gave up before it read the end, so what is typed there leaves it as it was.
        let end = document.text().len();
        let before = crate::tree_memory::allocated_on_this_thread();
        document.replace_bytes(end..end, "\ndef appended():\n    pass\n");
        let allocated = crate::tree_memory::allocated_on_this_thread() - before;
        assert_eq!(allocated, 0, "parsed again after an edit at the end");
        assert_eq!(document.parse_abandoned_at(), Some(at));
        assert!(document.tree().is_none());

        document.replace_bytes(unclosed, "values):");
        assert_eq!(document.parse_abandoned_at(), None);
        assert!(document.tree().is_some(), "an edit before it parses again");
    }

    #[test]
    fn a_large_document_is_not_reparsed_beside_its_old_tree() {
        let before_open = crate::tree_memory::live();
        let mut document = Document::new(Language::Python, large_python(LARGE_DOCUMENT_BYTES), 1);
        let tree_bytes = crate::tree_memory::live() - before_open;
        // An opened triple quote turns the rest of the file into one string (a small tree); closing
        // it again makes every function parse anew.
        document.replace_bytes(11..11, "\"\"\"");
        assert!(document.has_syntax_errors());
        let before_edit = crate::tree_memory::live();
        crate::tree_memory::reset_peak();
        document.replace_bytes(11..14, "");
        let growth = crate::tree_memory::peak() - before_edit;
        assert!(
            growth < tree_bytes / 2,
            "re-parsing took {growth} bytes beside a tree of {tree_bytes}"
        );
        let fresh = Document::new(Language::Python, document.text().to_string(), 1);
        assert!(!document.has_syntax_errors());
        assert_eq!(sexp(&document), sexp(&fresh));
    }

    #[test]
    fn an_edit_near_the_end_of_a_large_document_reparses_incrementally() {
        let mut document = Document::new(Language::Python, large_python(LARGE_DOCUMENT_BYTES), 1);
        let offset = document.text().rfind("total =").expect("a body");
        let before = crate::tree_memory::allocated_on_this_thread();
        document.replace_bytes(offset..offset + "total".len(), "sum_");
        let allocated = crate::tree_memory::allocated_on_this_thread() - before;
        // A parse from scratch would allocate some 45 MB.
        assert!(allocated < REPARSE_BUDGET_BYTES, "{allocated} bytes");
        let fresh = Document::new(Language::Python, document.text().to_string(), 1);
        assert_eq!(sexp(&document), sexp(&fresh));
    }

    #[test]
    fn several_edits_then_one_reparse_match_a_fresh_parse() {
        let mut document = Document::new(
            Language::Rust,
            "fn a() -> u32 {\n    1\n}\n\nfn b() {}\n".into(),
            1,
        );
        let at = |line, character| Position::new(line, character);
        document.edit(
            Some(Range::new(at(1, 4), at(1, 5))),
            "2 + 3",
            PositionEncoding::Utf16,
        );
        document.edit(
            Some(Range::new(at(4, 3), at(4, 4))),
            "renamed",
            PositionEncoding::Utf16,
        );
        document.edit(
            Some(Range::new(at(0, 0), at(0, 0))),
            "/// Two.\n",
            PositionEncoding::Utf16,
        );
        document.reparse();
        assert_eq!(
            document.text(),
            "/// Two.\nfn a() -> u32 {\n    2 + 3\n}\n\nfn renamed() {}\n"
        );
        let fresh = Document::new(Language::Rust, document.text().to_string(), 1);
        assert_eq!(sexp(&document), sexp(&fresh));
        // A whole-text replacement among them leaves no tree to edit: the parse starts afresh.
        document.edit(None, "fn c() {}", PositionEncoding::Utf16);
        document.edit(
            Some(Range::new(at(0, 3), at(0, 4))),
            "d",
            PositionEncoding::Utf16,
        );
        document.reparse();
        let fresh = Document::new(Language::Rust, "fn d() {}".into(), 1);
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
