//! The client's own view of a document, kept without any of gloss's code: its text under the
//! client's edits, LSP positions in each encoding, and the region a hover should report, from a
//! fresh tree-sitter parse.

use std::time::{Duration, Instant};

use tree_sitter::{Node, Parser, Tree};

/// How positions count characters, as negotiated in `initialize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf32 => "utf-32",
        }
    }

    pub fn parse(name: &str) -> Option<Encoding> {
        [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32]
            .into_iter()
            .find(|encoding| encoding.name() == name)
    }

    fn units(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Python,
    Rust,
}

impl Lang {
    pub fn id(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Rust => "rust",
        }
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
        }
    }

    fn function_kind(self) -> &'static str {
        match self {
            Lang::Python => "function_definition",
            Lang::Rust => "function_item",
        }
    }
}

/// `(line, character)` as LSP sends it.
pub type Position = (u32, u32);

/// Byte offsets where lines start: after `\n`, after `\r\n`, and after a lone `\r`, as LSP counts.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => starts.push(i + 1),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                starts.push(i + 2);
                i += 1;
            }
            b'\r' => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
}

/// The end of `line`'s content, before its line break.
fn content_end(text: &str, starts: &[usize], line: usize) -> usize {
    let next = starts.get(line + 1).copied().unwrap_or(text.len());
    let content = &text[starts[line]..next];
    starts[line] + content.trim_end_matches(['\n', '\r']).len()
}

/// The byte offset the client means by `position`: a line past the end is the end of the text, a
/// character past the end of its line the end of that line, and a character inside a
/// multi-unit character that character's start.
pub fn offset_of(text: &str, position: Position, encoding: Encoding) -> usize {
    let starts = line_starts(text);
    let line = position.0 as usize;
    if line >= starts.len() {
        return text.len();
    }
    let end = content_end(text, &starts, line);
    let mut units = 0u32;
    for (at, c) in text[starts[line]..end].char_indices() {
        let width = encoding.units(c);
        if units + width > position.1 {
            return starts[line] + at;
        }
        units += width;
    }
    end
}

/// The position of byte `offset` (on a character boundary). An offset inside a line break (a
/// node that ends between the `\r` and `\n` of a CRLF, as tree-sitter's Python grammar makes
/// some) is at the end of its line: a position cannot point between the two.
pub fn position_of(text: &str, offset: usize, encoding: Encoding) -> Position {
    let starts = line_starts(text);
    let line = starts.partition_point(|start| *start <= offset) - 1;
    let offset = offset.min(content_end(text, &starts, line));
    let units = text[starts[line]..offset]
        .chars()
        .map(|c| encoding.units(c))
        .sum();
    (line as u32, units)
}

/// A document as the client holds it.
pub struct ClientDocument {
    pub uri: String,
    pub lang: Lang,
    pub text: String,
    pub version: i32,
    tree: Option<Tree>,
    parse_abandoned: bool,
}

/// A function the client can hover, and the range gloss must report for it.
pub struct FunctionTarget {
    pub name: std::ops::Range<usize>,
    pub region: std::ops::Range<usize>,
    pub lines: usize,
}

impl ClientDocument {
    pub fn new(uri: String, lang: Lang, text: String) -> Self {
        Self {
            uri,
            lang,
            text,
            version: 1,
            tree: None,
            parse_abandoned: false,
        }
    }

    /// Applies one content change the way LSP defines it (`None`: the whole text).
    pub fn apply(&mut self, range: Option<(Position, Position)>, new_text: &str, enc: Encoding) {
        match range {
            None => self.text = new_text.to_owned(),
            Some((start, end)) => {
                let start = offset_of(&self.text, start, enc);
                let end = offset_of(&self.text, end, enc);
                let (start, end) = (start.min(end), start.max(end));
                self.text.replace_range(start..end, new_text);
            }
        }
        self.tree = None;
        self.parse_abandoned = false;
    }

    /// The client's own parse of its copy, or `None` when it fell too far behind: an unclosed
    /// bracket above an unterminated string slows tree-sitter's recovery down to minutes in the
    /// huge document, and a client that waited would not be reading the server's answers. Such
    /// a text counts as having errors and no functions, so its hovers go unchecked; it is also
    /// the one place where a seed's messages depend on the machine's speed.
    fn tree(&mut self) -> Option<&Tree> {
        if self.tree.is_none() && !self.parse_abandoned {
            let mut parser = Parser::new();
            parser
                .set_language(&self.lang.grammar())
                .expect("grammar loads");
            let started = Instant::now();
            let mut too_slow = |state: &tree_sitter::ParseState| {
                let allowed = Duration::from_secs(2)
                    + Duration::from_millis(1) * (state.current_byte_offset() / 1024) as u32;
                started.elapsed() > allowed
            };
            let bytes = self.text.as_bytes();
            self.tree = parser.parse_with_options(
                &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
                None,
                Some(tree_sitter::ParseOptions::new().progress_callback(&mut too_slow)),
            );
            self.parse_abandoned = self.tree.is_none();
        }
        self.tree.as_ref()
    }

    pub fn has_syntax_errors(&mut self) -> bool {
        self.tree().is_none_or(|tree| tree.root_node().has_error())
    }

    /// Every function with its name and the region a hover on that name must report.
    pub fn functions(&mut self) -> Vec<FunctionTarget> {
        let lang = self.lang;
        let text = self.text.clone();
        let Some(tree) = self.tree() else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == lang.function_kind()
                && let Some(name) = node.child_by_field_name("name")
            {
                let region = expected_region(lang, &text, node);
                let lines = text[region.clone()].lines().count();
                found.push(FunctionTarget {
                    name: name.byte_range(),
                    region,
                    lines,
                });
            }
            stack.extend(node.children(&mut cursor));
        }
        found
    }

    /// Whether `offset` is where some syntax node starts (`start`) or ends.
    pub fn is_node_boundary(&mut self, offset: usize, start: bool) -> bool {
        let root = self
            .tree()
            .expect("asked only of a text that parsed without errors")
            .root_node();
        let mut node = Some(
            root.descendant_for_byte_range(offset, offset)
                .unwrap_or(root),
        );
        while let Some(current) = node {
            let edge = if start {
                current.start_byte()
            } else {
                current.end_byte()
            };
            if edge == offset {
                return true;
            }
            node = current.parent();
        }
        // A node ending at `offset` may not contain it: look just before.
        if !start && offset > 0 {
            let mut node = root.descendant_for_byte_range(offset - 1, offset);
            while let Some(current) = node {
                if current.end_byte() == offset {
                    return true;
                }
                node = current.parent();
            }
        }
        false
    }
}

/// A function's region as gloss documents it: decorators (Python), and attributes and outer doc
/// comments right before the item (Rust), belong to it.
fn expected_region(lang: Lang, text: &str, function: Node<'_>) -> std::ops::Range<usize> {
    match lang {
        Lang::Python => match function.parent() {
            Some(parent) if parent.kind() == "decorated_definition" => parent.byte_range(),
            _ => function.byte_range(),
        },
        Lang::Rust => {
            let mut start = function.start_byte();
            let mut previous = function.prev_sibling();
            while let Some(node) = previous {
                let source = &text[node.byte_range()];
                let attached = node.kind() == "attribute_item"
                    || (node.kind() == "line_comment"
                        && source.starts_with("///")
                        && !source.starts_with("////"))
                    || (node.kind() == "block_comment"
                        && source.starts_with("/**")
                        && !source.starts_with("/***")
                        && source != "/**/");
                if !attached {
                    break;
                }
                start = node.start_byte();
                previous = node.prev_sibling();
            }
            start..function.end_byte()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_lsp() {
        let text = "a😀b\r\nc\rd\ne";
        assert_eq!(line_starts(text), vec![0, 8, 10, 12]);
        assert_eq!(offset_of(text, (0, 2), Encoding::Utf16), 1);
        assert_eq!(offset_of(text, (0, 3), Encoding::Utf16), 5);
        assert_eq!(offset_of(text, (0, 99), Encoding::Utf16), 6);
        assert_eq!(offset_of(text, (9, 0), Encoding::Utf16), text.len());
        assert_eq!(position_of(text, 5, Encoding::Utf8), (0, 5));
        assert_eq!(position_of(text, 5, Encoding::Utf32), (0, 2));
        assert_eq!(position_of(text, 9, Encoding::Utf16), (1, 1));
        // Between the `\r` and `\n` of the first line's CRLF: the end of that line.
        assert_eq!(position_of(text, 7, Encoding::Utf16), (0, 4));
    }
}
