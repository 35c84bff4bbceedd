//! Doc comments in each language's convention: `///` lines above a Rust item, a docstring as the
//! first statement of a Python body, `// Name …` lines above a Go declaration, and a `/** … */`
//! block above a JavaScript, TypeScript, Java, C or C++ declaration.
//!
//! The syntax layer says where a comment goes and where the existing one is
//! ([`gloss_syntax::doc_comment_insertion`]); this module turns the model's text into the comment
//! and the edit. Only the "Replace" action passes a site with an existing comment to [`edit`].

use std::ops::Range;

use gloss_explain::shape::{drop_unfounded_rust_sections, indent_of, shared_indent};
use gloss_explain::{ExplanationKind, shape_answer};
use gloss_syntax::{DocInsertion, DocStyle, Document, Region, doc_comment_insertion};

pub use gloss_syntax::DocInsertion as Site;

/// The edit that writes a comment: `replaced` (empty for an insertion) becomes `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocEdit {
    pub replaced: Range<usize>,
    pub text: String,
}

/// A comment longer than this is an essay, not a doc comment.
const MAX_LINES: usize = 12;

/// Where `region`'s doc comment is or would go; `None` for regions that take none (blocks,
/// selections, closures, one-line Python bodies).
pub fn site(document: &Document, region: &Region) -> Option<Site> {
    doc_comment_insertion(document, region)
}

/// The edit that puts `model_text` (cleaned) at `site`, replacing the existing comment if any.
/// `code` is the documented item's source, which decides the Rust sections a comment may have.
pub fn edit(document: &Document, site: &DocInsertion, code: &str, model_text: &str) -> DocEdit {
    let mut shaped = shape_answer(ExplanationKind::DocComment, model_text);
    if site.style == DocStyle::RustLineComment {
        shaped = drop_unfounded_rust_sections(&shaped, code);
    }
    let mut lines = without_echoed_code(clean(&shaped), code);
    if site.style == DocStyle::GoLineComment
        && let (Some(name), Some(first)) = (site.name.as_deref(), lines.first_mut())
    {
        *first = starting_with_name(first, name);
    }
    let indent = &site.indent;
    let text = document.text();
    match site.style {
        DocStyle::PythonDocstring => {
            let docstring = python_docstring(&lines, indent);
            match (site.existing.first(), site.existing.last()) {
                // The existing docstring's range starts at its quotes, after the indentation.
                (Some(first), Some(last)) => DocEdit {
                    replaced: first.start..last.end,
                    text: docstring,
                },
                _ => DocEdit {
                    replaced: site.offset..site.offset,
                    text: format!("{indent}{docstring}\n"),
                },
            }
        }
        DocStyle::RustLineComment | DocStyle::DocBlock | DocStyle::GoLineComment => {
            let mut comment = String::new();
            if site.style == DocStyle::DocBlock {
                comment.push_str(&format!("{indent}/**\n"));
            }
            let marker = match site.style {
                DocStyle::DocBlock => " *",
                DocStyle::GoLineComment => "//",
                _ => "///",
            };
            for line in &lines {
                if line.is_empty() {
                    comment.push_str(&format!("{indent}{marker}\n"));
                } else {
                    comment.push_str(&format!("{indent}{marker} {line}\n"));
                }
            }
            if site.style == DocStyle::DocBlock {
                comment.push_str(&format!("{indent} */\n"));
            }
            match (site.existing.first(), site.existing.last()) {
                (Some(first), Some(last)) => {
                    // Whole lines from the first comment to the last; attributes between doc
                    // comments (`/// a`, `#[inline]`, `/// b`) are kept, after the new comment.
                    let start = line_start(text, first.start);
                    let end = line_end_with_break(text, last.end.saturating_sub(1).max(last.start));
                    let mut at = start;
                    for line in text[start..end].split_inclusive('\n') {
                        let content = line.trim_end_matches(['\n', '\r']);
                        let covered = site
                            .existing
                            .iter()
                            .any(|doc| overlaps_text(doc, at, content));
                        if !covered && !content.trim().is_empty() {
                            comment.push_str(content);
                            comment.push('\n');
                        }
                        at += line.len();
                    }
                    DocEdit {
                        replaced: start..end,
                        text: comment,
                    }
                }
                _ => DocEdit {
                    replaced: site.offset..site.offset,
                    text: comment,
                },
            }
        }
    }
}

/// Lines of a source line's length that a doc comment shares with the code are the code itself.
const MIN_ECHOED_CHARS: usize = 12;

/// The comment up to the first line that repeats a line of the documented code: small models go on
/// from the comment into the code they were shown ("public static String padStart(…) {", the body),
/// and a doc comment never quotes its item's source line for line.
fn without_echoed_code(mut lines: Vec<String>, code: &str) -> Vec<String> {
    let source: Vec<&str> = code
        .lines()
        .map(str::trim)
        .filter(|line| line.len() >= MIN_ECHOED_CHARS)
        .collect();
    if let Some(first) = lines
        .iter()
        .position(|line| line.len() >= MIN_ECHOED_CHARS && source.contains(&line.as_str()))
    {
        lines.truncate(first);
    }
    while lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        lines.push("TODO: describe this.".to_owned());
    }
    lines
}

/// `line` as the first sentence of a Go doc comment, which starts with the declared name
/// (`// Add returns …`, or `// A Point is …` for a type): a model's "Returns the sum." becomes
/// "Add returns the sum."
fn starting_with_name(line: &str, name: &str) -> String {
    let is_identifier = |ch: char| ch.is_alphanumeric() || ch == '_';
    let starts_with_name = |text: &str| {
        text.strip_prefix(name)
            .is_some_and(|rest| !rest.starts_with(is_identifier))
    };
    let unquoted = line.strip_prefix('`').map_or(line, |rest| {
        rest.strip_prefix(name)
            .and_then(|after| after.strip_prefix('`'))
            .map_or(line, |_| rest)
    });
    if starts_with_name(unquoted) {
        return unquoted.replacen(&format!("{name}`"), name, 1);
    }
    let after_article = ["A ", "An ", "The "]
        .iter()
        .find_map(|article| line.strip_prefix(article));
    if after_article.is_some_and(starts_with_name) || name.is_empty() {
        return line.to_owned();
    }
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return name.to_owned();
    };
    // "HTTP requests …" keeps its capitals; "Returns …" continues the sentence in lower case.
    let rest = chars.as_str();
    let acronym = rest.starts_with(|ch: char| ch.is_uppercase());
    let first = if acronym {
        first.to_string()
    } else {
        first.to_lowercase().to_string()
    };
    format!("{name} {first}{rest}")
}

/// Whether the comment range `doc` covers some non-blank text of the line starting at `at`.
fn overlaps_text(doc: &Range<usize>, at: usize, line: &str) -> bool {
    let first = at + (line.len() - line.trim_start().len());
    let last = at + line.trim_end().len();
    doc.start < last && first < doc.end
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |at| at + 1)
}

/// The offset just after the line break ending the line that holds `offset`.
fn line_end_with_break(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text[offset..]
        .find('\n')
        .map_or(text.len(), |at| offset + at + 1)
}

/// The model's text as plain lines: no code fences, no comment markers (small models add them
/// although asked not to), no trailing blanks, at most one blank line in a row.
pub fn clean(model_text: &str) -> Vec<String> {
    let shared_indent = shared_indent(model_text);
    let mut lines: Vec<String> = Vec::new();
    for raw in model_text.lines() {
        let mut line = raw.trim();
        if line.starts_with("```") {
            continue;
        }
        for marker in ["\"\"\"", "'''", "/**", "*/"] {
            line = line
                .trim_start_matches(marker)
                .trim_end_matches(marker)
                .trim();
        }
        for prefix in ["///", "//!", "//", "* ", "# "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                line = rest.trim();
                break;
            }
        }
        if line == "*" || line == "#" {
            line = "";
        }
        if line.is_empty() && lines.last().is_none_or(|last| last.is_empty()) {
            continue;
        }
        // Nested lines (an argument under `Args:`) keep their place under their heading.
        let nesting = if line.is_empty() {
            0
        } else {
            indent_of(raw) - shared_indent
        };
        lines.push(format!("{}{line}", " ".repeat(nesting)));
    }
    while lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    lines.truncate(MAX_LINES);
    while lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        lines.push("TODO: describe this.".to_owned());
    }
    lines
}

fn python_docstring(lines: &[String], indent: &str) -> String {
    // A backslash in the text would be an escape inside a normal string literal.
    let raw = if lines.iter().any(|line| line.contains('\\')) {
        "r"
    } else {
        ""
    };
    let escaped: Vec<String> = lines
        .iter()
        .map(|line| line.replace("\"\"\"", "\\\"\\\"\\\""))
        .collect();
    if escaped.len() == 1 {
        return format!("{raw}\"\"\"{}\"\"\"", escaped[0]);
    }
    let mut text = format!("{raw}\"\"\"{}\n", escaped[0]);
    for line in &escaped[1..] {
        if line.is_empty() {
            text.push('\n');
        } else {
            text.push_str(&format!("{indent}{line}\n"));
        }
    }
    text.push_str(&format!("{indent}\"\"\""));
    text
}

#[cfg(test)]
mod tests {
    use gloss_syntax::{Language, PickOptions, pick_at};

    use super::*;

    /// Picks at `marker` in `text`, writes `comment` there, and returns the new text.
    fn write(
        language: Language,
        text: &str,
        marker: &str,
        comment: &str,
    ) -> (Option<bool>, String) {
        let document = Document::new(language, text.to_owned(), 0);
        let offset = text.find(marker).expect("marker");
        let region = pick_at(&document, offset, &PickOptions::default()).expect("a region");
        let Some(site) = site(&document, &region) else {
            return (None, text.to_owned());
        };
        let edit = edit(&document, &site, "", comment);
        let mut out = text.to_owned();
        out.replace_range(edit.replaced, &edit.text);
        (Some(site.has_doc()), out)
    }

    #[test]
    fn python_docstring_goes_first_in_the_body() {
        let text = "def add(a, b):\n    return a + b\n";
        let (existing, out) = write(Language::Python, text, "return", "Add two numbers.");
        assert_eq!(existing, Some(false));
        assert_eq!(
            out,
            "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n"
        );
    }

    #[test]
    fn python_docstring_is_replaced_in_place() {
        let text =
            "class A:\n    def m(self):\n        '''Old\n        text.'''\n        return 1\n";
        let (existing, out) = write(
            Language::Python,
            text,
            "return 1",
            "```\n\"\"\"Return one.\n\nAlways.\"\"\"\n```",
        );
        assert_eq!(existing, Some(true));
        assert_eq!(
            out,
            "class A:\n    def m(self):\n        \"\"\"Return one.\n\n        Always.\n        \"\"\"\n        return 1\n"
        );
    }

    #[test]
    fn one_line_python_bodies_take_no_docstring() {
        let (existing, _) = write(Language::Python, "def f(): return 1\n", "return", "x");
        assert_eq!(existing, None);
    }

    #[test]
    fn nested_lines_keep_their_place_in_a_docstring() {
        let text = "def copy(src, dst):\n    return dst.write(src.read())\n";
        let (_, out) = write(
            Language::Python,
            text,
            "return",
            "Copy src into dst.\n\nArgs:\n    src: where from.\n    dst: where to.",
        );
        assert_eq!(
            out,
            "def copy(src, dst):\n    \"\"\"Copy src into dst.\n\n    Args:\n        src: where from.\n        dst: where to.\n    \"\"\"\n    return dst.write(src.read())\n"
        );
    }

    #[test]
    fn model_noise_is_cleaned() {
        assert_eq!(
            clean("/// Return x.\n///\n///\n/// More.\n\n"),
            vec!["Return x.", "", "More."]
        );
        assert_eq!(clean("   "), vec!["TODO: describe this."]);
    }
}

#[cfg(test)]
mod more_tests {
    use gloss_syntax::{Language, PickOptions, pick_at};

    use super::*;

    fn apply(language: Language, text: &str, marker: &str, comment: &str) -> String {
        let document = Document::new(language, text.to_owned(), 0);
        let region = pick_at(
            &document,
            text.find(marker).unwrap(),
            &PickOptions::default(),
        )
        .unwrap();
        let site = site(&document, &region).expect("a doc comment site");
        let edit = edit(&document, &site, "", comment);
        let mut out = text.to_owned();
        out.replace_range(edit.replaced, &edit.text);
        out
    }

    #[test]
    fn rust_comments_go_above_attributes_and_replace_in_place() {
        let text = "impl A {\n    #[inline]\n    fn f(&self) -> u32 {\n        1\n    }\n}\n";
        assert_eq!(
            apply(Language::Rust, text, "1\n", "Return one.\n\nAlways."),
            "impl A {\n    /// Return one.\n    ///\n    /// Always.\n    #[inline]\n    fn f(&self) -> u32 {\n        1\n    }\n}\n"
        );
        let documented = "/// Old.\n#[inline]\n/// More old.\nfn f() -> u32 {\n    1\n}\n";
        assert_eq!(
            apply(Language::Rust, documented, "1\n", "New."),
            "/// New.\n#[inline]\nfn f() -> u32 {\n    1\n}\n"
        );
    }

    #[test]
    fn go_comments_start_with_the_name_and_sit_above_the_declaration() {
        let text =
            "package p\n\ntype P struct{ x int }\n\nfunc (p *P) Move(dx int) {\n\tp.x += dx\n}\n";
        assert_eq!(
            apply(
                Language::Go,
                text,
                "+=",
                "Moves the point right.\n\nNegative dx moves left."
            ),
            "package p\n\ntype P struct{ x int }\n\n// Move moves the point right.\n//\n// Negative dx moves left.\nfunc (p *P) Move(dx int) {\n\tp.x += dx\n}\n"
        );
        let documented =
            "package p\n\n// Add adds.\n// Old.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n";
        assert_eq!(
            apply(Language::Go, documented, "return", "`Add` returns the sum."),
            "package p\n\n// Add returns the sum.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"
        );
    }

    #[test]
    fn code_the_model_echoes_after_the_comment_is_cut() {
        let code = "  public static String padStart(String string, int minLength, char padChar) {\n    checkNotNull(string); // eager for GWT.\n    return string;\n  }\n";
        let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            without_echoed_code(
                lines(
                    "Pads a string.\n\n@param string The string to pad.\n\npublic static String padStart(String string, int minLength, char padChar) {\ncheckNotNull(string); // eager for GWT."
                ),
                code
            ),
            lines("Pads a string.\n\n@param string The string to pad.")
        );
        // Short lines and prose that merely names the code stay.
        assert_eq!(
            without_echoed_code(
                lines("Returns string.\n}\nCalls checkNotNull(string) first."),
                code
            ),
            lines("Returns string.\n}\nCalls checkNotNull(string) first.")
        );
        assert_eq!(
            without_echoed_code(lines("checkNotNull(string); // eager for GWT."), code),
            lines("TODO: describe this.")
        );
    }

    #[test]
    fn go_first_sentences_gain_the_name_once() {
        assert_eq!(starting_with_name("Returns x.", "Get"), "Get returns x.");
        assert_eq!(
            starting_with_name("Get returns x.", "Get"),
            "Get returns x."
        );
        assert_eq!(
            starting_with_name("`Get` returns x.", "Get"),
            "Get returns x."
        );
        assert_eq!(starting_with_name("Getter of x.", "Getter"), "Getter of x.");
        assert_eq!(
            starting_with_name("A Point is a place.", "Point"),
            "A Point is a place."
        );
        assert_eq!(
            starting_with_name("HTTP client.", "Client"),
            "Client HTTP client."
        );
    }

    #[test]
    fn doc_blocks_go_above_annotations_templates_and_decorators() {
        let java =
            "class A {\n    @Override\n    public int get() {\n        return 1;\n    }\n}\n";
        assert_eq!(
            apply(Language::Java, java, "return", "Returns one."),
            "class A {\n    /**\n     * Returns one.\n     */\n    @Override\n    public int get() {\n        return 1;\n    }\n}\n"
        );
        let cpp = "template <typename T>\nT twice(T x) {\n    return x + x;\n}\n";
        assert_eq!(
            apply(Language::Cpp, cpp, "return", "Doubles x."),
            "/**\n * Doubles x.\n */\ntemplate <typename T>\nT twice(T x) {\n    return x + x;\n}\n"
        );
        let ts = "class A {\n  @Input()\n  set value(v: number) {\n    this.v = v;\n  }\n}\n";
        assert_eq!(
            apply(Language::TypeScript, ts, "this.v", "Sets the value."),
            "class A {\n  /**\n   * Sets the value.\n   */\n  @Input()\n  set value(v: number) {\n    this.v = v;\n  }\n}\n"
        );
        let c = "/** Old. */\nstatic int f(void) {\n    return 0;\n}\n";
        assert_eq!(
            apply(Language::C, c, "return", "New."),
            "/**\n * New.\n */\nstatic int f(void) {\n    return 0;\n}\n"
        );
    }

    #[test]
    fn javascript_gets_a_jsdoc_block() {
        let text = "export function f(a) {\n  return a;\n}\n";
        assert_eq!(
            apply(Language::JavaScript, text, "return", "Return a."),
            "/**\n * Return a.\n */\nexport function f(a) {\n  return a;\n}\n"
        );
        let documented = "/** Old. */\nfunction f(a) {\n  return a;\n}\n";
        assert_eq!(
            apply(Language::JavaScript, documented, "return", "New."),
            "/**\n * New.\n */\nfunction f(a) {\n  return a;\n}\n"
        );
    }
}
