//! Conversions between LSP types and gloss's own: the one place positions cross the boundary, each
//! exactly once, with the encoding negotiated at `initialize`.

use std::ops::Range;

use gloss_syntax::{Document, Position, PositionEncoding};
use tower_lsp_server::ls_types as lsp;

/// The first encoding in the client's list that gloss supports; UTF-16 (which every client must
/// support) when the client lists none of them.
pub fn negotiate_encoding(capabilities: &lsp::ClientCapabilities) -> PositionEncoding {
    capabilities
        .general
        .as_ref()
        .and_then(|general| general.position_encodings.as_ref())
        .and_then(|offered| offered.iter().find_map(encoding_from_kind))
        .unwrap_or(PositionEncoding::Utf16)
}

pub fn encoding_from_kind(kind: &lsp::PositionEncodingKind) -> Option<PositionEncoding> {
    match kind.as_str() {
        "utf-8" => Some(PositionEncoding::Utf8),
        "utf-16" => Some(PositionEncoding::Utf16),
        "utf-32" => Some(PositionEncoding::Utf32),
        _ => None,
    }
}

pub fn encoding_kind(encoding: PositionEncoding) -> lsp::PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

pub fn position(position: lsp::Position) -> Position {
    Position {
        line: position.line,
        character: position.character,
    }
}

pub fn lsp_position(position: Position) -> lsp::Position {
    lsp::Position {
        line: position.line,
        character: position.character,
    }
}

pub fn syntax_range(range: lsp::Range) -> gloss_syntax::Range {
    gloss_syntax::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

/// The byte offset of `position`, or `None` when its line is past the end of the document (a
/// stale or buggy client). A character past the end of its line means the line's end, as the
/// specification asks.
pub fn offset(document: &Document, at: lsp::Position, encoding: PositionEncoding) -> Option<usize> {
    let lines = document.line_count();
    // The position just after a final newline is on line `lines` in some clients' counting.
    if at.line as usize > lines || (at.line as usize == lines && at.character > 0) {
        return None;
    }
    Some(document.offset_at(position(at), encoding))
}

/// The bytes of `range`, or `None` when it is out of the document.
pub fn bytes(
    document: &Document,
    range: lsp::Range,
    encoding: PositionEncoding,
) -> Option<Range<usize>> {
    let start = offset(document, range.start, encoding)?;
    let end = offset(document, range.end, encoding)?;
    Some(start.min(end)..start.max(end))
}

/// The bytes of `range` with both ends clamped into the document.
pub fn clamped_bytes(
    document: &Document,
    range: lsp::Range,
    encoding: PositionEncoding,
) -> Range<usize> {
    let start = document.offset_at(position(range.start), encoding);
    let end = document.offset_at(position(range.end), encoding);
    start.min(end)..start.max(end)
}

pub fn lsp_range(
    document: &Document,
    bytes: Range<usize>,
    encoding: PositionEncoding,
) -> lsp::Range {
    lsp::Range {
        start: lsp_position(document.position_at(bytes.start, encoding)),
        end: lsp_position(document.position_at(bytes.end, encoding)),
    }
}
