//! Turning what reqwest hands back (transport errors, non-2xx responses) into [`RemoteError`]s,
//! each marked as worth retrying or not.

use std::error::Error as _;
use std::io;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::chat::{error_message, excerpt};
use crate::error::RemoteError;
use crate::retry::{is_retryable_status, parse_retry_after};

/// The most of an error body gloss reads: enough for a message, never a whole HTML page.
const ERROR_BODY_BYTES: usize = 4096;
/// How long gloss waits for an error body before reporting the status alone.
const ERROR_BODY_WAIT: Duration = Duration::from_secs(2);
/// How much of an error body goes into a message.
const ERROR_EXCERPT_CHARS: usize = 300;

/// A failed attempt: the error to report, and whether sending again could help.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: RemoteError,
    pub retryable: bool,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub(crate) fn fatal(error: RemoteError) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }
}

/// A request that got no response: refused, reset, closed, unresolvable, timed out.
pub(crate) fn transport_failure(endpoint: &str, error: &reqwest::Error) -> Failure {
    let detail = describe(error);
    // Refused, reset and closed connections are what a server that is starting, restarting or
    // briefly overloaded produces, and what a pooled keep-alive connection that the server closed
    // just as it was reused produces ("connection closed before message completed", a request
    // error). No response came, so no text was emitted and asking again is safe. Timeouts are not
    // retried: a server that is slow now will be slow again.
    let retryable = ((error.is_connect() || error.is_request()) && !error.is_timeout())
        || io_error_kind(error).is_some_and(|kind| {
            matches!(
                kind,
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            )
        });
    let detail = if error.is_timeout() {
        format!("timed out ({detail})")
    } else {
        detail
    };
    Failure {
        error: RemoteError::Unreachable {
            endpoint: endpoint.to_owned(),
            detail,
        },
        retryable,
        retry_after: None,
    }
}

/// A response with a non-2xx status. Reads a short excerpt of the body for the message.
pub(crate) async fn status_failure(
    response: reqwest::Response,
    api_key_env: Option<&str>,
) -> Failure {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let error = match status {
        401 | 403 => RemoteError::Auth {
            status,
            api_key_env: api_key_env.map(str::to_owned),
        },
        429 => RemoteError::RateLimited { retry_after },
        _ => RemoteError::Http {
            status,
            body_excerpt: read_excerpt(response).await,
        },
    };
    Failure {
        error,
        retryable: is_retryable_status(status),
        retry_after,
    }
}

/// The `Retry-After` header, if present and parseable.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// A short, readable excerpt of an error body: the `error.message` of an OpenAI-style JSON error,
/// else the start of the text.
pub(crate) async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    let read = async {
        while body.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
    };
    // A slow or endless error body must not delay the report.
    let _ = tokio::time::timeout(ERROR_BODY_WAIT, read).await;
    body.truncate(ERROR_BODY_BYTES);
    excerpt_of(&String::from_utf8_lossy(&body))
}

pub(crate) fn excerpt_of(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(error) = value.get("error") {
            return excerpt(&error_message(error), ERROR_EXCERPT_CHARS);
        }
        if let Some(serde_json::Value::String(message)) =
            value.get("message").or(value.get("detail"))
        {
            return excerpt(message, ERROR_EXCERPT_CHARS);
        }
    }
    excerpt(
        &body.split_whitespace().collect::<Vec<_>>().join(" "),
        ERROR_EXCERPT_CHARS,
    )
}

/// The deepest message in an error's source chain ("Connection refused (os error 111)"), which
/// says more than reqwest's "error sending request".
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message = inner.to_string();
        source = inner.source();
    }
    message
}

fn io_error_kind(error: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = error.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = inner.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn excerpt_prefers_the_json_error_message() {
        assert_eq!(
            excerpt_of(r#"{"error":{"message":"model not found","type":"x"}}"#),
            "model not found"
        );
        assert_eq!(excerpt_of(r#"{"error":"Loading model"}"#), "Loading model");
        assert_eq!(excerpt_of(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(
            excerpt_of("<html>\n  <body>Bad   gateway</body>\n</html>"),
            "<html> <body>Bad gateway</body> </html>"
        );
        assert_eq!(
            excerpt_of(&"x".repeat(1000)).chars().count(),
            ERROR_EXCERPT_CHARS + 1
        );
    }

    #[test]
    fn retry_after_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, SystemTime::now()), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            retry_after(&headers, SystemTime::now()),
            Some(Duration::from_secs(3))
        );
    }
}
