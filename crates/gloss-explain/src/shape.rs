//! Holding the model's answer to the format each explanation kind promises.
//!
//! Small models drift from instructions: they add headings, example code and closing summaries. The
//! hover format (a summary sentence and at most four bullets, about 80 words) is enforced here, after
//! generation, rather than trusted to the prompt.

use crate::level::ExplanationKind;

/// The most bullets a hover shows.
pub const HOVER_MAX_BULLETS: usize = 4;
/// The most words a hover shows: a hover is read at a glance, not scrolled.
pub const HOVER_MAX_WORDS: usize = 80;

/// Returns the answer in the shape its kind promises.
pub fn shape_answer(kind: ExplanationKind, raw: &str) -> String {
    let shaped = match kind {
        ExplanationKind::Hover => shape_hover(raw),
        ExplanationKind::Full => strip_code_blocks(raw).trim().to_owned(),
        ExplanationKind::DocComment => shape_doc_comment(raw),
    };
    if !shaped.trim().is_empty() {
        return shaped;
    }
    // An answer made only of code or headings still beats an empty hover.
    let mut words_left = HOVER_MAX_WORDS;
    cut_to_words(raw.trim(), &mut words_left)
}

/// Drops fenced code blocks: the reader has the code already, and a made-up usage example is the
/// part of an answer most likely to be wrong.
fn strip_code_blocks(text: &str) -> String {
    let mut kept = Vec::new();
    // Lines of a fence not (yet) closed: prose after a stray opening fence that never closes.
    let mut open_fence: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            open_fence = match open_fence {
                Some(_) => None,
                None => Some(Vec::new()),
            };
            continue;
        }
        match &mut open_fence {
            Some(fenced) => fenced.push(line),
            None => kept.push(line),
        }
    }
    // A fence cut off by the token limit holds code; one the model opened by mistake holds prose.
    if let Some(unclosed) = open_fence
        && looks_like_prose(&unclosed)
    {
        kept.extend(unclosed);
    }
    kept.join("\n")
}

/// Whether most non-empty lines read as bullets or sentences rather than code.
fn looks_like_prose(lines: &[&str]) -> bool {
    let non_empty: Vec<&str> = lines
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .collect();
    let prose = non_empty
        .iter()
        .filter(|line| {
            let code_ending = line.ends_with([';', '{', '}', '(', ',', ')']);
            let sentence = line.ends_with('.') && line.split_whitespace().count() >= 4;
            !code_ending && (bullet_text(line).is_some() || sentence)
        })
        .count();
    !non_empty.is_empty() && prose * 2 >= non_empty.len()
}

fn bullet_text(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    for marker in ["- ", "* ", "• "] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    // "1. text" numbered items read as bullets too.
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &trimmed[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim());
        }
    }
    None
}

fn is_heading(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.starts_with('#')
        || (trimmed.starts_with("**") && trimmed.ends_with("**") && trimmed.len() > 4)
        || (trimmed.ends_with(':') && trimmed.split_whitespace().count() <= 4)
}

/// The text of a heading that carries it after a label, as in `# Purpose: Find the hull`.
fn labelled_heading_text(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?.trim_start_matches('#').trim();
    let rest = rest.trim_matches('*');
    let (label, text) = rest.split_once(':')?;
    let text = text.trim().trim_matches('*').trim();
    (label.split_whitespace().count() <= 3 && text.split_whitespace().count() >= 3).then_some(text)
}

/// The text after a bold label that announces it, as in `**Purpose**: Finds the hull` or
/// `**Function `hull`:** Finds the hull`; the line itself when there is no such label.
fn strip_bold_label(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("**") else {
        return line;
    };
    let Some(close) = rest.find("**") else {
        return line;
    };
    let label = rest[..close].trim_end_matches(':');
    let after = rest[close + 2..].trim_start();
    let text = after.strip_prefix(':').unwrap_or(after).trim();
    let labelled = rest[..close].ends_with(':') || after.starts_with(':');
    if labelled && label.split_whitespace().count() <= 4 && text.split_whitespace().count() >= 3 {
        text
    } else {
        line
    }
}

/// A Markdown heading of one capitalised word, as rustdoc's `# Errors`, `# Panics`, `# Examples`.
fn is_section_heading(line: &str) -> bool {
    line.strip_prefix("# ").is_some_and(|word| {
        !word.contains(' ') && word.chars().next().is_some_and(char::is_uppercase)
    })
}

/// A Rust doc comment without the sections the code does not bear out: `# Errors` only for a
/// function whose signature returns a `Result`, `# Panics` only for code that can visibly panic.
/// Small models add both to every comment, and a doc comment that promises an error that cannot
/// happen misleads every later reader.
pub fn drop_unfounded_rust_sections(comment: &str, code: &str) -> String {
    let signature = code.split('{').next().unwrap_or(code);
    let returns_result = signature.contains("Result");
    let can_panic = [
        "panic!",
        ".unwrap()",
        ".expect(",
        "unreachable!",
        "assert!",
        "assert_eq!",
        "assert_ne!",
        "todo!",
        "unimplemented!",
    ]
    .iter()
    .any(|call| code.contains(call));
    let mut kept: Vec<&str> = Vec::new();
    let mut skipping = false;
    for line in comment.lines() {
        if is_section_heading(line.trim()) {
            let section = &line.trim()[2..];
            skipping =
                (section == "Errors" && !returns_result) || (section == "Panics" && !can_panic);
        }
        if !skipping {
            kept.push(line);
        }
    }
    while kept.last().is_some_and(|line| line.trim().is_empty()) {
        kept.pop();
    }
    kept.join("\n")
}

/// Phrases that announce instead of explain.
const FILLER_OPENERS: [&str; 6] = [
    "certainly",
    "sure,",
    "sure!",
    "here is",
    "here's",
    "let's break",
];

fn shape_hover(raw: &str) -> String {
    let text = strip_code_blocks(raw);
    let mut summary: Option<String> = None;
    let mut bullets: Vec<String> = Vec::new();
    // Sentences after the summary in its own paragraph: bullets for a model that answers in prose.
    let mut prose: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if summary.is_none()
            && bullets.is_empty()
            && let Some(labelled) = labelled_heading_text(trimmed)
        {
            summary = Some(first_sentence(labelled).to_owned());
            continue;
        }
        if trimmed.is_empty() || is_heading(trimmed) {
            continue;
        }
        if let Some(bullet) = bullet_text(trimmed) {
            if !bullet.is_empty() && bullets.len() <= HOVER_MAX_BULLETS {
                bullets.push(bullet.to_owned());
            }
            continue;
        }
        if summary.is_none() && bullets.is_empty() {
            let trimmed = strip_bold_label(trimmed);
            let lower = trimmed.to_lowercase();
            if FILLER_OPENERS.iter().any(|f| lower.starts_with(f)) && trimmed.ends_with(':') {
                continue;
            }
            let first = first_sentence(trimmed);
            summary = Some(first.to_owned());
            let mut rest = trimmed[first.len()..].trim();
            while !rest.is_empty() {
                let sentence = first_sentence(rest);
                prose.push(sentence.to_owned());
                rest = rest[sentence.len()..].trim();
            }
        } else if !bullets.is_empty() {
            // Prose after the bullets is a closing summary that restates them.
            break;
        }
    }
    // An answer that is only bullets leads with its first one.
    let summary = match summary {
        Some(summary) => summary,
        None if !bullets.is_empty() => bullets.remove(0),
        None => return String::new(),
    };
    if bullets.is_empty() {
        bullets = prose;
    }
    let mut words_left = HOVER_MAX_WORDS;
    let mut out = cut_to_words(&summary, &mut words_left);
    for bullet in bullets.into_iter().take(HOVER_MAX_BULLETS) {
        if words_left < 4 {
            break;
        }
        out.push_str("\n- ");
        out.push_str(&cut_to_words(&bullet, &mut words_left));
    }
    out
}

/// The first sentence of a line: up to the first ". " that is not inside backticks.
fn first_sentence(line: &str) -> &str {
    let mut in_code = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'`' => in_code = !in_code,
            b'.' if !in_code && bytes.get(i + 1) == Some(&b' ') => return &line[..=i],
            _ => {}
        }
    }
    line
}

fn cut_to_words(text: &str, words_left: &mut usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= *words_left {
        *words_left -= words.len();
        return words.join(" ");
    }
    let kept = words[..*words_left].join(" ");
    *words_left = 0;
    format!("{}…", kept.trim_end_matches([',', ';', ':']))
}

fn shape_doc_comment(raw: &str) -> String {
    let outside_fences = strip_code_blocks(raw);
    // A model that wraps the whole comment in a fence still gave the comment.
    let text = if outside_fences.trim().is_empty() {
        raw.lines()
            .filter(|line| !line.trim_start().starts_with("```"))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        outside_fences
    };
    let mut lines: Vec<&str> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            let unmarked = trimmed
                .strip_prefix("///")
                .or_else(|| trimmed.strip_prefix("//"))
                .map(str::trim)
                .unwrap_or(trimmed);
            // `# Errors` is a rustdoc section heading, not a comment marker.
            if is_section_heading(unmarked) {
                unmarked
            } else {
                unmarked
                    .strip_prefix('#')
                    .map(str::trim)
                    .unwrap_or(unmarked)
            }
        })
        .map(|line| line.trim_matches('"'))
        .collect();
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hover_keeps_summary_and_four_bullets_and_drops_the_rest() {
        let raw = "The `reserve` method sets stock aside for an order. It checks counts.\n\n## Inputs:\n- `sku`: the item.\n- `count`: how many.\n\n## Result:\n- The units left.\n- Raises `OutOfStock`.\n- Fifth bullet.\n\n```python\ninv.reserve('a', 1)\n```\n\nIn summary, it reserves.";
        let shaped = shape_hover(raw);
        assert_eq!(
            shaped,
            "The `reserve` method sets stock aside for an order.\n- `sku`: the item.\n- `count`: how many.\n- The units left.\n- Raises `OutOfStock`."
        );
    }

    #[test]
    fn a_labelled_heading_gives_the_summary() {
        let raw = "# Purpose: Find the convex hull of points\n\n## Inputs:\n- A slice of `Point`.";
        assert_eq!(
            shape_hover(raw),
            "Find the convex hull of points\n- A slice of `Point`."
        );
    }

    #[test]
    fn hover_is_cut_to_the_word_limit() {
        let long = format!("{}.", vec!["word"; 200].join(" "));
        let shaped = shape_hover(&long);
        assert!(shaped.split_whitespace().count() <= HOVER_MAX_WORDS);
        assert!(shaped.ends_with('…'));
    }

    #[test]
    fn hover_skips_filler_opener() {
        let shaped = shape_hover(
            "Certainly! Here is the explanation:\nAdds two numbers.\n- Returns the sum.",
        );
        assert_eq!(shaped, "Adds two numbers.\n- Returns the sum.");
    }

    #[test]
    fn periods_inside_backticks_do_not_end_the_sentence() {
        assert_eq!(
            first_sentence("Calls `self.items. get` twice. Then stops."),
            "Calls `self.items. get` twice."
        );
    }

    #[test]
    fn a_bold_label_before_the_summary_is_dropped() {
        assert_eq!(
            shape_hover("**Purpose**: Checks whether the node is a left child.\n- Returns a bool."),
            "Checks whether the node is a left child.\n- Returns a bool."
        );
        assert_eq!(
            shape_hover("**Function `classify`:** Sorts a value into a category.").as_str(),
            "Sorts a value into a category."
        );
        // Bold that is part of the sentence stays.
        assert_eq!(
            strip_bold_label("**Never** call this twice."),
            "**Never** call this twice."
        );
    }

    #[test]
    fn an_unclosed_fence_is_noise_around_prose() {
        assert_eq!(
            shape_hover("```rust\n- Drops the path.\n- Keeps the name."),
            "Drops the path.\n- Keeps the name."
        );
        assert_eq!(
            strip_code_blocks("Adds.\n```py\nx = 1\n```\nDone."),
            "Adds.\nDone."
        );
        // Code cut off by the token limit inside its fence stays out.
        assert_eq!(
            strip_code_blocks(
                "Sums.\n```rust\nfn area(p: &[Point]) -> f64 {\n    let n = p.len();"
            ),
            "Sums."
        );
    }

    #[test]
    fn rust_sections_stay_only_when_the_code_bears_them_out() {
        let comment = "Return the port.\n\n# Errors\n\nFails on junk.\n\n# Panics\n\nNever.";
        let fallible = "fn port(s: &str) -> Result<u16, E> { s.parse() }";
        assert_eq!(
            drop_unfounded_rust_sections(comment, fallible),
            "Return the port.\n\n# Errors\n\nFails on junk."
        );
        let panicking = "fn port(s: &str) -> u16 { s.parse().unwrap() }";
        assert_eq!(
            drop_unfounded_rust_sections(comment, panicking),
            "Return the port.\n\n# Panics\n\nNever."
        );
        assert_eq!(
            shape_doc_comment("/// Return it.\n///\n/// # Errors\n/// Bad input."),
            "Return it.\n\n# Errors\nBad input."
        );
    }

    #[test]
    fn doc_comment_loses_markers_and_fences() {
        let raw = "```rust\n/// Return the area.\n///\n/// Zero for fewer than three points.\n```";
        assert_eq!(
            shape_doc_comment(raw),
            "Return the area.\n\nZero for fewer than three points."
        );
    }
}
