//! A real llama.cpp `llama-server` for end-to-end tests of the `openai` backend, shared by the
//! test suites that need one (include it with `#[path = ".../tests/support/llama_server.rs"]`).
//!
//! The binary comes from `GLOSS_LLAMA_SERVER` (default: the bench cache that
//! `scripts/build-llama-server` fills) and the model from `GLOSS_TEST_MODEL` (default: the test
//! model from the shared list, `models.rs`). When either is
//! missing the test is skipped with a loud notice, except under `CI`, where it fails: CI must run
//! these tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

// Suites that include this file may include the list for themselves too.
#[allow(clippy::duplicate_mod)]
#[path = "models.rs"]
mod models;

/// Loading a 100 MB model is quick, but CI machines and shared build hosts can be slow.
const STARTUP: Duration = Duration::from_secs(120);

/// The name requests carry; llama-server serves its one model whatever the name.
pub const REMOTE_MODEL: &str = "SmolLM2-135M-Instruct";

fn test_model_file() -> &'static str {
    models::listed()
        .into_iter()
        .find(|(id, _)| *id == models::SMOLLM2)
        .map(|(_, file)| file)
        .expect("the test model is in tests/test-models.txt")
}

/// The binary and the model, or `None` (after a loud notice) when the test cannot run here.
pub fn locate() -> Option<(PathBuf, PathBuf)> {
    let binary = std::env::var_os("GLOSS_LLAMA_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let models = models::store();
            let cache = models.parent().unwrap_or(&models);
            cache.join("bench/bin/mainline/llama-server")
        });
    let model = std::env::var_os("GLOSS_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| models::store().join(test_model_file()));
    let missing: Vec<String> = [
        (
            "GLOSS_LLAMA_SERVER, or run scripts/build-llama-server",
            &binary,
        ),
        ("GLOSS_TEST_MODEL", &model),
    ]
    .iter()
    .filter(|(_, path)| !path.is_file())
    .map(|(hint, path)| format!("{} (set {hint})", path.display()))
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

/// A port nothing listens on (the OS picked it free; it is closed again at once).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A running llama-server on 127.0.0.1, killed on drop.
pub struct LlamaServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl LlamaServer {
    /// Starts it with a 2048-token context, 2 parallel slots and 2 threads, and waits until it is
    /// healthy.
    pub fn start(binary: &Path, model: &Path, port: u16) -> Self {
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, Ordering::SeqCst);
        let log = std::env::temp_dir().join(format!(
            "gloss-llama-server-{}-{port}-{n}.log",
            std::process::id()
        ));
        let log_file = std::fs::File::create(&log).expect("create the server log");
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-c", "2048", "-np", "2", "-t", "2", "-m"])
            .arg(model)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = Self { child, port, log };
        server.wait_healthy();
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `GET /health` answers 200 (it answers 503 while the model loads).
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                panic!(
                    "llama-server exited ({status}) while starting:\n{}",
                    self.log_tail()
                );
            }
            if health_status(self.port) == Some(200) {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "llama-server not healthy within {STARTUP:?}:\n{}",
            self.log_tail()
        );
    }

    /// Whether the server's log contains `needle` within `within`.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.log_text().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log_text();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
