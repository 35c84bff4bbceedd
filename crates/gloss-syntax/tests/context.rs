//! Context gathering: headers, doc text, imports, callees, budget and truncation.

use gloss_syntax::{
    Context, ContextOptions, Document, Language, PickOptions, Region, RegionKind, gather_context,
    pick_at,
};

fn cursor(source: &str) -> (String, usize) {
    let offset = source.find("$0").expect("a $0 marker");
    (source.replacen("$0", "", 1), offset)
}

fn pick(language: Language, source: &str) -> (Document, Region) {
    let (text, offset) = cursor(source);
    let document = Document::new(language, text, 0);
    let region = pick_at(&document, offset, &PickOptions::default()).expect("a region");
    (document, region)
}

fn context_of(language: Language, source: &str) -> Context {
    let (document, region) = pick(language, source);
    gather_context(&document, &region, &[], &ContextOptions::default())
}

const PYTHON: &str = r#"import os
import sys
import json as j
from typing import List, Dict
from pathlib import Path as P

def helper(x):
    """Double a number.

    Longer text.
    """
    return x * 2

def unrelated():
    return sys.argv

class Store(Base, metaclass=Meta):
    """Keeps things."""

    def load(self, name):
        """Load one entry by name."""
        path = os.path.join(self.root, name)
        data = j.loads(P(path).read_text())
        return self.decode(hel$0per(data))

    def decode(self, raw: bytes) -> Dict:
        # Decoding happens here.
        return raw
"#;

#[test]
fn python_method_context() {
    let context = context_of(Language::Python, PYTHON);
    assert_eq!(
        context.enclosing_header.as_deref(),
        Some("class Store(Base, metaclass=Meta):")
    );
    assert_eq!(
        context.doc_text.as_deref(),
        Some(r#""""Load one entry by name.""""#)
    );
    assert!(
        context
            .code
            .starts_with("def load(self, name):\n    path = os.path.join"),
        "{}",
        context.code
    );
    assert!(!context.code.contains("Load one entry"));
    assert_eq!(
        context.imports,
        vec![
            "import os",
            "import json as j",
            "from pathlib import Path as P"
        ]
    );
    let callees: Vec<(&str, &str, Option<&str>)> = context
        .callees
        .iter()
        .map(|callee| {
            (
                callee.name.as_str(),
                callee.signature.as_str(),
                callee.doc_line.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        callees,
        vec![
            ("decode", "def decode(self, raw: bytes) -> Dict:", None),
            ("helper", "def helper(x):", Some("Double a number.")),
        ]
    );
    assert_eq!(context.outer_signature, None);
    assert!(!context.truncated);
    assert_eq!(context.omitted_items, 0);
}

#[test]
fn context_is_deterministic_and_can_keep_the_doc_in_code() {
    let (document, region) = pick(Language::Python, PYTHON);
    let options = ContextOptions::default();
    assert_eq!(
        gather_context(&document, &region, &[], &options),
        gather_context(&document, &region, &[], &options)
    );
    let with_doc = ContextOptions {
        include_doc_in_code: true,
        ..ContextOptions::default()
    };
    let context = gather_context(&document, &region, &[], &with_doc);
    assert!(context.code.contains("\"\"\"Load one entry by name.\"\"\""));
    assert!(context.doc_text.is_some());
}

#[test]
fn python_block_gets_the_outer_signature() {
    let mut source = String::from("def long(items):\n");
    for line in 0..70 {
        source.push_str(&format!("    x{line} = {line}\n"));
    }
    source.push_str("    for item in items:\n        print(it$0em)\n    return x1\n");
    let (document, region) = pick(Language::Python, &source);
    assert_eq!(region.kind, RegionKind::Block(gloss_syntax::BlockKind::For));
    let context = gather_context(&document, &region, &[], &ContextOptions::default());
    assert_eq!(context.outer_signature.as_deref(), Some("def long(items):"));
    assert_eq!(context.code, "for item in items:\n    print(item)");
}

const RUST: &str = r#"use std::collections::{HashMap, HashSet as Set};
use std::fmt::Write;
use crate::util::clamp;

/// Squares a number.
///
/// More words.
fn square(x: u32) -> u32 {
    x * x
}

struct Repeat<T>(T);

impl<T: Clone> Iterator for Repeat<T> {
    type Item = T;

    /// Yields the value again.
    #[inline]
    fn next(&mut self) -> Option<T> {
        let mut seen: HashMap<u32, u32> = HashMap::new();
        seen.insert(square(2), clamp(3));
        Some(self.0.clo$0ne())
    }
}
"#;

#[test]
fn rust_method_context() {
    let context = context_of(Language::Rust, RUST);
    assert_eq!(
        context.enclosing_header.as_deref(),
        Some("impl<T: Clone> Iterator for Repeat<T>")
    );
    assert_eq!(
        context.doc_text.as_deref(),
        Some("/// Yields the value again.")
    );
    assert!(
        context
            .code
            .starts_with("#[inline]\nfn next(&mut self) -> Option<T> {\n    let mut seen"),
        "{}",
        context.code
    );
    assert_eq!(
        context.imports,
        vec![
            "use std::collections::{HashMap, HashSet as Set};",
            "use crate::util::clamp;"
        ]
    );
    assert_eq!(context.callees.len(), 1, "{:?}", context.callees);
    assert_eq!(context.callees[0].name, "square");
    assert_eq!(context.callees[0].signature, "fn square(x: u32) -> u32");
    assert_eq!(
        context.callees[0].doc_line.as_deref(),
        Some("Squares a number.")
    );
}

#[test]
fn javascript_context_with_a_callee_in_another_document() {
    let library = Document::new(
        Language::JavaScript,
        "/**\n * Formats a date for humans.\n * @param {Date} d\n */\nexport function formatDate(d) {\n  return d.toISOString();\n}\n".to_string(),
        0,
    );
    let source = "import { formatDate } from './lib.js';\nconst fs = require('fs');\nconst path = require('path');\n\nfunction report(d) {\n  return fs.readFileSync(format$0Date(d));\n}\n";
    let (document, region) = pick(Language::JavaScript, source);
    let context = gather_context(&document, &region, &[&library], &ContextOptions::default());
    assert_eq!(
        context.imports,
        vec![
            "import { formatDate } from './lib.js';",
            "const fs = require('fs');"
        ]
    );
    assert_eq!(context.callees.len(), 1, "{:?}", context.callees);
    let callee = &context.callees[0];
    assert_eq!(callee.signature, "function formatDate(d)");
    assert_eq!(
        callee.doc_line.as_deref(),
        Some("Formats a date for humans.")
    );
    assert_eq!(callee.other_document, Some(0));
}

#[test]
fn long_regions_are_cut_in_the_middle_with_a_marker() {
    let mut source = String::from("def big():\n");
    for line in 0..300 {
        source.push_str(&format!("    value_{line} = compute({line})\n"));
    }
    source.push_str("    return valu$0e_1\n");
    let (document, region) = pick(Language::Python, &source);
    let options = ContextOptions {
        token_budget: 400,
        ..ContextOptions::default()
    };
    let context = gather_context(&document, &region, &[], &options);
    assert!(context.truncated);
    assert!(
        context
            .code
            .starts_with("def big():\n    value_0 = compute(0)\n")
    );
    assert!(
        context.code.ends_with("    return value_1\n")
            || context.code.ends_with("    return value_1")
    );
    let marker = context
        .code
        .lines()
        .find(|line| line.contains("lines omitted"))
        .expect("a marker line");
    assert!(
        marker.starts_with("    # … ") && marker.ends_with(" lines omitted …"),
        "{marker}"
    );
    assert!(gloss_syntax::estimate_tokens(&context.code) <= 400);
}

#[test]
fn token_counting_is_injected() {
    let words = |text: &str| text.split_whitespace().count();
    let (document, region) = pick(Language::Python, PYTHON);
    let options = ContextOptions {
        token_budget: 12,
        count_tokens: &words,
        ..ContextOptions::default()
    };
    let context = gather_context(&document, &region, &[], &options);
    assert!(context.truncated);
    let used = words(&context.code)
        + context.doc_text.as_deref().map_or(0, words)
        + context.enclosing_header.as_deref().map_or(0, words)
        + context
            .imports
            .iter()
            .map(|import| words(import))
            .sum::<usize>();
    assert!(used <= 12 + 4, "{context:?}");
    assert!(context.omitted_items > 0);
}
