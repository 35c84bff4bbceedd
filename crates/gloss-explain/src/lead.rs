//! The summary written as the first line of a doc comment: the form of one-sentence summary a
//! model has read most often, in every language, and the one it writes best. Measured on the
//! evaluation set (docs/quality.md), a doc comment's first line came closer to the authors' own
//! summaries than the sentence the model wrote when asked for one in prose.
//!
//! A hover's answer is therefore begun as the code's doc comment ([`lead_for`]); the model's first
//! sentence there becomes the hover's summary, and the bullets follow it (see
//! [`gloss_model::LedChat`]).

use gloss_model::{LedChat, Message, TakeSentence};
use gloss_syntax::Language;

/// Tokens the doc comment's first sentence may take; a longer one is not a summary.
const LEAD_MAX_TOKENS: usize = 48;
/// A "sentence" of fewer words is a label ("Constructor."), not a summary.
const MIN_WORDS: usize = 3;

/// How an answer goes on from the doc comment its lead had the model begin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterLead {
    /// The comment's first sentence, then the hover's bullets.
    Bullets,
    /// The comment's first sentence, then a blank line and the full explanation's sections.
    Sections,
    /// The whole comment, as the model wrote it in the code, is the answer: the doc comment kind.
    WholeComment,
}

/// The conversation `messages`, answered after a lead that has the model write `code`'s doc
/// comment first.
pub fn lead_for(
    language: Language,
    code: &str,
    messages: Vec<Message>,
    after: AfterLead,
) -> LedChat {
    let fence = language.identifier();
    let whole = after == AfterLead::WholeComment;
    let (lead, take): (String, TakeSentence) = match language {
        Language::Python => (
            format!("```{fence}\n{}\"\"\"", python_signature_and_indent(code)),
            if whole {
                whole_docstring
            } else {
                take_from_docstring
            },
        ),
        // Rust's and Go's doc comments come before the item, as lines of their own.
        Language::Rust | Language::Go => (
            format!(
                "```{fence}\n{}",
                if language == Language::Rust {
                    "///"
                } else {
                    "//"
                }
            ),
            if whole {
                whole_line_comment
            } else {
                take_from_line_comment
            },
        ),
        Language::JavaScript
        | Language::TypeScript
        | Language::Tsx
        | Language::Java
        | Language::C
        | Language::Cpp => (
            format!("```{fence}\n/**\n *"),
            if whole {
                whole_block_comment
            } else {
                take_from_block_comment
            },
        ),
    };
    LedChat {
        messages,
        lead,
        // A whole comment has the answer's own bound.
        lead_max_tokens: if whole { usize::MAX } else { LEAD_MAX_TOKENS },
        take,
        then: match after {
            AfterLead::Bullets => Some("\n- "),
            AfterLead::Sections => Some("\n\n"),
            AfterLead::WholeComment => None,
        },
        complete: None,
    }
}

/// A Python function's header (decorators and signature, up to the colon that opens the body)
/// and the body's indentation, where its docstring would start.
fn python_signature_and_indent(code: &str) -> String {
    let mut header = String::new();
    let mut lines = code.lines();
    let mut def_indent = 0;
    for line in lines.by_ref() {
        header.push_str(line);
        header.push('\n');
        def_indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_end();
        if trimmed.ends_with(':') && !trimmed.trim_start().starts_with('@') {
            break;
        }
    }
    let body_indent = lines
        .find(|line| !line.trim().is_empty())
        .map_or(def_indent + 4, |line| line.len() - line.trim_start().len());
    format!("{header}{}", " ".repeat(body_indent))
}

/// The first sentence of a docstring's text: it ends at a full stop followed by a space or a line
/// break, at a blank line, or at the closing quotes.
fn take_from_docstring(written: &str, finished: bool) -> Option<String> {
    let (body, closed) = match written.find("\"\"\"") {
        Some(end) => (&written[..end], true),
        None => (written, false),
    };
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    first_sentence(&lines, body.ends_with('\n'), closed || finished)
}

/// The first sentence of `///` or `//` lines (the lead's own marker is already written, so the
/// first line comes without one); the comment ends at the first line that is not one.
fn take_from_line_comment(written: &str, finished: bool) -> Option<String> {
    let mut lines = Vec::new();
    let mut ended = finished;
    let segments: Vec<&str> = written.split('\n').collect();
    for (index, line) in segments.iter().enumerate() {
        let trimmed = line.trim();
        if index == 0 {
            lines.push(trimmed.trim_start_matches('/').trim());
            continue;
        }
        match trimmed.strip_prefix("//") {
            Some(rest) => lines.push(rest.trim_start_matches(['/', '!']).trim()),
            // A line still being written may yet become a comment line.
            None if index + 1 == segments.len() && "//".starts_with(trimmed) => {}
            None => {
                ended = true;
                break;
            }
        }
    }
    first_sentence(&lines, written.ends_with('\n'), ended)
}

/// The first sentence of a `/** … */` block's lines, each after its ` * `.
fn take_from_block_comment(written: &str, finished: bool) -> Option<String> {
    let (body, closed) = match written.find("*/") {
        Some(end) => (&written[..end], true),
        None => (written, false),
    };
    let lines: Vec<&str> = body
        .lines()
        .map(|line| line.trim().trim_start_matches('*').trim())
        .collect();
    first_sentence(&lines, body.ends_with('\n'), closed || finished)
}

/// A docstring's whole text once its closing quotes are written, the lines under the first
/// one dedented.
fn whole_docstring(written: &str, finished: bool) -> Option<String> {
    let (body, closed) = match written.find("\"\"\"") {
        Some(end) => (&written[..end], true),
        None => (written, false),
    };
    comment_so_far(complete_lines(body, closed), closed, finished)
}

/// `///` or `//` lines, whole once a line that is not one of them follows.
fn whole_line_comment(written: &str, finished: bool) -> Option<String> {
    let segments: Vec<&str> = written.split('\n').collect();
    let mut lines = vec![segments[0].trim_start_matches('/').to_owned()];
    for (index, line) in segments.iter().enumerate().skip(1) {
        let still_written = index + 1 == segments.len();
        match line.trim_start().strip_prefix("//") {
            Some(_) if still_written => break,
            Some(text) => lines.push(text.trim_start_matches(['/', '!']).to_owned()),
            // A line still being written may yet become a comment line.
            None if still_written && "//".starts_with(line.trim()) => break,
            None => return comment_so_far(lines, true, finished),
        }
    }
    comment_so_far(lines, false, finished)
}

/// A `/** … */` block's lines, each after its `*`, once the block is closed.
fn whole_block_comment(written: &str, finished: bool) -> Option<String> {
    let (body, closed) = match written.find("*/") {
        Some(end) => (&written[..end], true),
        None => (written, false),
    };
    let lines = complete_lines(body, closed)
        .into_iter()
        .map(|line| {
            let line = line.trim_start();
            line.strip_prefix('*').unwrap_or(line).to_owned()
        })
        .collect();
    comment_so_far(lines, closed, finished)
}

/// `text`'s lines, less one still being written.
fn complete_lines(text: &str, closed: bool) -> Vec<String> {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if !closed {
        lines.pop();
    }
    lines
}

/// The comment, once it is known whole: closed, cut where an example starts (a made-up one, which
/// a small model writes on until the token bound), or all its complete lines when the step ended.
fn comment_so_far(mut lines: Vec<String>, closed: bool, finished: bool) -> Option<String> {
    let example = lines.iter().position(|line| {
        let line = line.trim();
        ["# Example", "Example", ">>>", "```", "@example"]
            .iter()
            .any(|start| line.starts_with(start))
    });
    match example {
        Some(at) => lines.truncate(at),
        None if closed || finished => {}
        None => return None,
    }
    whole_comment(lines)
}

/// A comment's lines (markers gone) as its text: the first line trimmed, the others dedented by
/// what they share, so nested lists and argument tables keep their shape; `None` when it does not
/// open with a summary.
fn whole_comment(mut lines: Vec<String>) -> Option<String> {
    while lines.first().is_some_and(|line| line.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    let trimmed: Vec<&str> = lines.iter().map(|line| line.trim()).collect();
    first_sentence(&trimmed, true, true)?;
    let shared_indent = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut text = lines[0].trim().to_owned();
    for line in &lines[1..] {
        text.push('\n');
        text.push_str(line.get(shared_indent..).unwrap_or("").trim_end());
    }
    Some(text)
}

/// The first sentence of the first paragraph of `lines` (comment markers removed), once it is
/// whole: a full stop followed by more text or by the end of a complete line (`last_complete`
/// says the last line is), or the paragraph's or comment's end (`ended`). `None` when that
/// sentence is too short to be a summary or is a tag (`@param`, `Args:`).
fn first_sentence(lines: &[&str], last_complete: bool, ended: bool) -> Option<String> {
    let mut paragraph = String::new();
    let mut paragraph_ended = ended;
    let mut started = false;
    for (index, line) in lines.iter().enumerate() {
        if line.is_empty() {
            // A blank line before the text (a docstring opened on its own line) is not an end,
            // nor is the line still being written.
            if started && index + 1 < lines.len() {
                paragraph_ended = true;
                break;
            }
            continue;
        }
        started = true;
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        paragraph.push_str(line);
    }
    if last_complete {
        paragraph.push(' ');
    }
    let sentence = match sentence_end(&paragraph) {
        Some(end) => &paragraph[..end],
        None if paragraph_ended => paragraph.as_str(),
        None => return None,
    };
    let sentence = sentence.trim();
    let words = sentence.split_whitespace().count();
    let is_tag = sentence.starts_with('@') || sentence.ends_with(':');
    (words >= MIN_WORDS && !is_tag).then(|| sentence.to_owned())
}

/// Where the first sentence ends: after a full stop, question or exclamation mark that is followed
/// by whitespace (so `os.path` and `1.5` do not end it), outside backticks.
fn sentence_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut in_code = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'`' => in_code = !in_code,
            b'.' | b'!' | b'?'
                if !in_code && bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace) =>
            {
                return Some(i + 1);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_lead_opens_the_docstring_under_the_signature() {
        let code = "@cache\ndef total(values,\n          start=0):\n    return sum(values, start)";
        let led = lead_for(
            Language::Python,
            code,
            vec![Message::user("Explain")],
            AfterLead::Bullets,
        );
        assert_eq!(
            led.lead,
            "```python\n@cache\ndef total(values,\n          start=0):\n    \"\"\""
        );
        assert_eq!(led.then, Some("\n- "));
    }

    #[test]
    fn a_doc_comment_is_taken_whole_once_it_is_closed() {
        let docstring = "Copy data from src to dst.\n\n    Args:\n        src: where from.\n    \"\"\"\n    return";
        assert_eq!(whole_docstring(&docstring[..40], false), None);
        assert_eq!(
            whole_docstring(docstring, false).as_deref(),
            Some("Copy data from src to dst.\n\nArgs:\n    src: where from.")
        );
        let rust = " Add two numbers.\n///\n/// # Panics\n/// On overflow.\npub fn";
        assert_eq!(
            whole_line_comment(" Add two numbers.\n/// # Pan", false),
            None
        );
        assert_eq!(
            whole_line_comment(rust, false).as_deref(),
            Some("Add two numbers.\n\n# Panics\nOn overflow.")
        );
        assert_eq!(
            whole_block_comment(" Returns the sum.\n * @param a the first\n */", false).as_deref(),
            Some("Returns the sum.\n@param a the first")
        );
        // Examples are cut off, and a comment the step's bound ended keeps its whole lines.
        assert_eq!(
            whole_line_comment(
                " Sort the items in place.\n///\n/// # Examples\n/// ```\n/// let",
                false
            )
            .as_deref(),
            Some("Sort the items in place.")
        );
        assert_eq!(
            whole_docstring(
                "Sort the items in place.\n\n    Args:\n        items: the",
                true
            )
            .as_deref(),
            Some("Sort the items in place.\n\nArgs:")
        );
        assert_eq!(
            whole_docstring(
                "Sort the items in place.\n\n    Args:\n        items: the",
                false
            ),
            None
        );
        // A comment that opens with a tag or a word is no summary: the answer is asked for plainly.
        assert_eq!(whole_block_comment(" @param a\n */", false), None);
        assert_eq!(
            whole_docstring("Args:\n\n    a: x\n    \"\"\"", false),
            None
        );
    }

    #[test]
    fn a_docstring_sentence_is_taken_once_whole() {
        let take = take_from_docstring;
        assert_eq!(take("Return the sum of", false), None);
        assert_eq!(
            take("Return the sum of `values`. Start at", false).as_deref(),
            Some("Return the sum of `values`.")
        );
        // Opened on its own line, ended by the paragraph, the quotes or the step's end.
        assert_eq!(
            take("\n    Copy data from src to dst\n\n    Args:", false).as_deref(),
            Some("Copy data from src to dst")
        );
        assert_eq!(
            take("Copy data from src to dst\"\"\"", false).as_deref(),
            Some("Copy data from src to dst")
        );
        assert_eq!(
            take("Copy data from src to dst", true).as_deref(),
            Some("Copy data from src to dst")
        );
        // Dotted names do not end a sentence.
        assert_eq!(take("Call os.path.join on the parts", false), None);
    }

    #[test]
    fn a_line_comment_sentence_may_span_lines_and_ends_with_the_comment() {
        let take = take_from_line_comment;
        assert_eq!(
            take(" Reads one field of the\n/// extra data. It keeps", false).as_deref(),
            Some("Reads one field of the extra data.")
        );
        assert_eq!(take(" Reads one field\n/", false), None);
        assert_eq!(
            take(" Reads one field of it\npub fn read(", false).as_deref(),
            Some("Reads one field of it")
        );
        assert_eq!(take(" Parses\n///\n", false), None);
    }

    #[test]
    fn a_block_comment_sentence_skips_its_stars() {
        assert_eq!(
            take_from_block_comment(" Compares two strings\n * ignoring case.\n", false).as_deref(),
            Some("Compares two strings ignoring case.")
        );
        assert_eq!(
            take_from_block_comment(" @param a the first */", false),
            None
        );
    }

    #[test]
    fn labels_and_short_fragments_are_not_summaries() {
        assert_eq!(first_sentence(&["Constructor."], true, true), None);
        assert_eq!(first_sentence(&["Arguments for it:"], true, true), None);
        assert_eq!(first_sentence(&[], true, true), None);
    }
}
