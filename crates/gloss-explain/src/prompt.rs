//! Turning a picked region and its context into the ChatML messages the model answers.

use gloss_model::Message;
use gloss_syntax::{Context, Language};

use crate::level::{ExplanationKind, Level};

/// Bumped whenever the wording below or the processing of answers changes: it is part of every
/// cache key, so a new prompt never serves answers made with an old one. (2: answers are stored
/// after the grounding check; 3: Rust doc comments' sections; 4: doc comments in the convention of
/// Go and Java, and without rustdoc sections in TypeScript, C and C++; 5: a hover's summary is led
/// by the code's doc comment, `crate::lead`; 6: an expert's full explanation asks for at most three
/// bullet points.)
///
/// Measured alternatives that lost on the evaluation set (docs/quality.md): the instructions in
/// the system message (which would have made them a cached prefix), asking in words for a
/// docstring-style first line (writing it as a doc comment, the lead, won), and a worked example
/// as an earlier turn.
pub const PROMPT_VERSION: u32 = 6;

/// Everything the prompt is built from.
pub struct PromptInput<'a> {
    pub language: Language,
    /// The name of the picked function, class or block, when it has one.
    pub name: Option<&'a str>,
    /// A short description of what was picked ("function", "method", "if block", …).
    pub kind_title: &'a str,
    pub context: &'a Context,
    pub kind: ExplanationKind,
    pub level: Level,
}

const SYSTEM: &str = "You are gloss, an assistant inside a code editor. You explain source code to the \
developer who is reading it. You are accurate: you describe only what the code and the given context \
show, and you never invent functions, parameters or behaviour.";

fn format_instructions(kind: ExplanationKind, language: Language, level: Level) -> &'static str {
    match kind {
        // Asked for the standard sections, the 0.5B model fills each of them whatever the level
        // says ("be terse" gave 276 words against 245 for a working programmer): an expert's
        // explanation asks for fewer things, by count and by words (135 words on the dev set's
        // first ten cases). Asking for one sentence per bullet instead kept it at 238.
        ExplanationKind::Full if level == Level::Expert => {
            "Answer in Markdown. Start with one sentence saying what the code is for. Then at most \
three bullet points starting with \"- \", each about something a reader would not see at a glance: \
a subtle step, an edge case, a pitfall. At most 120 words in all. Do not repeat the code; quote only \
names that appear in it, in backticks. No introduction and no closing remarks."
        }
        ExplanationKind::Hover => {
            "Answer in Markdown without headings: first one sentence that says what it does \
and what for (its purpose, not a step-by-step account), then at most four bullet points starting with \
\"- \": its inputs, its result, and notable behaviour such as errors raised or side effects. At most 80 \
words in all. Do not repeat the code; quote only names that appear in it, in backticks. No \
introduction, no example, no closing remarks."
        }
        ExplanationKind::Full => {
            "Answer in Markdown. Start with one sentence saying what the code is for. Then these \
sections, each only when it has something to say: **How it works** (the steps, in order), **Inputs and \
output**, **Edge cases and pitfalls**. Do not repeat the code; quote only names that appear in it, in \
backticks. No introduction and no closing remarks."
        }
        ExplanationKind::DocComment => doc_comment_instructions(language),
    }
}

/// The doc comment instructions in the language's convention. Python's, Rust's and JavaScript's
/// keep the wording of `PROMPT_VERSION` 3; the others leave out the rustdoc sections, which a small
/// model otherwise writes into every comment ("Panics: …" over a Go function).
fn doc_comment_instructions(language: Language) -> &'static str {
    match language {
        Language::Python | Language::Rust | Language::JavaScript => {
            "Write only the text of a documentation comment for this code, in the imperative mood \
(\"Return …\", not \"Returns …\"): one summary line, then, if useful, a short paragraph about \
parameters, the result and errors. Describe only behaviour the code shows. For Rust, add a \
\"# Errors\" section only when it returns a `Result` and a \"# Panics\" section only when it can \
panic. No comment markers, no code fences, no code."
        }
        // Go doc comments are sentences about the named item, which `go doc` lists by that name.
        Language::Go => {
            "Write only the text of a Go doc comment for this code: full sentences in the third \
person, the first one starting with the declared name (\"Add returns …\"), then, if useful, a short \
paragraph about the parameters, the result and errors. Describe only behaviour the code shows. No \
comment markers, no code fences, no code."
        }
        // Javadoc's own style guide asks for the third person ("Returns …").
        Language::Java => {
            "Write only the text of a Javadoc comment for this code, in the third person \
(\"Returns …\"): one summary sentence, then, if useful, @param, @return and @throws lines for what the \
code shows. Describe only behaviour the code shows. No comment markers, no code fences, no code."
        }
        Language::TypeScript | Language::Tsx | Language::C | Language::Cpp => {
            "Write only the text of a documentation comment for this code, in the imperative mood \
(\"Return …\", not \"Returns …\"): one summary line, then, if useful, a short paragraph about \
parameters, the result and errors. Describe only behaviour the code shows. No comment markers, no \
code fences, no code."
        }
    }
}

fn level_instructions(level: Level) -> &'static str {
    match level {
        Level::Beginner => {
            "The reader is new to the language: briefly explain any idiom or library call that a \
beginner might not know."
        }
        Level::Standard => "The reader is a working programmer.",
        Level::Expert => {
            "The reader is an expert: be terse and mention only what is not obvious from reading the \
code."
        }
    }
}

/// Builds the messages for one explanation. Code and context go in the user message, always as
/// plain text: the chat template encodes it with special tokens off.
pub fn build_messages(input: &PromptInput<'_>) -> Vec<Message> {
    let context = input.context;
    let language = input.language.title();
    let fence = input.language.identifier();
    let mut user = String::new();
    if let Some(header) = &context.enclosing_header {
        user.push_str(&format!(
            "It is defined inside:\n```{fence}\n{header}\n```\n\n"
        ));
    }
    if let Some(signature) = &context.outer_signature {
        user.push_str(&format!(
            "It is part of the function:\n```{fence}\n{signature}\n```\n\n"
        ));
    }
    if !context.imports.is_empty() {
        user.push_str(&format!(
            "Imports it uses:\n```{fence}\n{}\n```\n\n",
            context.imports.join("\n")
        ));
    }
    if !context.callees.is_empty() {
        user.push_str("Functions it calls, defined elsewhere in the project:\n");
        for callee in &context.callees {
            match &callee.doc_line {
                Some(doc) => user.push_str(&format!("- `{}`: {}\n", callee.signature, doc)),
                None => user.push_str(&format!("- `{}`\n", callee.signature)),
            }
        }
        user.push('\n');
    }
    if input.kind != ExplanationKind::DocComment
        && let Some(doc) = &context.doc_text
    {
        user.push_str(&format!("Its existing documentation:\n{doc}\n\n"));
    }
    let subject = match input.name {
        Some(name) => format!("the {language} {} `{name}`", input.kind_title),
        None => format!("this {language} {}", input.kind_title),
    };
    let task = match input.kind {
        ExplanationKind::DocComment => format!("Write the documentation comment for {subject}."),
        _ => format!("Explain {subject}."),
    };
    user.push_str(&format!(
        "{task}\n\n```{fence}\n{}\n```\n\n{} {}",
        context.code.trim_end(),
        format_instructions(input.kind, input.language, input.level),
        level_instructions(input.level)
    ));
    vec![Message::system(SYSTEM), Message::user(user)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_comment_instructions_follow_each_language() {
        for language in Language::ALL {
            let text = format_instructions(ExplanationKind::DocComment, language, Level::Standard);
            assert!(text.contains("No comment markers"), "{language}");
            assert_eq!(
                text.contains("# Panics"),
                language == Language::Rust
                    || language == Language::Python
                    || language == Language::JavaScript,
                "{language}: rustdoc sections only where the prompt version's wording had them"
            );
        }
        assert!(
            format_instructions(ExplanationKind::DocComment, Language::Go, Level::Standard)
                .contains("starting with the declared name")
        );
        assert!(
            format_instructions(ExplanationKind::DocComment, Language::Java, Level::Standard)
                .contains("@param")
        );
        assert_eq!(
            format_instructions(ExplanationKind::Hover, Language::Go, Level::Standard),
            format_instructions(ExplanationKind::Hover, Language::Rust, Level::Standard)
        );
    }

    #[test]
    fn only_an_experts_full_explanation_asks_for_fewer_things() {
        let full = |level| format_instructions(ExplanationKind::Full, Language::Python, level);
        assert!(full(Level::Expert).contains("at most three bullet points"));
        assert!(!full(Level::Expert).contains("**How it works**"));
        for level in [Level::Beginner, Level::Standard] {
            assert!(full(level).contains("**How it works**"), "{level:?}");
        }
        for kind in [ExplanationKind::Hover, ExplanationKind::DocComment] {
            assert_eq!(
                format_instructions(kind, Language::Rust, Level::Expert),
                format_instructions(kind, Language::Rust, Level::Standard)
            );
        }
    }
}
