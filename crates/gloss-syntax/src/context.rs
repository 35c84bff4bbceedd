//! Gathering what the model needs besides the region itself, under a token budget.
//!
//! # What goes in, and in which order
//!
//! [`gather_context`] always fills the fields in the same order, so the same inputs give
//! the same prompt:
//!
//! 1. `enclosing_header`: the header line(s) of the innermost class, impl, trait or module
//!    around the region (`class Foo(Bar):`, `impl<T> Iterator for Foo<T>`), without
//!    decorators or body.
//! 2. `outer_signature`: the signature of the innermost function strictly around the region
//!    (for blocks, closures, nested functions and selections).
//! 3. `doc_text`: the region's own doc comments or docstring, dedented, kept apart so a
//!    "write a doc comment" action can leave it out. `code` excludes it unless
//!    [`ContextOptions::include_doc_in_code`] is set.
//! 4. `code`: the region, dedented, without its doc text, cut by the rule in
//!    [`crate::truncate_middle`] when too long.
//! 5. `imports`: import statements (in file order) binding a name that occurs in the code,
//!    or binding no name gloss can see (a C `#include`), at top level or inside a function
//!    that contains the region.
//! 6. `callees`: for each name the code calls, in order of first call, the signature and
//!    first doc line of its definition: in the same document first (preferring one in the
//!    region's own class or impl, then the first in file order), then in `others` in the
//!    order given. Definitions inside the region, or around it (recursion), are skipped.
//!
//! # Budget
//!
//! The header and outer signature are always kept (a line or two). The doc text may use a
//! quarter of the budget and is cut like code beyond that. Imports and callees together are
//! promised up to a quarter of the budget (less if they need less); the code gets the rest
//! and is cut to fit. Then imports, and after them callees, are added in order while they
//! fit in whatever the code left over; the ones that do not fit are counted in
//! `omitted_items`.

use std::collections::HashSet;

use streaming_iterator::StreamingIterator;
use tree_sitter::QueryCursor;

use crate::document::Document;
use crate::language::Language;
use crate::queries::Role;
use crate::region::Region;
use crate::syntax::{Syntax, innermost};
use crate::truncate::truncate_middle;

/// The documented default estimate: one token per 3.5 characters, rounded up. Code
/// tokenizes denser than prose, and over-estimating only leaves the budget unused.
pub fn estimate_tokens(text: &str) -> usize {
    (text.chars().count() * 2).div_ceil(7)
}

/// The documented default for [`ContextOptions::token_budget`].
pub const DEFAULT_TOKEN_BUDGET: usize = 2048;

/// The documented default for [`ContextOptions::max_callees`].
pub const DEFAULT_MAX_CALLEES: usize = 12;

/// How much context to gather and how to count it.
#[derive(Clone, Copy)]
pub struct ContextOptions<'a> {
    /// Tokens the whole context may take (default [`DEFAULT_TOKEN_BUDGET`]).
    pub token_budget: usize,
    /// Counts tokens the way the model will; default [`estimate_tokens`].
    pub count_tokens: &'a (dyn Fn(&str) -> usize + Sync),
    /// Keep the doc text inside `code` too (default false).
    pub include_doc_in_code: bool,
    /// At most this many callees are looked up (default [`DEFAULT_MAX_CALLEES`]).
    pub max_callees: usize,
}

impl Default for ContextOptions<'static> {
    fn default() -> ContextOptions<'static> {
        ContextOptions {
            token_budget: DEFAULT_TOKEN_BUDGET,
            count_tokens: &estimate_tokens,
            include_doc_in_code: false,
            max_callees: DEFAULT_MAX_CALLEES,
        }
    }
}

impl std::fmt::Debug for ContextOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextOptions")
            .field("token_budget", &self.token_budget)
            .field("include_doc_in_code", &self.include_doc_in_code)
            .field("max_callees", &self.max_callees)
            .finish_non_exhaustive()
    }
}

/// A function the region calls, as the model should see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callee {
    pub name: String,
    pub signature: String,
    /// First line of its documentation, without comment markers or quotes.
    pub doc_line: Option<String>,
    /// `None` when defined in the region's document, else the index into `others`.
    pub other_document: Option<usize>,
}

/// Everything gathered for one region; see the module docs for order and budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub language: Language,
    pub enclosing_header: Option<String>,
    pub outer_signature: Option<String>,
    pub doc_text: Option<String>,
    /// The region without its doc text (unless asked for), dedented, possibly cut.
    pub code: String,
    pub imports: Vec<String>,
    pub callees: Vec<Callee>,
    /// Whether the code or doc text was cut.
    pub truncated: bool,
    /// Imports and callees left out for the budget.
    pub omitted_items: usize,
}

/// Gathers the context for `region` of `document`; `others` are further documents whose
/// definitions may be what the region calls.
pub fn gather_context(
    document: &Document,
    region: &Region,
    others: &[&Document],
    options: &ContextOptions<'_>,
) -> Context {
    let count = options.count_tokens;
    let language = document.language();
    let comment = language.line_comment();
    let region_text = document
        .text()
        .get(region.byte_range.clone())
        .unwrap_or(&region.text);
    let indent = line_indent(document, region.byte_range.start);

    let doc_text = (!region.doc_ranges.is_empty()).then(|| {
        let pieces: Vec<&str> = region
            .doc_ranges
            .iter()
            .filter_map(|range| document.text().get(range.clone()))
            .map(str::trim_end)
            .collect();
        let first_indent = region
            .doc_ranges
            .first()
            .map_or("", |range| line_indent(document, range.start));
        dedent(&pieces.join("\n"), first_indent)
    });
    let code = if options.include_doc_in_code {
        dedent(region_text, indent)
    } else {
        dedent(&without_docs(document.text(), region), indent)
    };

    let mut context = Context {
        language,
        enclosing_header: None,
        outer_signature: None,
        doc_text,
        code: String::new(),
        imports: Vec::new(),
        callees: Vec::new(),
        truncated: false,
        omitted_items: 0,
    };
    let (imports, callees) = match Syntax::new(document) {
        Some(syntax) => {
            let scan = syntax.scan(
                region.node_range.start..(region.node_range.start + 1).min(syntax.text.len()),
            );
            let around = |candidate: &&crate::syntax::Candidate<'_>| {
                candidate.node.start_byte() <= region.node_range.start
                    && region.node_range.end <= candidate.node.end_byte()
                    && candidate.node.byte_range() != region.node_range
            };
            context.enclosing_header = innermost(
                scan.candidates
                    .iter()
                    .filter(|c| c.kind.is_container())
                    .filter(around),
            )
            .and_then(|container| syntax.signature(container));
            context.outer_signature = syntax
                .enclosing_function(&scan.candidates, &region.node_range)
                .and_then(|function| syntax.signature(function));
            let container_range = innermost(
                scan.candidates
                    .iter()
                    .filter(|c| c.kind.is_container())
                    .filter(around),
            )
            .map(|container| container.node.byte_range());
            let words = identifiers(&code);
            let imports = relevant_imports(document, region, &words);
            let callees = find_callees(
                &syntax,
                region,
                container_range,
                others,
                options.max_callees,
            );
            (imports, callees)
        }
        None => (Vec::new(), Vec::new()),
    };

    let mut left = options.token_budget;
    for fixed in [&context.enclosing_header, &context.outer_signature]
        .into_iter()
        .flatten()
    {
        left = left.saturating_sub(count(fixed));
    }
    if let Some(doc) = context.doc_text.take() {
        let cut = truncate_middle(&doc, options.token_budget / 4, count, comment);
        context.truncated |= cut.was_cut;
        left = left.saturating_sub(count(&cut.text));
        context.doc_text = Some(cut.text);
    }
    let import_costs: Vec<usize> = imports.iter().map(|import| count(import)).collect();
    let callee_costs: Vec<usize> = callees
        .iter()
        .map(|callee| callee_cost(callee, count))
        .collect();
    let extras: usize = import_costs.iter().chain(&callee_costs).sum();
    let reserve = extras.min(options.token_budget / 4).min(left);
    let cut = truncate_middle(&code, left - reserve, count, comment);
    context.truncated |= cut.was_cut;
    left = left.saturating_sub(count(&cut.text));
    context.code = cut.text;

    for (import, cost) in imports.into_iter().zip(import_costs) {
        if cost <= left {
            left -= cost;
            context.imports.push(import);
        } else {
            context.omitted_items += 1;
        }
    }
    for (callee, cost) in callees.into_iter().zip(callee_costs) {
        if cost <= left {
            left -= cost;
            context.callees.push(callee);
        } else {
            context.omitted_items += 1;
        }
    }
    context
}

fn callee_cost(callee: &Callee, count: &dyn Fn(&str) -> usize) -> usize {
    count(&callee.signature) + callee.doc_line.as_deref().map_or(0, count)
}

/// Leading whitespace of the line holding `offset`.
fn line_indent(document: &Document, offset: usize) -> &str {
    let line = document.line_text(document.line_of_offset(offset));
    &line[..line.len() - line.trim_start().len()]
}

/// Removes the common indentation, treating the first line (which starts at the region,
/// not at the line start) as indented by `first_indent`.
pub(crate) fn dedent(text: &str, first_indent: &str) -> String {
    let mut indents: Vec<&str> = Vec::new();
    if !text
        .trim_start_matches([' ', '\t'])
        .starts_with(['\n', '\r'])
    {
        indents.push(first_indent);
    }
    for line in text.lines().skip(1) {
        if !line.trim().is_empty() {
            indents.push(&line[..line.len() - line.trim_start().len()]);
        }
    }
    let common = indents.iter().copied().reduce(|known, indent| {
        let shared = known
            .bytes()
            .zip(indent.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        &known[..shared]
    });
    let common = common.unwrap_or("");
    if common.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if index == 0 {
            out.push_str(line);
        } else {
            out.push_str(line.strip_prefix(common).unwrap_or(line));
        }
    }
    out
}

/// The region's text with its doc ranges removed, taking whole lines where a doc range
/// stands on lines of its own.
fn without_docs(text: &str, region: &Region) -> String {
    let range = region.byte_range.clone();
    let Some(region_text) = text.get(range.clone()) else {
        return region.text.clone();
    };
    let mut out = String::with_capacity(region_text.len());
    let mut at = range.start;
    for doc in &region.doc_ranges {
        let on_boundaries = text.is_char_boundary(doc.start) && text.is_char_boundary(doc.end);
        if doc.start < at || doc.end > range.end || !on_boundaries {
            continue;
        }
        let mut start = doc.start;
        // Rust line comments own their line break; the line check below wants it outside.
        let mut end = doc.start + text[doc.clone()].trim_end_matches(['\n', '\r']).len();
        let before = &text[..start];
        let line_start = before.rfind(['\n', '\r']).map_or(0, |found| found + 1);
        let after = &text[end..];
        let line_rest = after.find(['\n', '\r']).unwrap_or(after.len());
        let alone_on_line = text[line_start.max(at)..start].trim().is_empty()
            && after[..line_rest].trim().is_empty();
        if alone_on_line {
            start = line_start.max(at);
            end += line_rest;
            if text[end..].starts_with("\r\n") {
                end += 2;
            } else if text[end..].starts_with(['\n', '\r']) {
                end += 1;
            }
            end = end.min(range.end);
        }
        out.push_str(&text[at..start]);
        at = end;
        if out.is_empty() {
            // The region started with this doc comment: start it at the next line's code,
            // which is as indented as the region's first line was.
            at += text[at..range.end].len()
                - text[at..range.end].trim_start_matches([' ', '\t']).len();
        }
    }
    out.push_str(&text[at..range.end]);
    out
}

fn is_identifier_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_' || ch == '$'
}

/// The identifier-like words of `code`.
fn identifiers(code: &str) -> HashSet<&str> {
    code.split(|ch: char| !is_identifier_char(ch))
        .filter(|word| !word.is_empty())
        .collect()
}

fn relevant_imports(document: &Document, region: &Region, words: &HashSet<&str>) -> Vec<String> {
    let Some(outline) = document.outline() else {
        return Vec::new();
    };
    let text = document.text();
    outline
        .imports
        .iter()
        .filter(|import| {
            // An import that binds no name we can see (`#include`, `import a.b.*;`) may
            // provide any of them.
            import.names.is_empty()
                || import
                    .names
                    .iter()
                    .any(|name| words.contains(name.as_str()))
        })
        .filter(|import| {
            // An import inside some function only counts if that function holds the region.
            outline.definitions.iter().all(|definition| {
                let holds_import = definition.node_range.start <= import.range.start
                    && import.range.end <= definition.node_range.end;
                !holds_import
                    || (definition.node_range.start <= region.byte_range.start
                        && region.byte_range.end <= definition.node_range.end)
            })
        })
        .filter_map(|import| text.get(import.range.clone()))
        .map(|import| {
            let import = import.trim();
            // A Go import is one spec of a possibly grouped `import ( … )`: shown alone, it
            // needs its keyword back.
            if document.language() == Language::Go && !import.starts_with("import") {
                format!("import {import}")
            } else {
                import.to_string()
            }
        })
        .collect()
}

/// Names called inside the region, in order of first call.
fn called_names(syntax: &Syntax<'_>, region: &Region) -> Vec<String> {
    let context = &syntax.queries.context;
    let mut names: Vec<String> = Vec::new();
    let mut cursor = QueryCursor::new();
    cursor.set_byte_range(region.byte_range.clone());
    let mut matches = cursor.matches(&context.query, syntax.root, syntax.text.as_bytes());
    let mut calls: Vec<(usize, &str)> = Vec::new();
    while let Some(found) = matches.next() {
        for capture in found.captures {
            let range = capture.node.byte_range();
            let inside =
                region.byte_range.start <= range.start && range.end <= region.byte_range.end;
            if context.role(capture.index) == Role::CallName && inside {
                calls.push((range.start, syntax.slice(range)));
            }
        }
    }
    calls.sort_by_key(|(start, _)| *start);
    for (_, name) in calls {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
    }
    names
}

fn find_callees(
    syntax: &Syntax<'_>,
    region: &Region,
    container: Option<std::ops::Range<usize>>,
    others: &[&Document],
    max_callees: usize,
) -> Vec<Callee> {
    let names = called_names(syntax, region);
    let mut callees = Vec::new();
    for name in names {
        if callees.len() >= max_callees {
            break;
        }
        let local = lookup(syntax.document, &name, Some(region), container.as_ref());
        let found = local.map(|found| (None, found)).or_else(|| {
            others.iter().enumerate().find_map(|(index, other)| {
                lookup(other, &name, None, None).map(|found| (Some(index), found))
            })
        });
        if let Some((other_document, (signature, doc_line))) = found {
            callees.push(Callee {
                name,
                signature,
                doc_line,
                other_document,
            });
        }
    }
    callees
}

/// Signature and first doc line of the definition of `name` in `document`.
fn lookup(
    document: &Document,
    name: &str,
    region: Option<&Region>,
    container: Option<&std::ops::Range<usize>>,
) -> Option<(String, Option<String>)> {
    let outline = document.outline()?;
    let usable = outline.definitions.iter().filter(|definition| {
        definition.name == name
            && region.is_none_or(|region| {
                let range = &definition.node_range;
                let around =
                    range.start <= region.byte_range.start && region.byte_range.end <= range.end;
                let inside =
                    region.byte_range.start <= range.start && range.end <= region.byte_range.end;
                !around && !inside
            })
    });
    let mut first = None;
    let mut chosen = None;
    for definition in usable {
        first = first.or(Some(definition));
        if container.is_some_and(|container| {
            container.start <= definition.node_range.start
                && definition.node_range.end <= container.end
        }) {
            chosen = Some(definition);
            break;
        }
    }
    let definition = chosen.or(first)?;
    let syntax = Syntax::new(document)?;
    let start = definition.node_range.start;
    let scan = syntax.scan(start..(start + 1).min(syntax.text.len()));
    let candidate = scan
        .candidates
        .iter()
        .find(|candidate| candidate.node.byte_range() == definition.node_range)?;
    let signature = syntax.signature(candidate)?;
    let doc_line = candidate
        .doc_ranges()
        .first()
        .and_then(|range| syntax.text.get(range.clone()))
        .and_then(first_doc_line);
    Some((signature, doc_line))
}

/// First non-empty line of a doc comment or docstring, without comment markers or quotes.
pub(crate) fn first_doc_line(doc: &str) -> Option<String> {
    doc.lines()
        .map(strip_doc_markers)
        .find(|line| !line.is_empty())
        .map(str::to_string)
}

fn strip_doc_markers(line: &str) -> &str {
    let mut line = line.trim();
    // A string prefix (`r"""`, `u'`) only counts when a quote follows it.
    if let Some(quote) = line.find(['"', '\''])
        && quote <= 2
        && line[..quote].chars().all(|ch| "rRuUbBfF".contains(ch))
    {
        line = &line[quote..];
    }
    for marker in [
        "///", "//!", "/**", "/*!", "/*", "//", "#", "\"\"\"", "'''", "\"", "'", "*",
    ] {
        if let Some(rest) = line.strip_prefix(marker) {
            line = rest.trim_start();
            break;
        }
    }
    for marker in ["*/", "\"\"\"", "'''"] {
        if let Some(rest) = line.strip_suffix(marker) {
            line = rest.trim_end();
            break;
        }
    }
    line.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_lines_lose_their_markers() {
        assert_eq!(
            first_doc_line("/// Adds two numbers.\n/// More."),
            Some("Adds two numbers.".into())
        );
        assert_eq!(
            first_doc_line("\"\"\"Return the sum.\"\"\""),
            Some("Return the sum.".into())
        );
        assert_eq!(
            first_doc_line("r'''\n    Raw doc.\n'''"),
            Some("Raw doc.".into())
        );
        assert_eq!(
            first_doc_line("/**\n * Parses a date.\n */"),
            Some("Parses a date.".into())
        );
        assert_eq!(first_doc_line("\"\"\"\"\"\""), None);
    }

    #[test]
    fn dedent_keeps_relative_indentation() {
        let text = "def m(self):\n        return 1\n\n        # done\n";
        assert_eq!(
            dedent(text, "    "),
            "def m(self):\n    return 1\n\n    # done\n"
        );
        assert_eq!(dedent("x\n  y", ""), "x\n  y");
    }

    #[test]
    fn default_estimate_is_chars_over_three_and_a_half() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcdefg"), 2);
        assert_eq!(estimate_tokens("日本語"), 1);
    }
}
