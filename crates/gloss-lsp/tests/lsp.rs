//! The language server over real JSON-RPC framing, in-process, with the real test model
//! (`smollm2-135m`): hovers, every code action, cancellation, the cache, configuration, and bad input.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{ClientOptions, IN_AREA, IN_CLAMP, PYTHON, TestClient, capable, file_uri, test_model};
use serde_json::{Value, json};

/// A client on the test model with a fresh cache and short answers (tests need the model to
/// answer, not to write essays). `extra` settings override.
fn options(cache: &Path, extra: Value) -> ClientOptions {
    let mut options = ClientOptions::new(&test_model(), cache);
    options.initialization_options["maxTokens"] = json!(48);
    // Tests run side by side on a loaded machine: a hover must wait for the model, not time out
    // (the tests of the time budget set their own).
    options.initialization_options["hoverTimeoutMs"] = json!(60000);
    if let Value::Object(extra) = extra {
        for (key, value) in extra {
            options.initialization_options[key] = value;
        }
    }
    options
}

/// A client whose model does not exist: for protocol tests that need no model.
fn no_model(cache: &Path) -> ClientOptions {
    let mut options = ClientOptions::new(Path::new("/nonexistent/gloss/model.gguf"), cache);
    options.capabilities = capable();
    options
}

fn hover_text(hover: &Value) -> String {
    hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn point(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

fn range(start: (u32, u32), end: (u32, u32)) -> Value {
    json!({ "start": point(start.0, start.1), "end": point(end.0, end.1) })
}

fn titles(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .map(|action| action["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn action<'a>(actions: &'a [Value], title: &str) -> &'a Value {
    actions
        .iter()
        .find(|action| action["title"] == title)
        .unwrap_or_else(|| panic!("no action `{title}` in {:?}", titles(actions)))
}

async fn stats(client: &TestClient) -> Value {
    client
        .execute_command(&json!({ "command": "gloss.test.stats", "arguments": [] }))
        .await
        .expect("stats")
}

/// Waits until the model-load progress ends, and returns its end message.
async fn model_loaded(client: &TestClient) -> String {
    let begin = client
        .await_matching("$/progress", |params| {
            params["value"]["kind"] == "begin" && params["value"]["title"] == "gloss: loading model"
        })
        .await;
    let token = begin["params"]["token"].clone();
    let end = client
        .await_matching("$/progress", |params| {
            params["token"] == token && params["value"]["kind"] == "end"
        })
        .await;
    end["params"]["value"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_answers_at_once_and_negotiates_the_encoding() {
    let cache = tempfile::tempdir().unwrap();
    for (offered, expected) in [
        (json!(["utf-16"]), "utf-16"),
        (json!(["utf-32", "utf-8"]), "utf-32"),
        (json!(["latin-1", "utf-8"]), "utf-8"),
        (json!([]), "utf-16"),
        (Value::Null, "utf-16"),
    ] {
        let mut options = options(cache.path(), json!({}));
        options.capabilities["general"]["positionEncodings"] = offered.clone();
        let started = Instant::now();
        let client = TestClient::start(options).await;
        // The model loads in the background: initialize must not wait for it.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let capabilities = &client.initialize_result["capabilities"];
        assert_eq!(
            capabilities["positionEncoding"], expected,
            "offered {offered}"
        );
        assert_eq!(
            capabilities["textDocumentSync"]["change"], 2,
            "incremental sync"
        );
        assert_eq!(capabilities["hoverProvider"], true);
        assert_eq!(
            capabilities["executeCommandProvider"]["commands"],
            json!([
                "gloss.explain",
                "gloss.explainSelection",
                "gloss.addDocComment",
                "gloss.replaceDocComment",
                "gloss.regenerate"
            ])
        );
        assert_eq!(
            capabilities["codeActionProvider"]["codeActionKinds"],
            json!(["gloss.explain", "refactor.rewrite.gloss.docComment"])
        );
        assert_eq!(client.initialize_result["serverInfo"]["name"], "gloss");
        let outcome = client.shutdown().await;
        assert!(outcome.shutdown_requested);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_explains_the_function_then_serves_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({}))).await;
    assert_eq!(model_loaded(&client).await, "smollm2-135m ready");
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;

    let hover = client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await;
    let text = hover_text(&hover);
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(text.ends_with("\n\n---\n*gloss · smollm2-135m*"), "{text}");
    let body = text.split("\n\n---\n").next().unwrap();
    assert!(body.trim().len() > 10, "a real explanation: {text}");
    // The range is the picked function.
    assert_eq!(hover["range"]["start"], point(8, 0));
    assert_eq!(hover["range"]["end"]["line"], 13);

    let started = Instant::now();
    let again = client.hover(&uri, 9, 4).await;
    let cached_time = started.elapsed();
    let cached = hover_text(&again);
    assert!(
        cached.ends_with("*gloss · smollm2-135m · cached*"),
        "{cached}"
    );
    assert_eq!(cached.split("\n\n---\n").next(), Some(body));
    assert!(cached_time < Duration::from_millis(500), "{cached_time:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_serves_hovers_from_the_disk_cache() {
    let cache = tempfile::tempdir().unwrap();
    let uri = file_uri(cache.path(), "shapes.py");
    let first = TestClient::start(options(cache.path(), json!({}))).await;
    first.open_document(&uri, "python", PYTHON).await;
    let fresh = hover_text(&first.hover(&uri, IN_AREA.0, IN_AREA.1).await);
    assert!(!fresh.contains("cached"), "{fresh}");
    first.shutdown().await;
    let written: Vec<String> = std::fs::read_dir(cache.path().join("explanations"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");

    let second = TestClient::start(options(cache.path(), json!({}))).await;
    second.open_document(&uri, "python", PYTHON).await;
    let restored = hover_text(&second.hover(&uri, IN_AREA.0, IN_AREA.1).await);
    assert!(restored.ends_with("· cached*"), "{restored}");
    assert_eq!(
        restored.split("\n\n---\n").next(),
        fresh.split("\n\n---\n").next()
    );
    let entries = std::fs::read_dir(cache.path().join("explanations"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|ext| ext == "json")
        })
        .count();
    assert_eq!(entries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_action_opens_a_markdown_document_with_progress() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let started = Instant::now();
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "code actions must be instant"
    );
    assert_eq!(
        titles(&actions),
        [
            "Explain `clamp`",
            "Add doc comment to `clamp`",
            "Regenerate explanation of `clamp`"
        ]
    );
    let explain = action(&actions, "Explain `clamp`");
    assert_eq!(explain["kind"], "gloss.explain");
    assert!(explain.get("edit").is_none());

    let result = client
        .execute_command(&explain["command"])
        .await
        .expect("explain failed");
    let shown = client.await_notification("window/showDocument").await;
    let shown_uri = shown["uri"].as_str().unwrap();
    assert_eq!(result["uri"], shown_uri);
    assert_eq!(result["shown"], true);
    let path = shown_uri.strip_prefix("file://").unwrap();
    assert!(
        path.starts_with(cache.path().join("explanations").to_str().unwrap()),
        "{path}"
    );
    assert!(path.ends_with(".md"));
    let markdown = std::fs::read_to_string(path).unwrap();
    assert!(markdown.starts_with("# `clamp`\n"), "{markdown}");
    assert!(markdown.contains("shapes.py:9-14"), "{markdown}");

    // Progress: created by the server, begun, reported in percent, ended.
    let begin = client
        .await_matching("$/progress", |p| p["value"]["title"] == "gloss: explaining")
        .await;
    let token = begin["params"]["token"].clone();
    assert_eq!(begin["params"]["value"]["percentage"], 0);
    let end = client
        .await_matching("$/progress", |p| {
            p["token"] == token && p["value"]["kind"] == "end"
        })
        .await;
    assert_eq!(end["params"]["value"]["message"], "done");
    let reports: Vec<Value> = client
        .drain("$/progress")
        .await
        .into_iter()
        .filter(|m| m["params"]["token"] == token && m["params"]["value"]["kind"] == "report")
        .collect();
    assert!(!reports.is_empty(), "no percentage reports");
    let percentages: Vec<i64> = reports
        .iter()
        .map(|r| r["params"]["value"]["percentage"].as_i64().unwrap())
        .collect();
    assert!(
        percentages.windows(2).all(|w| w[0] <= w[1]),
        "{percentages:?}"
    );
    assert!(percentages.iter().all(|p| (0..=100).contains(p)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_falls_back_to_a_message_without_show_document() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = options(cache.path(), json!({}));
    options.capabilities["window"] = json!({ "workDoneProgress": false });
    let client = TestClient::start(options).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range(IN_AREA, IN_AREA)).await;
    let result = client
        .execute_command(&action(&actions, "Explain `area_of_circle`")["command"])
        .await
        .unwrap();
    assert_eq!(result["shown"], false);
    let message = client
        .await_matching("window/showMessage", |p| p["type"] == 3)
        .await;
    let text = message["params"]["message"].as_str().unwrap();
    assert!(text.starts_with("# `area_of_circle`"), "{text}");
    assert!(client.drain("window/showDocument").await.is_empty());
    assert!(
        client
            .drain("window/workDoneProgress/create")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_selection_explains_the_selected_lines() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range((9, 4), (10, 18))).await;
    let selection = action(&actions, "Explain selection");
    let result = client.execute_command(&selection["command"]).await.unwrap();
    let markdown = result["markdown"].as_str().unwrap();
    assert!(markdown.contains("at shapes.py:10-11"), "{markdown}");
    // An empty range offers no selection action.
    let cursor = client.code_action(&uri, range((9, 4), (9, 4))).await;
    assert!(!titles(&cursor).contains(&"Explain selection".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_doc_comment_applies_a_versioned_edit() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    let add = action(&actions, "Add doc comment to `clamp`");
    assert_eq!(add["kind"], "refactor.rewrite.gloss.docComment");
    let result = client.execute_command(&add["command"]).await.unwrap();
    assert_eq!(result["applied"], true);
    let edit = client.await_notification("workspace/applyEdit").await;
    let change = &edit["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"], json!({ "uri": uri, "version": 1 }));
    let text_edit = &change["edits"][0];
    // Inserted (not replacing anything) as the first statement of the body.
    assert_eq!(text_edit["range"], range((9, 0), (9, 0)));
    let new_text = text_edit["newText"].as_str().unwrap();
    assert!(new_text.starts_with("    \"\"\""), "{new_text:?}");
    assert!(new_text.ends_with("\"\"\"\n"), "{new_text:?}");
    assert_eq!(result["text"], new_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_doc_comment_is_offered_only_when_one_exists() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range(IN_AREA, IN_AREA)).await;
    let names = titles(&actions);
    assert!(names.contains(&"Replace doc comment of `area_of_circle`".to_owned()));
    assert!(
        !names.iter().any(|t| t.starts_with("Add doc comment")),
        "{names:?}"
    );

    // "Add" on a documented function (an action offered for an older version, say) refuses.
    let mut add = action(&actions, "Replace doc comment of `area_of_circle`")["command"].clone();
    add["command"] = json!("gloss.addDocComment");
    assert_eq!(client.execute_command(&add).await.unwrap(), Value::Null);
    let refusal = client.await_notification("window/showMessage").await;
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("already has a doc comment")
    );

    let replace = action(&actions, "Replace doc comment of `area_of_circle`");
    let result = client.execute_command(&replace["command"]).await.unwrap();
    assert_eq!(result["applied"], true);
    let edit = client.await_notification("workspace/applyEdit").await;
    let text_edit = &edit["edit"]["documentChanges"][0]["edits"][0];
    // Exactly the old docstring, quotes included.
    assert_eq!(text_edit["range"], range((4, 4), (4, 38)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doc_comment_is_not_applied_to_a_changed_document() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({ "maxTokens": 120 }))).await;
    model_loaded(&client).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    let add = action(&actions, "Add doc comment to `clamp`")["command"].clone();
    let (_, pending) = client.start_request(
        "workspace/executeCommand",
        json!({ "command": add["command"], "arguments": add["arguments"] }),
    );
    // An edit outside the function, while the comment is being written.
    client
        .change_document(&uri, 2, range((0, 0), (0, 0)), "# header\n")
        .await;
    assert_eq!(pending.await.unwrap(), Value::Null);
    let message = client.await_notification("window/showMessage").await;
    assert!(
        message["message"].as_str().unwrap().contains("changed"),
        "{message}"
    );
    assert!(client.drain("workspace/applyEdit").await.is_empty());

    // And an action offered for version 2 is refused once the document is at version 3.
    let stale = client.code_action(&uri, range((11, 8), (11, 8))).await;
    client
        .change_document(&uri, 3, range((0, 0), (0, 0)), "#\n")
        .await;
    let add = action(&stale, "Add doc comment to `clamp`");
    assert_eq!(
        client.execute_command(&add["command"]).await.unwrap(),
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerate_replaces_the_cached_explanation() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({}))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let first = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    let regenerate = action(&actions, "Regenerate explanation of `clamp`");
    let result = client
        .execute_command(&regenerate["command"])
        .await
        .unwrap();
    let new_text = result["markdown"].as_str().unwrap().to_owned();
    assert_eq!(result["cached"], false);
    let after = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(after.ends_with("· cached*"), "{after}");
    assert!(after.starts_with(&new_text), "{after}\n---\n{new_text}");
    // Sampled, not greedy: it usually differs from the first answer (and must not be lost when
    // it happens not to).
    let _ = first;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_the_generation_and_caches_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(
        cache.path(),
        json!({ "maxTokens": 400, "hoverTimeoutMs": 60000 }),
    ))
    .await;
    model_loaded(&client).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let (id, pending) = client.start_request(
        "textDocument/hover",
        TestClient::hover_params(&uri, IN_CLAMP.0, IN_CLAMP.1),
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.cancel(id).await;
    let answer = pending.await;
    assert_eq!(answer.unwrap_err()["code"], -32800, "RequestCancelled");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = stats(&client).await;
        if now["inFlight"] == 0 {
            assert_eq!(now["cacheEntries"], 0, "a cancelled generation was cached");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the generation did not stop: {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_cancel_button_stops_a_command() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({ "maxTokens": 400 }))).await;
    model_loaded(&client).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    let explain = action(&actions, "Explain `clamp`")["command"].clone();
    let (_, pending) = client.start_request(
        "workspace/executeCommand",
        json!({ "command": explain["command"], "arguments": explain["arguments"] }),
    );
    let begin = client
        .await_matching("$/progress", |p| p["value"]["title"] == "gloss: explaining")
        .await;
    assert_eq!(begin["params"]["value"]["cancellable"], true);
    let token = begin["params"]["token"].clone();
    client
        .notify("window/workDoneProgress/cancel", json!({ "token": token }))
        .await;
    assert_eq!(pending.await.unwrap(), Value::Null);
    let end = client
        .await_matching("$/progress", |p| {
            p["token"] == token && p["value"]["kind"] == "end"
        })
        .await;
    assert_eq!(end["params"]["value"]["message"], "stopped");
    let message = client.await_notification("window/showMessage").await;
    assert_eq!(message["message"], "gloss: cancelled");
    assert!(client.drain("window/showDocument").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hover_elsewhere_supersedes_the_previous_one() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(
        cache.path(),
        json!({ "maxTokens": 400, "hoverTimeoutMs": 60000 }),
    ))
    .await;
    model_loaded(&client).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let (_, first) = client.start_request(
        "textDocument/hover",
        TestClient::hover_params(&uri, IN_CLAMP.0, IN_CLAMP.1),
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = client.hover(&uri, IN_AREA.0, IN_AREA.1);
    let (first, second) = tokio::join!(first, second);
    // The superseded hover still answers for its function, with why there is no explanation:
    // `null` would tell the editor there is nothing there.
    let first = first.unwrap();
    assert!(
        hover_text(&first).contains("a hover elsewhere took the model"),
        "{first}"
    );
    assert_eq!(first["range"], range((8, 0), (13, 16)), "{first}");
    assert!(hover_text(&second).contains("smollm2-135m"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_inside_the_region_cancels_its_hover() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(
        cache.path(),
        json!({ "maxTokens": 400, "hoverTimeoutMs": 60000 }),
    ))
    .await;
    model_loaded(&client).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let (_, pending) = client.start_request(
        "textDocument/hover",
        TestClient::hover_params(&uri, IN_CLAMP.0, IN_CLAMP.1),
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    client
        .change_document(&uri, 2, range((12, 15), (12, 19)), "top")
        .await;
    let started = Instant::now();
    let answer = pending.await.unwrap();
    assert!(
        hover_text(&answer).contains("changed while gloss explained it"),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_timeout_answers_explaining_and_fills_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({ "hoverTimeoutMs": 1 }))).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let first = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(first.starts_with("*Explaining `clamp`…*"), "{first}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let again = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
        if again.ends_with("· cached*") {
            break;
        }
        assert!(again.starts_with("*Explaining"), "{again}");
        assert!(
            Instant::now() < deadline,
            "the generation never reached the cache"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_changes_apply_and_bad_settings_only_warn() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(
        cache.path(),
        json!({ "levle": "expert", "level": "guru", "prefetch": 3 }),
    ))
    .await;
    for expected in [
        "unknown setting `levle`",
        "unknown level `guru`",
        "invalid `prefetch`",
    ] {
        let warning = client
            .await_matching("window/logMessage", |p| {
                p["type"] == 2 && p["message"].as_str().unwrap_or("").contains(expected)
            })
            .await;
        assert!(
            warning["params"]["message"]
                .as_str()
                .unwrap()
                .contains(expected)
        );
    }
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    assert!(hover_text(&client.hover(&uri, IN_AREA.0, IN_AREA.1).await).contains("smollm2-135m"));

    // A missing model: hovers say how to fix it, and the server goes on.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": { "gloss": { "model": "/nonexistent/other.gguf", "maxTokens": 48 } } }),
        )
        .await;
    let broken = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(broken.contains("gloss models pull"), "{broken}");

    // Back to the test model (its path, at top level this time) at another level: a new key.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": {
                "model": test_model().to_str().unwrap(),
                "cacheDir": cache.path().to_str().unwrap(),
                "level": "expert",
                "maxTokens": 48,
                "hoverTimeoutMs": 60000,
            } }),
        )
        .await;
    let expert = hover_text(&client.hover(&uri, IN_AREA.0, IN_AREA.1).await);
    assert!(expert.ends_with("*gloss · smollm2-135m*"), "{expert}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_is_pulled_when_the_client_sends_none() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = no_model(cache.path());
    options.configuration = json!({ "logLevel": "debug", "bogus": 1 });
    let client = TestClient::start(options).await;
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": null }),
        )
        .await;
    let request = client.await_message("workspace/configuration").await;
    assert_eq!(request["params"]["items"][0]["section"], "gloss");
    client
        .await_matching("window/logMessage", |p| {
            p["message"]
                .as_str()
                .unwrap_or("")
                .contains("unknown setting `bogus`")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_explains_how_to_fix_it() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let error = client
        .await_matching("window/showMessage", |p| p["type"] == 1)
        .await;
    let text = error["params"]["message"].as_str().unwrap();
    assert!(text.contains("/nonexistent/gloss/model.gguf"), "{text}");
    assert!(
        text.contains("gloss models pull qwen2.5-coder-0.5b"),
        "{text}"
    );
    assert_eq!(model_loaded(&client).await, "no model");

    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let hover = client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await;
    let text = hover_text(&hover);
    assert!(text.starts_with("**gloss cannot explain yet.**"), "{text}");
    assert!(text.contains("gloss models pull"), "{text}");
    assert_eq!(hover["range"]["start"], point(8, 0));

    // Actions are still offered; running one says how to fix it.
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    let result = client
        .execute_command(&action(&actions, "Explain `clamp`")["command"])
        .await;
    assert_eq!(result.unwrap(), Value::Null);
    let message = client
        .await_matching("window/showMessage", |p| p["type"] == 1)
        .await;
    assert!(
        message["params"]["message"]
            .as_str()
            .unwrap()
            .contains("gloss models pull")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_model_explains_how_to_fix_it() {
    let cache = tempfile::tempdir().unwrap();
    let model = cache.path().join("broken.gguf");
    let mut bytes = b"GGUF".to_vec();
    bytes.extend_from_slice(&[0xAB; 4096]);
    std::fs::write(&model, bytes).unwrap();
    let client = TestClient::start(ClientOptions::new(&model, cache.path())).await;
    assert_eq!(model_loaded(&client).await, "no model");
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let text = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(text.contains("broken.gguf"), "{text}");
    assert!(text.contains("gloss models pull"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_rpc_is_answered_and_the_server_keeps_serving() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let body = b"{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ";
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    client.send_raw(&frame);
    let error = client.await_notification("<response>").await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert_eq!(error["id"], Value::Null);
    // Valid JSON that is not JSON-RPC (the id is kept), and a body that is not UTF-8.
    client.send(&json!({ "jsonrpc": "1.0", "id": 9, "method": "x" }));
    let error = client.await_notification("<response>").await;
    assert_eq!(error["error"]["code"], -32600, "{error}");
    client.send_raw(b"Content-Length: 2\r\n\r\n\xff\xfe");
    let error = client.await_notification("<response>").await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    client.send_raw(b"Content-Length: lots\r\n\r\n");
    let error = client.await_notification("<response>").await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    assert!(
        !client
            .code_action(&uri, range(IN_CLAMP, IN_CLAMP))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_are_method_not_found() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let error = client
        .request("gloss/noSuchMethod", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32601);
    // LSP lets a server ignore `$/` notifications, never `$/` requests: those are answered too.
    let error = client
        .request("$/noSuchRequest", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32601, "{error}");
    client.notify("$/noSuchNotification", json!({})).await;
    client
        .notify("textDocument/noSuchNotification", json!({}))
        .await;
    let error = client
        .execute_command(&json!({ "command": "gloss.noSuchCommand", "arguments": [] }))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32602);
    assert!(stats(&client).await.is_object(), "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_documents_answer_null() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let uri = "file:///never/opened.py";
    assert_eq!(client.hover(uri, 1, 1).await, Value::Null);
    assert!(
        client
            .code_action(uri, range((0, 0), (0, 0)))
            .await
            .is_empty()
    );
    let error = client
        .execute_command(&json!({
            "command": "gloss.explain",
            "arguments": [{ "uri": uri, "range": range((0, 0), (0, 0)), "version": 1 }],
        }))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32602);
    assert!(error["message"].as_str().unwrap().contains("not open"));
    // Changes and closes of unknown documents are logged and ignored.
    client
        .change_document(uri, 2, range((0, 0), (0, 0)), "x")
        .await;
    client
        .notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    // A language gloss does not explain.
    client
        .open_document("file:///notes.txt", "plaintext", "hello")
        .await;
    assert_eq!(client.hover("file:///notes.txt", 0, 1).await, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_out_of_range_answer_null() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    assert_eq!(client.hover(&uri, 500, 0).await, Value::Null);
    assert!(
        client
            .code_action(&uri, range((500, 0), (501, 0)))
            .await
            .is_empty()
    );
    // Past the end of a line is the end of that line: a valid position.
    let hover = client.hover(&uri, 10, 500).await;
    assert_eq!(hover["range"]["start"], point(8, 0));
    // A change with an out-of-range position is clamped, not a crash.
    client
        .change_document(&uri, 2, range((900, 0), (900, 4)), "\n# end\n")
        .await;
    assert!(
        !client
            .code_action(&uri, range(IN_CLAMP, IN_CLAMP))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_beside_the_document_is_left_out_with_a_warning() {
    let cache = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("broken.py"),
        b"def f():\n    return '\xff\xfe'\n",
    )
    .unwrap();
    std::fs::write(
        project.path().join("helpers.py"),
        "def helper(x):\n    return x\n",
    )
    .unwrap();
    let client = TestClient::start(options(cache.path(), json!({ "logLevel": "info" }))).await;
    let uri = file_uri(project.path(), "main.py");
    client.open_document(&uri, "python", PYTHON).await;
    let hover = client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await;
    assert!(hover_text(&hover).contains("smollm2-135m"), "{hover}");
    let warning = client
        .await_matching("window/logMessage", |p| {
            p["message"]
                .as_str()
                .unwrap_or("")
                .contains("not valid UTF-8")
        })
        .await;
    assert!(
        warning["params"]["message"]
            .as_str()
            .unwrap()
            .contains("broken.py")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_megabyte_file_is_served() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let mut big = String::new();
    let mut i = 0;
    while big.len() < 5 * 1024 * 1024 {
        big.push_str(&format!(
            "def function_{i}(value):\n    return value + {i}\n\n\n"
        ));
        i += 1;
    }
    let uri = file_uri(cache.path(), "big.py");
    let started = Instant::now();
    client.open_document(&uri, "python", &big).await;
    // Explained like any file (here: why there is no model), for the function at the cursor.
    let hover = client.hover(&uri, 100, 8).await;
    assert_eq!(hover["range"], range((100, 0), (101, 21)), "{hover}");
    client
        .change_document(&uri, 2, range((0, 0), (0, 0)), "# edited\n")
        .await;
    let actions = titles(&client.code_action(&uri, range((101, 8), (101, 8))).await);
    assert!(
        actions.iter().any(|title| title.starts_with("Explain")),
        "{actions:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // Other documents are unaffected.
    let small = file_uri(cache.path(), "shapes.py");
    client.open_document(&small, "python", PYTHON).await;
    assert!(
        !client
            .code_action(&small, range(IN_CLAMP, IN_CLAMP))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_handler_is_an_error_not_a_crash() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let error = client
        .execute_command(&json!({ "command": "gloss.test.panic", "arguments": [] }))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32603);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("internal error")
    );
    client
        .await_matching("window/logMessage", |p| {
            p["type"] == 1
                && p["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("gloss.test.panic")
        })
        .await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    assert!(
        !client
            .code_action(&uri, range(IN_CLAMP, IN_CLAMP))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_follows_the_specification() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    assert!(client.shutdown().await.shutdown_requested);
    let client = TestClient::start(no_model(cache.path())).await;
    assert!(!client.exit_without_shutdown().await.shutdown_requested);
    // Requests before initialize are refused.
    let early = TestClient::connect(Value::Null, true);
    let error = early
        .request(
            "textDocument/hover",
            TestClient::hover_params("file:///a.py", 0, 0),
        )
        .await;
    assert_eq!(error.unwrap_err()["code"], -32002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_explains_opened_documents_in_the_background() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(
        cache.path(),
        json!({ "prefetch": "open", "maxTokens": 24 }),
    ))
    .await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while stats(&client).await["cacheEntries"] != 2 {
        assert!(Instant::now() < deadline, "prefetch did not fill the cache");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hover = hover_text(&client.hover(&uri, IN_CLAMP.0, IN_CLAMP.1).await);
    assert!(hover.ends_with("· cached*"), "{hover}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_commands_do_not_hold_back_changes_and_other_requests() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({ "maxTokens": 400 }))).await;
    model_loaded(&client).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let actions = client.code_action(&uri, range(IN_CLAMP, IN_CLAMP)).await;
    let explain = action(&actions, "Explain `clamp`")["command"].clone();
    // More slow requests than tower-lsp's default concurrency of 4.
    let mut pending = Vec::new();
    for _ in 0..6 {
        pending.push(client.start_request(
            "workspace/executeCommand",
            json!({ "command": explain["command"], "arguments": explain["arguments"] }),
        ));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    client
        .change_document(&uri, 2, range((3, 4), (3, 18)), "disc_area")
        .await;
    let renamed = client.code_action(&uri, range(IN_AREA, IN_AREA)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(titles(&renamed)[0], "Explain `disc_area`");
    // The six share one generation; cancel them all.
    for (id, _) in &pending {
        client.cancel(*id).await;
    }
    for (_, answer) in pending {
        assert_eq!(answer.await.unwrap_err()["code"], -32800);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_use_the_negotiated_encoding() {
    let text = "x = 'é'\ndef f():\n    return '😀'\n";
    for (encoding, end) in [("utf-8", 17), ("utf-16", 15), ("utf-32", 14)] {
        let cache = tempfile::tempdir().unwrap();
        let mut options = no_model(cache.path());
        options.capabilities["general"]["positionEncodings"] = json!([encoding]);
        let client = TestClient::start(options).await;
        assert_eq!(
            client.initialize_result["capabilities"]["positionEncoding"],
            encoding
        );
        let uri = file_uri(cache.path(), "enc.py");
        client.open_document(&uri, "python", text).await;
        let hover = client.hover(&uri, 2, 4).await;
        assert_eq!(hover["range"], range((1, 0), (2, end)), "{encoding}");
        // An edit after the emoji, in the same encoding.
        client
            .change_document(&uri, 2, range((2, end), (2, end)), " + 'x'")
            .await;
        let hover = client.hover(&uri, 2, end + 3).await;
        assert_eq!(hover["range"], range((1, 0), (2, end + 6)), "{encoding}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_documents_are_explained_and_larger_ones_say_why() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(options(cache.path(), json!({ "hoverTimeoutMs": 1 }))).await;
    let function =
        |n: usize| format!("def generated_{n}(values):\n    return sum(values) * {n}\n\n");
    let mut text = String::new();
    let mut n = 0;
    while text.len() < 21 * 1024 * 1024 {
        text.push_str(&function(n));
        n += 1;
    }
    let uri = file_uri(cache.path(), "generated.py");
    client.open_document(&uri, "python", &text).await;
    // Line 3 * k is `def generated_k`; one near the end of a 21 MiB file.
    let k = n - 10;
    let line = 3 * k as u32;
    let end = format!("    return sum(values) * {k}").len() as u32;
    let hover = client.hover(&uri, line, 6).await;
    assert_eq!(hover["range"], range((line, 0), (line + 1, end)), "{hover}");
    assert!(!hover_text(&hover).is_empty());

    while text.len() <= 33 * 1024 * 1024 {
        text.push_str(&function(n));
        n += 1;
    }
    let uri = file_uri(cache.path(), "larger.py");
    client.open_document(&uri, "python", &text).await;
    let hover = client.hover(&uri, 3, 6).await;
    assert!(
        hover_text(&hover).contains("more than the 32 MiB gloss explains"),
        "{hover}"
    );
}

/// The fuzz's find: an unclosed parameter list, then far below an unterminated string, slows
/// tree-sitter's error recovery to minutes in a few MiB. The server gives the parse up instead
/// of going quiet, says why on a hover, and parses again once an edit mends the text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_too_broken_to_parse_in_time_says_why_until_mended() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    // Each function is six lines; `def f_{n}` is line 6 * n.
    let functions = |numbers: std::ops::Range<usize>| {
        numbers
            .map(|n| {
                format!(
                    "def f_{n}(values):\n    \"\"\"Row {n}.\"\"\"\n    total = 0\n    \
                     for value in values:\n        total += value * {n}\n    return total\n"
                )
            })
            .collect::<String>()
    };
    let mut text = functions(0..2000);
    text.push_str("def broken(value//\n    total = 0\n");
    text.push_str(&functions(2000..4000));
    text.push_str("    r(\"}'\nrn total\n");
    text.push_str(&functions(4000..9000));
    let uri = file_uri(cache.path(), "broken.py");
    client.open_document(&uri, "python", &text).await;
    let hover = client.hover(&uri, 6, 5).await;
    assert!(
        hover_text(&hover).contains("makes tree-sitter's error recovery too slow"),
        "{hover}"
    );

    let broken_line = 6 * 2000;
    client
        .change_document(
            &uri,
            2,
            range((broken_line, 11), (broken_line, 18)),
            "values):",
        )
        .await;
    let hover = client.hover(&uri, 6, 5).await;
    assert_eq!(hover["range"], range((6, 0), (11, 16)), "{hover}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_character_range_is_a_cursor_not_a_selection() {
    let cache = tempfile::tempdir().unwrap();
    let client = TestClient::start(no_model(cache.path())).await;
    let uri = file_uri(cache.path(), "shapes.py");
    client.open_document(&uri, "python", PYTHON).await;
    let cursor = titles(&client.code_action(&uri, range((9, 4), (9, 5))).await);
    assert!(
        !cursor.iter().any(|title| title.contains("selection")),
        "{cursor:?}"
    );
    let selection = titles(&client.code_action(&uri, range((9, 4), (11, 0))).await);
    assert!(
        selection.iter().any(|title| title.contains("selection")),
        "{selection:?}"
    );
}
