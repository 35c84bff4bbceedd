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

#[test]
fn typescript_method_context() {
    let source = r#"import { Emitter, Event as Ev } from './event';
import * as path from 'path';
import fs = require('fs');
import unused from 'unused';

export class Store<T> extends Base implements IStore {
    /**
     * Reads one entry.
     */
    read(name: string): T {
        return this.decode(fs.readFileSync(path.join(this.root, na$0me)));
    }

    /** Turns raw bytes into a value. */
    private decode(raw: Buffer): T {
        return JSON.parse(raw.toString());
    }
}
"#;
    let context = context_of(Language::TypeScript, source);
    assert_eq!(
        context.enclosing_header.as_deref(),
        Some("class Store<T> extends Base implements IStore")
    );
    assert_eq!(
        context.doc_text.as_deref(),
        Some("/**\n * Reads one entry.\n */")
    );
    assert_eq!(
        context.imports,
        vec![
            "import * as path from 'path';",
            "import fs = require('fs');"
        ]
    );
    let names: Vec<&str> = context.callees.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["decode"]);
    assert_eq!(
        context.callees[0].signature,
        "private decode(raw: Buffer): T"
    );
    assert_eq!(
        context.callees[0].doc_line.as_deref(),
        Some("Turns raw bytes into a value.")
    );
}

#[test]
fn go_context_binds_package_names_and_reads_plain_doc_comments() {
    let source = "package geo\n\nimport (\n\t\"fmt\"\n\tstr \"strings\"\n\t\"net/http\"\n\t\"os\"\n)\n\n// Scale multiplies both coordinates by f.\n//\n// It allocates nothing.\nfunc Scale(p Point, f int) Point {\n\treturn Point{p.X * f, p.Y * f}\n}\n\n// Unrelated comment.\n\nfunc Show(w http.ResponseWriter, p Point) {\n\tfmt.Fprintln(w, str.ToUpper(\"point\"), Scale(p, $02))\n}\n";
    let context = context_of(Language::Go, source);
    assert_eq!(
        context.imports,
        vec![
            "import \"fmt\"",
            "import str \"strings\"",
            "import \"net/http\""
        ]
    );
    let names: Vec<&str> = context.callees.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["Scale"], "{:?}", context.callees);
    assert_eq!(
        context.callees[0].signature,
        "func Scale(p Point, f int) Point"
    );
    assert_eq!(
        context.callees[0].doc_line.as_deref(),
        Some("Scale multiplies both coordinates by f.")
    );
    // The comment a blank line above `Show` is not its documentation.
    assert_eq!(context.doc_text, None);
}

#[test]
fn go_interface_method_has_its_interface_as_header() {
    let source = "package sort\n\ntype Interface interface {\n\t// Len is the number of elements.\n\tLen() i$0nt\n}\n";
    let context = context_of(Language::Go, source);
    assert_eq!(
        context.enclosing_header.as_deref(),
        Some("Interface interface")
    );
    assert_eq!(
        context.doc_text.as_deref(),
        Some("// Len is the number of elements.")
    );
}

#[test]
fn java_context_keeps_wildcard_imports_and_finds_overloads_in_the_class() {
    let source = r#"package com.example;

import java.util.List;
import java.util.Map;
import java.io.*;
import static java.util.Objects.requireNonNull;

public final class Names {
  /** Joins names with commas. */
  static String join(List<String> names) {
    return String.join(", ", names);
  }

  @Override
  public String toString() {
    requireNonNull(this);
    return jo$0in(List.of("a"));
  }
}
"#;
    let context = context_of(Language::Java, source);
    assert_eq!(
        context.enclosing_header.as_deref(),
        Some("public final class Names")
    );
    assert_eq!(
        context.imports,
        vec![
            "import java.util.List;",
            "import java.io.*;",
            "import static java.util.Objects.requireNonNull;"
        ]
    );
    let names: Vec<&str> = context.callees.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["join"], "{:?}", context.callees);
    assert_eq!(
        context.callees[0].signature,
        "static String join(List<String> names)"
    );
    assert_eq!(
        context.callees[0].doc_line.as_deref(),
        Some("Joins names with commas.")
    );
}

#[test]
fn c_context_shows_includes_and_finds_macros_and_header_prototypes() {
    let header = Document::new(
        Language::C,
        "/** Frees a buffer made by buf_new(). */\nvoid buf_free(struct buf *b);\n".to_string(),
        0,
    );
    let source = "#include <stdlib.h>\n#include \"buf.h\"\n\n#define MIN(a, b) ((a) < (b) ? (a) : (b))\n\nsize_t buf_take(struct buf *b, size_t n) {\n\tsize_t taken = MIN(b->len, n);\n\tif (taken == b->len)\n\t\tbuf_fr$0ee(b);\n\treturn taken;\n}\n";
    let (document, region) = pick(Language::C, source);
    let context = gather_context(&document, &region, &[&header], &ContextOptions::default());
    assert_eq!(
        context.imports,
        vec!["#include <stdlib.h>", "#include \"buf.h\""]
    );
    let callees: Vec<(&str, &str, Option<usize>)> = context
        .callees
        .iter()
        .map(|c| (c.name.as_str(), c.signature.as_str(), c.other_document))
        .collect();
    assert_eq!(
        callees,
        vec![
            ("MIN", "#define MIN(a, b)", None),
            ("buf_free", "void buf_free(struct buf *b)", Some(0)),
        ]
    );
    assert_eq!(
        context.callees[1].doc_line.as_deref(),
        Some("Frees a buffer made by buf_new().")
    );
}

#[test]
fn cpp_out_of_class_method_finds_the_member_declarations_it_calls() {
    let source = r#"#include "cache.h"
using namespace std;
using std::string;
using std::vector;

class LRUCache {
 public:
  /// Drops one reference, freeing the entry at zero.
  void Unref(LRUHandle* e);
  string Name() const;
};

void LRUCache::Prune() {
  while (lru_.next != &lru_) {
    Un$0ref(lru_.next);
  }
  std::max<int>(1, 2);
}
"#;
    let context = context_of(Language::Cpp, source);
    assert_eq!(
        context.imports,
        vec!["#include \"cache.h\"", "using namespace std;"]
    );
    assert_eq!(
        context
            .callees
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Unref"]
    );
    assert_eq!(context.callees[0].signature, "void Unref(LRUHandle* e)");
    assert_eq!(
        context.callees[0].doc_line.as_deref(),
        Some("Drops one reference, freeing the entry at zero.")
    );
}

#[test]
fn cpp_template_class_method_has_the_class_as_header() {
    let source = "namespace leveldb {\n\ntemplate <typename Key, class Comparator>\nclass SkipList {\n public:\n  bool Contains(const Key& key) const {\n    return Fi$0nd(key) != nullptr;\n  }\n};\n\n}  // namespace leveldb\n";
    let context = context_of(Language::Cpp, source);
    assert_eq!(context.enclosing_header.as_deref(), Some("class SkipList"));
}
