//! A document's named function definitions and imports, built once per document and patched after edits.
//!
//! Finding what a region calls or imports must not mean querying a 10,000-line file on
//! every request, so the outline is built the first time context is gathered and then
//! kept up to date. Each edit only shifts the entries after it and drops those it touches
//! (cheap, so typing stays fast); the next request compares the tree it was built from
//! (edited along) with the current one, drops entries in ranges whose syntax changed, and
//! queries just those ranges and the edited ones again.

use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use streaming_iterator::StreamingIterator;
use tree_sitter::{InputEdit, Node, QueryCursor, Tree};

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

    /// Moves entries after an edit of `start..old_end` (now `start..new_end`) and drops
    /// the ones it touches; [`Outline::refresh`] finds them again.
    fn shift_for_edit(&mut self, start: usize, old_end: usize, new_end: usize) {
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
    }

    /// Drops the entries touching `dirty` ranges and queries those ranges again.
    fn refresh(
        &mut self,
        queries: &LanguageQueries,
        root: Node<'_>,
        text: &str,
        dirty: &[Range<usize>],
    ) {
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
                let names: Vec<String> = bound
                    .into_iter()
                    .map(|node| import_binding(&slice(node)))
                    .collect();
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

/// The name an import binds: itself, or for a quoted Go import path the package name it
/// conventionally binds, the last path element without a version (`"gopkg.in/yaml.v3"`
/// binds `yaml`, `"github.com/a/b/v2"` binds `b`, `"github.com/mattn/go-sqlite3"` binds
/// `sqlite3`).
fn import_binding(name: &str) -> String {
    let Some(path) = name
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| {
            name.strip_prefix('`')
                .and_then(|rest| rest.strip_suffix('`'))
        })
    else {
        return name.to_string();
    };
    let is_version = |element: &str| {
        element
            .strip_prefix('v')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut elements = path.rsplit('/');
    let mut last = elements.next().unwrap_or(path);
    if is_version(last) {
        last = elements.next().unwrap_or(last);
    }
    let last = match last.rsplit_once('.') {
        Some((stem, version)) if is_version(version) => stem,
        _ => last,
    };
    let last = last.strip_prefix("go-").unwrap_or(last);
    let last = last.strip_suffix("-go").unwrap_or(last);
    last.replace('-', "_")
}

/// The outline as of some tree, with what changed since.
#[derive(Clone)]
struct Synced {
    outline: Arc<Outline>,
    /// The tree the outline matches, edited along with the document so that
    /// `changed_ranges` can compare it with the current tree.
    base: Tree,
    /// Edited ranges since `base`, in current coordinates.
    dirty: Vec<Range<usize>>,
}

/// A lazily built outline that edits keep in step; shared by clones until either edits.
#[derive(Default)]
pub(crate) struct OutlineCache {
    state: Mutex<Option<Synced>>,
}

impl Clone for OutlineCache {
    fn clone(&self) -> OutlineCache {
        let state = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        OutlineCache {
            state: Mutex::new(state),
        }
    }
}

/// Past this many pending ranges they are merged into one: fewer, larger queries.
const MAX_DIRTY_RANGES: usize = 32;

impl OutlineCache {
    /// The outline of `tree`, built or brought up to date now.
    pub fn get(&self, queries: &LanguageQueries, tree: &Tree, text: &str) -> Arc<Outline> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let synced = state.get_or_insert_with(|| Synced {
            outline: Arc::new(Outline::build(queries, tree.root_node(), text)),
            base: tree.clone(),
            dirty: Vec::new(),
        });
        if !synced.dirty.is_empty() {
            let mut dirty = std::mem::take(&mut synced.dirty);
            dirty.extend(
                synced
                    .base
                    .changed_ranges(tree)
                    .map(|range| range.start_byte..range.end_byte),
            );
            Arc::make_mut(&mut synced.outline).refresh(queries, tree.root_node(), text, &dirty);
            synced.base = tree.clone();
        }
        Arc::clone(&synced.outline)
    }

    /// Records an edit that the document's tree has been given too.
    pub fn note_edit(&mut self, edit: &InputEdit) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let Some(synced) = state else { return };
        let (start, old_end, new_end) = (edit.start_byte, edit.old_end_byte, edit.new_end_byte);
        Arc::make_mut(&mut synced.outline).shift_for_edit(start, old_end, new_end);
        synced.base.edit(edit);
        for range in &mut synced.dirty {
            if range.start >= old_end {
                range.start = range.start - old_end + new_end;
                range.end = range.end - old_end + new_end;
            } else if range.end >= start {
                range.start = range.start.min(start);
                range.end = if range.end > old_end {
                    range.end - old_end + new_end
                } else {
                    new_end
                };
            }
        }
        synced.dirty.push(start..new_end);
        if synced.dirty.len() > MAX_DIRTY_RANGES {
            let start = synced
                .dirty
                .iter()
                .map(|range| range.start)
                .min()
                .unwrap_or(0);
            let end = synced
                .dirty
                .iter()
                .map(|range| range.end)
                .max()
                .unwrap_or(0);
            synced.dirty.clear();
            synced.dirty.push(start..end);
        }
    }

    /// Forgets the outline (the text was replaced wholesale or failed to parse).
    pub fn clear(&mut self) {
        *self.state.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
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
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        #[test]
        fn patched_outline_matches_a_fresh_one(
            language in prop::sample::select(Language::ALL.to_vec()),
            initial in text(),
            edits in prop::collection::vec((0usize..600, 0usize..20, text(), any::<bool>()), 1..10),
        ) {
            let mut document = Document::new(language, initial, 0);
            prop_assert!(document.outline().is_some());
            for (at, removed, insert, sync_now) in edits {
                let start = document.position_at(at, PositionEncoding::Utf8);
                let end = document.position_at(at + removed, PositionEncoding::Utf8);
                document.apply_change(Some(LspRange::new(start, end)), &insert, PositionEncoding::Utf8);
                if sync_now {
                    prop_assert!(document.outline().is_some());
                }
            }
            // Built from the same tree: tree-sitter's incremental tree of a text with syntax
            // errors may differ from its parse from scratch, which is not the outline's doing.
            let queries = crate::queries::queries(language).expect("queries");
            let tree = document.tree().expect("parsed");
            let fresh = super::Outline::build(queries, tree.root_node(), document.text());
            let patched = document.outline();
            prop_assert_eq!(patched.as_deref(), Some(&fresh));
        }
    }

    #[test]
    fn go_import_paths_bind_their_package_name() {
        use super::import_binding;
        assert_eq!(import_binding("\"fmt\""), "fmt");
        assert_eq!(import_binding("\"net/http\""), "http");
        assert_eq!(import_binding("`net/http`"), "http");
        assert_eq!(import_binding("\"github.com/a/b/v2\""), "b");
        assert_eq!(import_binding("\"gopkg.in/yaml.v3\""), "yaml");
        assert_eq!(import_binding("\"github.com/mattn/go-sqlite3\""), "sqlite3");
        assert_eq!(import_binding("os"), "os");
    }
}
