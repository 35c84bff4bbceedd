//! A typed LSP test client: runs the real server in-process over `tokio::io::duplex` with real
//! `Content-Length` framing, answers the server's own requests like an editor would, and shuts the
//! server down (`shutdown`, then `exit`) when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// The Python document most tests open: a documented function and an undocumented one.
pub const PYTHON: &str = "import math


def area_of_circle(radius):
    \"\"\"Return the area of a circle.\"\"\"
    return math.pi * radius ** 2


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value
";

/// Inside `clamp`'s body, where hovers point, and inside `area_of_circle`.
pub const IN_CLAMP: (u32, u32) = (10, 8);
pub const IN_AREA: (u32, u32) = (5, 8);

pub fn file_uri(dir: &Path, name: &str) -> String {
    format!("file://{}", dir.join(name).display())
}

/// Long enough for a cold explanation with the test model on a loaded CI machine.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);

#[path = "../../../../tests/support/models.rs"]
mod models;

/// The test model. Missing is a failure with a hint, never a silent skip: a suite that skips its
/// model tests proves nothing.
pub fn test_model() -> PathBuf {
    models::model_path(models::SMOLLM2)
}

/// The default model, for the cold-hover figure.
pub fn default_model() -> PathBuf {
    models::model_path(models::QWEN_05B)
}

/// How the client introduces itself.
pub struct ClientOptions {
    pub initialization_options: Value,
    pub capabilities: Value,
    /// What the client answers to `workspace/configuration`.
    pub configuration: Value,
    /// Whether `window/showDocument` succeeds.
    pub show_document: bool,
}

impl ClientOptions {
    /// A capable client (progress, showDocument, versioned edits, utf-16 only) using `model` and a
    /// cache in `cache_dir`.
    pub fn new(model: &Path, cache_dir: &Path) -> Self {
        Self {
            initialization_options: json!({
                "model": model.to_str().unwrap(),
                "cacheDir": cache_dir.to_str().unwrap(),
            }),
            capabilities: capable(),
            configuration: Value::Null,
            show_document: true,
        }
    }
}

pub fn capable() -> Value {
    json!({
        "window": { "workDoneProgress": true, "showDocument": { "support": true } },
        "workspace": {
            "applyEdit": true,
            "workspaceEdit": { "documentChanges": true },
            "configuration": true,
        },
        "general": { "positionEncodings": ["utf-16"] },
        "textDocument": {
            "hover": { "contentFormat": ["markdown", "plaintext"] },
            "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": [""] } } },
        },
    })
}

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

/// A response to one request: its `result` or its `error`.
pub type Answer = Result<Value, Value>;

pub struct TestClient {
    frames: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    incoming: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    /// Messages from the server already seen by an `await_*` that wanted another one.
    seen: Mutex<Vec<Value>>,
    next_id: AtomicI64,
    server: Option<tokio::task::JoinHandle<gloss_lsp::ServeOutcome>>,
    pub initialize_result: Value,
    shut_down: bool,
}

impl TestClient {
    /// Starts a server and completes `initialize`/`initialized`.
    pub async fn start(options: ClientOptions) -> TestClient {
        let mut client = Self::connect(options.configuration.clone(), options.show_document);
        let result = client
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": null,
                    "capabilities": options.capabilities,
                    "initializationOptions": options.initialization_options,
                    "clientInfo": { "name": "gloss-test-client" },
                }),
            )
            .await
            .expect("initialize failed");
        client.initialize_result = result;
        client.notify("initialized", json!({})).await;
        client
    }

    /// Starts a server without initializing it.
    pub fn connect(configuration: Value, show_document: bool) -> TestClient {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let server = tokio::spawn(gloss_lsp::serve(
            server_read,
            server_write,
            gloss_lsp::ServerOptions {
                test_commands: true,
            },
        ));
        let (client_read, mut client_write) = tokio::io::split(client_side);
        let (frames, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                if client_write.write_all(&frame).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(read_loop(
            client_read,
            pending.clone(),
            incoming_tx,
            frames.clone(),
            configuration,
            show_document,
        ));
        TestClient {
            frames,
            pending,
            incoming: tokio::sync::Mutex::new(incoming),
            seen: Mutex::new(Vec::new()),
            next_id: AtomicI64::new(1),
            server: Some(server),
            initialize_result: Value::Null,
            shut_down: false,
        }
    }

    pub fn send_raw(&self, bytes: &[u8]) {
        let _ = self.frames.send(bytes.to_vec());
    }

    pub fn send(&self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        self.send_raw(&frame);
    }

    pub async fn notify(&self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its id and a future of its answer.
    pub fn start_request(
        &self,
        method: &str,
        params: Value,
    ) -> (i64, impl std::future::Future<Output = Answer> + use<>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let method = method.to_owned();
        (id, async move {
            let response = tokio::time::timeout(REQUEST_TIMEOUT, rx)
                .await
                .unwrap_or_else(|_| panic!("no answer to `{method}` within {REQUEST_TIMEOUT:?}"))
                .expect("the server went away");
            match response.get("error") {
                Some(error) => Err(error.clone()),
                None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
            }
        })
    }

    pub async fn request(&self, method: &str, params: Value) -> Answer {
        self.start_request(method, params).1.await
    }

    pub async fn cancel(&self, id: i64) {
        self.notify("$/cancelRequest", json!({ "id": id })).await;
    }

    pub async fn open_document(&self, uri: &str, language_id: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri, "languageId": language_id, "version": 1, "text": text
            }}),
        )
        .await;
    }

    /// One incremental change: `range` replaced by `text`.
    pub async fn change_document(&self, uri: &str, version: i32, range: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": range, "text": text }],
            }),
        )
        .await;
    }

    pub fn hover_params(uri: &str, line: u32, character: u32) -> Value {
        json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
    }

    /// The hover's result (`null` when there is nothing to show); panics on an error response.
    pub async fn hover(&self, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/hover",
            Self::hover_params(uri, line, character),
        )
        .await
        .expect("hover answered with an error")
    }

    pub async fn code_action(&self, uri: &str, range: Value) -> Vec<Value> {
        let result = self
            .request(
                "textDocument/codeAction",
                json!({
                    "textDocument": { "uri": uri },
                    "range": range,
                    "context": { "diagnostics": [] },
                }),
            )
            .await
            .expect("codeAction answered with an error");
        match result {
            Value::Null => Vec::new(),
            Value::Array(actions) => actions,
            other => panic!("unexpected code actions {other}"),
        }
    }

    /// Runs the `command` object of a code action.
    pub async fn execute_command(&self, command: &Value) -> Answer {
        self.request(
            "workspace/executeCommand",
            json!({ "command": command["command"], "arguments": command["arguments"] }),
        )
        .await
    }

    /// The next notification or server request with this method (its whole message).
    pub async fn await_message(&self, method: &str) -> Value {
        self.await_matching(method, |_| true).await
    }

    /// The params of the next notification with this method.
    pub async fn await_notification(&self, method: &str) -> Value {
        self.await_message(method).await["params"].clone()
    }

    /// The next message with this method whose params satisfy `check`.
    pub async fn await_matching(&self, method: &str, check: impl Fn(&Value) -> bool) -> Value {
        let matches = |message: &Value| message["method"] == method && check(&message["params"]);
        {
            let mut seen = self.seen.lock().unwrap();
            if let Some(index) = seen.iter().position(matches) {
                return seen.remove(index);
            }
        }
        let mut incoming = self.incoming.lock().await;
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, incoming.recv())
                .await
                .unwrap_or_else(|_| panic!("no `{method}` from the server"))
                .unwrap_or_else(|| panic!("the server closed before sending `{method}`"));
            if matches(&message) {
                return message;
            }
            self.seen.lock().unwrap().push(message);
        }
    }

    /// Everything received so far that no `await_*` took, with this method.
    pub async fn drain(&self, method: &str) -> Vec<Value> {
        let mut incoming = self.incoming.lock().await;
        let mut seen = self.seen.lock().unwrap();
        while let Ok(message) = incoming.try_recv() {
            seen.push(message);
        }
        let (wanted, rest): (Vec<Value>, Vec<Value>) =
            seen.drain(..).partition(|m| m["method"] == method);
        *seen = rest;
        wanted
    }

    /// `shutdown`, then `exit`; returns how the server ended.
    pub async fn shutdown(mut self) -> gloss_lsp::ServeOutcome {
        self.shut_down = true;
        self.request("shutdown", Value::Null)
            .await
            .expect("shutdown failed");
        self.notify("exit", Value::Null).await;
        let server = self.server.take().unwrap();
        tokio::time::timeout(Duration::from_secs(30), server)
            .await
            .expect("the server did not exit")
            .expect("the server task panicked")
    }

    /// Only `exit`, without `shutdown`.
    pub async fn exit_without_shutdown(mut self) -> gloss_lsp::ServeOutcome {
        self.shut_down = true;
        self.notify("exit", Value::Null).await;
        let server = self.server.take().unwrap();
        tokio::time::timeout(Duration::from_secs(30), server)
            .await
            .expect("the server did not exit")
            .expect("the server task panicked")
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        // Drop cannot await: send the two messages and wait for the server on a blocking section.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": "shutdown" }));
        self.send(&json!({ "jsonrpc": "2.0", "method": "exit" }));
        if let Some(server) = self.server.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            tokio::task::block_in_place(|| {
                let _ = handle.block_on(tokio::time::timeout(Duration::from_secs(30), server));
            });
        }
    }
}

async fn read_loop(
    read: impl tokio::io::AsyncRead + Unpin,
    pending: Pending,
    incoming: mpsc::UnboundedSender<Value>,
    frames: mpsc::UnboundedSender<Vec<u8>>,
    configuration: Value,
    show_document: bool,
) {
    let mut reader = BufReader::new(read);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse::<usize>().ok();
            }
        }
        let length = length.expect("a frame without Content-Length");
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let message: Value = serde_json::from_slice(&body).expect("the server sent invalid JSON");
        let is_response = message.get("method").is_none();
        if is_response {
            let waiter = message["id"]
                .as_i64()
                .and_then(|id| pending.lock().unwrap().remove(&id));
            match waiter {
                Some(waiter) => {
                    let _ = waiter.send(message);
                }
                // A response to no request of ours (a parse error answers id null): keep it to
                // inspect.
                None => {
                    let _ = incoming.send(json!({ "method": "<response>", "params": message }));
                }
            }
            continue;
        }
        if let Some(id) = message.get("id") {
            // A request from the server: answer as an editor would.
            let result = match message["method"].as_str().unwrap_or("") {
                "window/showDocument" => json!({ "success": show_document }),
                "workspace/applyEdit" => json!({ "applied": true }),
                "workspace/configuration" => {
                    let items = message["params"]["items"].as_array().map_or(1, Vec::len);
                    Value::Array(vec![configuration.clone(); items])
                }
                _ => Value::Null,
            };
            let reply = json!({ "jsonrpc": "2.0", "id": id, "result": result });
            let body = serde_json::to_vec(&reply).unwrap();
            let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
            frame.extend_from_slice(&body);
            let _ = frames.send(frame);
        }
        let _ = incoming.send(message);
    }
}
