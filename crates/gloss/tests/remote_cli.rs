//! `gloss explain` and `gloss bench` with `--backend openai`, end to end: the built binary against
//! a real llama-server serving the test model, and the flags' checks (those need no server).

mod common;
#[path = "../../../tests/support/llama_server.rs"]
mod llama_server;

use common::{gloss, stderr, stdout};

use llama_server::{LlamaServer, REMOTE_MODEL, free_port, locate};

#[test]
fn explain_and_bench_through_llama_server() {
    let Some((binary, model)) = locate() else {
        return;
    };
    let server = LlamaServer::start(&binary, &model, free_port());
    let endpoint = server.endpoint();
    let remote = [
        "--backend",
        "openai",
        "--endpoint",
        &endpoint,
        "--remote-model",
        REMOTE_MODEL,
    ];

    let mut args = vec![
        "explain",
        "examples/inventory.py:41",
        "--max-tokens",
        "48",
        "--json",
    ];
    args.extend(remote);
    let output = gloss(&args);
    assert!(
        output.status.success(),
        "{}\n{}",
        stderr(&output),
        server.log_tail()
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(json["region"]["kind"], "method");
    let explanation = json["explanation"].as_str().unwrap();
    assert!(explanation.trim().len() > 10, "{json:#}");
    let port = server.port;
    assert_eq!(
        json["model"]["id"],
        format!("{REMOTE_MODEL} via 127.0.0.1:{port}")
    );
    assert_eq!(json["model"]["backend"], "openai");
    assert_eq!(json["model"]["sha256"].as_str().unwrap().len(), 64);
    // The server's own counts.
    assert!(json["prompt_tokens"].as_u64().unwrap() > 50, "{json:#}");
    let generated = json["generated_tokens"].as_u64().unwrap();
    assert!((1..=48).contains(&generated), "{json:#}");

    // Text mode: the answer on stdout, the region and counts on stderr.
    let mut args = vec!["explain", "examples/geometry.rs:13", "--max-tokens", "32"];
    args.extend(remote);
    let output = gloss(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).trim().is_empty());
    assert!(
        stderr(&output).contains("via 127.0.0.1"),
        "{}",
        stderr(&output)
    );

    let mut args = vec![
        "bench",
        "--rounds",
        "1",
        "--prompt-tokens",
        "64",
        "--gen-tokens",
        "16",
        "--json",
    ];
    args.extend(remote);
    let output = gloss(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let bench: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(bench["backend"], "openai");
    assert!(
        bench["time_to_first_token_seconds"].as_f64().unwrap() > 0.0,
        "{bench:#}"
    );
    assert!(
        bench["stream_tokens_per_second"].as_f64().unwrap() > 0.0,
        "{bench:#}"
    );
    assert!(bench["prompt_tokens"].as_u64().unwrap() > 20, "{bench:#}");
}

#[test]
fn explain_with_the_server_down_says_what_is_wrong() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let output = gloss(&[
        "explain",
        "examples/inventory.py:41",
        "--backend",
        "openai",
        "--endpoint",
        &endpoint,
        "--remote-model",
        "m",
    ]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(&format!("cannot reach the model server at {endpoint}")),
        "{err}"
    );
    assert!(err.contains("Is the server running"), "{err}");
}

#[test]
fn remote_flags_are_checked() {
    let output = gloss(&["explain", "examples/inventory.py:41", "--backend", "openai"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--endpoint URL"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("--remote-model NAME"),
        "{}",
        stderr(&output)
    );

    let output = gloss(&[
        "explain",
        "examples/inventory.py:41",
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("need --backend openai"),
        "{}",
        stderr(&output)
    );

    let output = gloss(&["explain", "examples/inventory.py:41", "--backend", "ollama"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("unknown backend `ollama`"),
        "{}",
        stderr(&output)
    );

    // Plain http to another machine needs --allow-insecure-http (refused before anything is sent).
    let remote = [
        "explain",
        "examples/inventory.py:41",
        "--backend",
        "openai",
        "--endpoint",
        "http://192.0.2.7:8000",
        "--remote-model",
        "m",
    ];
    let output = gloss(&remote);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("refusing plain http://"),
        "{}",
        stderr(&output)
    );

    // A key variable that is not set is named, never guessed.
    let mut args = remote.to_vec();
    args.extend([
        "--allow-insecure-http",
        "--api-key-env",
        "GLOSS_TEST_NO_SUCH_KEY_VAR",
    ]);
    let output = gloss(&args);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("GLOSS_TEST_NO_SUCH_KEY_VAR"),
        "{}",
        stderr(&output)
    );
}
