//! Figures for the language server, measured over real JSON-RPC framing in-process:
//! `initialize` round trip, cached hover latency (p50/p99 over 1000 hovers) and a cold hover on a
//! 30-line function with the default model. Prints a markdown table (for `docs/performance.md`).
//!
//! `cargo bench -p gloss-lsp` (the models come from `$GLOSS_TEST_MODEL_DIR` or the user's store;
//! `GLOSS_BENCH_SKIP_COLD=1` leaves out the default-model figure).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use common::{ClientOptions, TestClient, default_model, test_model};
use serde_json::json;

const CACHED_HOVERS: usize = 1000;
const INITIALIZES: usize = 20;

/// A 30-line function, as a user would hover it.
const THIRTY_LINES: &str = r#"import json
from pathlib import Path


def load_inventory(path, minimum_stock=0, skip_hidden=True):
    """Read an inventory file and return the items that need reordering."""
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no inventory at {source}")
    with source.open(encoding="utf-8") as handle:
        data = json.load(handle)
    items = data.get("items", [])
    reorder = []
    for item in items:
        name = item.get("name", "").strip()
        if not name:
            continue
        if skip_hidden and name.startswith("."):
            continue
        stock = int(item.get("stock", 0))
        reserved = int(item.get("reserved", 0))
        available = stock - reserved
        if available < minimum_stock:
            shortfall = minimum_stock - available
            reorder.append({"name": name, "order": shortfall})
        elif available < 0:
            raise ValueError(f"{name}: more reserved than in stock")
    reorder.sort(key=lambda entry: entry["order"], reverse=True)
    summary = {"checked": len(items), "to_order": len(reorder)}
    print(json.dumps(summary))
    return reorder
"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(run());
    let mut out = std::io::stderr().lock();
    writeln!(out, "\n| measurement | result |\n|---|---|").unwrap();
    for (name, value) in rows {
        writeln!(out, "| {name} | {value} |").unwrap();
    }
}

async fn run() -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let cache = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", project.path().join("inventory.py").display());

    // initialize: from sending the request to reading the answer.
    let mut times = Vec::new();
    for _ in 0..INITIALIZES {
        let client = TestClient::connect(serde_json::Value::Null, true);
        let mut options = ClientOptions::new(&test_model(), cache.path());
        options.initialization_options["maxTokens"] = json!(32);
        let started = Instant::now();
        client
            .request(
                "initialize",
                json!({ "processId": null, "capabilities": options.capabilities,
                        "initializationOptions": options.initialization_options }),
            )
            .await
            .unwrap();
        times.push(started.elapsed());
        client.notify("initialized", json!({})).await;
        client.shutdown().await;
    }
    times.sort();
    rows.push((
        format!("`initialize` round trip, p50 / max of {INITIALIZES}"),
        format!(
            "{} / {}",
            ms(percentile(&times, 0.5)),
            ms(*times.last().unwrap())
        ),
    ));

    // Cached hovers: one generation fills the cache, then every hover is a hit.
    let mut options = ClientOptions::new(&test_model(), cache.path());
    options.initialization_options["hoverTimeoutMs"] = json!(60000);
    let client = TestClient::start(options).await;
    client.open_document(&uri, "python", THIRTY_LINES).await;
    let first = client.hover(&uri, 20, 8).await;
    assert!(
        first["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("smollm2-135m")
    );
    let mut times = Vec::with_capacity(CACHED_HOVERS);
    for i in 0..CACHED_HOVERS {
        let line = 6 + (i % 24) as u32;
        let started = Instant::now();
        let hover = client.hover(&uri, line, 8).await;
        times.push(started.elapsed());
        debug_assert!(
            hover["contents"]["value"]
                .as_str()
                .unwrap()
                .ends_with("· cached*")
        );
    }
    times.sort();
    rows.push((
        format!("cached hover, p50 / p99 of {CACHED_HOVERS} (smollm2-135m, 30-line function)"),
        format!(
            "{} / {}",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        ),
    ));
    client.shutdown().await;

    if std::env::var_os("GLOSS_BENCH_SKIP_COLD").is_none() {
        let cold_cache = tempfile::tempdir().unwrap();
        let mut options = ClientOptions::new(&default_model(), cold_cache.path());
        options.initialization_options["hoverTimeoutMs"] = json!(60000);
        let started = Instant::now();
        let client = TestClient::start(options).await;
        // Model loading is reported as progress; the hover is measured once it has ended.
        let begin = client
            .await_matching("$/progress", |p| {
                p["value"]["title"] == "gloss: loading model"
            })
            .await;
        let token = begin["params"]["token"].clone();
        client
            .await_matching("$/progress", |p| {
                p["token"] == token && p["value"]["kind"] == "end"
            })
            .await;
        let loaded = started.elapsed();
        client.open_document(&uri, "python", THIRTY_LINES).await;
        let started = Instant::now();
        let hover = client.hover(&uri, 20, 8).await;
        let cold = started.elapsed();
        let text = hover["contents"]["value"].as_str().unwrap().to_owned();
        assert!(text.contains("qwen2.5-coder-0.5b"), "{text}");
        rows.push((
            "model ready after `initialized` (qwen2.5-coder-0.5b)".into(),
            ms(loaded),
        ));
        rows.push((
            "cold hover, 30-line function (qwen2.5-coder-0.5b, default 160-token bound)".into(),
            ms(cold),
        ));
        let mut err = std::io::stderr().lock();
        writeln!(err, "cold hover text:\n{text}").unwrap();
        client.shutdown().await;
    }
    rows
}
