//! The server's state shared by all handlers, and the immutable snapshot each request works on.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;

use gloss_explain::Backend;
use gloss_explain::cache::{CacheLimits, ExplanationCache};
use gloss_explain::remote::RemoteConfig;
use gloss_explain::service::ExplainService;
use gloss_model::catalog::Catalog;
use gloss_syntax::PositionEncoding;
use tokio::sync::Notify;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types as lsp;

use crate::config::{LogLevel, Settings, Warning};
use crate::documents::DocumentStore;
use crate::neighbors::Neighbors;
use crate::server::ServerOptions;

/// What the client said it can do, read once from `initialize`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFeatures {
    pub work_done_progress: bool,
    pub show_document: bool,
    /// `workspace/applyEdit` with versioned `documentChanges`.
    pub document_changes: bool,
    pub apply_edit: bool,
    /// `workspace/configuration`, for clients that send an empty `didChangeConfiguration`.
    pub configuration: bool,
    /// The client shows a progress's title after the server's name (Helix: "gloss: …"), so a
    /// title that names gloss itself would read "gloss: gloss: …".
    pub progress_names_the_server: bool,
}

impl ClientFeatures {
    pub fn from_capabilities(capabilities: &lsp::ClientCapabilities) -> Self {
        let window = capabilities.window.as_ref();
        let workspace = capabilities.workspace.as_ref();
        Self {
            work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
            show_document: window
                .and_then(|w| w.show_document.as_ref())
                .is_some_and(|s| s.support),
            document_changes: workspace
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false),
            apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
            configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
            progress_names_the_server: false,
        }
    }

    /// What the client's name tells beyond its capabilities.
    pub fn with_client_info(self, client_info: Option<&lsp::ClientInfo>) -> Self {
        let name = client_info.map(|info| info.name.to_ascii_lowercase());
        Self {
            progress_names_the_server: name.as_deref() == Some("helix"),
            ..self
        }
    }

    /// A progress title as this client should get it: without gloss's own name where the client
    /// puts the server's name in front.
    pub fn progress_title<'a>(&self, title: &'a str) -> &'a str {
        if self.progress_names_the_server {
            title.strip_prefix("gloss: ").unwrap_or(title)
        } else {
            title
        }
    }
}

/// Fixed at `initialize`.
#[derive(Clone, Copy, Debug)]
pub struct Negotiated {
    pub encoding: PositionEncoding,
    pub features: ClientFeatures,
}

pub struct Session {
    pub client: Client,
    pub options: ServerOptions,
    pub documents: DocumentStore,
    pub neighbors: Neighbors,
    pub service: ExplainService,
    settings: RwLock<Arc<Settings>>,
    negotiated: OnceLock<Negotiated>,
    /// What the running backend was started from.
    backend: Mutex<Option<BackendSpec>>,
    /// Endpoints off this machine the user was already told about.
    announced: Mutex<HashSet<String>>,
    /// The privacy notice for a newly configured remote endpoint, sent once the client may
    /// receive messages.
    privacy_notice: Mutex<Option<String>>,
    /// The cache root in use.
    cache_root: Mutex<Option<PathBuf>>,
    /// Settings warnings from `initialize`, sent once the client may receive messages.
    pub early_warnings: Mutex<Vec<Warning>>,
    shutdown_requested: AtomicBool,
    stopped: AtomicBool,
    /// Progress tokens whose cancel button the user may press.
    pub progress_cancels: Arc<DashMap<String, Arc<Notify>>>,
    /// The last byte offset asked about in each document: prefetch starts nearest to it.
    pub cursors: DashMap<lsp::Uri, usize>,
}

impl Session {
    pub fn new(client: Client, options: ServerOptions) -> Arc<Self> {
        // Until `initialize` says where, nothing is written anywhere.
        let cache = Arc::new(ExplanationCache::in_memory(CacheLimits::default()));
        Arc::new(Self {
            client,
            options,
            documents: DocumentStore::default(),
            neighbors: Neighbors::default(),
            service: ExplainService::new(cache),
            settings: RwLock::new(Arc::new(Settings::default())),
            negotiated: OnceLock::new(),
            backend: Mutex::new(None),
            announced: Mutex::new(HashSet::new()),
            privacy_notice: Mutex::new(None),
            cache_root: Mutex::new(None),
            early_warnings: Mutex::new(Vec::new()),
            shutdown_requested: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            progress_cancels: Arc::new(DashMap::new()),
            cursors: DashMap::new(),
        })
    }

    pub fn negotiate(&self, negotiated: Negotiated) {
        let _ = self.negotiated.set(negotiated);
    }

    pub fn negotiated(&self) -> Negotiated {
        self.negotiated.get().copied().unwrap_or(Negotiated {
            encoding: PositionEncoding::Utf16,
            features: ClientFeatures::default(),
        })
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Everything a request needs, taken once at its start.
    pub fn snapshot(self: &Arc<Self>) -> Snapshot {
        let negotiated = self.negotiated();
        Snapshot {
            session: self.clone(),
            settings: self.settings(),
            encoding: negotiated.encoding,
            features: negotiated.features,
        }
    }

    /// Installs new settings: a new cache directory is opened, a new model (or remote backend)
    /// started. Returns whether the model was (re)started, so the caller can report its loading.
    pub fn apply_settings(&self, settings: Settings) -> bool {
        let cache_root = settings
            .cache_dir
            .clone()
            .or_else(ExplanationCache::default_root);
        {
            let mut current = lock(&self.cache_root);
            if *current != cache_root || current.is_none() {
                let cache = match &cache_root {
                    Some(root) => ExplanationCache::open(root, CacheLimits::default()),
                    None => {
                        tracing::warn!("no cache directory: explanations are kept in memory only");
                        ExplanationCache::in_memory(CacheLimits::default())
                    }
                };
                self.service.set_cache(Arc::new(cache));
                *current = cache_root;
            }
        }
        let spec = BackendSpec::from_settings(&settings);
        let restart = {
            let mut current = lock(&self.backend);
            let restart = current.as_ref() != Some(&spec);
            if restart {
                *current = Some(spec.clone());
            }
            restart
        };
        if restart {
            self.start_backend(spec);
        }
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
        restart
    }

    fn start_backend(&self, spec: BackendSpec) {
        match spec {
            BackendSpec::Local(model, threads) => {
                self.service.start_model_with_threads(model, threads);
            }
            BackendSpec::Remote(remote) => {
                let config = RemoteConfig {
                    endpoint: remote.endpoint,
                    model: remote.model,
                    api_key_env: remote.api_key_env,
                    allow_insecure_http: remote.allow_insecure_http,
                    max_concurrent_requests: remote.max_concurrent_requests,
                    // A hover that runs out of time detaches and lets the answer finish into the
                    // cache, so a busy shared server may take longer than one hover waits.
                    request_timeout: REMOTE_REQUEST_TIMEOUT,
                    ..RemoteConfig::default()
                };
                // A bad configuration is reported by the model-load report and by every hover.
                if let Ok(target) = self.service.start_remote(config)
                    && !target.loopback
                    && lock(&self.announced).insert(target.endpoint.clone())
                {
                    *lock(&self.privacy_notice) = Some(format!(
                        "gloss sends the code you ask it to explain, with context from open and \
                         nearby files, to {} (model `{}`), which is not this machine. Set \
                         `backend` to `local` to keep your code on this machine.",
                        target.endpoint, target.model
                    ));
                }
            }
            BackendSpec::Incomplete(hint) => self.service.set_unavailable(hint),
        }
    }

    /// Tells the user, once per endpoint, that code is sent off this machine (`window/showMessage`).
    pub async fn send_privacy_notice(&self) {
        let notice = lock(&self.privacy_notice).take();
        if let Some(notice) = notice {
            tracing::info!("{notice}");
            self.client
                .show_message(lsp::MessageType::INFO, format!("gloss: {notice}"))
                .await;
        }
    }

    pub fn request_shutdown(&self) {
        self.shutdown_requested.store(true, Ordering::SeqCst);
    }

    pub fn shutdown_requested(&self) -> bool {
        self.shutdown_requested.load(Ordering::SeqCst)
    }

    /// Whether the session is over (after `shutdown`, `exit` or the end of input).
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Stops the model and joins its thread (once; later calls return at once).
    pub async fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let service = self.service.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || service.shutdown()).await {
            tracing::error!(%error, "stopping the model failed");
        }
    }

    /// Logs to stderr and, at or above the `logLevel` setting, to the client's log.
    pub async fn log(&self, level: LogLevel, message: impl std::fmt::Display) {
        let message = message.to_string();
        let kind = match level {
            LogLevel::Off => return,
            LogLevel::Error => {
                tracing::error!("{message}");
                lsp::MessageType::ERROR
            }
            LogLevel::Warn => {
                tracing::warn!("{message}");
                lsp::MessageType::WARNING
            }
            LogLevel::Info => {
                tracing::info!("{message}");
                lsp::MessageType::INFO
            }
            LogLevel::Debug => {
                tracing::debug!("{message}");
                lsp::MessageType::LOG
            }
        };
        if level <= self.settings().log_level {
            self.client.log_message(kind, message).await;
        }
    }
}

/// Time to the response headers from a model server (connecting alone still gives up after 10 s).
const REMOTE_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What generates explanations, as the settings describe it; a change restarts it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum BackendSpec {
    /// A catalog id or a GGUF path, and the compute threads (a change restarts the model).
    Local(String, Option<usize>),
    Remote(RemoteSpec),
    /// `backend = openai` without what it needs: the text says what to set.
    Incomplete(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct RemoteSpec {
    endpoint: String,
    model: String,
    api_key_env: Option<String>,
    max_concurrent_requests: usize,
    allow_insecure_http: bool,
}

impl BackendSpec {
    fn from_settings(settings: &Settings) -> Self {
        match settings.backend {
            Backend::Local => BackendSpec::Local(
                settings
                    .model
                    .clone()
                    .unwrap_or_else(|| Catalog::builtin().default_entry().id.clone()),
                settings.threads,
            ),
            Backend::Openai => match (&settings.endpoint, &settings.remote_model) {
                (Some(endpoint), Some(model)) => BackendSpec::Remote(RemoteSpec {
                    endpoint: endpoint.clone(),
                    model: model.clone(),
                    api_key_env: settings.api_key_env.clone(),
                    max_concurrent_requests: settings.max_concurrent_requests,
                    allow_insecure_http: settings.allow_insecure_http,
                }),
                _ => BackendSpec::Incomplete(
                    settings
                        .remote_settings_complete()
                        .err()
                        .unwrap_or_default(),
                ),
            },
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A request's view of the server: settings and negotiated features as they were when it came in.
#[derive(Clone)]
pub struct Snapshot {
    pub session: Arc<Session>,
    pub settings: Arc<Settings>,
    pub encoding: PositionEncoding,
    pub features: ClientFeatures,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(settings: serde_json::Value) -> BackendSpec {
        BackendSpec::from_settings(&Settings::parse(Some(&settings)).0)
    }

    #[test]
    fn a_new_thread_count_is_a_new_local_backend() {
        let base = spec(json!({"model": "smollm2-135m"}));
        assert_eq!(base, spec(json!({"model": "smollm2-135m"})));
        assert_ne!(base, spec(json!({"model": "smollm2-135m", "threads": 1})));
        assert_eq!(
            spec(json!({"model": "smollm2-135m", "threads": 1})),
            BackendSpec::Local("smollm2-135m".into(), Some(1))
        );
    }

    #[test]
    fn progress_titles_name_gloss_once_in_helix() {
        let info = |name: &str| lsp::ClientInfo {
            name: name.into(),
            version: None,
        };
        let helix = ClientFeatures::default().with_client_info(Some(&info("helix")));
        assert_eq!(
            helix.progress_title("gloss: writing a doc comment"),
            "writing a doc comment"
        );
        for other in [Some(info("Visual Studio Code")), Some(info("Neovim")), None] {
            let features = ClientFeatures::default().with_client_info(other.as_ref());
            assert_eq!(
                features.progress_title("gloss: explaining"),
                "gloss: explaining"
            );
        }
    }
}
