//! The line-start table that turns byte offsets into positions and back without rescanning the file.

use crate::position::{Position, PositionEncoding};

/// Byte offsets where each line starts, for `\n`, `\r\n` and lone `\r` line endings.
///
/// The table always has at least one entry (line 0 starts at 0), so a text ending in
/// a line break has an empty last line, as LSP counts lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
    /// Lines broken by a lone `\r`: tree-sitter counts rows by `\n` only, so points
    /// need a slower path while any exist.
    lone_cr_breaks: usize,
}

/// Whether a line starts at `at` (> 0) and whether it was broken by a lone `\r`.
fn break_before(bytes: &[u8], at: usize) -> Option<bool> {
    match bytes.get(at.wrapping_sub(1))? {
        b'\n' => Some(false),
        b'\r' if bytes.get(at) != Some(&b'\n') => Some(true),
        _ => None,
    }
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        let mut lone_cr_breaks = 0;
        for (at, byte) in bytes.iter().enumerate() {
            match byte {
                b'\n' => starts.push(at + 1),
                b'\r' if bytes.get(at + 1) != Some(&b'\n') => {
                    starts.push(at + 1);
                    lone_cr_breaks += 1;
                }
                _ => {}
            }
        }
        LineIndex {
            starts,
            len: bytes.len(),
            lone_cr_breaks,
        }
    }

    /// Number of lines; never zero.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Length in bytes of the text this index describes.
    pub fn text_len(&self) -> usize {
        self.len
    }

    /// The line holding `offset` (clamped to the text).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        self.starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }

    /// Byte offset where `line` starts, if the line exists.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line).copied()
    }

    /// Byte range of `line` without its line break; empty past the end.
    pub fn line_content(&self, text: &str, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.starts.get(line) else {
            return self.len..self.len;
        };
        let end = match self.starts.get(line + 1) {
            Some(&next) => {
                let bytes = text.as_bytes();
                let mut end = next;
                if end > start && bytes.get(end - 1) == Some(&b'\n') {
                    end -= 1;
                }
                if end > start && bytes.get(end - 1) == Some(&b'\r') {
                    end -= 1;
                }
                end
            }
            None => self.len,
        };
        start..end.max(start)
    }

    /// Byte offset of `position`, clamped as LSP asks: a character past the end of its
    /// line means the end of that line, a line past the end means the end of the text,
    /// and a column inside a multi-unit character snaps to that character's start.
    pub fn offset_at(&self, text: &str, position: Position, encoding: PositionEncoding) -> usize {
        let line = position.line as usize;
        if line >= self.starts.len() {
            return self.len;
        }
        let content = self.line_content(text, line);
        let wanted = position.character as usize;
        let line_text = &text[content.clone()];
        if line_text.is_ascii() || encoding == PositionEncoding::Utf8 {
            let mut offset = content.start + wanted.min(line_text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            return offset;
        }
        let mut units = 0;
        for (relative, ch) in line_text.char_indices() {
            let width = encoding.char_width(ch);
            if units + width > wanted {
                return content.start + relative;
            }
            units += width;
        }
        content.end
    }

    /// Position of `offset`, which is clamped to the text and snapped back to a character
    /// boundary; an offset inside a line break reports the end of that line.
    pub fn position_at(&self, text: &str, offset: usize, encoding: PositionEncoding) -> Position {
        let mut offset = offset.min(self.len).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let content = self.line_content(text, line);
        let before = &text[content.start..offset.min(content.end)];
        Position::new(saturate(line), saturate(encoding.measure(before)))
    }

    /// Replaces `start..end` of `text` with `insert`, updating the table in place: only
    /// line starts inside the edit are recomputed, later ones are shifted.
    pub(crate) fn replace(&mut self, text: &mut String, start: usize, end: usize, insert: &str) {
        // A start at `s` depends on bytes `s - 1` and `s` (to tell `\r\n` from a lone `\r`),
        // so starts in `start..=end` may change and later ones only move.
        let first_changed = self.starts.partition_point(|&s| s < start.max(1));
        let first_kept = self.starts.partition_point(|&s| s <= end);
        let old_bytes = text.as_bytes();
        let removed_lone = self.starts[first_changed..first_kept]
            .iter()
            .filter(|&&s| old_bytes.get(s.wrapping_sub(1)) == Some(&b'\r'))
            .count();

        text.replace_range(start..end, insert);
        let bytes = text.as_bytes();
        let new_end = start + insert.len();
        let mut added = Vec::new();
        let mut added_lone = 0;
        for at in start.max(1)..=new_end {
            if let Some(lone) = break_before(bytes, at) {
                added.push(at);
                added_lone += usize::from(lone);
            }
        }

        let removed_len = end - start;
        for line_start in &mut self.starts[first_kept..] {
            *line_start = *line_start - removed_len + insert.len();
        }
        self.starts.splice(first_changed..first_kept, added);
        self.len = bytes.len();
        self.lone_cr_breaks = self.lone_cr_breaks + added_lone - removed_lone;
    }

    /// The tree-sitter point of `offset`: rows count `\n` only and columns are bytes.
    pub(crate) fn ts_point(&self, text: &str, offset: usize) -> tree_sitter::Point {
        let offset = offset.min(self.len);
        if self.lone_cr_breaks == 0 {
            let line = self.line_of(offset);
            return tree_sitter::Point::new(line, offset - self.starts[line]);
        }
        let before = &text.as_bytes()[..offset];
        let row = before.iter().filter(|&&byte| byte == b'\n').count();
        let column = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(offset, |at| offset - at - 1);
        tree_sitter::Point::new(row, column)
    }
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16, Utf32};

    fn index(text: &str) -> LineIndex {
        LineIndex::new(text)
    }

    #[test]
    fn counts_lines_for_every_line_ending() {
        assert_eq!(index("").line_count(), 1);
        assert_eq!(index("a\n").line_count(), 2);
        assert_eq!(index("a\r\nb\rc\nd").line_count(), 4);
        assert_eq!(index("\r\r\n\n").line_count(), 4);
    }

    #[test]
    fn utf16_counts_surrogate_pairs_twice() {
        let text = "a😀b\nx";
        let lines = index(text);
        assert_eq!(lines.position_at(text, 5, Utf16), Position::new(0, 3));
        assert_eq!(lines.position_at(text, 5, Utf32), Position::new(0, 2));
        assert_eq!(lines.position_at(text, 5, Utf8), Position::new(0, 5));
        assert_eq!(lines.offset_at(text, Position::new(0, 3), Utf16), 5);
        assert_eq!(lines.offset_at(text, Position::new(0, 2), Utf32), 5);
    }

    #[test]
    fn a_column_inside_a_surrogate_pair_snaps_to_the_character_start() {
        let text = "a😀b";
        let lines = index(text);
        assert_eq!(lines.offset_at(text, Position::new(0, 2), Utf16), 1);
        assert_eq!(lines.offset_at(text, Position::new(0, 3), Utf8), 1);
        assert_eq!(lines.position_at(text, 3, Utf16), Position::new(0, 1));
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "ab\r\ncd\ref";
        let lines = index(text);
        assert_eq!(lines.offset_at(text, Position::new(1, 0), Utf16), 4);
        assert_eq!(lines.offset_at(text, Position::new(2, 1), Utf16), 8);
        assert_eq!(lines.position_at(text, 8, Utf16), Position::new(2, 1));
        // Between `\r` and `\n` is still the end of line 0.
        assert_eq!(lines.position_at(text, 3, Utf16), Position::new(0, 2));
        assert_eq!(lines.line_content(text, 0), 0..2);
        assert_eq!(lines.line_content(text, 1), 4..6);
    }

    #[test]
    fn characters_past_the_line_end_clamp_to_the_line_end() {
        let text = "abc\r\ndef";
        let lines = index(text);
        assert_eq!(lines.offset_at(text, Position::new(0, 99), Utf16), 3);
        assert_eq!(lines.offset_at(text, Position::new(1, 99), Utf16), 8);
        let text = "é\n";
        let lines = index(text);
        assert_eq!(lines.offset_at(text, Position::new(0, 5), Utf16), 2);
    }

    #[test]
    fn lines_past_the_end_clamp_to_the_end_of_the_text() {
        let text = "abc\n";
        let lines = index(text);
        assert_eq!(lines.offset_at(text, Position::new(1, 0), Utf16), 4);
        assert_eq!(lines.offset_at(text, Position::new(7, 3), Utf16), 4);
        assert_eq!(lines.position_at(text, 99, Utf16), Position::new(1, 0));
        assert_eq!(lines.position_at(text, 4, Utf16), Position::new(1, 0));
    }

    #[test]
    fn end_of_line_and_end_of_file_round_trip() {
        let text = "def grüße():\n    return '日本'\n";
        let lines = index(text);
        for offset in 0..=text.len() {
            if !text.is_char_boundary(offset) {
                continue;
            }
            for encoding in [Utf8, Utf16, Utf32] {
                let position = lines.position_at(text, offset, encoding);
                assert_eq!(
                    lines.offset_at(text, position, encoding),
                    offset,
                    "{offset} {encoding:?}"
                );
            }
        }
    }

    #[test]
    fn incremental_replace_matches_a_fresh_index() {
        let cases: &[(&str, usize, usize, &str)] = &[
            ("a\rb", 2, 2, "\n"),
            ("a\r\nb", 2, 3, ""),
            ("a\r\nb", 1, 2, ""),
            ("ab\ncd\nef", 1, 7, "x\r"),
            ("\n\n\n", 0, 3, "\r\r"),
            ("abc", 0, 0, "\r\n"),
            ("x\r", 2, 2, "\ny"),
        ];
        for &(before, start, end, insert) in cases {
            let mut text = before.to_string();
            let mut lines = index(&text);
            lines.replace(&mut text, start, end, insert);
            assert_eq!(lines, index(&text), "{before:?} {start}..{end} {insert:?}");
        }
    }

    #[test]
    fn ts_points_count_newlines_only() {
        let text = "a\rb\nc";
        let lines = index(text);
        assert_eq!(lines.ts_point(text, 5), tree_sitter::Point::new(1, 1));
        assert_eq!(lines.ts_point(text, 2), tree_sitter::Point::new(0, 2));
        let text = "a\r\nbc";
        let lines = index(text);
        assert_eq!(lines.ts_point(text, 5), tree_sitter::Point::new(1, 2));
    }
}
