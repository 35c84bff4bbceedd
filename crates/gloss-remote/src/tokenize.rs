//! Counting tokens with the server's own tokenizer, where the server offers one.
//!
//! There is no OpenAI API for this; servers differ in the body of `POST /tokenize`:
//! llama-server takes `{"content"}` and answers `{"tokens": [...]}`, vLLM takes
//! `{"model", "prompt"}` and answers `{"count", "tokens"}`, TGI takes `{"inputs"}` and answers a
//! list. The first form that works is remembered; when none does (404, or every form refused), the
//! answer `None` is remembered too, so a server without the API costs one probe, not one per call.

use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::{Value, json};

use crate::client::Shared;
use crate::error::RemoteError;
use crate::http::Failure;

/// Which request form the server understood, if known yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    LlamaCpp = 1,
    Vllm = 2,
    Tgi = 3,
}

const UNSUPPORTED: u8 = 255;
const PROBE_ORDER: [Dialect; 3] = [Dialect::LlamaCpp, Dialect::Vllm, Dialect::Tgi];

/// What is known of the server's tokenize API: 0 (not probed yet), a [`Dialect`], or
/// `UNSUPPORTED`. Shared by all clones of a client.
#[derive(Debug, Default)]
pub(crate) struct TokenizeSupport(AtomicU8);

impl TokenizeSupport {
    fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, value: u8) {
        self.0.store(value, Ordering::Relaxed);
    }
}

pub(crate) async fn count_tokens(
    shared: &Shared,
    text: &str,
) -> Result<Option<usize>, RemoteError> {
    let known = shared.tokenize.get();
    if known == UNSUPPORTED {
        return Ok(None);
    }
    if let Some(dialect) = PROBE_ORDER.into_iter().find(|d| *d as u8 == known) {
        return tokenize(shared, dialect, text)
            .await
            .map(Some)
            .map_err(|f| f.error);
    }
    for dialect in PROBE_ORDER {
        match tokenize(shared, dialect, text).await {
            Ok(count) => {
                shared.tokenize.set(dialect as u8);
                return Ok(Some(count));
            }
            // No such route: no dialect will work.
            Err(Failure {
                error:
                    RemoteError::Http {
                        status: 404 | 405 | 501,
                        ..
                    },
                ..
            }) => break,
            // The route exists but wants another body: try the next form.
            Err(Failure {
                error:
                    RemoteError::Http {
                        status: 400 | 422, ..
                    },
                ..
            }) => continue,
            Err(Failure {
                error: RemoteError::Protocol(_),
                ..
            }) => continue,
            // Unreachable, auth, timeouts, 5xx: says nothing about the API; ask again next time.
            Err(failure) => return Err(failure.error),
        }
    }
    tracing::debug!(endpoint = %shared.endpoint.display(), "the server has no tokenize API");
    shared.tokenize.set(UNSUPPORTED);
    Ok(None)
}

async fn tokenize(shared: &Shared, dialect: Dialect, text: &str) -> Result<usize, Failure> {
    let body = match dialect {
        Dialect::LlamaCpp => json!({ "content": text }),
        Dialect::Vllm => json!({ "model": shared.config.model, "prompt": text }),
        Dialect::Tgi => json!({ "inputs": text }),
    };
    let body = body.to_string();
    let request = || shared.post_json(shared.endpoint.tokenize(), body.clone());
    let response = shared
        .send_with_one_retry(request, shared.config.request_timeout)
        .await?;
    let bytes = response.bytes().await.map_err(|e| {
        Failure::fatal(RemoteError::StreamCut {
            detail: crate::http::describe(&e),
        })
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::fatal(RemoteError::Protocol(format!(
            "the tokenize answer is not JSON: {e}"
        )))
    })?;
    count_of(&value).ok_or_else(|| {
        Failure::fatal(RemoteError::Protocol(format!(
            "the tokenize answer has no token count: {}",
            crate::chat::excerpt(&value.to_string(), 200)
        )))
    })
}

/// The token count in any of the known answers.
fn count_of(value: &Value) -> Option<usize> {
    if let Some(count) = value.get("count").and_then(Value::as_u64) {
        return usize::try_from(count).ok();
    }
    if let Some(tokens) = value.get("tokens").and_then(Value::as_array) {
        return Some(tokens.len());
    }
    value.as_array().map(Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_each_dialect() {
        assert_eq!(count_of(&json!({"tokens": [1, 2, 3]})), Some(3));
        assert_eq!(
            count_of(&json!({"tokens": [{"id": 1, "piece": "a"}]})),
            Some(1)
        );
        assert_eq!(
            count_of(&json!({"count": 4, "max_model_len": 8, "tokens": [1, 2, 3, 4]})),
            Some(4)
        );
        assert_eq!(
            count_of(&json!([{"id": 1, "text": "a", "start": 0, "stop": 1}])),
            Some(1)
        );
        assert_eq!(count_of(&json!({"n": 3})), None);
    }
}
