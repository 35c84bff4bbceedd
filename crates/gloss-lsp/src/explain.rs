//! From an open document and a picked region to an explanation request: the context (open documents
//! and files beside it), the prompt, the cache key, and the call into the explanation service.

use std::sync::Arc;

use gloss_explain::cache::CacheKey;
use gloss_explain::service::{Engine, EngineState, ExplainRequest, Lookup, ModelStatus, Scope};
use gloss_explain::{ExplanationKind, PreparedExplanation};
use gloss_model::Priority;
use gloss_syntax::{Document, Region};

use crate::config::LogLevel;
use crate::documents::OpenDocument;
use crate::session::Snapshot;

/// Other open documents passed as context, at most: enough for the files a user works across.
const MAX_OPEN_CONTEXT: usize = 16;

/// A prepared request for one region.
pub struct Prepared {
    pub prepared: PreparedExplanation,
    pub key: CacheKey,
    pub engine: Arc<Engine>,
    pub request: ExplainRequest,
}

/// The engine, or why there is none (with how to fix it).
pub async fn engine(snapshot: &Snapshot) -> Result<Arc<Engine>, String> {
    match snapshot.session.service.engine().await {
        EngineState::Running(engine) => Ok(engine),
        EngineState::Unavailable(reason) => Err(reason.to_string()),
        EngineState::Resolving => Err("the model is still being resolved".into()),
    }
}

/// Gathers context and builds the prompt and the key, off the async runtime: context gathering
/// walks syntax trees and reads sibling files from disk.
pub async fn prepare(
    snapshot: &Snapshot,
    engine: Arc<Engine>,
    open: Arc<OpenDocument>,
    region: Region,
    kind: ExplanationKind,
    priority: Priority,
    refresh: bool,
) -> anyhow::Result<Prepared> {
    let session = snapshot.session.clone();
    let language = open.document.language();
    let others = session
        .documents
        .others(&open.uri, language, MAX_OPEN_CONTEXT);
    let level = snapshot.settings.level;
    let max_tokens = snapshot
        .settings
        .max_tokens
        .unwrap_or_else(|| kind.default_max_tokens());
    let sha256 = engine.identity.sha256.clone();
    let document_name = open.uri.as_str().to_owned();
    let blocking_session = session.clone();
    let (prepared, key, warnings) = tokio::task::spawn_blocking(move || {
        let (neighbors, warnings) = match open.uri.to_file_path() {
            Some(path) => blocking_session
                .neighbors
                .around(&path, language, |candidate| {
                    blocking_session.documents.is_open_path(candidate)
                }),
            None => (Vec::new(), Vec::new()),
        };
        let mut context: Vec<&Document> = others.iter().map(|other| &other.document).collect();
        context.extend(neighbors.iter().map(|neighbor| neighbor.as_ref()));
        let prepared = gloss_explain::prepare(&open.document, region, &context, kind, level);
        let key = CacheKey::for_prepared(&sha256, &prepared);
        (prepared, key, warnings)
    })
    .await?;
    for warning in warnings {
        session.log(LogLevel::Warn, warning).await;
    }
    let request = ExplainRequest {
        key,
        prompt: prepared.prompt(),
        kind,
        max_tokens,
        priority,
        scope: Some(Scope {
            document: document_name,
            bytes: prepared.region.byte_range.clone(),
        }),
        refresh,
        known_names: prepared.known_names.clone(),
    };
    Ok(Prepared {
        prepared,
        key,
        engine,
        request,
    })
}

/// What asking for an explanation gave.
pub enum Asked {
    Cached(Arc<gloss_explain::cache::CachedExplanation>),
    Pending(gloss_explain::service::Ticket),
    /// No cached answer and no model to make one: how to fix it.
    Unavailable(String),
}

/// Cache first; on a miss, a generation unless the model failed to load.
pub fn ask(snapshot: &Snapshot, prepared: &Prepared) -> Asked {
    match snapshot
        .session
        .service
        .explain(&prepared.engine, prepared.request.clone())
    {
        Lookup::Cached(found) => Asked::Cached(found),
        Lookup::Pending(ticket) => match prepared.engine.status() {
            // Dropping the ticket cancels the job it queued.
            ModelStatus::Failed(hint) => Asked::Unavailable(hint),
            _ => Asked::Pending(ticket),
        },
    }
}
