//! End to end: the built `gloss lsp` binary over stdio with the real test model: initialize, open,
//! hover (explained, then cached), shutdown and exit with the exit codes the specification asks for.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::test_model;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(180);

struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    messages: Receiver<Value>,
    next_id: i64,
}

fn send(stdin: &Mutex<ChildStdin>, message: &Value) {
    let body = message.to_string();
    let mut stdin = stdin.lock().unwrap();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gloss"))
            .args(["lsp", "--stdio"])
            .env("GLOSS_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start gloss lsp");
        let stdin = Arc::new(Mutex::new(child.stdin.take().unwrap()));
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = std::sync::mpsc::channel();
        let replies = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("Content-Length: ") {
                        length = value.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a frame without Content-Length")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let message: Value =
                    serde_json::from_slice(&body).expect("stdout is only the protocol");
                // The server's own requests (progress tokens) get the answer an editor gives.
                if message.get("method").is_some()
                    && let Some(id) = message.get("id")
                {
                    send(
                        &replies,
                        &json!({ "jsonrpc": "2.0", "id": id, "result": null }),
                    );
                }
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        Server {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn notify(&self, method: &str, params: Value) {
        send(
            &self.stdin,
            &json!({ "jsonrpc": "2.0", "method": method, "params": params }),
        );
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        send(
            &self.stdin,
            &json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }),
        );
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(message) if message.get("method").is_none() && message["id"] == id => {
                    assert!(message.get("error").is_none(), "{method} failed: {message}");
                    return message["result"].clone();
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {method}"),
                Err(RecvTimeoutError::Disconnected) => panic!("the server exited during {method}"),
            }
        }
    }

    fn exit_code(mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited by a signal");
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn initialize(server: &mut Server, cache: &std::path::Path) -> Value {
    server.request(
        "initialize",
        json!({
            "processId": null,
            "capabilities": { "window": { "workDoneProgress": true } },
            "initializationOptions": {
                "model": test_model().to_str().unwrap(),
                "cacheDir": cache.to_str().unwrap(),
                "maxTokens": 48,
                "hoverTimeoutMs": 60000,
            },
        }),
    )
}

#[test]
fn the_binary_explains_over_stdio_and_exits_cleanly() {
    let cache = tempfile::tempdir().unwrap();
    let mut server = Server::start();
    let result = initialize(&mut server, cache.path());
    assert_eq!(result["serverInfo"]["name"], "gloss");
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    server.notify("initialized", json!({}));
    let uri = format!("file://{}", cache.path().join("add.py").display());
    server.notify(
        "textDocument/didOpen",
        json!({ "textDocument": {
            "uri": uri, "languageId": "python", "version": 1,
            "text": "def add(a, b):\n    total = a + b\n    return total\n",
        }}),
    );
    let hover_params =
        json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 6 } });
    let hover = server.request("textDocument/hover", hover_params.clone());
    let text = hover["contents"]["value"].as_str().unwrap().to_owned();
    assert!(text.ends_with("*gloss · smollm2-135m*"), "{text}");
    let again = server.request("textDocument/hover", hover_params);
    assert!(
        again["contents"]["value"]
            .as_str()
            .unwrap()
            .ends_with("· cached*")
    );
    assert_eq!(server.request("shutdown", Value::Null), Value::Null);
    server.notify("exit", Value::Null);
    assert_eq!(server.exit_code(), 0);
}

#[test]
fn exit_without_shutdown_exits_with_one() {
    let cache = tempfile::tempdir().unwrap();
    let mut server = Server::start();
    initialize(&mut server, cache.path());
    server.notify("initialized", json!({}));
    server.notify("exit", Value::Null);
    assert_eq!(server.exit_code(), 1);
}
