//! A document's named function definitions and imports, built once per document and patched on edits.
//!
//! Finding what a region calls or imports must not mean querying a 10,000-line file on
//! every request, so the outline is built lazily the first time context is gathered and
//! then kept up to date by each edit: entries after the edit are shifted, entries touching
//! the edit or a range whose syntax changed are dropped, and those ranges are queried again.

use std::ops::Range;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor};

use crate::queries::{LanguageQueries, Role};

/// A named function-like definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Definition {
    pub name: String,
    pub name_range: Range<usize>,
    /// The region node (without decorations outside it).
    pub node_range: Range<usize>,
}

impl Definition {
    /// The name can lie outside the node (`const f = () => …`), so both count.
    fn touches(&self, range: &Range<usize>) -> bool {
        touches(&self.node_range, range) || touches(&self.name_range, range)
    }
}

/// An import statement and the names it binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Import {
    pub range: Range<usize>,
    pub names: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outline {
    /// Sorted by name position.
    pub definitions: Vec<Definition>,
    /// Sorted by position.
    pub imports: Vec<Import>,
}

fn touches(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start <= b.end && b.start <= a.end
}

impl Outline {
    pub fn build(queries: &LanguageQueries, root: Node<'_>, text: &str) -> Outline {
        let mut outline = Outline::collect(queries, root, text, None);
        outline.sort();
        outline
    }

    /// Brings the outline in step with an edit of `start..old_end` into `start..new_end`
    /// whose reparse changed the syntax in `changed` (new coordinates).
    pub fn patch(
        &mut self,
        queries: &LanguageQueries,
        root: Node<'_>,
        text: &str,
        edit: (usize, usize, usize),
        changed: &[Range<usize>],
    ) {
        let (start, old_end, new_end) = edit;
        let shift = |range: &mut Range<usize>| {
            if range.start >= old_end {
                range.start = range.start - old_end + new_end;
                range.end = range.end - old_end + new_end;
            }
        };
        let edited = start..old_end;
        self.definitions
            .retain(|definition| !definition.touches(&edited));
        self.imports
            .retain(|import| !touches(&import.range, &edited));
        for definition in &mut self.definitions {
            shift(&mut definition.name_range);
            shift(&mut definition.node_range);
        }
        for import in &mut self.imports {
            shift(&mut import.range);
        }

        let mut dirty: Vec<Range<usize>> = changed.to_vec();
        dirty.push(start..new_end);
        self.definitions
            .retain(|definition| !dirty.iter().any(|range| definition.touches(range)));
        self.imports
            .retain(|import| !dirty.iter().any(|range| touches(&import.range, range)));
        for range in dirty {
            let window = range.start.saturating_sub(1)..(range.end + 1).min(text.len());
            let fresh = Outline::collect(queries, root, text, Some(window));
            self.definitions.extend(fresh.definitions);
            self.imports.extend(fresh.imports);
        }
        self.sort();
    }

    fn collect(
        queries: &LanguageQueries,
        root: Node<'_>,
        text: &str,
        range: Option<Range<usize>>,
    ) -> Outline {
        let mut collected = Outline::default();
        let outline = &queries.outline;
        let mut cursor = QueryCursor::new();
        if let Some(range) = range {
            cursor.set_byte_range(range);
        }
        let mut matches = cursor.matches(&outline.query, root, text.as_bytes());
        while let Some(found) = matches.next() {
            let (mut function, mut name, mut import) = (None, None, None);
            let mut bound = Vec::new();
            for capture in found.captures {
                match outline.role(capture.index) {
                    Role::Region(kind) if kind.is_function_like() => function = Some(capture.node),
                    Role::Name => name = Some(capture.node),
                    Role::Import => import = Some(capture.node),
                    Role::ImportName => bound.push(capture.node),
                    _ => {}
                }
            }
            let slice = |node: Node<'_>| text.get(node.byte_range()).unwrap_or("").to_string();
            if let (Some(function), Some(name)) = (function, name) {
                collected.definitions.push(Definition {
                    name: slice(name),
                    name_range: name.byte_range(),
                    node_range: function.byte_range(),
                });
            }
            if let Some(import) = import {
                let names: Vec<String> = bound.into_iter().map(slice).collect();
                match collected
                    .imports
                    .iter_mut()
                    .find(|known| known.range == import.byte_range())
                {
                    Some(known) => {
                        for name in names {
                            if !known.names.contains(&name) {
                                known.names.push(name);
                            }
                        }
                    }
                    None => collected.imports.push(Import {
                        range: import.byte_range(),
                        names,
                    }),
                }
            }
        }
        collected
    }

    /// Sorts and removes duplicates, keeping the entry added last: a definition can change
    /// shape without touching a dirty range (a Python body growing by a line typed after
    /// it), and then the fresh copy must replace the old one.
    fn sort(&mut self) {
        self.definitions.reverse();
        self.definitions
            .sort_by_key(|definition| definition.name_range.start);
        self.definitions
            .dedup_by(|later, earlier| later.name_range == earlier.name_range);
        self.imports.reverse();
        self.imports.sort_by_key(|import| import.range.start);
        self.imports
            .dedup_by(|later, earlier| later.range.start == earlier.range.start);
        for import in &mut self.imports {
            import.names.sort();
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::{Document, Language, PositionEncoding, Range as LspRange};

    const PIECES: &[&str] = &[
        "def ",
        "f",
        "g",
        "(x)",
        ":",
        "\n",
        "    ",
        "return ",
        "x",
        "import os\n",
        "from a import b as c\n",
        "class A:\n",
        "lambda: 1",
        " = ",
        "\"\"\"",
        "#",
        "fn ",
        "{",
        "}",
        "use a::b;\n",
        "function ",
        "const h = () => 1;\n",
        "日本",
        "😀",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..50)
            .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

        #[test]
        fn patched_outline_matches_a_fresh_one(
            language in prop::sample::select(Language::ALL.to_vec()),
            initial in text(),
            edits in prop::collection::vec((0usize..600, 0usize..20, text()), 1..8),
        ) {
            let mut document = Document::new(language, initial, 0);
            prop_assert!(document.outline().is_some());
            for (at, removed, insert) in edits {
                let start = document.position_at(at, PositionEncoding::Utf8);
                let end = document.position_at(at + removed, PositionEncoding::Utf8);
                document.apply_change(Some(LspRange::new(start, end)), &insert, PositionEncoding::Utf8);
            }
            let fresh = Document::new(language, document.text().to_string(), 0);
            prop_assert_eq!(document.outline(), fresh.outline());
        }
    }
}
