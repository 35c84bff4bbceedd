//! The per-language query files, compiled once, and what each capture name means to gloss.
//!
//! `queries/<language>/regions.scm` says what can be picked:
//!
//! | capture | meaning |
//! |---|---|
//! | `@function` `@method` `@closure` `@lambda` | function-like regions |
//! | `@class` `@impl` `@trait` `@interface` `@module` `@namespace` | containers: their body items are picked one by one |
//! | `@struct` `@enum` `@type` | type items, always picked whole |
//! | `@block.if` `@block.for` `@block.while` `@block.loop` `@block.match` `@block.with` `@block.try` | block statements, picked inside long functions |
//! | `@name` | the region's name (must be a direct child of the pattern root) |
//! | `@body` | the region's body; what comes before it is the signature or header |
//! | `@doc` | documentation inside the region (a Python docstring statement) |
//! | `@extent` | a wrapper whose range the region covers (decorators, `export`, `template <…>`) |
//! | `@attached` | a node that belongs to the next sibling item (Rust attributes, TypeScript member decorators) |
//! | `@doc.leading` | a doc comment that documents the next sibling item |
//! | `@exclude` | a node that is never a region of its own (`else if`) |
//!
//! Several patterns may capture one node; their captures are merged, and when kinds
//! disagree the more specific one wins (a method over a function).
//!
//! `queries/<language>/context.scm` says what a region draws on: `@import` (an import
//! statement) with `@import.name` (each name it binds; a quoted Go import path binds its
//! package name), and `@call.name` (the name of a called function or method). An `@import`
//! without names (a C `#include`, a Java `import a.b.*`) may bind anything, so it is always
//! relevant. Captures starting with `_` are helpers for predicates.

use std::sync::OnceLock;

use tree_sitter::Query;

use crate::language::Language;
use crate::region::RegionKind;

/// What gloss does with a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Region(RegionKind),
    Name,
    Body,
    Doc,
    Extent,
    Attached,
    DocLeading,
    Exclude,
    Import,
    ImportName,
    CallName,
    Helper,
}

impl Role {
    fn from_capture_name(name: &str) -> Option<Role> {
        let role = match name {
            "name" => Role::Name,
            "body" => Role::Body,
            "doc" => Role::Doc,
            "extent" => Role::Extent,
            "attached" => Role::Attached,
            "doc.leading" => Role::DocLeading,
            "exclude" => Role::Exclude,
            "import" => Role::Import,
            "import.name" => Role::ImportName,
            "call.name" => Role::CallName,
            helper if helper.starts_with('_') => Role::Helper,
            // Statements and selections come from structure, never from a capture.
            "statement" | "selection" => return None,
            region => Role::Region(RegionKind::from_identifier(region)?),
        };
        Some(role)
    }
}

/// A compiled query with the role of each capture index.
pub(crate) struct CompiledQuery {
    pub query: Query,
    roles: Vec<Role>,
}

impl CompiledQuery {
    fn compile(language: Language, file: &str, source: &str) -> Result<CompiledQuery, String> {
        let query = Query::new(&language.tree_sitter_language(), source)
            .map_err(|error| format!("{}/{file}: {error}", language.identifier()))?;
        let roles = query
            .capture_names()
            .iter()
            .map(|name| {
                Role::from_capture_name(name).ok_or_else(|| {
                    format!("{}/{file}: unknown capture @{name}", language.identifier())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CompiledQuery { query, roles })
    }

    pub fn role(&self, capture_index: u32) -> Role {
        self.roles
            .get(capture_index as usize)
            .copied()
            .unwrap_or(Role::Helper)
    }
}

pub(crate) struct LanguageQueries {
    pub regions: CompiledQuery,
    pub context: CompiledQuery,
    /// The patterns of both files that name function definitions or bind imports, run over
    /// the whole file to build a document's outline.
    pub outline: CompiledQuery,
}

fn sources(language: Language) -> (&'static str, &'static str) {
    match language {
        Language::Python => (
            include_str!("../queries/python/regions.scm"),
            include_str!("../queries/python/context.scm"),
        ),
        Language::Rust => (
            include_str!("../queries/rust/regions.scm"),
            include_str!("../queries/rust/context.scm"),
        ),
        Language::JavaScript => (
            include_str!("../queries/javascript/regions.scm"),
            include_str!("../queries/javascript/context.scm"),
        ),
        // TSX's grammar is TypeScript's plus JSX: the same patterns compile against both.
        Language::TypeScript | Language::Tsx => (
            include_str!("../queries/typescript/regions.scm"),
            include_str!("../queries/typescript/context.scm"),
        ),
        Language::Go => (
            include_str!("../queries/go/regions.scm"),
            include_str!("../queries/go/context.scm"),
        ),
        Language::Java => (
            include_str!("../queries/java/regions.scm"),
            include_str!("../queries/java/context.scm"),
        ),
        Language::C => (
            include_str!("../queries/c/regions.scm"),
            include_str!("../queries/c/context.scm"),
        ),
        Language::Cpp => (
            include_str!("../queries/cpp/regions.scm"),
            include_str!("../queries/cpp/context.scm"),
        ),
    }
}

/// The source of the patterns in `compiled` that `keep` accepts.
fn pattern_sources(compiled: &CompiledQuery, source: &str, keep: impl Fn(&str) -> bool) -> String {
    let query = &compiled.query;
    let mut kept = String::new();
    for index in 0..query.pattern_count() {
        let pattern = source
            .get(query.start_byte_for_pattern(index)..query.end_byte_for_pattern(index))
            .unwrap_or("");
        if keep(pattern) {
            kept.push_str(pattern);
            kept.push('\n');
        }
    }
    kept
}

fn names_a_function(pattern: &str) -> bool {
    let captures: Vec<&str> = pattern
        .split('@')
        .skip(1)
        .map(|rest| {
            rest.split(|ch: char| !(ch.is_alphanumeric() || ch == '.' || ch == '_'))
                .next()
                .unwrap_or("")
        })
        .collect();
    captures.contains(&"name")
        && captures.iter().any(|capture| {
            RegionKind::from_identifier(capture).is_some_and(RegionKind::is_function_like)
        })
}

fn binds_an_import(pattern: &str) -> bool {
    pattern.contains("@import")
}

fn compile(language: Language) -> Result<LanguageQueries, String> {
    let (regions_source, context_source) = sources(language);
    let regions = CompiledQuery::compile(language, "regions.scm", regions_source)?;
    let context = CompiledQuery::compile(language, "context.scm", context_source)?;
    let outline_source = pattern_sources(&regions, regions_source, names_a_function)
        + &pattern_sources(&context, context_source, binds_an_import);
    let outline = CompiledQuery::compile(language, "outline patterns", &outline_source)?;
    Ok(LanguageQueries {
        regions,
        context,
        outline,
    })
}

/// The compiled queries of `language`; `None` if a query file does not compile, which
/// the tests rule out (so picking degrades to "nothing" rather than panicking).
pub(crate) fn queries(language: Language) -> Option<&'static LanguageQueries> {
    static CACHE: [OnceLock<Result<LanguageQueries, String>>; Language::ALL.len()] =
        [const { OnceLock::new() }; Language::ALL.len()];
    CACHE[language.index()]
        .get_or_init(|| compile(language))
        .as_ref()
        .ok()
}

/// Compiles every query file and reports the first problem; for tests and start-up checks.
pub fn check_queries() -> Result<(), String> {
    for language in Language::ALL {
        compile(language)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_file_compiles_with_known_captures() {
        if let Err(problem) = check_queries() {
            panic!("{problem}");
        }
        for language in Language::ALL {
            assert!(queries(language).is_some());
        }
    }
}
