//! One streamed chat completion, as a task on the client's runtime: a place in the queue, the
//! request and its retries, the event stream read to its end, timeouts and cancellation.
//!
//! **Every stream ends with exactly one [`RemoteEvent::Finished`]**, whatever happens: success,
//! error, cancellation, a dropped client or a panic. **Retries happen only before the server
//! accepted the request**, so no text is ever sent twice.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use crate::chat::{self, ChatRequest, Finish, FinishReason, Usage};
use crate::client::Shared;
use crate::error::{RemoteError, TimeoutStage};
use crate::sse::SseParser;

/// Polled while a request is queued, waiting or streaming; `true` means stop now.
pub type CancelCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// What a stream reports, in order: `Started` once the server accepted the request, `Text` for
/// each piece of the answer, and always, last and exactly once, `Finished`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEvent {
    Started,
    Text(String),
    Finished(Result<Finish, RemoteError>),
}

/// How often the cancellation check is polled while the stream waits on the network.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// One stream's side of the channel. Dropping it without `finish` (the runtime shut down, or a
/// panic) still sends the one `Finished`.
struct Reporter {
    tx: Sender<RemoteEvent>,
    started: bool,
    deltas: usize,
    finished: bool,
}

impl Reporter {
    fn started(&mut self) {
        if !self.started {
            self.started = true;
            let _ = self.tx.send(RemoteEvent::Started);
        }
    }

    /// Sends text; `false` when nobody listens any more.
    fn text(&mut self, text: String) -> bool {
        self.deltas += 1;
        self.tx.send(RemoteEvent::Text(text)).is_ok()
    }

    fn cancelled(&self) -> Finish {
        Finish {
            reason: FinishReason::Cancelled,
            completion_tokens: self.deltas,
            prompt_tokens: None,
        }
    }

    fn finish(&mut self, result: Result<Finish, RemoteError>) {
        if !self.finished {
            self.finished = true;
            let _ = self.tx.send(RemoteEvent::Finished(result));
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        let result = if std::thread::panicking() {
            Err(RemoteError::Internal("the stream task panicked".into()))
        } else {
            Ok(self.cancelled())
        };
        self.finish(result);
    }
}

pub(crate) async fn run_stream(
    shared: Arc<Shared>,
    request: ChatRequest,
    cancel: CancelCheck,
    tx: Sender<RemoteEvent>,
) {
    let mut reporter = Reporter {
        tx,
        started: false,
        deltas: 0,
        finished: false,
    };
    let result = if cancel() {
        Ok(reporter.cancelled())
    } else {
        let outcome = {
            let stream = stream(&shared, &request, &cancel, &mut reporter);
            tokio::pin!(stream);
            tokio::select! {
                biased;
                result = &mut stream => Some(result),
                () = cancelled(&cancel) => None,
            }
            // The stream is dropped here, and with it the response, which closes the
            // connection: the server sees the client go and stops generating.
        };
        outcome.unwrap_or_else(|| Ok(reporter.cancelled()))
    };
    if let Err(error) = &result {
        tracing::debug!(endpoint = %shared.endpoint.display(), %error, "remote stream failed");
    }
    reporter.finish(result);
}

/// Resolves once `cancel` says so.
async fn cancelled(cancel: &CancelCheck) {
    let mut interval = tokio::time::interval(CANCEL_POLL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if cancel() {
            return;
        }
    }
}

/// Sends the request (queueing and retrying), then reads the event stream to its end.
async fn stream(
    shared: &Shared,
    request: &ChatRequest,
    cancel: &CancelCheck,
    reporter: &mut Reporter,
) -> Result<Finish, RemoteError> {
    let body = chat::request_body(&shared.config.model, request).to_string();
    let policy = &shared.config.retry;
    let mut attempt = 1;
    let (mut response, _permit) = loop {
        // Each attempt takes its own place in the queue, so a request waiting out a backoff does
        // not hold a slot others could use.
        let permit = Arc::clone(&shared.semaphore)
            .acquire_owned()
            .await
            .map_err(|_| RemoteError::Internal("the request queue was closed".into()))?;
        let post = shared
            .post_json(shared.endpoint.chat_completions(), body.clone())
            .header(ACCEPT, "text/event-stream");
        match shared.send(post, shared.config.request_timeout).await {
            Ok(response) => break (response, permit),
            Err(failure) => {
                drop(permit);
                let delay = (failure.retryable && attempt < policy.max_attempts)
                    .then(|| policy.delay(attempt, failure.retry_after, fastrand::f64()))
                    .flatten();
                let Some(delay) = delay else {
                    return Err(failure.error);
                };
                tracing::debug!(
                    endpoint = %shared.endpoint.display(), attempt, ?delay, error = %failure.error,
                    "retrying remote request"
                );
                // Cancellation during the wait is immediate: this future is raced with it.
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    };
    if is_json(&response) {
        // A server that ignored `stream: true`, or answered an error with status 200.
        let excerpt = crate::http::read_excerpt(response).await;
        return Err(RemoteError::Protocol(format!(
            "expected an event stream, got a JSON body: {excerpt}"
        )));
    }
    reporter.started();

    let idle = shared.config.idle_timeout;
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let mut finish: Option<FinishReason> = None;
    let mut usage: Option<Usage> = None;
    let done = |finish: Option<FinishReason>, usage: Option<Usage>, deltas: usize| Finish {
        // `[DONE]` without a `finish_reason` (some servers) is a normal end.
        reason: finish.unwrap_or(FinishReason::Stop),
        completion_tokens: usage.and_then(|u| u.completion_tokens).unwrap_or(deltas),
        prompt_tokens: usage.and_then(|u| u.prompt_tokens),
    };
    loop {
        let at_end = match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(bytes))) => {
                parser
                    .push(&bytes, &mut events)
                    .map_err(|e| RemoteError::Protocol(e.to_string()))?;
                false
            }
            Ok(Ok(None)) => {
                parser
                    .finish(&mut events)
                    .map_err(|e| RemoteError::Protocol(e.to_string()))?;
                true
            }
            // Once the server said why it stopped, the answer is complete: a missing `[DONE]` or
            // usage chunk is not worth an error.
            Ok(Err(_)) | Err(_) if finish.is_some() => {
                return Ok(done(finish, usage, reporter.deltas));
            }
            Ok(Err(e)) => {
                return Err(RemoteError::StreamCut {
                    detail: crate::http::describe(&e),
                });
            }
            Err(_) => {
                return Err(RemoteError::Timeout {
                    stage: TimeoutStage::BetweenChunks,
                    after: idle,
                });
            }
        };
        for event in events.drain(..) {
            let chunk = chat::decode_event(&event)?;
            if let Some(text) = chunk.text {
                // Checked between chunks too, so no text follows a cancellation.
                if cancel() || !reporter.text(text) {
                    return Ok(reporter.cancelled());
                }
            }
            finish = chunk.finish.or(finish);
            usage = chunk.usage.or(usage);
            if chunk.done {
                return Ok(done(finish, usage, reporter.deltas));
            }
        }
        if at_end {
            return match finish {
                Some(_) => Ok(done(finish, usage, reporter.deltas)),
                None => Err(RemoteError::StreamCut {
                    detail: "the server closed the stream without a finish_reason or [DONE]".into(),
                }),
            };
        }
    }
}

fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}
