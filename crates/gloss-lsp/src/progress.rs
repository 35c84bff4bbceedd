//! Work-done progress that the server creates (`window/workDoneProgress/create`), for model loading
//! and for each command's generation, with a percentage by tokens.
//!
//! Editors send no token with `workspace/executeCommand` from a code-action menu (VS Code, Helix), so
//! the server makes its own, when the client said it can show them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types as lsp;
use tower_lsp_server::ls_types::notification::Progress as ProgressNotification;

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// One progress report in the client's UI; ends when [`Reporter::end`] is called or it is dropped.
pub struct Reporter {
    client: Client,
    token: lsp::ProgressToken,
    last_percentage: Option<u32>,
    /// Signalled when the user presses the progress's cancel button.
    pub cancelled: Arc<Notify>,
    registry: Option<Arc<dashmap::DashMap<String, Arc<Notify>>>>,
    ended: bool,
}

impl Reporter {
    /// Creates and begins a progress, or returns `None` when the client cannot show one (or
    /// refused to create it). With `registry`, a `window/workDoneProgress/cancel` for this token
    /// signals [`Reporter::cancelled`].
    pub async fn begin(
        client: &Client,
        supported: bool,
        title: &str,
        message: Option<String>,
        registry: Option<Arc<dashmap::DashMap<String, Arc<Notify>>>>,
    ) -> Option<Reporter> {
        if !supported {
            return None;
        }
        let name = format!("gloss/{}", NEXT_TOKEN.fetch_add(1, Ordering::Relaxed));
        let token = lsp::ProgressToken::String(name.clone());
        if let Err(error) = client.create_work_done_progress(token.clone()).await {
            tracing::debug!(%error, "the client refused a progress token");
            return None;
        }
        let cancelled = Arc::new(Notify::new());
        if let Some(registry) = &registry {
            registry.insert(name, cancelled.clone());
        }
        let cancellable = registry.is_some();
        client
            .send_notification::<ProgressNotification>(lsp::ProgressParams {
                token: token.clone(),
                value: lsp::ProgressParamsValue::WorkDone(lsp::WorkDoneProgress::Begin(
                    lsp::WorkDoneProgressBegin {
                        title: title.to_owned(),
                        cancellable: Some(cancellable),
                        message,
                        percentage: cancellable.then_some(0),
                    },
                )),
            })
            .await;
        Some(Reporter {
            client: client.clone(),
            token,
            last_percentage: Some(0),
            cancelled,
            registry,
            ended: false,
        })
    }

    /// Reports `done` of `total` (tokens), at most once per whole percent.
    pub async fn report(&mut self, done: usize, total: usize, message: Option<String>) {
        let percentage = (done.saturating_mul(100) / total.max(1)).min(100) as u32;
        if self.last_percentage == Some(percentage) && message.is_none() {
            return;
        }
        self.last_percentage = Some(percentage);
        self.send(lsp::WorkDoneProgress::Report(lsp::WorkDoneProgressReport {
            cancellable: None,
            message,
            percentage: Some(percentage),
        }))
        .await;
    }

    pub async fn end(mut self, message: Option<String>) {
        self.ended = true;
        self.unregister();
        self.send(lsp::WorkDoneProgress::End(lsp::WorkDoneProgressEnd {
            message,
        }))
        .await;
    }

    /// Ends it without telling the client (which has gone away).
    pub fn abandon(mut self) {
        self.ended = true;
        self.unregister();
    }

    async fn send(&self, value: lsp::WorkDoneProgress) {
        self.client
            .send_notification::<ProgressNotification>(lsp::ProgressParams {
                token: self.token.clone(),
                value: lsp::ProgressParamsValue::WorkDone(value),
            })
            .await;
    }

    fn unregister(&self) {
        if let (Some(registry), lsp::ProgressToken::String(name)) = (&self.registry, &self.token) {
            registry.remove(name);
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        // Dropped mid-way (its request was cancelled): the client must still see the end, or it
        // shows a spinner forever.
        self.unregister();
        let client = self.client.clone();
        let token = self.token.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                client
                    .send_notification::<ProgressNotification>(lsp::ProgressParams {
                        token,
                        value: lsp::ProgressParamsValue::WorkDone(lsp::WorkDoneProgress::End(
                            lsp::WorkDoneProgressEnd {
                                message: Some("cancelled".into()),
                            },
                        )),
                    })
                    .await;
            });
        }
    }
}
