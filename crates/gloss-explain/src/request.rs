//! From a picked region to the exact messages sent to the model, the same for the CLI and the server.

use std::sync::Arc;

use gloss_model::{AnswerComplete, LedChat, Message, Prompt};
use gloss_syntax::{Context, ContextOptions, Document, Region, gather_context};

use crate::grounding::{KnownNames, drop_ungrounded};
use crate::lead::{AfterLead, lead_for};
use crate::level::{ExplanationKind, Level};
use crate::prompt::{PromptInput, build_messages};
use crate::shape::hover_is_full;

/// The most prompt the context may take, in (estimated) tokens. Prefill time grows with it, and a
/// hover must come back in seconds on a laptop CPU; 1,536 tokens keeps a 100-line function whole.
pub const CONTEXT_TOKEN_BUDGET: usize = 1536;

/// A region, its context and the messages that ask the model about it.
#[derive(Clone, Debug)]
pub struct PreparedExplanation {
    pub region: Region,
    pub context: Context,
    pub messages: Vec<Message>,
    pub kind: ExplanationKind,
    pub level: Level,
    /// What the answer may quote: the names of the code and of the context in the prompt.
    pub known_names: Arc<KnownNames>,
}

/// Gathers the context of `region` within `document` (and the other open documents) and builds
/// the prompt. Budgeting uses a fixed estimate, not the model's tokenizer, so that `--dry-run`
/// shows exactly the prompt a real run sends without loading a model.
pub fn prepare(
    document: &Document,
    region: Region,
    others: &[&Document],
    kind: ExplanationKind,
    level: Level,
) -> PreparedExplanation {
    let options = ContextOptions {
        token_budget: CONTEXT_TOKEN_BUDGET,
        ..ContextOptions::default()
    };
    let context = gather_context(document, &region, others, &options);
    let messages = build_messages(&PromptInput {
        language: document.language(),
        name: region.name.as_deref(),
        kind_title: region.kind.title(),
        context: &context,
        kind,
        level,
    });
    let known_names = Arc::new(KnownNames::from_context(&context));
    PreparedExplanation {
        region,
        known_names,
        context,
        messages,
        kind,
        level,
    }
}

impl PreparedExplanation {
    /// What the model is given: every answer is led by the code's doc comment (see
    /// [`crate::lead`]): its first sentence opens a hover (bullets follow) and a full explanation
    /// (sections follow), and the doc comment kind is that comment whole.
    pub fn prompt(&self) -> Prompt {
        let led = |then| {
            lead_for(
                self.context.language,
                &self.context.code,
                self.messages.clone(),
                then,
            )
        };
        Prompt::Led(match self.kind {
            ExplanationKind::Hover => {
                let known = self.known_names.clone();
                LedChat {
                    complete: Some(AnswerComplete(Arc::new(move |so_far: &str| {
                        hover_is_complete(so_far, &known)
                    }))),
                    ..led(AfterLead::Bullets)
                }
            }
            ExplanationKind::Full => led(AfterLead::Sections),
            ExplanationKind::DocComment => led(AfterLead::WholeComment),
        })
    }
}

/// Whether a hover's answer, its complete lines so far, already holds all the reader will see.
/// The grounding check drops lines before the shape picks its bullets, so the shape is judged on
/// what the check keeps.
fn hover_is_complete(complete_lines: &str, known: &KnownNames) -> bool {
    let grounded = drop_ungrounded(ExplanationKind::Hover, complete_lines, known);
    // With no grounded prose left the check keeps the answer whole, which grounded lines still to
    // come would undo.
    let kept_whole = !grounded.before.unknown.is_empty() && grounded.text == complete_lines;
    !kept_whole && hover_is_full(&grounded.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownNames {
        let mut known = KnownNames::default();
        known.add_text("def total(values): return sum(values)");
        known
    }

    #[test]
    fn a_bullet_the_grounding_check_drops_leaves_room_for_the_next() {
        let four = "Sums `values`.\n- Uses `made_up_helper`.\n- One.\n- Two.\n- Three.\n";
        assert!(!hover_is_complete(four, &known()));
        assert!(hover_is_complete(&format!("{four}- Four.\n"), &known()));
    }

    #[test]
    fn an_answer_kept_whole_for_want_of_grounded_prose_is_not_complete() {
        // Every line quotes an unknown name, so the check keeps them all; one grounded line
        // later and it drops them.
        let ungrounded = "Calls `made_up`.\n- `a_b`.\n- `c_d`.\n- `e_f`.\n- `g_h`.\n";
        assert!(hover_is_full(ungrounded));
        assert!(!hover_is_complete(ungrounded, &known()));
    }
}
