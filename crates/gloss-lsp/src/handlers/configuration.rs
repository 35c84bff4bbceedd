//! `workspace/didChangeConfiguration`: new settings, pushed by the client or pulled from it.
//!
//! Clients that use the pull model (VS Code's language client) send `null` settings; the server
//! then asks for the `gloss` section with `workspace/configuration`.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::ls_types as lsp;

use crate::config::{LogLevel, Settings};
use crate::handlers::initialize::report_model_load;
use crate::session::Session;

pub async fn did_change_configuration(
    session: Arc<Session>,
    params: lsp::DidChangeConfigurationParams,
) -> anyhow::Result<()> {
    let pushed = match params.settings {
        Value::Null => None,
        Value::Object(object) if object.is_empty() => None,
        other => Some(other),
    };
    let value = match pushed {
        Some(value) => value,
        None if session.negotiated().features.configuration => {
            let items = vec![lsp::ConfigurationItem {
                scope_uri: None,
                section: Some("gloss".into()),
            }];
            let mut answers = session.client.configuration(items).await?;
            if answers.is_empty() {
                Value::Null
            } else {
                answers.swap_remove(0)
            }
        }
        None => Value::Null,
    };
    let (settings, warnings) = Settings::parse(Some(&value));
    let restarted = session.apply_settings(settings);
    for warning in warnings {
        session.log(LogLevel::Warn, warning).await;
    }
    session.send_privacy_notice().await;
    if restarted {
        session
            .log(LogLevel::Info, "the model changed; restarting it")
            .await;
        tokio::spawn(report_model_load(session));
    }
    Ok(())
}
