//! Deciding what the user is pointing at: the region around a cursor or covering a selection.
//!
//! # Rules for [`pick_at`]
//!
//! 1. The smallest function-like region (function, method, closure, lambda) containing
//!    the cursor wins. Its range includes decorators, attributes and doc comments, so a
//!    cursor on any of those picks the item they belong to.
//! 2. If that function spans more than [`PickOptions::long_function_lines`] lines and the
//!    cursor is inside one of its block statements (if, for, while, loop, match, with,
//!    try), a block is picked instead: the outermost one containing the cursor that is
//!    itself short enough, or the innermost one if none is. The block's `signature` is the
//!    function's, so the model still knows where it is.
//! 3. Without a function: inside a class, impl, trait or module, a cursor on the header
//!    lines (from the first decorator or doc comment to the line that opens the body),
//!    on the item's docstring, on a blank line or on a plain comment line picks the whole
//!    item; anywhere else it picks the body item under the cursor (a field, an associated
//!    constant...). Structs and enums are always picked whole.
//! 4. Otherwise the top-level statement under the cursor is picked (reported as a block
//!    kind when it is one, e.g. `if __name__ == "__main__":`).
//! 5. A blank line, or a line starting with a plain (non-doc) comment, outside every
//!    function and container picks nothing: there is nothing there to explain.
//!
//! Offsets are clamped to the text; a blank document, a missing tree or an unknown
//! language give `None`. Syntax errors do not stop picking: tree-sitter still builds
//! nodes around them and the rules apply to whatever it recovered.

use std::ops::Range;

use tree_sitter::Node;

use crate::document::{Document, clamp_offset};
use crate::region::{Region, RegionKind};
use crate::syntax::{Candidate, Syntax, innermost};

/// The documented default for [`PickOptions::long_function_lines`].
pub const DEFAULT_LONG_FUNCTION_LINES: u32 = 60;

/// Tuning for [`pick_at`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickOptions {
    /// A function longer than this many lines is narrowed to the block statement under the
    /// cursor. Default [`DEFAULT_LONG_FUNCTION_LINES`] (60): about a screenful, past which
    /// an explanation of the whole function stops being about what the user looks at.
    pub long_function_lines: u32,
}

impl Default for PickOptions {
    fn default() -> PickOptions {
        PickOptions {
            long_function_lines: DEFAULT_LONG_FUNCTION_LINES,
        }
    }
}

/// The region to explain for a cursor at byte `offset`; see the module docs for the rules.
pub fn pick_at(document: &Document, offset: usize, options: &PickOptions) -> Option<Region> {
    let syntax = Syntax::new(document)?;
    pick_in(&syntax, clamp_offset(syntax.text, offset), options)
}

fn pick_in(syntax: &Syntax<'_>, offset: usize, options: &PickOptions) -> Option<Region> {
    let len = syntax.text.len();
    let window = offset.saturating_sub(1)..(offset + 1).min(len);
    let mut scan = syntax.scan(window.clone());

    // On an attribute or doc comment the item it belongs to lies after the window.
    let owner = scan
        .attachables
        .iter()
        .filter(|node| node.start_byte() <= offset && offset <= node.end_byte())
        .find_map(|node| syntax.owner_of(*node));
    if let Some(owner) = owner {
        scan = syntax.scan(window.start..(owner.start_byte() + 1).min(len).max(window.end));
    }
    let anchor = owner.map_or(offset, |owner| owner.start_byte());

    let containing: Vec<&Candidate<'_>> = scan
        .candidates
        .iter()
        .filter(|candidate| candidate.contains(offset))
        .collect();

    if let Some(function) = innermost(
        containing
            .iter()
            .copied()
            .filter(|c| c.kind.is_function_like()),
    ) {
        let signature = syntax.signature(function);
        if let Some(block) = block_in_long_function(syntax, function, &containing, options) {
            return Some(syntax.region_from_candidate(block, block.kind, signature));
        }
        return Some(syntax.region_from_candidate(function, function.kind, signature));
    }

    let idle = syntax.is_idle_line(offset);
    let item = innermost(containing.iter().copied().filter(|c| !c.kind.is_block()));
    if let Some(item) = item {
        let whole = || syntax.region_from_candidate(item, item.kind, syntax.signature(item));
        if !item.kind.is_container() {
            return Some(whole());
        }
        let on_header = syntax.line_of(offset) <= syntax.line_of(syntax.header_end(item));
        let on_doc = item
            .doc_ranges()
            .iter()
            .any(|doc| doc.start <= offset && offset <= doc.end);
        if on_header || on_doc || idle {
            return Some(whole());
        }
        return Some(
            item.body
                .and_then(|body| statement_at(syntax, body, anchor, &scan.candidates, None))
                .unwrap_or_else(whole),
        );
    }

    if idle {
        return None;
    }
    statement_at(syntax, syntax.root, anchor, &scan.candidates, None)
}

/// Rule 2: the block to narrow a long function to, if any.
fn block_in_long_function<'a, 'd>(
    syntax: &Syntax<'d>,
    function: &Candidate<'d>,
    containing: &[&'a Candidate<'d>],
    options: &PickOptions,
) -> Option<&'a Candidate<'d>> {
    let lines = syntax.last_line_of(&(function.start()..function.end()))
        - syntax.line_of(function.start())
        + 1;
    if lines <= options.long_function_lines {
        return None;
    }
    let body = function.body?;
    let mut blocks: Vec<&Candidate<'d>> = containing
        .iter()
        .copied()
        .filter(|candidate| {
            candidate.kind.is_block()
                && body.start_byte() <= candidate.node.start_byte()
                && candidate.node.end_byte() <= body.end_byte()
        })
        .collect();
    blocks.sort_by_key(|block| std::cmp::Reverse(block.len()));
    let fits = |block: &&Candidate<'d>| {
        let range = block.start()..block.end();
        syntax.last_line_of(&range) - syntax.line_of(range.start) < options.long_function_lines
    };
    blocks
        .iter()
        .copied()
        .find(fits)
        .or_else(|| blocks.last().copied())
}

/// The named child of `parent` under `offset` as a statement region (rules 3 and 4).
fn statement_at<'d>(
    syntax: &Syntax<'d>,
    parent: Node<'d>,
    offset: usize,
    candidates: &[Candidate<'d>],
    signature: Option<String>,
) -> Option<Region> {
    let mut child = child_at(parent, offset)?;
    if syntax.attachment(child).is_some() {
        child = syntax.owner_of(child)?;
    }
    if child.is_extra() || !child.is_named() {
        return None;
    }
    if let Some(candidate) = candidates
        .iter()
        .find(|candidate| candidate.extent.id() == child.id() || candidate.node.id() == child.id())
    {
        let signature = signature.or_else(|| syntax.signature(candidate));
        return Some(syntax.region_from_candidate(candidate, candidate.kind, signature));
    }
    let leading = syntax.leading_attachments(child);
    let start = leading
        .first()
        .map_or(child.start_byte(), |(node, _)| node.start_byte());
    Some(syntax.plain_region(
        RegionKind::Statement,
        start..child.end_byte(),
        &leading,
        signature,
    ))
}

/// The child of `parent` that holds `offset`, preferring one that starts there over one
/// that ends there.
fn child_at(parent: Node<'_>, offset: usize) -> Option<Node<'_>> {
    let mut cursor = parent.walk();
    let after = if cursor.goto_first_child_for_byte(offset).is_some() {
        Some(cursor.node())
    } else {
        None
    };
    if let Some(node) = after {
        if node.start_byte() <= offset {
            return Some(node);
        }
        return node
            .prev_sibling()
            .filter(|previous| previous.end_byte() == offset);
    }
    let count = parent.child_count();
    let last = parent.child(count.checked_sub(1)?)?;
    (last.end_byte() == offset).then_some(last)
}

/// The region covering a selection: the smallest node covering it, or the run of sibling
/// statements it touches. Surrounding whitespace is ignored; an empty selection is a cursor.
pub fn pick_selection(document: &Document, selection: Range<usize>) -> Option<Region> {
    let syntax = Syntax::new(document)?;
    let text = syntax.text;
    let mut start = clamp_offset(text, selection.start.min(selection.end));
    let end = clamp_offset(text, selection.start.max(selection.end));
    let selected = &text[start..end];
    let trimmed = selected.trim();
    if trimmed.is_empty() {
        return pick_in(&syntax, start, &PickOptions::default());
    }
    start += selected.len() - selected.trim_start().len();
    let end = start + trimmed.len();

    let mut node = syntax.root.named_descendant_for_byte_range(start, end)?;
    let mut chain = vec![node];
    while let Some(parent) = node
        .parent()
        .filter(|parent| parent.byte_range() == node.byte_range())
    {
        chain.push(parent);
        node = parent;
    }
    let scan = syntax.scan(start.saturating_sub(1)..(end + 1).min(text.len()));
    let enclosing_signature = |range: &Range<usize>| {
        syntax
            .enclosing_function(&scan.candidates, range)
            .and_then(|function| syntax.signature(function))
    };
    let candidate_for = |node: Node<'_>| {
        scan.candidates.iter().find(|candidate| {
            candidate.node.id() == node.id() || candidate.extent.id() == node.id()
        })
    };
    let region_of = |candidate: &Candidate<'_>| {
        let signature = if candidate.kind.is_block() {
            enclosing_signature(&candidate.node.byte_range())
        } else {
            syntax.signature(candidate)
        };
        syntax.region_from_candidate(candidate, candidate.kind, signature)
    };

    if let Some(candidate) = chain.iter().find_map(|node| candidate_for(*node)) {
        return Some(region_of(candidate));
    }

    let smallest = chain[0];
    let mut cursor = smallest.walk();
    let run: Vec<Node<'_>> = smallest
        .named_children(&mut cursor)
        .filter(|child| child.start_byte() < end && start < child.end_byte())
        .collect();
    if let (Some(first), Some(last)) = (run.first(), run.last())
        && run.len() >= 2
    {
        // Doc comments and attributes plus the item they belong to are that item.
        if let Some(candidate) = candidate_for(*last) {
            let decorations = &run[..run.len() - 1];
            let all_leading = decorations.iter().all(|node| {
                candidate
                    .leading
                    .iter()
                    .any(|(attached, _)| attached.id() == node.id())
            });
            if all_leading {
                return Some(region_of(candidate));
            }
        }
        let range = first.start_byte()..last.end_byte();
        let signature = enclosing_signature(&range);
        return Some(syntax.plain_region(RegionKind::Selection, range, &[], signature));
    }
    let range = node.byte_range();
    let signature = enclosing_signature(&range);
    Some(syntax.plain_region(RegionKind::Selection, range, &[], signature))
}
