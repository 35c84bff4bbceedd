//! `initialize` and `initialized`: negotiation, capabilities, and the model loading in the background.
//!
//! `initialize` answers at once: it only reads settings, opens the cache and starts resolving the
//! model on a background thread. Loading is reported after `initialized`, when the client may
//! receive requests (`window/workDoneProgress/create`).

use std::sync::Arc;

use gloss_explain::service::{EngineState, ModelStatus};
use tower_lsp_server::ls_types as lsp;

use crate::commands::{ActionKind, Command};
use crate::config::{LogLevel, Settings};
use crate::convert;
use crate::progress::Reporter;
use crate::session::{ClientFeatures, Negotiated, Session};

pub async fn initialize(
    session: &Arc<Session>,
    params: lsp::InitializeParams,
) -> anyhow::Result<lsp::InitializeResult> {
    let encoding = convert::negotiate_encoding(&params.capabilities);
    session.negotiate(Negotiated {
        encoding,
        features: ClientFeatures::from_capabilities(&params.capabilities)
            .with_client_info(params.client_info.as_ref()),
    });
    let (settings, warnings) = Settings::parse(params.initialization_options.as_ref());
    session
        .early_warnings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(warnings);
    session.apply_settings(settings);
    Ok(lsp::InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(lsp::ServerInfo {
            name: "gloss".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        offset_encoding: None,
    })
}

/// What the server does, built from its closed sets of commands and action kinds.
pub fn capabilities(encoding: gloss_syntax::PositionEncoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(convert::encoding_kind(encoding)),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(ActionKind::ALL.iter().map(|kind| kind.lsp()).collect()),
                // Actions carry their command already: nothing is left to resolve.
                resolve_provider: Some(false),
                work_done_progress_options: Default::default(),
            },
        )),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: Command::PUBLIC
                .iter()
                .map(|command| command.identifier().to_owned())
                .collect(),
            work_done_progress_options: lsp::WorkDoneProgressOptions {
                work_done_progress: Some(true),
            },
        }),
        ..Default::default()
    }
}

pub async fn initialized(session: Arc<Session>) -> anyhow::Result<()> {
    let warnings = std::mem::take(
        &mut *session
            .early_warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    for warning in warnings {
        session.log(LogLevel::Warn, warning).await;
    }
    session.send_privacy_notice().await;
    tokio::spawn(report_model_load(session));
    Ok(())
}

/// Shows the model loading as progress, then says whether it worked and, if not, how to fix it.
pub async fn report_model_load(session: Arc<Session>) {
    let features = session.negotiated().features;
    let settings = session.settings();
    let spec = match settings.backend {
        gloss_explain::Backend::Openai => settings
            .remote_model
            .clone()
            .unwrap_or_else(|| "remote model".into()),
        gloss_explain::Backend::Local => settings.model.clone().unwrap_or_else(|| {
            gloss_model::catalog::Catalog::builtin()
                .default_entry()
                .id
                .clone()
        }),
    };
    let progress = Reporter::begin(
        &session.client,
        features.work_done_progress,
        features.progress_title("gloss: loading model"),
        Some(spec),
        None,
    )
    .await;
    let status = match session.service.engine().await {
        EngineState::Running(engine) => {
            let waiting = engine.clone();
            let status = tokio::task::spawn_blocking(move || waiting.wait_ready()).await;
            let replaced = !matches!(
                session.service.engine_now(),
                EngineState::Running(current) if Arc::ptr_eq(&current, &engine)
            );
            if replaced {
                // A newer model (settings changed) reports its own loading.
                if let Some(progress) = progress {
                    progress.end(Some("replaced".into())).await;
                }
                return;
            }
            match status {
                Ok(ModelStatus::Ready) => Ok(engine.identity.id.clone()),
                Ok(ModelStatus::Failed(hint)) => Err(hint),
                Ok(ModelStatus::Loading) => Err("the model did not finish loading".to_owned()),
                Err(error) => Err(format!("waiting for the model failed: {error}")),
            }
        }
        EngineState::Unavailable(reason) => Err(reason.to_string()),
        EngineState::Resolving => Err("the model was not resolved".to_owned()),
    };
    if session.is_stopped() {
        // The session ended while the model loaded: nobody is listening.
        if let Some(progress) = progress {
            progress.abandon();
        }
        return;
    }
    match status {
        Ok(id) => {
            if let Some(progress) = progress {
                progress.end(Some(format!("{id} ready"))).await;
            }
            session
                .log(LogLevel::Info, format!("model {id} loaded"))
                .await;
        }
        Err(hint) => {
            if let Some(progress) = progress {
                progress.end(Some("no model".into())).await;
            }
            session.log(LogLevel::Error, &hint).await;
            session
                .client
                .show_message(lsp::MessageType::ERROR, format!("gloss: {hint}"))
                .await;
        }
    }
}
