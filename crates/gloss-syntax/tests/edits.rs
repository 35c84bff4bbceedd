//! Property tests: random edits keep text, line index and tree equal to a fresh document,
//! and picking never panics whatever the offset.

use gloss_syntax::{
    ContextOptions, Document, Language, LineIndex, PickOptions, Position, PositionEncoding, Range,
    doc_comment_insertion, gather_context, pick_at, pick_selection,
};
use proptest::prelude::*;

/// Pieces that stress positions and parsing: ASCII code, CJK, emoji (surrogate pairs in
/// UTF-16), every line ending and indentation.
const PIECES: &[&str] = &[
    "def ",
    "f",
    "(x)",
    ":",
    "\n",
    "\r\n",
    "\r",
    "    ",
    "return ",
    "x",
    " + ",
    "1",
    "日本",
    "😀",
    "é",
    "\"",
    "#",
    "class ",
    "A",
    "fn ",
    "{",
    "}",
    ";",
    "=",
    "=>",
    "(",
    ")",
    "if ",
    "for ",
    "//",
    "/**",
    "*/",
    "@d\n",
    "#[a]",
    "lambda ",
    "|y| ",
    "import os\n",
    "use a::b;\n",
    "\t",
];

fn text_strategy(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..max_pieces)
        .prop_map(|pieces| pieces.concat())
}

/// A reference implementation of LSP positions, written the slow obvious way.
fn reference_offset(text: &str, position: Position, encoding: PositionEncoding) -> usize {
    let mut line_starts = vec![0];
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => {
                line_starts.push(at + 2);
                at += 1;
            }
            b'\r' | b'\n' => line_starts.push(at + 1),
            _ => {}
        }
        at += 1;
    }
    let Some(&start) = line_starts.get(position.line as usize) else {
        return text.len();
    };
    let mut offset = start;
    let mut units = 0;
    for ch in text[start..].chars() {
        if ch == '\n' || ch == '\r' {
            break;
        }
        let width = match encoding {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if units + width > position.character as usize {
            break;
        }
        units += width;
        offset += ch.len_utf8();
    }
    offset
}

#[derive(Clone, Debug)]
struct Edit {
    start: (u32, u32),
    end: (u32, u32),
    insert: String,
    encoding: PositionEncoding,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let encoding = prop::sample::select(vec![
        PositionEncoding::Utf8,
        PositionEncoding::Utf16,
        PositionEncoding::Utf32,
    ]);
    (
        0u32..12,
        0u32..14,
        0u32..3,
        0u32..14,
        text_strategy(4),
        encoding,
    )
        .prop_map(
            |(line, character, extra_lines, end_character, insert, encoding)| Edit {
                start: (line, character),
                end: (line + extra_lines, end_character),
                insert,
                encoding,
            },
        )
}

fn sexp(document: &Document) -> Option<String> {
    document.tree().map(|tree| tree.root_node().to_sexp())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, .. ProptestConfig::default() })]

    #[test]
    fn incremental_edits_match_a_fresh_parse(
        language in prop::sample::select(Language::ALL.to_vec()),
        initial in text_strategy(40),
        edits in prop::collection::vec(edit_strategy(), 1..12),
    ) {
        let mut document = Document::new(language, initial.clone(), 0);
        let mut model = initial;
        for edit in edits {
            let start = Position::new(edit.start.0, edit.start.1);
            let end = Position::new(edit.end.0, edit.end.1);
            let mut from = reference_offset(&model, start, edit.encoding);
            let mut to = reference_offset(&model, end, edit.encoding);
            if from > to {
                std::mem::swap(&mut from, &mut to);
            }
            model.replace_range(from..to, &edit.insert);
            document.apply_change(Some(Range::new(start, end)), &edit.insert, edit.encoding);
            prop_assert_eq!(document.text(), model.as_str());
        }
        prop_assert_eq!(document.line_index(), &LineIndex::new(&model));
        let fresh = Document::new(language, model.clone(), 0);
        prop_assert_eq!(sexp(&document), sexp(&fresh));
    }

    #[test]
    fn positions_round_trip_against_the_reference(
        text in text_strategy(40),
        line in 0u32..14,
        character in 0u32..20,
    ) {
        let document = Document::new(Language::Python, text.clone(), 0);
        for encoding in [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32] {
            let position = Position::new(line, character);
            let offset = document.offset_at(position, encoding);
            prop_assert_eq!(offset, reference_offset(&text, position, encoding));
            let back = document.position_at(offset, encoding);
            prop_assert_eq!(document.offset_at(back, encoding), offset);
        }
    }

    #[test]
    fn picking_never_panics_and_regions_are_consistent(
        language in prop::sample::select(Language::ALL.to_vec()),
        text in text_strategy(60),
        offsets in prop::collection::vec(0usize..400, 1..6),
        long in 1u32..8,
    ) {
        let document = Document::new(language, text, 0);
        let options = PickOptions { long_function_lines: long };
        let context_options = ContextOptions { token_budget: 40, ..ContextOptions::default() };
        let mut regions = Vec::new();
        for (index, &offset) in offsets.iter().enumerate() {
            regions.push(pick_at(&document, offset, &options));
            let other = offsets[(index + 1) % offsets.len()];
            regions.push(pick_selection(&document, offset..other));
        }
        for region in regions.into_iter().flatten() {
            prop_assert!(region.byte_range.end <= document.text().len());
            prop_assert_eq!(&document.text()[region.byte_range.clone()], region.text.as_str());
            prop_assert!(region.start_line <= region.end_line);
            prop_assert!(region.byte_range.start <= region.node_range.start);
            let context = gather_context(&document, &region, &[&document], &context_options);
            prop_assert_eq!(context.language, language);
            let _ = doc_comment_insertion(&document, &region);
        }
    }
}

#[test]
fn blank_and_empty_documents_pick_nothing() {
    for language in Language::ALL {
        for text in ["", "   \n\n\t", "\r\n\r\n"] {
            let document = Document::new(language, text.to_string(), 0);
            for offset in [0, 1, 5, usize::MAX] {
                assert_eq!(pick_at(&document, offset, &PickOptions::default()), None);
                assert_eq!(pick_selection(&document, 0..offset), None);
            }
        }
    }
}

#[test]
fn offsets_past_the_end_clamp() {
    let document = Document::new(Language::Python, "def f():\n    return 1".to_string(), 0);
    let region = pick_at(&document, usize::MAX, &PickOptions::default()).map(|region| region.name);
    assert_eq!(region, Some(Some("f".to_string())));
}
