//! One module per LSP method or small group of them. Handlers are free functions that take a
//! snapshot (or the session, for the few that change state) and params and return
//! `anyhow::Result<Option<T>>`: "nothing here" is `Ok(None)`, never an error.

pub mod code_action;
pub mod configuration;
pub mod execute_command;
pub mod hover;
pub mod initialize;
pub mod text_sync;

/// Marks an error as the client's fault: it becomes a JSON-RPC `InvalidParams` response.
#[derive(Debug)]
pub struct InvalidParams(pub String);

impl std::fmt::Display for InvalidParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidParams {}
