//! A client for OpenAI-compatible chat-completions servers (vLLM, llama.cpp's llama-server, TGI,
//! Ollama, LM Studio): streamed completions with retries, timeouts, a concurrency limit and
//! cancellation, plus the server's token count and a health check.
//!
//! **It needs no runtime from its caller**: [`RemoteClient`] owns a runtime thread and reports a
//! stream's events on a crossbeam channel, ending each stream with exactly one
//! [`RemoteEvent::Finished`]. **The API key is read from the environment variable the
//! configuration names and never appears in `Debug` output, logs or errors.**
//!
//! Modules, one job each: `config` (settings and endpoint validation), `sse` (the event-stream
//! parser), `chat` (the request and chunk JSON), `retry` (backoff and `Retry-After`), `http`
//! (responses and transport errors to [`RemoteError`]s), `tokenize` (token counting), `client`
//! (the runtime and the blocking calls), `stream` (one streamed completion), `error` (the error
//! type).
//!
//! ```no_run
//! use std::sync::Arc;
//! use gloss_remote::{ChatMessage, ChatRequest, RemoteClient, RemoteConfig, RemoteEvent};
//!
//! let client = RemoteClient::new(RemoteConfig::new("http://127.0.0.1:8080", "qwen2.5-coder"))?;
//! let request = ChatRequest::new(vec![ChatMessage::user("Explain `fn main() {}`")], 256);
//! let events = client.stream_chat(request, Arc::new(|| false));
//! for event in events {
//!     match event {
//!         RemoteEvent::Started => {}
//!         RemoteEvent::Text(text) => eprint!("{text}"),
//!         RemoteEvent::Finished(result) => eprintln!("\n{:?}", result?.reason),
//!     }
//! }
//! # Ok::<(), gloss_remote::RemoteError>(())
//! ```

mod chat;
mod client;
mod config;
mod error;
mod http;
mod retry;
mod sse;
mod stream;
mod tokenize;

pub use chat::{ChatMessage, ChatRequest, Finish, FinishReason};
pub use client::RemoteClient;
pub use config::RemoteConfig;
pub use error::{RemoteError, TimeoutStage};
pub use retry::RetryPolicy;
pub use stream::{CancelCheck, RemoteEvent};
