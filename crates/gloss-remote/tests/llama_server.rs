//! End to end against a real llama.cpp `llama-server` with a small model: streaming, cancellation,
//! token counting, and the server going away and coming back under the same client.
//!
//! The binary comes from `GLOSS_LLAMA_SERVER` and the model from `GLOSS_TEST_MODEL` (defaults: the
//! bench cache). Without them the test is skipped with a notice, except under `CI`, where it fails:
//! CI must run it.

mod support;
// The same llama-server spawner the gloss crates' end-to-end tests use.
#[path = "../../../tests/support/llama_server.rs"]
mod llama_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gloss_remote::{
    CancelCheck, ChatMessage, ChatRequest, FinishReason, RemoteClient, RemoteConfig, RemoteError,
    RemoteEvent, RetryPolicy,
};
use llama_server::{LlamaServer, locate};
use support::{Collected, collect, never};

/// A whole short answer from a 135M model on two threads, with room for a loaded machine.
const ANSWER: Duration = Duration::from_secs(120);

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
    assert!(
        server.wait_for_log("cancel task", Duration::from_secs(10)),
        "llama-server never logged the cancellation:\n{}",
        server.log_tail()
    );
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
