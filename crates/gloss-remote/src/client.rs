//! [`RemoteClient`]: the runtime thread that owns the connection pool, configuration checks, the
//! shared request plumbing, and the blocking calls (token count, health).
//!
//! **Callers never need a tokio runtime.** The client owns one dedicated runtime thread and one
//! connection pool; a stream is a task on that thread that reports through a crossbeam channel, so
//! sync threads and code inside another runtime use it alike. **Every stream ends with exactly one
//! [`RemoteEvent::Finished`]**, whatever happens: success, error, cancellation, a dropped client
//! or a panic.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use tokio::sync::Semaphore;

use crate::chat::ChatRequest;
use crate::config::{ApiKey, Endpoint, RemoteConfig, read_api_key};
use crate::error::{RemoteError, TimeoutStage};
use crate::http::{Failure, status_failure, transport_failure};
use crate::stream::{CancelCheck, RemoteEvent, run_stream};
use crate::tokenize::TokenizeSupport;

/// Budget for [`RemoteClient::check_health`]: it answers "is the server there?", which must not
/// take as long as a generation may.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Connecting gets at most this long: a TCP or TLS handshake that takes longer is a host that is
/// not there (reported as [`RemoteError::Unreachable`]), whatever time the model may take later.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connect timeout: under the request timeout, so a hanging connect is reported as
/// unreachable rather than as a slow response.
fn connect_timeout(request_timeout: Duration) -> Duration {
    request_timeout.mul_f64(0.9).min(MAX_CONNECT_TIMEOUT)
}

/// A client for one OpenAI-compatible server. Cheap to clone; clones share the runtime, the
/// connection pool and the concurrency limit.
#[derive(Clone)]
pub struct RemoteClient {
    shared: Arc<Shared>,
    runtime: Arc<RuntimeOwner>,
}

/// What the tasks need. Tasks hold this, never the runtime, so the runtime is never dropped from
/// one of its own threads.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) config: RemoteConfig,
    api_key: Option<ApiKey>,
    pub(crate) semaphore: Arc<Semaphore>,
    pub(crate) tokenize: TokenizeSupport,
}

struct RuntimeOwner(Option<tokio::runtime::Runtime>);

impl Drop for RuntimeOwner {
    fn drop(&mut self) {
        // Unlike a plain drop, this does not block, so dropping the last client inside another
        // runtime cannot panic. Running streams are cancelled: their `Finished` comes from
        // `Reporter`'s drop.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl RemoteClient {
    /// Validates `config` (URL, scheme, the insecure-http rule, the API key's environment
    /// variable) and starts the client's runtime thread.
    pub fn new(config: RemoteConfig) -> Result<Self, RemoteError> {
        let endpoint = Endpoint::parse(&config.endpoint, config.allow_insecure_http)?;
        let api_key = read_api_key(config.api_key_env.as_deref())?;
        if config.model.trim().is_empty() {
            return Err(RemoteError::Config(
                "the remote model name is empty; set it to a model the server serves (see its \
                 /v1/models)"
                    .into(),
            ));
        }
        if config.max_concurrent_requests == 0 {
            return Err(RemoteError::Config(
                "max_concurrent_requests must be at least 1".into(),
            ));
        }
        if config.retry.max_attempts == 0 {
            return Err(RemoteError::Config(
                "retry attempts must be at least 1".into(),
            ));
        }
        for (name, value) in [
            ("request_timeout", config.request_timeout),
            ("idle_timeout", config.idle_timeout),
        ] {
            if value.is_zero() {
                return Err(RemoteError::Config(format!(
                    "{name} must be more than zero"
                )));
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("gloss-remote")
            .enable_all()
            .build()
            .map_err(|e| RemoteError::Internal(format!("cannot start the runtime thread: {e}")))?;
        let http = {
            // The connection pool's timers belong on the client's own runtime.
            let _context = runtime.enter();
            let mut builder = reqwest::Client::builder()
                .connect_timeout(connect_timeout(config.request_timeout))
                .pool_idle_timeout(Duration::from_secs(60))
                .user_agent(concat!("gloss-remote/", env!("CARGO_PKG_VERSION")));
            if endpoint.is_loopback() {
                // A proxy from the environment cannot reach this machine's loopback.
                builder = builder.no_proxy();
            }
            builder
                .build()
                .map_err(|e| RemoteError::Config(format!("cannot set up the HTTP client: {e}")))?
        };
        let semaphore = Arc::new(Semaphore::new(config.max_concurrent_requests));
        let shared = Shared {
            http,
            endpoint,
            config,
            api_key,
            semaphore,
            tokenize: TokenizeSupport::default(),
        };
        Ok(Self {
            shared: Arc::new(shared),
            runtime: Arc::new(RuntimeOwner(Some(runtime))),
        })
    }

    /// Whether the endpoint's host is this machine (`localhost`, 127.0.0.0/8, `::1`).
    pub fn is_loopback(&self) -> bool {
        self.shared.endpoint.is_loopback()
    }

    /// The endpoint for messages to the user (it never contains credentials).
    pub fn endpoint_display(&self) -> String {
        self.shared.endpoint.display()
    }

    /// The remote model name requests are sent with.
    pub fn model(&self) -> &str {
        &self.shared.config.model
    }

    /// Streams a chat completion. Returns at once; events arrive on the receiver, ending with
    /// exactly one [`RemoteEvent::Finished`].
    pub fn stream_chat(&self, request: ChatRequest, cancel: CancelCheck) -> Receiver<RemoteEvent> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::clone(&self.shared);
        self.handle().spawn(run_stream(shared, request, cancel, tx));
        rx
    }

    /// Counts the tokens of `text` with the server's tokenizer (`POST /tokenize`, as llama-server,
    /// vLLM and TGI offer it). `Ok(None)` when the server has no such API; that answer is
    /// remembered, so later calls return at once. Blocks: from async code, call it in
    /// `spawn_blocking`.
    pub fn count_tokens(&self, text: &str) -> Result<Option<usize>, RemoteError> {
        let shared = Arc::clone(&self.shared);
        let text = text.to_owned();
        self.block_on(async move { crate::tokenize::count_tokens(&shared, &text).await })
    }

    /// Checks that the server answers (`GET /v1/models`, else `GET /health`), within 5 s.
    /// Blocks: from async code, call it in `spawn_blocking`.
    pub fn check_health(&self) -> Result<(), RemoteError> {
        let shared = Arc::clone(&self.shared);
        self.block_on(async move { shared.check_health().await })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        match &self.runtime.0 {
            Some(runtime) => runtime.handle(),
            // Taken only in `RuntimeOwner::drop`, when no client is left to call this.
            None => unreachable!("the runtime lives as long as a client"),
        }
    }

    /// Runs `future` on the client's runtime and waits for it. Unlike `Runtime::block_on` this
    /// works from inside another runtime too (it blocks that thread, as documented).
    fn block_on<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, RemoteError>> + Send + 'static,
    ) -> Result<T, RemoteError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.handle().spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(RemoteError::Internal(
                "the request task stopped without an answer".into(),
            ))
        })
    }
}

impl fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.shared.config;
        f.debug_struct("RemoteClient")
            .field("endpoint", &self.shared.endpoint)
            .field("model", &config.model)
            .field("api_key_env", &config.api_key_env)
            .field("api_key", &self.shared.api_key)
            .field("max_concurrent_requests", &config.max_concurrent_requests)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn api_key_env(&self) -> Option<&str> {
        self.config.api_key_env.as_deref()
    }

    /// A request with the client's headers (the key marked sensitive, so it is never printed).
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
    ) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, url);
        if let Some(key) = &self.api_key {
            request = request.header(AUTHORIZATION, key.header());
        }
        request
    }

    /// A POST of a JSON body.
    pub(crate) fn post_json(&self, url: reqwest::Url, body: String) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    }

    /// Sends `request` and waits for the response headers; a non-2xx status is a failure.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<reqwest::Response, Failure> {
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => {
                return Err(Failure::fatal(RemoteError::Timeout {
                    stage: TimeoutStage::Response,
                    after: timeout,
                }));
            }
            Ok(Err(e)) => return Err(transport_failure(&self.endpoint.display(), &e)),
            Ok(Ok(response)) => response,
        };
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(status_failure(response, self.api_key_env()).await)
        }
    }

    /// [`Shared::send`] for the short blocking calls: a connection that was refused or closed
    /// before any response is tried once more (a pooled connection the server had just closed),
    /// without the streams' backoff, since a caller is blocked on it.
    pub(crate) async fn send_with_one_retry(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<reqwest::Response, Failure> {
        match self.send(request(), timeout).await {
            Err(Failure {
                error: RemoteError::Unreachable { .. },
                retryable: true,
                ..
            }) => self.send(request(), timeout).await,
            other => other,
        }
    }

    async fn check_health(&self) -> Result<(), RemoteError> {
        let timeout = self.config.request_timeout.min(HEALTH_TIMEOUT);
        let get = |url: reqwest::Url| {
            self.send_with_one_retry(
                move || self.request(reqwest::Method::GET, url.clone()),
                timeout,
            )
        };
        match get(self.endpoint.models()).await {
            Ok(_) => Ok(()),
            // Not every server lists models; llama-server, TGI and vLLM have /health.
            Err(Failure {
                error:
                    RemoteError::Http {
                        status: 404 | 405, ..
                    },
                ..
            }) => get(self.endpoint.health())
                .await
                .map(drop)
                .map_err(|f| f.error),
            Err(failure) => Err(failure.error),
        }
    }
}
