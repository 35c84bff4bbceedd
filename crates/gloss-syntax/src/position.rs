//! LSP-style positions and the encodings their `character` field can be counted in.

/// How `Position::character` counts: LSP defaults to UTF-16 code units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units: characters outside the BMP (most emoji) count twice.
    #[default]
    Utf16,
    /// Unicode scalar values.
    Utf32,
}

impl PositionEncoding {
    /// Parses an LSP `PositionEncodingKind` (`"utf-8"`, `"utf-16"`, `"utf-32"`).
    pub fn from_lsp_name(name: &str) -> Option<PositionEncoding> {
        match name {
            "utf-8" => Some(PositionEncoding::Utf8),
            "utf-16" => Some(PositionEncoding::Utf16),
            "utf-32" => Some(PositionEncoding::Utf32),
            _ => None,
        }
    }

    /// The LSP `PositionEncodingKind` string.
    pub fn lsp_name(self) -> &'static str {
        match self {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
            PositionEncoding::Utf32 => "utf-32",
        }
    }

    pub(crate) fn char_width(self, ch: char) -> usize {
        match self {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }

    /// Length of `text` in this encoding's units.
    pub fn measure(self, text: &str) -> usize {
        // ASCII is one unit per byte in every encoding, and most source lines are ASCII.
        if text.is_ascii() || self == PositionEncoding::Utf8 {
            return text.len();
        }
        text.chars().map(|ch| self.char_width(ch)).sum()
    }
}

/// A zero-based line and a column counted in some [`PositionEncoding`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub const fn new(line: u32, character: u32) -> Position {
        Position { line, character }
    }
}

/// A half-open span between two positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

impl Range {
    pub const fn new(start: Position, end: Position) -> Range {
        Range { start, end }
    }
}
