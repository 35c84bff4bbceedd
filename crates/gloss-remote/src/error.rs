//! The public error type: what went wrong talking to the model server, worded for the user.
//!
//! Every message says what is wrong and, where gloss can know it, how to fix it. No message ever
//! contains the API key: [`RemoteError::Auth`] names the environment variable, never its value.

use std::fmt;
use std::time::Duration;

/// Why a request to the remote model server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// No connection could be made: connection refused, DNS failure, or a connect timeout.
    #[error(
        "cannot reach the model server at {endpoint}: {detail}. Is the server running, and is the \
         endpoint setting right?"
    )]
    Unreachable { endpoint: String, detail: String },

    /// The server answered with an HTTP status gloss does not handle otherwise.
    #[error(
        "the model server answered HTTP {status}{}{}",
        excerpt_suffix(body_excerpt),
        status_hint(*status)
    )]
    Http { status: u16, body_excerpt: String },

    /// HTTP 429 after every retry, or a `Retry-After` longer than gloss is willing to wait.
    #[error("the model server is rate limiting requests (HTTP 429){}", retry_after_suffix(*retry_after))]
    RateLimited { retry_after: Option<Duration> },

    /// The server's answer was not the OpenAI chat-completions protocol (bad SSE or JSON).
    #[error(
        "the model server sent something gloss cannot read ({0}); is the endpoint an \
         OpenAI-compatible chat-completions server?"
    )]
    Protocol(String),

    /// The server reported an error inside the stream (`{"error": ...}`).
    #[error("the model server reported an error: {message}")]
    Server { message: String },

    /// The remote configuration is invalid; the message names the setting to change.
    #[error("remote model configuration: {0}")]
    Config(String),

    /// HTTP 401 or 403: the key is missing, wrong, or lacks access.
    #[error("{}", auth_message(*status, api_key_env.as_deref()))]
    Auth {
        status: u16,
        /// The NAME of the environment variable the key was read from (never the key).
        api_key_env: Option<String>,
    },

    /// The connection ended before the server said the answer was complete.
    #[error(
        "the connection to the model server ended before the answer was complete ({detail}); the \
         text so far is partial"
    )]
    StreamCut { detail: String },

    /// A bug in gloss's remote client (a panic in its worker); the request was abandoned.
    #[error("internal error in gloss's remote-model client ({0}); please report it")]
    Internal(String),

    /// The server stopped answering.
    #[error("the model server did not answer within {} s ({stage})", after.as_secs_f32())]
    Timeout {
        stage: TimeoutStage,
        after: Duration,
    },
}

/// Which wait ran out, for [`RemoteError::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStage {
    /// Waiting for the response headers after the request was sent (`request_timeout`).
    Response,
    /// Waiting for the next chunk of a stream (`idle_timeout`).
    BetweenChunks,
}

impl fmt::Display for TimeoutStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutStage::Response => {
                "waiting for the response; raise request_timeout if the model is slow to start"
            }
            TimeoutStage::BetweenChunks => {
                "waiting for the next part of the answer; raise idle_timeout if the model is slow"
            }
        })
    }
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        404 => " (check the endpoint URL and the model name)",
        400 | 413 | 422 => {
            " (the server refused the request; a prompt over its context size is a common cause)"
        }
        500..=599 => " (the server failed; its log says why)",
        _ => "",
    }
}

fn retry_after_suffix(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; try again in {} s", d.as_secs().max(1)),
        None => "; try again later or lower max_concurrent_requests".to_owned(),
    }
}

fn auth_message(status: u16, api_key_env: Option<&str>) -> String {
    match api_key_env {
        Some(name) => format!(
            "the model server rejected the API key (HTTP {status}); check the key in the \
             environment variable `{name}` (named by api_key_env)"
        ),
        None => format!(
            "the model server requires an API key (HTTP {status}); put the key in an environment \
             variable and set api_key_env to its name"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_message_names_the_env_var_not_the_key() {
        let e = RemoteError::Auth {
            status: 401,
            api_key_env: Some("MY_KEY_VAR".into()),
        };
        let msg = e.to_string();
        assert!(msg.contains("MY_KEY_VAR"), "{msg}");
        assert!(msg.contains("401"), "{msg}");
    }

    #[test]
    fn messages_say_how_to_fix() {
        let e = RemoteError::Timeout {
            stage: TimeoutStage::BetweenChunks,
            after: Duration::from_secs(30),
        };
        assert!(e.to_string().contains("idle_timeout"));
        let e = RemoteError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert!(e.to_string().contains("7 s"));
        let e = RemoteError::Http {
            status: 500,
            body_excerpt: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "the model server answered HTTP 500 (the server failed; its log says why)"
        );
        let e = RemoteError::Http {
            status: 418,
            body_excerpt: "teapot".into(),
        };
        assert_eq!(e.to_string(), "the model server answered HTTP 418: teapot");
    }
}
