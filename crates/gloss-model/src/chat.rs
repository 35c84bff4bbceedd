//! The ChatML prompt format shared by Qwen2.5 and SmolLM2, and its encoding into tokens.

use crate::tokenizer::Tokenizer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn identifier(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// The start of the assistant's answer, for the model to continue (see [`encode_chatml`]).
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// The messages before an answer the assistant is to continue, and that answer's start: a
/// conversation that ends with an assistant message is continued from it, not answered anew.
fn split_answer_start(messages: &[Message]) -> (&[Message], Option<&str>) {
    match messages.split_last() {
        Some((last, before)) if last.role == Role::Assistant => (before, Some(&last.content)),
        _ => (messages, None),
    }
}

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";

/// The prompt exactly as text, for `--dry-run` and for comparing with other engines.
pub fn render_chatml(messages: &[Message]) -> String {
    let (messages, answer_start) = split_answer_start(messages);
    let mut text = String::new();
    for message in messages {
        text.push_str(IM_START);
        text.push_str(message.role.identifier());
        text.push('\n');
        text.push_str(&message.content);
        text.push_str(IM_END);
        text.push('\n');
    }
    text.push_str(IM_START);
    text.push_str(Role::Assistant.identifier());
    text.push('\n');
    text.push_str(answer_start.unwrap_or_default());
    text
}

/// Encodes a conversation that the assistant is to continue.
///
/// Only the template's own markers become special tokens: message content is encoded with special
/// tokens off, so a literal `<|im_end|>` in the user's code cannot end the prompt early.
/// `bos` is the token the model's metadata asks to be put first (`tokenizer.ggml.add_bos_token`), if any.
pub fn encode_chatml(
    tokenizer: &Tokenizer,
    bos: Option<u32>,
    messages: &[Message],
) -> Result<Vec<u32>, String> {
    let im_start = tokenizer
        .token_id(IM_START)
        .ok_or("the model's vocabulary has no <|im_start|> token: it is not a ChatML model")?;
    let im_end = tokenizer
        .token_id(IM_END)
        .ok_or("the model's vocabulary has no <|im_end|> token: it is not a ChatML model")?;
    let (messages, answer_start) = split_answer_start(messages);
    let mut ids: Vec<u32> = bos.into_iter().collect();
    for message in messages {
        ids.push(im_start);
        // Role and content are one piece of text, as llama.cpp sees them when it parses the whole
        // template: encoding them apart could split differently at the newline between them.
        let body = format!("{}\n{}", message.role.identifier(), message.content);
        ids.extend(tokenizer.encode(&body, false));
        ids.push(im_end);
        ids.extend(tokenizer.encode("\n", false));
    }
    ids.push(im_start);
    let header = format!("assistant\n{}", answer_start.unwrap_or_default());
    ids.extend(tokenizer.encode(&header, false));
    Ok(ids)
}
