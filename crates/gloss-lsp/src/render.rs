//! The markdown the user reads: hovers, the "still explaining" and "no model" notes, and the full
//! explanation document.

use gloss_explain::cache::CachedExplanation;
use gloss_explain::service::CancelReason;
use gloss_explain::{ExplanationKind, shape_answer};

/// A hover longer than this is cut: the prompt asks for 80 words, and a runaway answer must not
/// fill the screen.
const MAX_HOVER_CHARS: usize = 1200;

/// The model's answer, then a small footer naming the model and whether the answer came from the
/// cache.
pub fn hover(explanation: &CachedExplanation, cached: bool) -> String {
    format!(
        "{}\n\n---\n{}",
        hover_body(explanation),
        footer(&explanation.model_id, cached)
    )
}

/// The answer held to the hover format (a summary sentence and a few bullets). The cache keeps
/// the model's own text, so a better shaping rule applies to old entries too.
pub fn hover_body(explanation: &CachedExplanation) -> String {
    let mut body = clean(&shape_answer(ExplanationKind::Hover, &explanation.text));
    if body.chars().count() > MAX_HOVER_CHARS {
        body = body.chars().take(MAX_HOVER_CHARS).collect::<String>();
        body.push('…');
    }
    body
}

pub fn footer(model_id: &str, cached: bool) -> String {
    let cached = if cached { " · cached" } else { "" };
    format!("*gloss · {model_id}{cached}*")
}

/// What a hover shows when its time budget ran out: the explanation goes on into the cache.
pub fn explaining(name: Option<&str>, kind_title: &str) -> String {
    let subject = subject(name, kind_title);
    format!("*Explaining {subject}…* Hover again in a moment.\n\n---\n*gloss*")
}

fn subject(name: Option<&str>, kind_title: &str) -> String {
    match name {
        Some(name) => format!("`{name}`"),
        None => format!("this {}", kind_title.to_lowercase()),
    }
}

/// What a hover shows when its generation stopped before an answer.
pub fn interrupted(name: Option<&str>, kind_title: &str, reason: CancelReason) -> String {
    let subject = subject(name, kind_title);
    let why = match reason {
        CancelReason::Superseded => format!(
            "*gloss stopped explaining {subject}:* a hover elsewhere took the model. Hover here \
             again to explain it."
        ),
        CancelReason::Edited => format!(
            "*The code of {subject} changed while gloss explained it.* Hover again for the new \
             version."
        ),
        CancelReason::Abandoned | CancelReason::Stopped => format!(
            "*gloss stopped explaining {subject}:* the model was replaced or is stopping. Hover \
             again to explain it."
        ),
    };
    format!("{why}\n\n---\n*gloss*")
}

/// What a hover shows when the grounding check dropped every claim of the answer.
pub fn nothing_grounded(name: Option<&str>, kind_title: &str) -> String {
    let subject = subject(name, kind_title);
    format!(
        "*gloss has no explanation of {subject}:* the model's answer named things that are not in \
         this code, so it was dropped. Choose **Regenerate** among the code actions to ask again.\n\n---\n*gloss*"
    )
}

/// What a hover shows in a document too large to explain.
pub fn too_large(bytes: usize, limit: usize) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    format!(
        "**gloss does not explain this file:** it has {:.1} MiB, more than the {:.0} MiB gloss \
         explains.\n\n---\n*gloss*",
        bytes as f64 / MIB,
        limit as f64 / MIB
    )
}

/// What a hover shows in a document whose parse was abandoned.
pub fn unparsed(why: &str) -> String {
    format!("**gloss cannot explain this file yet:** {why}\n\n---\n*gloss*")
}

/// What a hover shows when there is no model.
pub fn unavailable(hint: &str) -> String {
    format!("**gloss cannot explain yet.** {hint}\n\n---\n*gloss*")
}

/// The full explanation as a document of its own.
pub fn document(
    name: Option<&str>,
    kind_title: &str,
    location: &str,
    explanation: &CachedExplanation,
    cached: bool,
) -> String {
    let title = match name {
        Some(name) => format!("`{name}`"),
        None => format!("This {kind_title}"),
    };
    format!(
        "# {title}\n\n*{kind_title} at {location}*\n\n{}\n\n---\n{}\n",
        clean(&shape_answer(ExplanationKind::Full, &explanation.text)),
        footer(&explanation.model_id, cached)
    )
}

/// The answer without the wrapping code fence small models sometimes put around markdown.
pub fn clean(text: &str) -> String {
    let text = text.trim();
    let unwrapped = text
        .strip_prefix("```markdown")
        .or_else(|| text.strip_prefix("```md"))
        .and_then(|rest| rest.strip_suffix("```"));
    unwrapped.unwrap_or(text).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> CachedExplanation {
        CachedExplanation::new(text, "smollm2-135m", ExplanationKind::Hover, 4)
    }

    #[test]
    fn hover_has_the_answer_then_a_footer() {
        let text = hover(&entry("Adds two numbers.\n\n- `a`: first"), true);
        assert!(text.starts_with("Adds two numbers.\n"), "{text}");
        assert!(text.contains("- `a`: first"), "{text}");
        assert!(
            text.ends_with("\n\n---\n*gloss · smollm2-135m · cached*"),
            "{text}"
        );
        assert!(!hover(&entry("x"), false).contains("cached"));
    }

    #[test]
    fn fences_around_markdown_are_removed() {
        assert_eq!(clean("```markdown\nHi.\n```"), "Hi.");
        assert_eq!(clean("```rust\nfn x() {}\n```"), "```rust\nfn x() {}\n```");
    }

    #[test]
    fn runaway_hovers_are_cut() {
        let long = "word ".repeat(1000);
        assert!(hover(&entry(&long), false).chars().count() < MAX_HOVER_CHARS + 100);
    }
}
