//! The chat-completions protocol: the public request and result types and their OpenAI JSON form
//! (the request body, and the meaning of each streamed event's data).
//!
//! Lenient where servers legitimately differ (unknown fields, `null`s, role-only or usage-only
//! chunks, `finish_reason` values other than `stop`/`length`); strict where guessing could lose or
//! invent text: a data payload that is not JSON is a [`RemoteError::Protocol`] error, never
//! skipped.

use serde::{Deserialize, Serialize};

use crate::error::RemoteError;
use crate::sse::SseEvent;

/// One chat message (`role` is `system`, `user` or `assistant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }

    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
}

/// A chat completion to stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    pub max_tokens: usize,
    pub temperature: f32,
    pub top_p: Option<f32>,
    pub seed: Option<u64>,
    pub stop: Vec<String>,
}

impl ChatRequest {
    /// Greedy decoding (temperature 0) of `messages`, at most `max_tokens` tokens.
    pub fn new(messages: Vec<ChatMessage>, max_tokens: usize) -> Self {
        Self {
            messages,
            max_tokens,
            temperature: 0.0,
            top_p: None,
            seed: None,
            stop: Vec::new(),
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its answer (or hit a stop sequence, or any other server-side reason).
    Stop,
    /// `max_tokens` (or the context) ran out.
    Length,
    /// The caller's [`crate::CancelCheck`] said stop.
    Cancelled,
}

/// How a completed (or cancelled) stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    pub reason: FinishReason,
    /// From the server's `usage` when it sends one, else the number of content deltas received.
    pub completion_tokens: usize,
    pub prompt_tokens: Option<usize>,
}

/// The JSON body of `POST /v1/chat/completions`.
pub(crate) fn request_body(model: &str, request: &ChatRequest) -> serde_json::Value {
    #[derive(Serialize)]
    struct StreamOptions {
        include_usage: bool,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        model: &'a str,
        messages: &'a [ChatMessage],
        max_tokens: usize,
        temperature: f32,
        #[serde(skip_serializing_if = "Option::is_none")]
        top_p: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        stop: &'a [String],
        stream: bool,
        stream_options: StreamOptions,
    }
    let body = Body {
        model,
        messages: &request.messages,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        seed: request.seed,
        stop: &request.stop,
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_value(body).unwrap_or_default()
}

/// What one streamed event says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// `data: [DONE]`: the stream is complete.
    pub done: bool,
    /// New text for the answer (never empty).
    pub text: Option<String>,
    pub finish: Option<FinishReason>,
    pub usage: Option<Usage>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<usize>,
    #[serde(default)]
    pub completion_tokens: Option<usize>,
}

#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// Decodes one event of a chat-completions stream.
pub(crate) fn decode_event(event: &SseEvent) -> Result<Chunk, RemoteError> {
    let data = event.data.trim();
    if event.event.as_deref() == Some("error") {
        let message = match serde_json::from_str::<serde_json::Value>(data) {
            Ok(value) => error_message(value.get("error").unwrap_or(&value)),
            Err(_) => data.to_owned(),
        };
        return Err(RemoteError::Server { message });
    }
    if data == "[DONE]" {
        return Ok(Chunk {
            done: true,
            ..Chunk::default()
        });
    }
    if data.is_empty() {
        // An empty `data:` carries nothing (some proxies send it as a keep-alive).
        return Ok(Chunk::default());
    }
    let parsed: StreamChunk = serde_json::from_str(data).map_err(|e| {
        RemoteError::Protocol(format!(
            "a streamed chunk is not valid JSON: {e}: {}",
            excerpt(data, 200)
        ))
    })?;
    if let Some(error) = parsed.error.filter(|e| !e.is_null()) {
        return Err(RemoteError::Server {
            message: error_message(&error),
        });
    }
    let mut chunk = Chunk {
        usage: parsed.usage,
        ..Chunk::default()
    };
    // gloss asks for one choice; ignore any others a server might send.
    for choice in parsed
        .choices
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.index.unwrap_or(0) == 0)
    {
        if let Some(text) = choice
            .delta
            .and_then(|d| d.content)
            .filter(|t| !t.is_empty())
        {
            chunk.text.get_or_insert_with(String::new).push_str(&text);
        }
        if let Some(reason) = choice.finish_reason {
            chunk.finish = Some(if reason == "length" {
                FinishReason::Length
            } else {
                FinishReason::Stop
            });
        }
    }
    Ok(chunk)
}

/// The human part of an OpenAI-style error: `{"message": ...}`, a bare string, or the JSON.
pub(crate) fn error_message(error: &serde_json::Value) -> String {
    match error {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => match map.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => error.to_string(),
        },
        other => other.to_string(),
    }
}

/// The first `max_chars` characters of `text`, with an ellipsis when cut.
pub(crate) fn excerpt(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.to_owned(),
        }
    }

    #[test]
    fn body_has_the_openai_fields() {
        let mut request = ChatRequest::new(
            vec![ChatMessage::system("be brief"), ChatMessage::user("hi")],
            64,
        );
        request.top_p = Some(0.5);
        request.seed = Some(7);
        request.stop = vec!["\n\n".into()];
        let body = request_body("m", &request);
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "max_tokens": 64, "temperature": 0.0, "top_p": 0.5, "seed": 7, "stop": ["\n\n"],
                "stream": true, "stream_options": {"include_usage": true},
            })
        );
        let body = request_body("m", &ChatRequest::new(vec![], 1));
        assert!(
            body.get("top_p").is_none() && body.get("seed").is_none() && body.get("stop").is_none()
        );
    }

    #[test]
    fn content_delta() {
        let c = decode_event(&ev(
            r#"{"id":"x","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
        ))
        .unwrap();
        assert_eq!(c.text.as_deref(), Some("Hel"));
        assert_eq!(c.finish, None);
    }

    #[test]
    fn role_only_and_null_content_deltas_carry_no_text() {
        for data in [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":""}}]}"#,
            r#"{"choices":[{"index":0}]}"#,
        ] {
            assert_eq!(decode_event(&ev(data)).unwrap(), Chunk::default(), "{data}");
        }
    }

    #[test]
    fn finish_reasons() {
        let stop = decode_event(&ev(
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        ))
        .unwrap();
        assert_eq!(stop.finish, Some(FinishReason::Stop));
        let length = decode_event(&ev(
            r#"{"choices":[{"delta":{"content":"x"},"finish_reason":"length"}]}"#,
        ))
        .unwrap();
        assert_eq!(length.finish, Some(FinishReason::Length));
        assert_eq!(length.text.as_deref(), Some("x"));
        let other = decode_event(&ev(
            r#"{"choices":[{"delta":{},"finish_reason":"content_filter"}]}"#,
        ))
        .unwrap();
        assert_eq!(other.finish, Some(FinishReason::Stop));
    }

    #[test]
    fn usage_only_chunk() {
        let c = decode_event(&ev(r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#)).unwrap();
        assert_eq!(
            c.usage,
            Some(Usage {
                prompt_tokens: Some(12),
                completion_tokens: Some(5)
            })
        );
        assert_eq!(c.text, None);
        let c = decode_event(&ev(r#"{"choices":null,"usage":null}"#)).unwrap();
        assert_eq!(c, Chunk::default());
    }

    #[test]
    fn done_marker() {
        assert!(decode_event(&ev("[DONE]")).unwrap().done);
        assert!(decode_event(&ev(" [DONE] ")).unwrap().done);
    }

    #[test]
    fn other_choices_are_ignored() {
        let c = decode_event(&ev(r#"{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}"#)).unwrap();
        assert_eq!(c.text.as_deref(), Some("A"));
    }

    #[test]
    fn error_payloads_are_errors() {
        let e = decode_event(&ev(
            r#"{"error":{"message":"context too long","code":400}}"#,
        ))
        .unwrap_err();
        assert_eq!(
            e,
            RemoteError::Server {
                message: "context too long".into()
            }
        );
        let e = decode_event(&ev(r#"{"error":"overloaded"}"#)).unwrap_err();
        assert_eq!(
            e,
            RemoteError::Server {
                message: "overloaded".into()
            }
        );
        let e = decode_event(&SseEvent {
            event: Some("error".into()),
            data: "upstream died".into(),
        })
        .unwrap_err();
        assert_eq!(
            e,
            RemoteError::Server {
                message: "upstream died".into()
            }
        );
        // `"error": null` is not an error.
        assert!(decode_event(&ev(r#"{"error":null,"choices":[]}"#)).is_ok());
    }

    #[test]
    fn malformed_json_is_a_protocol_error() {
        for data in [
            "{not json",
            "{\"choices\":[{\"delta\":{\"content\":\"x\"}}",
            "hello",
            "{\"choices\":{}}",
        ] {
            assert!(
                matches!(decode_event(&ev(data)), Err(RemoteError::Protocol(_))),
                "{data}"
            );
        }
    }

    #[test]
    fn excerpt_cuts_on_char_boundaries() {
        assert_eq!(excerpt("  héllo  ", 10), "héllo");
        assert_eq!(excerpt("héllo", 2), "hé…");
    }
}
