//! One module per LSP method or small group of them. Handlers are free functions that take a
//! snapshot (or the session, for the few that change state) and params and return
//! `anyhow::Result<Option<T>>`: "nothing here" is `Ok(None)`, never an error.

pub mod code_action;
pub mod configuration;
pub mod execute_command;
pub mod hover;
pub mod initialize;
pub mod text_sync;

/// Hover and code actions both decline documents past the size gloss explains, with one log line.
pub(crate) async fn too_large_to_explain(
    session: &crate::session::Session,
    uri: &tower_lsp_server::ls_types::Uri,
    bytes: usize,
) -> bool {
    use crate::documents::MAX_EXPLAINED_BYTES;
    if bytes <= MAX_EXPLAINED_BYTES {
        return false;
    }
    session
        .log(
            crate::config::LogLevel::Info,
            format!(
                "{} has {bytes} bytes, more than gloss explains ({MAX_EXPLAINED_BYTES})",
                uri.as_str()
            ),
        )
        .await;
    true
}

/// Marks an error as the client's fault: it becomes a JSON-RPC `InvalidParams` response.
#[derive(Debug)]
pub struct InvalidParams(pub String);

impl std::fmt::Display for InvalidParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidParams {}
