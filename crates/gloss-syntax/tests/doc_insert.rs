//! Where "Add doc comment" would insert, per language convention.

use gloss_syntax::{DocStyle, Document, Language, PickOptions, doc_comment_insertion, pick_at};

fn insertion(language: Language, source: &str) -> Option<(String, String, DocStyle, bool)> {
    let offset = source.find("$0").expect("a $0 marker");
    let text = source.replacen("$0", "", 1);
    let document = Document::new(language, text.clone(), 0);
    let region = pick_at(&document, offset, &PickOptions::default())?;
    let insertion = doc_comment_insertion(&document, &region)?;
    let line = text[insertion.offset..]
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let has_doc = insertion.has_doc();
    Some((line, insertion.indent, insertion.style, has_doc))
}

#[test]
fn python_docstrings_go_first_in_the_body() {
    let found = insertion(
        Language::Python,
        "class A:\n    def f(self):\n        return $01\n",
    );
    assert_eq!(
        found,
        Some((
            "        return 1".into(),
            "        ".into(),
            DocStyle::PythonDocstring,
            false
        ))
    );
    let found = insertion(
        Language::Python,
        "def f():\n    \"\"\"Old.\"\"\"\n    return $01\n",
    );
    assert_eq!(
        found,
        Some((
            "    \"\"\"Old.\"\"\"".into(),
            "    ".into(),
            DocStyle::PythonDocstring,
            true
        ))
    );
    assert_eq!(insertion(Language::Python, "def f(): return $01\n"), None);
    assert_eq!(insertion(Language::Python, "x = lambda: $01\n"), None);
}

#[test]
fn rust_doc_comments_go_above_the_attributes() {
    let found = insertion(
        Language::Rust,
        "impl A {\n    #[inline]\n    fn f(&self) -> u8 {\n        $01\n    }\n}\n",
    );
    assert_eq!(
        found,
        Some((
            "    #[inline]".into(),
            "    ".into(),
            DocStyle::RustLineComment,
            false
        ))
    );
    let found = insertion(Language::Rust, "/// Old.\nfn f() {\n    $0\n}\n");
    assert_eq!(
        found,
        Some((
            "/// Old.".into(),
            "".into(),
            DocStyle::RustLineComment,
            true
        ))
    );
}

#[test]
fn jsdoc_goes_above_the_export() {
    let found = insertion(
        Language::JavaScript,
        "export function f() {\n  return $01;\n}\n",
    );
    assert_eq!(
        found,
        Some((
            "export function f() {".into(),
            "".into(),
            DocStyle::DocBlock,
            false
        ))
    );
}

#[test]
fn blocks_cannot_be_documented() {
    let mut source = String::from("def long():\n");
    for line in 0..70 {
        source.push_str(&format!("    x{line} = {line}\n"));
    }
    source.push_str("    if x1:\n        print($0x1)\n");
    assert_eq!(insertion(Language::Python, &source), None);
}

#[test]
fn go_doc_comments_are_the_adjacent_line_comments() {
    let found = insertion(
        Language::Go,
        "package p\n\n// Add adds.\nfunc Add(a, b int) int {\n\treturn $0a + b\n}\n",
    );
    assert_eq!(
        found,
        Some((
            "// Add adds.".into(),
            "".into(),
            DocStyle::GoLineComment,
            true
        ))
    );
    // A comment a blank line above documents nothing: the new comment goes under it.
    let found = insertion(
        Language::Go,
        "package p\n\n// Helpers.\n\nfunc Add(a, b int) int {\n\treturn $0a + b\n}\n",
    );
    assert_eq!(
        found,
        Some((
            "func Add(a, b int) int {".into(),
            "".into(),
            DocStyle::GoLineComment,
            false
        ))
    );
    assert_eq!(
        insertion(
            Language::Go,
            "package p\n\nfunc f() {\n\tg := func() int {\n\t\treturn $01\n\t}\n}\n"
        ),
        None
    );
}

#[test]
fn doc_blocks_go_above_annotations_templates_and_member_decorators() {
    let java = insertion(
        Language::Java,
        "class A {\n  @Override\n  public String toString() {\n    return $0\"A\";\n  }\n}\n",
    );
    assert_eq!(
        java,
        Some(("  @Override".into(), "  ".into(), DocStyle::DocBlock, false))
    );
    let cpp = insertion(
        Language::Cpp,
        "template <typename T>\nT twice(T x) {\n  return $0x + x;\n}\n",
    );
    assert_eq!(
        cpp,
        Some((
            "template <typename T>".into(),
            "".into(),
            DocStyle::DocBlock,
            false
        ))
    );
    let ts = insertion(
        Language::TypeScript,
        "class A {\n\t/** Old. */\n\t@memoize\n\tget value(): number { return $01; }\n}\n",
    );
    assert_eq!(
        ts,
        Some((
            "\t/** Old. */".into(),
            "\t".into(),
            DocStyle::DocBlock,
            true
        ))
    );
    let c = insertion(
        Language::C,
        "/* Not Doxygen. */\nstatic int f(void) {\n  return $00;\n}\n",
    );
    assert_eq!(
        c,
        Some((
            "static int f(void) {".into(),
            "".into(),
            DocStyle::DocBlock,
            false
        ))
    );
}

#[test]
fn java_and_cpp_lambdas_cannot_be_documented() {
    assert_eq!(
        insertion(
            Language::Java,
            "class A {\n  Runnable r() {\n    return () -> run$0();\n  }\n}\n"
        ),
        None
    );
    assert_eq!(
        insertion(
            Language::Cpp,
            "int f() {\n  auto g = [](int a) { return a $0+ 1; };\n  return g(1);\n}\n"
        ),
        None
    );
}
