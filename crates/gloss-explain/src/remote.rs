//! The `openai` backend: a [`Generator`] over an OpenAI-compatible chat-completions server
//! (vLLM, llama.cpp's `llama-server`, TGI, Ollama, LM Studio) through `gloss_remote`, and the
//! closed set of backends a user can choose.
//!
//! **The same prompts, grounding check and cache as the local model**: only where the tokens come
//! from changes. The identity's sha256 hashes the backend, the endpoint and the remote model name,
//! so a cached answer from one model is never shown as another's. **A remote backend is ready as
//! soon as it is configured**: whether the server answers is found out per request, so a server
//! that comes back is used again without restarting anything.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use gloss_model::{
    GenerateParams, Generation, Job, JobEvent, Message, ModelError, Sampling, StopReason,
};
use gloss_remote::{
    CancelCheck, ChatMessage, ChatRequest, FinishReason, RemoteClient, RemoteEvent,
};
pub use gloss_remote::{RemoteConfig, RemoteError, RetryPolicy};
use sha2::{Digest, Sha256};

use crate::service::{ExplainService, Generator, ModelIdentity, ModelStatus};

/// Where explanations are generated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The in-process model (candle), on this machine: the default, and nothing leaves it.
    #[default]
    Local,
    /// A server that speaks the OpenAI chat-completions API with streaming.
    Openai,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Local, Backend::Openai];

    pub fn identifier(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Openai => "openai",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Backend::Local => "The model inside gloss, on this machine",
            Backend::Openai => "An OpenAI-compatible model server",
        }
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.identifier() == s)
            .ok_or_else(|| format!("unknown backend `{s}` (expected local or openai)"))
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.identifier())
    }
}

/// Where a remote backend sends code, for the privacy notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteTarget {
    /// The endpoint as the user should read it (never with credentials).
    pub endpoint: String,
    pub model: String,
    /// Whether the server runs on this machine (then nothing leaves it).
    pub loopback: bool,
}

/// The identity of `model` served at `endpoint`: the id reads `<model> via <host>` in the hover's
/// footer, and the sha256 (part of every cache key) covers the backend, the endpoint and the
/// model name.
pub fn remote_identity(endpoint: &str, model: &str) -> ModelIdentity {
    let digest = Sha256::digest(format!("openai\n{endpoint}\n{model}").as_bytes());
    ModelIdentity {
        id: format!("{model} via {}", host_of(endpoint)),
        sha256: hex::encode(digest),
        catalog_id: None,
        path: None,
    }
}

/// `host[:port]` of a URL, without parsing more than needed.
fn host_of(endpoint: &str) -> &str {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// The chat request for a job: greedy decoding is temperature 0; sampling keeps its temperature,
/// nucleus and seed (servers that ignore the seed still sample).
pub fn chat_request(messages: &[Message], params: &GenerateParams) -> ChatRequest {
    let messages = messages
        .iter()
        .map(|m| ChatMessage::new(m.role.identifier(), m.content.clone()))
        .collect();
    let mut request = ChatRequest::new(messages, params.max_tokens);
    if let Sampling::Random {
        temperature,
        top_p,
        seed,
    } = params.sampling
    {
        request.temperature = temperature as f32;
        request.top_p = Some(top_p as f32);
        request.seed = Some(seed);
    }
    request
}

fn stop_reason(reason: FinishReason) -> StopReason {
    match reason {
        FinishReason::Stop => StopReason::EndOfTurn,
        FinishReason::Length => StopReason::MaxTokens,
        FinishReason::Cancelled => StopReason::Cancelled,
    }
}

/// The prompt's size when the server reports none: the documented estimate the context budget
/// uses (`gloss_syntax::estimate_tokens`), plus a few tokens of chat template per message.
fn estimate_prompt_tokens(messages: &[Message]) -> usize {
    messages
        .iter()
        .map(|m| gloss_syntax::estimate_tokens(&m.content) + 4)
        .sum()
}

/// Generates through a remote server. Each job runs on its own short-lived thread that turns the
/// stream's events into [`JobEvent`]s; jobs run concurrently, up to the client's
/// `max_concurrent_requests` (the rest wait in its queue, still cancellable).
pub struct RemoteGenerator {
    client: RemoteClient,
    stopped: Arc<AtomicBool>,
}

impl RemoteGenerator {
    /// Checks the configuration (URL, the insecure-http rule, the API key's variable); nothing is
    /// sent to the server yet.
    pub fn new(config: RemoteConfig) -> Result<Self, RemoteError> {
        Ok(Self {
            client: RemoteClient::new(config)?,
            stopped: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn identity(&self) -> ModelIdentity {
        remote_identity(&self.client.endpoint_display(), self.client.model())
    }

    pub fn target(&self) -> RemoteTarget {
        RemoteTarget {
            endpoint: self.client.endpoint_display(),
            model: self.client.model().to_owned(),
            loopback: self.client.is_loopback(),
        }
    }

    pub fn client(&self) -> &RemoteClient {
        &self.client
    }
}

impl Generator for RemoteGenerator {
    fn status(&self) -> ModelStatus {
        ModelStatus::Ready
    }

    fn wait_ready(&self) -> ModelStatus {
        ModelStatus::Ready
    }

    fn submit(&self, job: Job) -> Receiver<JobEvent> {
        let (tx, rx) = crossbeam_channel::unbounded();
        if self.stopped.load(Ordering::SeqCst) {
            let _ = tx.send(JobEvent::Finished(Err(ModelError::Unavailable(
                "the remote backend was stopped".into(),
            ))));
            return rx;
        }
        let client = self.client.clone();
        let stopped = self.stopped.clone();
        let spawned = std::thread::Builder::new()
            .name("gloss-remote-job".into())
            .spawn({
                let tx = tx.clone();
                move || run_job(&client, job, &tx, stopped)
            });
        if let Err(error) = spawned {
            let _ = tx.send(JobEvent::Finished(Err(ModelError::Unavailable(format!(
                "cannot start a thread for the request: {error}"
            )))));
        }
        rx
    }

    fn shutdown(&self) {
        // Running streams see this through their cancel check and close their connections.
        self.stopped.store(true, Ordering::SeqCst);
    }

    fn runs_concurrently(&self) -> bool {
        true
    }
}

fn run_job(client: &RemoteClient, job: Job, tx: &Sender<JobEvent>, stopped: Arc<AtomicBool>) {
    // A lead needs the answer's start continued, which chat APIs do not all offer: the remote
    // model answers the conversation itself.
    let Some(messages) = job.prompt.messages() else {
        let _ = tx.send(JobEvent::Finished(Err(ModelError::Remote(
            "the remote backend takes chat prompts, not token ids".into(),
        ))));
        return;
    };
    let estimate = estimate_prompt_tokens(messages);
    let request = chat_request(messages, &job.params);
    // Nobody listening any more is a cancellation too: the stream closes its connection.
    let abandoned = Arc::new(AtomicBool::new(false));
    let cancel: CancelCheck = {
        let token = job.cancel.clone();
        let abandoned = abandoned.clone();
        Arc::new(move || {
            token.is_cancelled()
                || stopped.load(Ordering::SeqCst)
                || abandoned.load(Ordering::SeqCst)
        })
    };
    let submitted = Instant::now();
    let mut first_text: Option<Instant> = None;
    let mut text = String::new();
    for event in client.stream_chat(request, cancel) {
        let sent = match event {
            RemoteEvent::Started => tx.send(JobEvent::Started {
                prompt_tokens: estimate,
            }),
            RemoteEvent::Text(piece) => {
                first_text.get_or_insert_with(Instant::now);
                text.push_str(&piece);
                tx.send(JobEvent::Text(piece))
            }
            RemoteEvent::Finished(Ok(finish)) => {
                let prompt_tokens = finish
                    .prompt_tokens
                    .or_else(|| server_count(client, messages))
                    .unwrap_or(estimate);
                let mut generation = Generation::empty(prompt_tokens, stop_reason(finish.reason));
                let ended = Instant::now();
                let first = first_text.unwrap_or(ended);
                generation.text = std::mem::take(&mut text);
                generation.generated_tokens = finish.completion_tokens;
                // Time to the first token stands for the prefill: it is what the user waits for.
                generation.prefill_seconds = first.duration_since(submitted).as_secs_f64();
                generation.generate_seconds = ended.duration_since(first).as_secs_f64();
                let _ = tx.send(JobEvent::Finished(Ok(generation)));
                return;
            }
            RemoteEvent::Finished(Err(error)) => {
                tracing::debug!(%error, "remote generation failed");
                let _ = tx.send(JobEvent::Finished(Err(ModelError::Remote(
                    error.to_string(),
                ))));
                return;
            }
        };
        if sent.is_err() {
            abandoned.store(true, Ordering::SeqCst);
        }
    }
    let _ = tx.send(JobEvent::Finished(Err(ModelError::Remote(
        "the remote stream ended without a result".into(),
    ))));
}

/// The server's own count of the prompt's tokens (`/tokenize`), for servers that report no usage.
fn server_count(client: &RemoteClient, messages: &[Message]) -> Option<usize> {
    let text: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    client.count_tokens(&text.join("\n")).ok().flatten()
}

impl ExplainService {
    /// Uses the remote server `config` describes from now on. A configuration gloss cannot use
    /// (no endpoint, plain http to another machine without `allow_insecure_http`, a missing API
    /// key variable) leaves the service without a model, with the reason as the hint every hover
    /// shows.
    pub fn start_remote(&self, config: RemoteConfig) -> Result<RemoteTarget, String> {
        match RemoteGenerator::new(config) {
            Ok(generator) => {
                let target = generator.target();
                let identity = generator.identity();
                tracing::info!(model = %identity.id, endpoint = %target.endpoint, "using a remote model");
                self.install(identity, Arc::new(generator));
                Ok(target)
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::warn!(%reason, "no remote model");
                self.set_unavailable(reason.clone());
                Err(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use gloss_model::{Prompt, Role};

    use super::*;

    #[test]
    fn backends_parse_by_identifier() {
        assert_eq!("local".parse(), Ok(Backend::Local));
        assert_eq!("openai".parse(), Ok(Backend::Openai));
        assert!(
            "ollama"
                .parse::<Backend>()
                .unwrap_err()
                .contains("local or openai")
        );
        assert_eq!(Backend::default(), Backend::Local);
    }

    #[test]
    fn identity_names_model_and_host_and_hashes_backend_endpoint_and_model() {
        let a = remote_identity("http://127.0.0.1:8080", "qwen2.5-coder-7b");
        assert_eq!(a.id, "qwen2.5-coder-7b via 127.0.0.1:8080");
        assert_eq!(a.sha256.len(), 64);
        assert_eq!(
            a.sha256,
            hex::encode(Sha256::digest(
                b"openai\nhttp://127.0.0.1:8080\nqwen2.5-coder-7b"
            ))
        );
        assert_eq!(
            a,
            remote_identity("http://127.0.0.1:8080", "qwen2.5-coder-7b")
        );
        let other_model = remote_identity("http://127.0.0.1:8080", "qwen2.5-coder-32b");
        let other_server = remote_identity("https://gpu.example.com/v1", "qwen2.5-coder-7b");
        assert_ne!(a.sha256, other_model.sha256);
        assert_ne!(a.sha256, other_server.sha256);
        assert_eq!(other_server.id, "qwen2.5-coder-7b via gpu.example.com");
    }

    #[test]
    fn the_same_region_has_another_cache_key_on_each_backend_and_model() {
        use gloss_syntax::{Document, Language, PickOptions, pick_at};

        use crate::{CacheKey, ExplanationKind, Level, prepare};

        let text = "def add(a, b):\n    return a + b\n";
        let document = Document::new(Language::Python, text.into(), 0);
        let region = pick_at(
            &document,
            text.find("return").unwrap(),
            &PickOptions::default(),
        )
        .expect("a function");
        let prepared = prepare(
            &document,
            region,
            &[],
            ExplanationKind::Hover,
            Level::Standard,
        );
        // A local model's identity carries its file's sha256.
        let local = CacheKey::for_prepared(&"ab".repeat(32), &prepared);
        let remote = remote_identity("http://127.0.0.1:8080", "qwen2.5-coder-7b");
        let remote_key = CacheKey::for_prepared(&remote.sha256, &prepared);
        assert_ne!(local, remote_key);
        assert_eq!(
            remote_key,
            CacheKey::for_prepared(&remote.sha256, &prepared),
            "stable for one backend and model"
        );
        let other = remote_identity("http://127.0.0.1:8080", "qwen2.5-coder-32b");
        assert_ne!(remote_key, CacheKey::for_prepared(&other.sha256, &prepared));
    }

    #[test]
    fn greedy_is_temperature_zero_and_sampling_keeps_its_parameters() {
        let messages = vec![Message::system("sys"), Message::user("explain")];
        let greedy = chat_request(
            &messages,
            &GenerateParams {
                max_tokens: 64,
                ..GenerateParams::default()
            },
        );
        assert_eq!(greedy.temperature, 0.0);
        assert_eq!(
            (greedy.top_p, greedy.seed, greedy.max_tokens),
            (None, None, 64)
        );
        assert_eq!(greedy.messages[0], ChatMessage::system("sys"));
        assert_eq!(greedy.messages[1].role, Role::User.identifier());
        let sampled = chat_request(
            &messages,
            &GenerateParams {
                sampling: Sampling::Random {
                    temperature: 0.7,
                    top_p: 0.9,
                    seed: 42,
                },
                ..GenerateParams::default()
            },
        );
        assert_eq!(sampled.temperature, 0.7);
        assert_eq!(sampled.top_p, Some(0.9));
        assert_eq!(sampled.seed, Some(42));
    }

    #[test]
    fn stop_reasons_map() {
        assert_eq!(stop_reason(FinishReason::Stop), StopReason::EndOfTurn);
        assert_eq!(stop_reason(FinishReason::Length), StopReason::MaxTokens);
        assert_eq!(stop_reason(FinishReason::Cancelled), StopReason::Cancelled);
    }

    #[test]
    fn a_refused_configuration_leaves_the_service_without_a_model() {
        let service = ExplainService::new(Arc::new(crate::ExplanationCache::in_memory(
            crate::cache::CacheLimits::default(),
        )));
        let reason = service
            .start_remote(RemoteConfig::new("http://10.1.2.3:8000", "m"))
            .unwrap_err();
        assert!(reason.contains("allow_insecure_http"), "{reason}");
        assert!(matches!(
            service.engine_now(),
            crate::service::EngineState::Unavailable(r) if *r == *reason
        ));
        let target = service
            .start_remote(RemoteConfig::new("http://127.0.0.1:9", "m"))
            .unwrap();
        assert!(target.loopback);
        assert!(matches!(
            service.engine_now(),
            crate::service::EngineState::Running(e) if e.identity.id == "m via 127.0.0.1:9"
        ));
        service.shutdown();
    }

    #[test]
    fn an_unreachable_server_is_a_model_error_that_says_so() {
        let generator = RemoteGenerator::new(RemoteConfig {
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            ..RemoteConfig::new(format!("http://127.0.0.1:{}", closed_port()), "m")
        })
        .unwrap();
        assert_eq!(generator.status(), ModelStatus::Ready);
        let events = generator.submit(Job {
            prompt: Prompt::Chat(vec![Message::user("hi")]),
            params: GenerateParams::default(),
            priority: gloss_model::Priority::Hover,
            cancel: gloss_model::CancelToken::new(),
        });
        let last = events.iter().last().unwrap();
        let JobEvent::Finished(Err(error)) = last else {
            panic!("{last:?}")
        };
        let text = error.to_string();
        assert!(text.contains("cannot reach"), "{text}");
        assert!(text.contains("Is the server running"), "{text}");
    }

    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }
}
