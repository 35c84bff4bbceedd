//! Turning an explanation into the figures the evaluation reports.

use gloss_explain::grounding::lines_outside_fences;

/// Sentences shorter than this are labels or fragments ("Inputs:"), not summaries.
const MIN_SUMMARY_WORDS: usize = 5;
/// How many leading sentences may hold the summary: a plain answer often opens with a preamble.
const SUMMARY_CANDIDATES: usize = 3;

/// The first sentences of `text` that could be its summary, Markdown removed.
pub fn summary_candidates(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines_outside_fences(text) {
        for sentence in split_sentences(&plain(line)) {
            if sentence.split_whitespace().count() >= MIN_SUMMARY_WORDS {
                out.push(sentence);
                if out.len() == SUMMARY_CANDIDATES {
                    return out;
                }
            }
        }
    }
    out
}

/// A doc comment's summary: the first sentence of its first paragraph, however short ("Return
/// the sum." is a whole summary line).
pub fn doc_comment_summary(text: &str) -> Option<String> {
    let paragraph: Vec<String> = lines_outside_fences(text)
        .map(plain)
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| !line.trim().is_empty())
        .collect();
    split_sentences(&paragraph.join(" ")).into_iter().next()
}

/// Phrases with which an answer tells the reader what a term is ("`deque` is a double-ended
/// queue", "… which means …"): what the beginner level asks for and the expert level leaves out.
const DEFINING_PHRASES: [&str; 9] = [
    " is a ",
    " is an ",
    " are a ",
    " means ",
    " refers to ",
    " stands for ",
    " is short for ",
    " is used to ",
    " which is ",
];

/// How many sentences of `text` define a term.
pub fn defining_sentences(text: &str) -> usize {
    lines_outside_fences(text)
        .flat_map(|line| split_sentences(&plain(line)))
        .filter(|sentence| {
            let padded = format!(" {} ", sentence.to_lowercase());
            DEFINING_PHRASES
                .iter()
                .any(|phrase| padded.contains(phrase))
        })
        .count()
}

/// A line without Markdown markers: headings, bullets, emphasis, backticks.
fn plain(line: &str) -> String {
    let trimmed = line.trim().trim_start_matches('#').trim_start();
    let trimmed = ["- ", "* ", "• "]
        .iter()
        .find_map(|marker| trimmed.strip_prefix(marker))
        .unwrap_or(trimmed);
    trimmed.replace(['`', '*'], "")
}

fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|next| next.is_whitespace()) {
            out.push(current.trim().to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// Words as a reader counts them: list markers and lone symbols are not words.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count()
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_skip_short_labels_fences_and_markdown() {
        let text = "Sure!\n# Purpose\n```py\nx = 1 and more words here.\n```\n**Copies data** from `a` to `b` in chunks. Short one. Then it stops at the end of input.\n- Returns nothing at all to the caller.\n- Fourth sentence with enough words.";
        assert_eq!(
            summary_candidates(text),
            vec![
                "Copies data from a to b in chunks.",
                "Then it stops at the end of input.",
                "Returns nothing at all to the caller.",
            ]
        );
    }

    #[test]
    fn a_doc_comments_summary_is_its_first_sentence_however_short() {
        assert_eq!(
            doc_comment_summary("\nReturn the sum.\nIgnores `None`.\n\nArgs:\n    x: the values.")
                .as_deref(),
            Some("Return the sum.")
        );
        assert_eq!(
            doc_comment_summary("Copy `src` into\n`dst` in chunks\n\nMore.").as_deref(),
            Some("Copy src into dst in chunks")
        );
        assert_eq!(doc_comment_summary("\n\n"), None);
    }

    #[test]
    fn defining_sentences_are_counted_once_each() {
        let text = "Reads `buf` in chunks.\n- `memoryview` is a view of bytes, which is cheap and means no copy.\n- Returns nothing.";
        assert_eq!(defining_sentences(text), 1);
        assert_eq!(defining_sentences("Sums `values`. Returns an int."), 0);
    }

    #[test]
    fn dotted_names_do_not_split_sentences() {
        assert_eq!(
            split_sentences("Calls os.path.join on parts. Done."),
            vec!["Calls os.path.join on parts.", "Done."]
        );
    }

    #[test]
    fn bullet_markers_are_not_words() {
        assert_eq!(word_count("Sums them.\n- `a`: first — b\n- 2 items"), 7);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
