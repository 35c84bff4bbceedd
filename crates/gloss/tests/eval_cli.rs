//! `gloss eval` end to end: the built binary explains real cases with the real test model and
//! scores them with the real embedding model (fetched into the user's store on first use).

mod common;

use std::process::Command;

use common::{repo_root, test_model};
use serde_json::Value;

fn eval(prompt: &str) -> Value {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("eval.json");
    let output = Command::new(env!("CARGO_BIN_EXE_gloss"))
        .args([
            "eval",
            "tests/fixtures/dev-cases.jsonl",
            "--limit",
            "3",
            "--model",
        ])
        .arg(test_model())
        .args(["--prompt", prompt, "--json"])
        .arg(&json)
        .current_dir(repo_root())
        .output()
        .expect("gloss runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gloss eval failed: {stderr}");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("| smollm2-135m |"),
        "no summary row: {table}"
    );
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

#[test]
fn scores_real_explanations_of_real_cases() {
    let report = eval("gloss");
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        assert!(!text.trim().is_empty(), "empty explanation: {case}");
        // The hover promise holds whatever the model wrote.
        assert!(case["words"].as_u64().unwrap() <= 80, "too long: {text}");
        let similarity = case["similarity"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&similarity));
        assert!(case["generated_tokens"].as_u64().unwrap() > 0);
    }
    let summary = &report["summary"];
    assert!(
        summary["grounded_share"].as_f64().unwrap()
            >= summary["grounded_share_before_check"].as_f64().unwrap()
    );
    // Three requests with the same instructions: the later ones start from the cached prefix.
    assert!(summary["reused_prompt_share"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_plain_baseline_runs_on_the_same_cases() {
    let report = eval("plain");
    assert_eq!(report["prompt"], "plain");
    assert_eq!(report["cases"].as_array().unwrap().len(), 3);
}
