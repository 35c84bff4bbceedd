//! The language server on the `openai` backend: hovers through a real `llama-server`, a hover
//! cancelled mid-stream, the server down and coming back, and the privacy and configuration rules
//! (those need no server).

mod common;
#[path = "../../../tests/support/llama_server.rs"]
mod llama_server;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{ClientOptions, IN_AREA, IN_CLAMP, PYTHON, TestClient, capable, file_uri};
use llama_server::{LlamaServer, REMOTE_MODEL, free_port, locate};
use serde_json::{Value, json};

/// A client on the openai backend with a fresh cache; `extra` settings override.
fn remote_options(cache: &Path, endpoint: &str, extra: Value) -> ClientOptions {
    let mut settings = json!({
        "backend": "openai",
        "endpoint": endpoint,
        "remoteModel": REMOTE_MODEL,
        "cacheDir": cache.to_str().unwrap(),
        "maxTokens": 48,
        // The machine is shared with other builds: a hover waits for the answer.
        "hoverTimeoutMs": 60000,
    });
    if let Value::Object(extra) = extra {
        for (key, value) in extra {
            settings[key] = value;
        }
    }
    ClientOptions {
        initialization_options: settings,
        capabilities: capable(),
        configuration: Value::Null,
        show_document: true,
    }
}

fn hover_text(hover: &Value) -> String {
    hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn stats(client: &TestClient) -> Value {
    client
        .execute_command(&json!({ "command": "gloss.test.stats", "arguments": [] }))
        .await
        .expect("stats")
}

/// Starts a server off the async runtime (it blocks until healthy).
async fn start_server(binary: &Path, model: &Path, port: u16) -> LlamaServer {
    let (binary, model) = (binary.to_owned(), model.to_owned());
    tokio::task::spawn_blocking(move || LlamaServer::start(&binary, &model, port))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_through_llama_server_then_cancel_mid_stream_then_hover_again() {
    let Some((binary, model)) = locate() else {
        return;
    };
    let server = start_server(&binary, &model, free_port()).await;
    let cache = tempfile::tempdir().unwrap();
    let options = remote_options(cache.path(), &server.endpoint(), json!({}));
    let settings = options.initialization_options.clone();
    let client = TestClient::start(options).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let footer = format!("*gloss · {REMOTE_MODEL} via 127.0.0.1:{}*", server.port);

    let hover = client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await;
    let text = hover_text(&hover);
    assert!(text.ends_with(&format!("\n\n---\n{footer}")), "{text}");
    let body = text.split("\n\n---\n").next().unwrap();
    assert!(body.trim().len() > 10, "a real explanation: {text}");
    assert_eq!(hover["range"]["start"]["line"], 8);
    // The same prompts and the same cache as the local model.
    let cached = hover_text(&client.hover(&uri, 9, 4).await);
    assert!(cached.ends_with(" · cached*"), "{cached}");
    assert_eq!(cached.split("\n\n---\n").next(), Some(body));

    // Cancel a hover once the server is working on it: the stream is closed, so the server stops
    // generating, and nothing is cached. Long answers, so that it is still streaming by then (the
    // backend is not restarted by this).
    let mut long = settings.clone();
    long["maxTokens"] = json!(400);
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": long }),
        )
        .await;
    let launched = server.log_text().matches("launch_slot_").count();
    let cancels = server.log_text().matches("cancel task").count();
    let (id, pending) = client.start_request(
        "textDocument/hover",
        TestClient::hover_params(&uri, IN_AREA.0, IN_AREA.1),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.log_text().matches("launch_slot_").count() == launched {
        assert!(
            Instant::now() < deadline,
            "the server never started the request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.cancel(id).await;
    assert_eq!(
        pending.await.unwrap_err()["code"],
        -32800,
        "RequestCancelled"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = stats(&client).await;
        if now["inFlight"] == 0 {
            assert_eq!(now["cacheEntries"], 1, "a cancelled generation was cached");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the generation did not stop: {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.log_text().matches("cancel task").count() == cancels {
        assert!(
            Instant::now() < deadline,
            "llama-server did not stop the cancelled task:\n{}",
            server.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A new request after the cancel succeeds.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": settings }),
        )
        .await;
    let text = hover_text(&client.hover(&uri, IN_AREA.0, IN_AREA.1).await);
    assert!(text.ends_with(&footer), "{text}\n{}", server.log_tail());
    assert!(
        text.split("\n\n---\n").next().unwrap().trim().len() > 10,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_down_says_what_is_wrong_and_coming_back_is_picked_up_without_restart() {
    let Some((binary, model)) = locate() else {
        return;
    };
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(remote_options(cache.path(), &endpoint, json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;

    // Nothing listens: the hover says what is wrong, and the server keeps serving.
    for _ in 0..2 {
        let text = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
        assert!(text.starts_with("**gloss cannot explain yet.**"), "{text}");
        assert!(
            text.contains(&format!("cannot reach the model server at {endpoint}")),
            "{text}"
        );
        assert!(text.contains("Is the server running"), "{text}");
        let now = stats(&client).await;
        assert_eq!(now["inFlight"], 0, "{now}");
        assert_eq!(now["cacheEntries"], 0, "an error was cached: {now}");
    }

    // The server comes up on that endpoint: the next hover uses it, with no restart of gloss.
    let server = start_server(&binary, &model, port).await;
    let text = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(
        text.ends_with(&format!("*gloss · {REMOTE_MODEL} via 127.0.0.1:{port}*")),
        "{text}\n{}",
        server.log_tail()
    );
    assert!(!text.contains("cannot explain"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_without_endpoint_says_what_to_set() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = remote_options(cache.path(), "", json!({}));
    let settings = options.initialization_options.as_object_mut().unwrap();
    settings.remove("endpoint");
    settings.remove("remoteModel");
    let client = TestClient::start(options).await;
    let warning = client
        .await_matching("window/logMessage", |params| {
            params["message"]
                .as_str()
                .is_some_and(|m| m.contains("`backend` is `openai`"))
        })
        .await;
    assert_eq!(warning["params"]["type"], 2, "a warning: {warning}");
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let text = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(text.starts_with("**gloss cannot explain yet.**"), "{text}");
    assert!(
        text.contains("`endpoint`") && text.contains("`remoteModel`"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_off_this_machine_needs_allow_insecure_http_and_remote_use_is_announced_once() {
    let cache = tempfile::tempdir().unwrap();
    // TEST-NET-1: never routed, and never contacted here (nothing is hovered with it allowed).
    let endpoint = "http://192.0.2.7:8000";
    let client = TestClient::start(remote_options(cache.path(), endpoint, json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let text = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(
        text.contains("refusing plain http:// to 192.0.2.7"),
        "{text}"
    );

    // Allowed: the user is told, once, where code goes.
    let allowed = remote_options(cache.path(), endpoint, json!({ "allowInsecureHttp": true }));
    let settings = allowed.initialization_options.clone();
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": settings }),
        )
        .await;
    let notice = client
        .await_matching("window/showMessage", |params| {
            params["message"]
                .as_str()
                .is_some_and(|m| m.contains("gloss sends the code"))
        })
        .await;
    let message = notice["params"]["message"].as_str().unwrap();
    assert!(message.contains("http://192.0.2.7:8000"), "{message}");
    assert!(message.contains(REMOTE_MODEL), "{message}");
    // Back to local and to the same endpoint again: no second notice.
    for settings in [json!({ "backend": "local" }), settings] {
        client
            .notify(
                "workspace/didChangeConfiguration",
                json!({ "settings": settings }),
            )
            .await;
    }
    let _ = stats(&client).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let notices: Vec<Value> = client
        .drain("window/showMessage")
        .await
        .into_iter()
        .filter(|m| {
            m["params"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("gloss sends the code"))
        })
        .collect();
    assert!(notices.is_empty(), "{notices:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_server_is_not_announced() {
    let cache = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let client = TestClient::start(remote_options(cache.path(), &endpoint, json!({}))).await;
    let _ = stats(&client).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let notices = client.drain("window/showMessage").await;
    assert!(notices.is_empty(), "{notices:?}");
}
