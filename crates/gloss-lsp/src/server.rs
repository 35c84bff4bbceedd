//! tower-lsp-server's `LanguageServer` trait, implemented by thin methods: each takes a snapshot,
//! calls one handler inside a panic guard, and turns its `anyhow` error into a JSON-RPC error.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::jsonrpc::{self, ErrorCode};
use tower_lsp_server::ls_types as lsp;
use tower_lsp_server::{LanguageServer, LspService, Server};

use crate::config::LogLevel;
use crate::handlers;
use crate::panic::catch_unwind;
use crate::session::Session;
use crate::transport;

/// How tower-lsp may poll handlers at once. A hover can wait seconds for the model and a command
/// minutes; with tower-lsp's default of 4, four slow requests would hold back every `didChange`
/// behind them.
const CONCURRENCY: usize = 64;
/// The pipes between the transport guard and tower-lsp: one big message (a whole file in
/// `didOpen`) passes through in a few turns.
const PIPE_BYTES: usize = 1 << 20;

/// Switches for embedding the server (tests, benchmarks); the binary uses the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerOptions {
    /// Executes `gloss.test.panic`, which panics inside its handler.
    pub test_commands: bool,
}

/// How the session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeOutcome {
    /// `shutdown` came before `exit` (or the end of input): the process should exit with 0.
    pub shutdown_requested: bool,
}

/// Serves one client on `input`/`output` until `exit` or the end of input; the model thread is
/// stopped and joined before it returns.
pub async fn serve<I, O>(input: I, output: O, options: ServerOptions) -> ServeOutcome
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let slot: Arc<OnceLock<Arc<Session>>> = Arc::default();
    let built = slot.clone();
    let (service, socket) = LspService::build(move |client| {
        let session = Session::new(client, options);
        let _ = built.set(session.clone());
        Backend { session }
    })
    .custom_method(
        "window/workDoneProgress/cancel",
        Backend::work_done_progress_cancel,
    )
    .finish();
    // tower-lsp reads from and writes to pipes; the guard sits between them and the client.
    let (to_server, server_input) = tokio::io::duplex(PIPE_BYTES);
    let (server_output, from_server) = tokio::io::duplex(PIPE_BYTES);
    let (answers, answered) = tokio::sync::mpsc::unbounded_channel();
    let server = async move {
        Server::new(server_input, server_output, socket)
            .concurrency_level(CONCURRENCY)
            .serve(service)
            .await;
        // Dropping the server's output here ends `write_client` once it has written everything.
    };
    let reader = async move {
        transport::read_client(input, to_server, answers).await;
        // After the end of input, only the server decides when the session ends.
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = async { tokio::join!(server, transport::write_client(from_server, answered, output)) } => {}
        () = reader => {}
    }
    match slot.get() {
        Some(session) => {
            // After `exit` without `shutdown`, or a closed pipe, the model must still stop.
            session.stop().await;
            ServeOutcome {
                shutdown_requested: session.shutdown_requested(),
            }
        }
        None => ServeOutcome {
            shutdown_requested: false,
        },
    }
}

struct Backend {
    session: Arc<Session>,
}

impl Backend {
    async fn work_done_progress_cancel(&self, params: lsp::WorkDoneProgressCancelParams) {
        if let lsp::ProgressToken::String(name) = &params.token
            && let Some(cancel) = self.session.progress_cancels.get(name)
        {
            cancel.notify_one();
        }
    }

    /// Runs a request handler: a panic becomes an internal error, an error becomes an error
    /// response; both are logged.
    async fn request<T>(
        &self,
        method: &'static str,
        handler: impl Future<Output = anyhow::Result<T>>,
    ) -> jsonrpc::Result<T> {
        match catch_unwind(handler).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let invalid = error.downcast_ref::<handlers::InvalidParams>().is_some();
                self.session
                    .log(LogLevel::Warn, format!("{method}: {error:#}"))
                    .await;
                Err(jsonrpc::Error {
                    code: if invalid {
                        ErrorCode::InvalidParams
                    } else {
                        // LSP's RequestFailed: the request was valid but could not be answered.
                        ErrorCode::ServerError(-32803)
                    },
                    message: format!("{error:#}").into(),
                    data: None,
                })
            }
            Err(panic) => Err(self.panicked(method, &panic).await),
        }
    }

    /// Runs a notification handler; it has no one to answer, so failures are only logged.
    async fn notification(
        &self,
        method: &'static str,
        handler: impl Future<Output = anyhow::Result<()>>,
    ) {
        match catch_unwind(handler).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.session
                    .log(LogLevel::Warn, format!("{method}: {error:#}"))
                    .await;
            }
            Err(panic) => {
                self.panicked(method, &panic).await;
            }
        }
    }

    async fn panicked(&self, method: &str, panic: &str) -> jsonrpc::Error {
        self.session
            .log(
                LogLevel::Error,
                format!("internal error in {method} (please report it): {panic}"),
            )
            .await;
        jsonrpc::Error {
            code: ErrorCode::InternalError,
            message: format!("gloss: internal error in {method}: {panic}").into(),
            data: None,
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(
        &self,
        params: lsp::InitializeParams,
    ) -> jsonrpc::Result<lsp::InitializeResult> {
        self.request(
            "initialize",
            handlers::initialize::initialize(&self.session, params),
        )
        .await
    }

    async fn initialized(&self, _: lsp::InitializedParams) {
        self.notification(
            "initialized",
            handlers::initialize::initialized(self.session.clone()),
        )
        .await;
    }

    async fn shutdown(&self) -> jsonrpc::Result<()> {
        self.session.request_shutdown();
        self.session.stop().await;
        Ok(())
    }

    // The three document notifications change the store synchronously, on their first poll and
    // before any `.await`: a request that comes after them in the stream sees their effect.

    async fn did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handlers::text_sync::did_open(&self.session, params)
        }));
        self.finish_sync("textDocument/didOpen", outcome).await;
    }

    async fn did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handlers::text_sync::did_change(&self.session, params)
        }));
        self.finish_sync("textDocument/didChange", outcome).await;
    }

    async fn did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handlers::text_sync::did_close(&self.session, params)
        }));
        self.finish_sync("textDocument/didClose", outcome).await;
    }

    async fn did_save(&self, params: lsp::DidSaveTextDocumentParams) {
        self.notification(
            "textDocument/didSave",
            handlers::text_sync::did_save(self.session.snapshot(), params),
        )
        .await;
    }

    async fn hover(&self, params: lsp::HoverParams) -> jsonrpc::Result<Option<lsp::Hover>> {
        self.request(
            "textDocument/hover",
            handlers::hover::hover(self.session.snapshot(), params),
        )
        .await
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> jsonrpc::Result<Option<lsp::CodeActionResponse>> {
        self.request(
            "textDocument/codeAction",
            handlers::code_action::code_action(self.session.snapshot(), params),
        )
        .await
    }

    async fn execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> jsonrpc::Result<Option<lsp::LSPAny>> {
        self.request(
            "workspace/executeCommand",
            handlers::execute_command::execute_command(self.session.snapshot(), params),
        )
        .await
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        self.notification(
            "workspace/didChangeConfiguration",
            handlers::configuration::did_change_configuration(self.session.clone(), params),
        )
        .await;
    }
}

impl Backend {
    /// Logs what a synchronous notification handler returned, after its state change is done.
    async fn finish_sync(
        &self,
        method: &'static str,
        outcome: std::thread::Result<anyhow::Result<Vec<String>>>,
    ) {
        match outcome {
            Ok(Ok(notes)) => {
                for note in notes {
                    self.session
                        .log(LogLevel::Info, format!("{method}: {note}"))
                        .await;
                }
            }
            Ok(Err(error)) => {
                self.session
                    .log(LogLevel::Warn, format!("{method}: {error:#}"))
                    .await;
            }
            Err(panic) => {
                self.panicked(method, &crate::panic::message(panic.as_ref()))
                    .await;
            }
        }
    }
}
