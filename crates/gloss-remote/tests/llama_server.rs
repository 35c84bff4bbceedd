//! End to end against a real llama.cpp `llama-server` with a small model: streaming, cancellation,
//! token counting, and the server going away and coming back under the same client.
//!
//! The binary comes from `GLOSS_LLAMA_SERVER` and the model from `GLOSS_TEST_MODEL` (defaults: the
//! bench cache). Without them the test is skipped with a notice, except under `CI`, where it fails:
//! CI must run it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use gloss_remote::{
    CancelCheck, ChatMessage, ChatRequest, FinishReason, RemoteClient, RemoteConfig, RemoteError,
    RemoteEvent, RetryPolicy,
};
use support::{Collected, collect, never};

const DEFAULT_SERVER: &str = "/root/.cache/gloss/bench/bin/mainline/llama-server";
const DEFAULT_MODEL: &str = "/root/.cache/gloss/models/SmolLM2-135M-Instruct.Q4_1.gguf";
/// Loading a 100 MB model is quick, but CI machines and shared build hosts can be slow.
const STARTUP: Duration = Duration::from_secs(120);
/// A whole short answer from a 135M model on two threads, with room for a loaded machine.
const ANSWER: Duration = Duration::from_secs(120);

/// A running llama-server, killed on drop.
struct LlamaServer {
    child: Child,
    log: PathBuf,
}

impl LlamaServer {
    fn start(binary: &Path, model: &Path, port: u16) -> Self {
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, Ordering::SeqCst);
        let log = std::env::temp_dir().join(format!("gloss-remote-llama-server-{port}-{n}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "-c",
                "2048",
                "-np",
                "2",
                "-t",
                "2",
                "-m",
            ])
            .arg(model)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = Self { child, log };
        server.wait_healthy(port);
        server
    }

    /// Waits until `GET /health` answers 200 (it answers 503 while the model loads).
    fn wait_healthy(&mut self, port: u16) {
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "llama-server exited ({status}) while starting:\n{}",
                    self.log_tail()
                );
            }
            if health_status(port) == Some(200) {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "llama-server not healthy within {STARTUP:?}:\n{}",
            self.log_tail()
        );
    }

    /// Waits until the server's log contains `needle`.
    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .contains(needle)
            {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("llama-server never logged {needle:?}:\n{}", self.log_tail());
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The status of `GET /health`, with plain std so readiness does not depend on the code under test.
fn health_status(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// The binary and model, or `None` (after a loud notice) when the test cannot run here.
fn locate() -> Option<(PathBuf, PathBuf)> {
    let binary = PathBuf::from(
        std::env::var("GLOSS_LLAMA_SERVER").unwrap_or_else(|_| DEFAULT_SERVER.into()),
    );
    let model =
        PathBuf::from(std::env::var("GLOSS_TEST_MODEL").unwrap_or_else(|_| DEFAULT_MODEL.into()));
    let missing: Vec<String> = [
        ("GLOSS_LLAMA_SERVER", &binary),
        ("GLOSS_TEST_MODEL", &model),
    ]
    .iter()
    .filter(|(_, path)| !path.is_file())
    .map(|(var, path)| format!("{} (set {var})", path.display()))
    .collect();
    if missing.is_empty() {
        return Some((binary, model));
    }
    let message = format!(
        "llama-server end-to-end test cannot run: missing {}",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}; CI must run this test");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
    None
}

fn free_port() -> u16 {
    support::closed_port()
}

fn request(prompt: &str, max_tokens: usize) -> ChatRequest {
    ChatRequest::new(
        vec![
            ChatMessage::system("You are a helpful assistant."),
            ChatMessage::user(prompt),
        ],
        max_tokens,
    )
}

fn answer(client: &RemoteClient, prompt: &str, max_tokens: usize) -> Collected {
    collect(
        &client.stream_chat(request(prompt, max_tokens), never()),
        ANSWER,
    )
}

#[test]
fn real_llama_server() {
    let Some((binary, model)) = locate() else {
        return;
    };
    let port = free_port();
    let mut server = LlamaServer::start(&binary, &model, port);
    let started = Instant::now();

    let config = RemoteConfig {
        request_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        ..RemoteConfig::new(
            format!("http://127.0.0.1:{port}/v1"),
            "SmolLM2-135M-Instruct",
        )
    };
    let client = RemoteClient::new(config).unwrap();
    assert!(client.is_loopback());
    client.check_health().unwrap();

    // A streamed completion returns text and the server's usage.
    let got = answer(&client, "Say hello in one short sentence.", 16);
    let finish = got
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert!(got.started);
    assert!(!got.text().trim().is_empty(), "no text");
    assert!(
        matches!(finish.reason, FinishReason::Stop | FinishReason::Length),
        "{finish:?}"
    );
    assert!(
        finish.completion_tokens > 0 && finish.completion_tokens <= 16,
        "{finish:?}"
    );
    assert!(finish.prompt_tokens.is_some_and(|n| n > 5), "{finish:?}");
    eprintln!("llama-server answered {:?} ({finish:?})", got.text());

    // Cancel mid-stream, then a new request still succeeds.
    let cancel_flag = Arc::new(AtomicBool::new(false));
    let cancel: CancelCheck = {
        let flag = cancel_flag.clone();
        Arc::new(move || flag.load(Ordering::SeqCst))
    };
    let rx = client.stream_chat(
        request("Write a long story about a lighthouse keeper.", 1000),
        cancel,
    );
    let deadline = Instant::now() + ANSWER;
    loop {
        match rx
            .recv_deadline(deadline)
            .expect("no text before the deadline")
        {
            RemoteEvent::Text(_) => break,
            RemoteEvent::Started => {}
            RemoteEvent::Finished(result) => panic!("finished before any text: {result:?}"),
        }
    }
    cancel_flag.store(true, Ordering::SeqCst);
    let cancelled_at = Instant::now();
    let finish = collect_finish(&rx);
    assert_eq!(finish.unwrap().reason, FinishReason::Cancelled);
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(1),
        "cancel took {:?}",
        cancelled_at.elapsed()
    );
    // The server saw the connection close and stopped generating (llama-server logs the cancel).
    server.wait_for_log("cancel task");
    let got = answer(&client, "Name one color.", 8);
    assert!(
        got.result.is_ok(),
        "{:?}\n{}",
        got.result,
        server.log_tail()
    );
    assert!(!got.text().is_empty());

    // The server's tokenizer.
    let tokens = client
        .count_tokens("fn main() { println!(\"hello\"); }")
        .unwrap();
    assert!(tokens.is_some_and(|n| n > 3), "{tokens:?}");

    // The server goes away: requests fail as unreachable (after retrying).
    server.kill();
    let got = answer(&client, "Hello?", 8);
    assert!(
        matches!(got.result, Err(RemoteError::Unreachable { .. })),
        "{:?}",
        got.result
    );
    assert!(matches!(
        client.check_health(),
        Err(RemoteError::Unreachable { .. })
    ));

    // It comes back on the same port: the same client picks it up.
    let server = LlamaServer::start(&binary, &model, port);
    let got = answer(&client, "Say hi.", 8);
    assert!(
        got.result.is_ok(),
        "{:?}\n{}",
        got.result,
        server.log_tail()
    );
    assert!(!got.text().is_empty());
    client.check_health().unwrap();
    eprintln!("llama-server steps took {:?}", started.elapsed());
}

fn collect_finish(
    rx: &crossbeam_channel::Receiver<RemoteEvent>,
) -> Result<gloss_remote::Finish, RemoteError> {
    loop {
        match rx
            .recv_timeout(Duration::from_secs(5))
            .expect("Finished after cancel")
        {
            RemoteEvent::Finished(result) => return result,
            RemoteEvent::Text(_) => {}
            RemoteEvent::Started => panic!("Started twice"),
        }
    }
}
