//! Holding the model's answer to the format each explanation kind promises.
//!
//! Small models drift from instructions: they add headings, example code and closing summaries. The
//! hover format (a summary sentence and at most four bullets, about 80 words) is enforced here, after
//! generation, rather than trusted to the prompt.

use gloss_model::{Generation, StopReason};

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
/// part of an answer most likely to be wrong. A fence around prose (a model that wraps its whole
/// answer in ```` ```rust ````) is unwrapped instead: rendered, it would be a code block of bullets.
fn strip_code_blocks(text: &str) -> String {
    let mut kept = Vec::new();
    // Lines of a fence not (yet) closed: prose after a stray opening fence that never closes.
    let mut open_fence: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            open_fence = match open_fence {
                Some(fenced) => {
                    if looks_like_prose(&fenced) {
                        kept.extend(fenced);
                    }
                    None
                }
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

/// The text without the bold labels that announce it, as in `**Purpose**: Finds the hull`,
/// `**Function `hull`:** Finds the hull` or `It **Summary:** finds the hull`; bold that is part of
/// the sentence (`**Never** call it twice`) stays.
fn strip_bold_label(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find("**") {
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("**") else {
            break;
        };
        let inside = &after_open[..close];
        let after = &after_open[close + 2..];
        let colon_after = after.trim_start().starts_with(':');
        let labelled = inside.ends_with(':') || colon_after;
        let label = inside.trim_end_matches(':').trim();
        if labelled && !label.is_empty() && label.split_whitespace().count() <= 4 {
            out.push_str(&rest[..open]);
            let after = after.trim_start();
            rest = after.strip_prefix(':').unwrap_or(after).trim_start();
        } else {
            out.push_str(&rest[..open + 2 + close + 2]);
            rest = after;
        }
    }
    out.push_str(rest);
    let stripped = out.trim();
    // A label with almost nothing after it was the sentence's subject, not a label.
    if stripped.split_whitespace().count() >= 3 || stripped.is_empty() {
        stripped.to_owned()
    } else {
        line.to_owned()
    }
}

/// A bullet that is only a label (`**Inputs:**`, `Returns:`), whose content, if any, followed on
/// other lines.
fn is_bare_label(text: &str) -> bool {
    let bare = text.trim().trim_matches('*').trim();
    bare.is_empty() || (bare.ends_with(':') && bare.split_whitespace().count() <= 4)
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
    hover_shape(raw).text
}

/// A hover as shaped, and whether it is full: whether any text after `raw`'s last complete line
/// would leave it as it is.
struct HoverShape {
    text: String,
    full: bool,
}

/// Whether the complete lines of a hover's answer so far already make the whole hover. The
/// shape keeps a summary and a few bullets from the start of the answer; once the bullets it
/// takes are fixed (prose after them ends the list, or the list holds more than fits), nothing
/// the model writes next is shown.
pub fn hover_is_full(complete_lines: &str) -> bool {
    // Lines in a fence still open are prose or code depending on what the fence goes on to hold.
    let fence_lines = complete_lines
        .lines()
        .filter(|line| line.trim_start().starts_with("```"))
        .count();
    fence_lines % 2 == 0 && hover_shape(complete_lines).full
}

fn hover_shape(raw: &str) -> HoverShape {
    let text = strip_code_blocks(raw);
    // Set once no later line can change which bullets are collected.
    let mut collected_all = false;
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
            if !is_bare_label(bullet) && bullets.len() <= HOVER_MAX_BULLETS {
                bullets.push(bullet.to_owned());
            }
            collected_all = bullets.len() > HOVER_MAX_BULLETS;
            continue;
        }
        if summary.is_none() && bullets.is_empty() {
            let unlabelled = strip_bold_label(trimmed);
            let trimmed = unlabelled.as_str();
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
            collected_all = true;
            break;
        }
    }
    // An answer that is only bullets leads with its first one.
    let summary = match summary {
        Some(summary) => summary,
        None if !bullets.is_empty() => bullets.remove(0),
        None => {
            return HoverShape {
                text: String::new(),
                full: false,
            };
        }
    };
    // Bullets written later would replace sentences taken from the summary's paragraph.
    let bullets_are_the_models = !bullets.is_empty();
    if bullets.is_empty() {
        bullets = prose;
    }
    let summary = strip_bold_label(&summary);
    // A list under a summary is written as "- 1. Reads …" as often as "- Reads …", with the
    // format's own labels ("**Inputs**:") in front, and sometimes opens by repeating the summary.
    let bullets: Vec<String> = bullets
        .iter()
        .map(|bullet| strip_bold_label(bullet_text(bullet).unwrap_or(bullet)))
        .filter(|bullet| !same_words(bullet, &summary))
        .collect();
    // The word limit drops whole bullets, never half of one: a hover does not end mid-sentence.
    let mut words_left = HOVER_MAX_WORDS;
    let mut out = cut_to_sentences(&summary, &mut words_left);
    let mut shown = 0;
    let mut one_did_not_fit = false;
    for bullet in bullets.into_iter().take(HOVER_MAX_BULLETS) {
        let words = bullet.split_whitespace().count();
        if words > words_left {
            one_did_not_fit = true;
            break;
        }
        words_left -= words;
        shown += 1;
        out.push_str("\n- ");
        out.push_str(&bullet.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let list_is_full = one_did_not_fit || shown == HOVER_MAX_BULLETS;
    HoverShape {
        full: !out.trim().is_empty() && (collected_all || (bullets_are_the_models && list_is_full)),
        text: out,
    }
}

/// Whether two sentences say the same words, whatever their case and punctuation.
fn same_words(a: &str, b: &str) -> bool {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    words(a) == words(b)
}

/// `text` within `words_left` words: whole when it fits, else its complete sentences that fit,
/// else (one sentence longer than the limit) cut at a word with an ellipsis.
fn cut_to_sentences(text: &str, words_left: &mut usize) -> String {
    if text.split_whitespace().count() <= *words_left {
        return cut_to_words(text, words_left);
    }
    let mut kept = String::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let sentence = first_sentence(rest);
        let candidate = format!("{kept} {sentence}");
        if !ends_a_sentence(sentence) || candidate.split_whitespace().count() > *words_left {
            break;
        }
        kept = candidate;
        rest = rest[sentence.len()..].trim_start();
    }
    if kept.trim().is_empty() {
        return cut_to_words(text, words_left);
    }
    cut_to_words(kept.trim(), words_left)
}

fn ends_a_sentence(text: &str) -> bool {
    let text = text.trim_end_matches(['*', '_', '"', '\'', ')']);
    text.ends_with(['.', '!', '?'])
}

/// The model's answer as the rest of gloss should see it: a generation the token limit (or the
/// context window) stopped loses its unfinished last sentence.
pub fn finished_text(generation: &Generation) -> String {
    let text = generation.text.trim();
    match generation.stop_reason {
        StopReason::MaxTokens | StopReason::ContextFull | StopReason::Loop => {
            drop_unfinished_tail(text)
        }
        StopReason::EndOfTurn | StopReason::Cancelled => text.to_owned(),
    }
}

/// An answer cut off by the token limit, without its unfinished last sentence or bullet: the
/// complete part reads better than a sentence that stops in the middle. Fenced code left open is
/// kept (shaping drops or unwraps it).
pub fn drop_unfinished_tail(text: &str) -> String {
    let text = text.trim_end();
    let mut lines: Vec<&str> = text.lines().collect();
    while let Some(last) = lines.last().copied() {
        let trimmed = last.trim();
        if trimmed.is_empty() || trimmed.starts_with("```") || ends_a_sentence(trimmed) {
            break;
        }
        // The complete sentences of an unfinished line stay.
        let body = bullet_text(trimmed).unwrap_or(trimmed);
        let complete = complete_sentences(body);
        if !complete.is_empty() {
            // `body` and `complete` are slices of `last`.
            let body_start = body.as_ptr() as usize - last.as_ptr() as usize;
            let index = lines.len() - 1;
            lines[index] = &last[..body_start + complete.len()];
            break;
        }
        if lines.len() == 1 {
            // Nothing complete at all: the fragment is all there is.
            break;
        }
        lines.pop();
        // A bullet or a heading is an item of its own, so the line above it was finished (items
        // are often written without a full stop); a prose line may continue the sentence above.
        if bullet_text(trimmed).is_some() || is_heading(trimmed) {
            break;
        }
    }
    lines.join("\n").trim_end().to_owned()
}

/// The longest prefix of `text` made of whole sentences (ending in `. `-style punctuation outside
/// backticks); empty when the first sentence is unfinished.
fn complete_sentences(text: &str) -> &str {
    let mut end = 0;
    let mut rest = text;
    loop {
        let sentence = first_sentence(rest);
        if sentence.len() == rest.len() {
            return &text[..end];
        }
        end = sentence.as_ptr() as usize - text.as_ptr() as usize + sentence.len();
        rest = rest[sentence.len()..].trim_start();
    }
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

pub fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The indentation every non-blank line of `text` has: what lies under it is nesting.
pub fn shared_indent(text: &str) -> usize {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(indent_of)
        .min()
        .unwrap_or(0)
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
    let shared_indent = shared_indent(&text);
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            let unmarked = trimmed
                .strip_prefix("///")
                .or_else(|| trimmed.strip_prefix("//"))
                .map(str::trim)
                .unwrap_or(trimmed);
            // `# Errors` is a rustdoc section heading, not a comment marker.
            let unmarked = if is_section_heading(unmarked) {
                unmarked
            } else {
                unmarked
                    .strip_prefix('#')
                    .map(str::trim)
                    .unwrap_or(unmarked)
            }
            .trim_matches('"');
            // Nested lines (an argument under `Args:`) keep their place under their heading.
            match unmarked {
                "" => String::new(),
                text => format!("{}{text}", " ".repeat(indent_of(line) - shared_indent)),
            }
        })
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
    fn numbered_labelled_and_repeated_bullets_under_a_summary_are_plain_bullets() {
        let raw = "Removes duplicate elements from an array.\n- 1. Removes duplicate elements from an array.\n- 2. **Inputs**: Takes an array and a key function.\n- 3. Returns a new array.";
        assert_eq!(
            shape_hover(raw),
            "Removes duplicate elements from an array.\n- Takes an array and a key function.\n- Returns a new array."
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
    fn a_whole_answer_in_a_fence_is_unwrapped() {
        let raw = "```rust\nReserves stock for an order.\n- Checks the count.\n- Returns what is left.\n```";
        assert_eq!(
            shape_hover(raw),
            "Reserves stock for an order.\n- Checks the count.\n- Returns what is left."
        );
        // A fence of code still goes.
        assert_eq!(
            shape_hover("Adds two numbers.\n```rust\nlet x = add(1, 2);\n```"),
            "Adds two numbers."
        );
    }

    #[test]
    fn bold_labels_go_from_the_summary_and_the_first_bullet() {
        assert_eq!(
            shape_hover("- **Purpose**: Reserves stock for an order.\n- **Inputs:** `sku`."),
            "Reserves stock for an order.\n- **Inputs:** `sku`."
        );
        assert_eq!(
            shape_hover("Summary first.\n- **Function `output`:** Writes the buffer out."),
            "Summary first.\n- Writes the buffer out."
        );
        assert_eq!(
            shape_hover("This method **Purpose:** reserves stock for an order."),
            "This method reserves stock for an order."
        );
    }

    /// Answers the default model gave on the dev set (ja039, c_041), as the reader sees them.
    #[test]
    fn real_answers_read_as_prose() {
        let ja039 = "- **Purpose**: This method finds the longest common prefix of two strings.\n- **Inputs**: Two `CharSequence` objects, `a` and `b`.\n- **Result**: A new `String` containing the common prefix.\n- **Notable Behaviour**: \n  - It uses `Math.min(a.length(), b.length())` to determine the maximum prefix length.";
        let shaped = shape_hover(ja039);
        assert!(
            shaped.starts_with("This method finds the longest common prefix of two strings.\n- Two `CharSequence` objects"),
            "{shaped}"
        );
        assert!(!shaped.contains("Notable Behaviour"), "{shaped}");
        let c_041 = "```c\n- Compares two strings, ignoring case\n- Returns 0 if the strings are equal\n- Returns 1 if the first string is less than the second\n```";
        assert_eq!(
            shape_hover(c_041),
            "Compares two strings, ignoring case\n- Returns 0 if the strings are equal\n- Returns 1 if the first string is less than the second"
        );
    }

    #[test]
    fn empty_label_bullets_go() {
        assert_eq!(
            shape_hover(
                "Reserves stock.\n- **Inputs:**\n  - `sku`: the item.\n- Returns:\n- The units left."
            ),
            "Reserves stock.\n- `sku`: the item.\n- The units left."
        );
    }

    #[test]
    fn the_word_limit_drops_whole_bullets() {
        let bullet = format!("{}.", vec!["word"; 30].join(" "));
        let raw = format!("Reserves stock for an order.\n- {bullet}\n- {bullet}\n- {bullet}");
        let shaped = shape_hover(&raw);
        assert_eq!(
            shaped,
            format!("Reserves stock for an order.\n- {bullet}\n- {bullet}")
        );
        assert!(!shaped.contains('…'));
        // A summary of several sentences keeps the ones that fit.
        let long = format!("Reserves stock. {}.", vec!["more"; 100].join(" "));
        assert_eq!(shape_hover(&long), "Reserves stock.");
    }

    #[test]
    fn an_answer_cut_by_the_token_limit_ends_at_its_last_complete_sentence() {
        assert_eq!(
            drop_unfinished_tail("Reserves stock.\n- Checks the count.\n- If the `item`"),
            "Reserves stock.\n- Checks the count."
        );
        assert_eq!(
            drop_unfinished_tail("Reserves stock. Then it checks the count and"),
            "Reserves stock."
        );
        assert_eq!(drop_unfinished_tail("- First. Second is cut"), "- First.");
        assert_eq!(drop_unfinished_tail("Complete.\n"), "Complete.");
        // Items are complete without a full stop once the next line begins.
        assert_eq!(
            drop_unfinished_tail(
                "Opens a file.\n- 1st argument: `filename`\n- Returns: a file object\n- Notable: if"
            ),
            "Opens a file.\n- 1st argument: `filename`\n- Returns: a file object"
        );
        assert_eq!(
            drop_unfinished_tail("Opens a file.\n- Reads it\n## Notes"),
            "Opens a file.\n- Reads it"
        );
        // A sentence wrapped over lines and cut goes whole.
        assert_eq!(
            drop_unfinished_tail("Opens a file.\nThen it reads the file and\nwrites the"),
            "Opens a file."
        );
        // Nothing complete: the fragment stays rather than nothing.
        assert_eq!(
            drop_unfinished_tail("Reserves stock for"),
            "Reserves stock for"
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

#[cfg(test)]
mod hover_fullness_tests {
    use super::*;

    /// What a model may write after a hover is found full: more bullets, prose, headings, code,
    /// a fence left open, a half-written line.
    const CONTINUATIONS: [&str; 8] = [
        "- One more bullet about the `code`.\n- And another.\n",
        "In summary, it does what it says.\n- A bullet after the prose.\n",
        "## Notes:\n- A bullet under a heading.\n",
        "```python\nx = f(1)\n```\n- A bullet after code.\n",
        "```\n- A bullet inside an open fence.\n",
        "\n\n- A bullet after blank lines.\n",
        "- A half-written bul",
        "Returns:",
    ];

    fn complete_line_prefixes(raw: &str) -> impl Iterator<Item = &str> {
        raw.match_indices('\n').map(move |(at, _)| &raw[..=at])
    }

    /// Every prefix found full is shaped as it and any continuation of it are.
    fn assert_full_prefixes_are_final(raw: &str) -> usize {
        let mut full = 0;
        for prefix in complete_line_prefixes(raw).filter(|prefix| hover_is_full(prefix)) {
            full += 1;
            let shown = shape_hover(prefix);
            assert_eq!(
                shape_hover(raw),
                shown,
                "{prefix:?} then the rest of {raw:?}"
            );
            for continuation in CONTINUATIONS {
                assert_eq!(
                    shape_hover(&format!("{prefix}{continuation}")),
                    shown,
                    "{prefix:?} then {continuation:?}"
                );
            }
        }
        full
    }

    #[test]
    fn a_hover_is_full_once_it_shows_four_bullets_or_prose_follows_its_bullets() {
        let five = "Sums the values.\n- One.\n- Two.\n- Three.\n- Four.\n- Five.\n- Six.\n";
        assert!(!hover_is_full(
            "Sums the values.\n- One.\n- Two.\n- Three.\n"
        ));
        assert!(hover_is_full(
            "Sums the values.\n- One.\n- Two.\n- Three.\n- Four.\n"
        ));
        assert_eq!(assert_full_prefixes_are_final(five), 3);

        let closing = "Sums the values.\n- One.\n- Two.\n\nIn short, it sums.\nMore prose.\n";
        assert!(!hover_is_full("Sums the values.\n- One.\n- Two.\n\n"));
        assert!(hover_is_full(
            "Sums the values.\n- One.\n- Two.\n\nIn short, it sums.\n"
        ));
        assert_full_prefixes_are_final(closing);
    }

    #[test]
    fn a_hover_is_full_once_a_bullet_goes_past_the_word_limit() {
        let long = "word ".repeat(HOVER_MAX_WORDS / 2);
        let raw = format!("Sums the values.\n- {long}\n- {long}\n- Short.\n");
        assert!(!hover_is_full(&format!("Sums the values.\n- {long}\n")));
        assert!(hover_is_full(&format!(
            "Sums the values.\n- {long}\n- {long}\n"
        )));
        assert_full_prefixes_are_final(&raw);
    }

    #[test]
    fn prose_alone_or_unfinished_lists_never_make_a_full_hover() {
        // Sentences in the summary's paragraph stand in for bullets until real bullets come.
        let prose = "Sums the values. It starts at zero. It adds each. It returns the sum. It is \
fast. It is short.\nMore prose.\n";
        for prefix in complete_line_prefixes(prose) {
            assert!(!hover_is_full(prefix), "{prefix:?}");
        }
        assert!(!hover_is_full(""));
        assert!(!hover_is_full(
            "```python\n- One.\n- Two.\n- Three.\n- Four.\n- Five.\n"
        ));
    }

    #[test]
    fn every_full_prefix_of_the_shaping_cases_is_final() {
        let cases = [
            "The `reserve` method sets stock aside for an order. It checks counts.\n\n## Inputs:\n- `sku`: the item.\n- `count`: how many.\n\n## Result:\n- The units left.\n- Raises `OutOfStock`.\n- Fifth bullet.\n\n```python\ninv.reserve('a', 1)\n```\n\nIn summary, it reserves.\n",
            "- **Purpose**: Sums the values.\n- **Inputs:**\n- `values`: numbers.\n- Returns their sum.\n- Never fails.\n- Is pure.\n- Sixth.\n",
            "```rust\nComputes the hull.\n- Sorts the points.\n- Walks them twice.\n```\nThe end.\n- Late bullet.\n",
            "Sums the values.\n1. Starts at zero.\n2. Adds each value.\n3. Returns the total.\n4. Is linear.\n5. Allocates nothing.\n",
            "Sums the values.\n- Sums the values.\n- Starts at zero.\n- Adds each.\n- Returns.\n- Fast.\n- Pure.\n",
        ];
        let full: usize = cases
            .iter()
            .map(|raw| assert_full_prefixes_are_final(raw))
            .sum();
        assert!(
            full >= cases.len(),
            "only {full} full prefixes: the check checked little"
        );
    }
}
