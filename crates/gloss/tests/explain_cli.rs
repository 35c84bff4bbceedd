//! `gloss explain` end to end: the built binary, a real file, the real test model.

mod common;

use common::{gloss, stderr, stdout, test_model};

#[test]
fn explains_a_python_method_as_json_with_the_real_model() {
    let model = test_model();
    let output = gloss(&[
        "explain",
        "examples/inventory.py:41",
        "--model",
        model.to_str().unwrap(),
        "--max-tokens",
        "48",
        "--json",
    ]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let object: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(object["region"]["kind"], "method");
    assert_eq!(object["region"]["name"], "reserve");
    assert_eq!(object["region"]["start_line"], 38);
    assert_eq!(object["region"]["end_line"], 45);
    assert_eq!(
        object["model"]["sha256"],
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    );
    let explanation = object["explanation"].as_str().unwrap();
    assert!(
        explanation.split_whitespace().count() >= 5,
        "{explanation:?}"
    );
    let generated = object["generated_tokens"].as_u64().unwrap();
    assert!((1..=48).contains(&generated));
    assert!(object["prompt_tokens"].as_u64().unwrap() > 50);
    assert!(object["prefill_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn explains_a_rust_function_as_text_with_the_real_model() {
    let model = test_model();
    let output = gloss(&[
        "explain",
        "examples/geometry.rs:59:9",
        "--model",
        model.to_str().unwrap(),
        "--max-tokens",
        "40",
    ]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert!(
        stderr(&output).contains("`polygon_area`"),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).split_whitespace().count() >= 5,
        "{}",
        stdout(&output)
    );
}

#[test]
fn dry_run_shows_the_prompt_without_a_model() {
    let output = gloss(&["explain", "examples/inventory.py:41", "--dry-run", "--json"]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let object: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let prompt = object["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("<|im_start|>system\n"));
    // A hover's answer is begun as the method's docstring, whose first sentence leads the answer.
    assert!(prompt.contains(
        "<|im_start|>assistant\n```python\ndef reserve(self, sku: str, count: int) -> int:\n    \"\"\"\n"
    ));
    assert!(prompt.contains("def reserve(self, sku: str, count: int) -> int:"));
    assert!(
        prompt.contains("class Inventory"),
        "enclosing class header is context"
    );
    assert!(object.get("explanation").is_none());
}

#[test]
fn a_full_explanation_is_led_by_the_docstring_too_and_goes_on_after_a_blank_line() {
    let output = gloss(&[
        "explain",
        "examples/inventory.py:41",
        "--full",
        "--dry-run",
        "--json",
    ]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let object: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let prompt = object["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("**How it works**"),
        "the full form's instructions"
    );
    assert!(
        prompt.contains(r#"continued from that sentence and "\n\n"]"#),
        "{prompt}"
    );
    assert!(prompt.contains(
        "<|im_start|>assistant\n```python\ndef reserve(self, sku: str, count: int) -> int:\n    \"\"\"\n"
    ));
}

fn assert_fails_with(args: &[&str], needle: &str) {
    let output = gloss(args);
    assert!(!output.status.success(), "expected failure for {args:?}");
    assert!(
        stderr(&output).contains(needle),
        "stderr of {args:?} should mention {needle:?}: {}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty(), "errors never go to stdout");
}

#[test]
fn clear_errors_for_bad_input() {
    assert_fails_with(&["explain", "examples/missing.py:3"], "does not exist");
    assert_fails_with(&["explain", "README.md:3"], "not a language gloss knows");
    assert_fails_with(&["explain", "examples/inventory.py:9999"], "past the end");
    assert_fails_with(&["explain", "examples/inventory.py"], "PATH:LINE");
    assert_fails_with(
        &["explain", "examples/inventory.py:41", "--offline"],
        "gloss models pull qwen2.5-coder-0.5b",
    );
    assert_fails_with(
        &[
            "explain",
            "examples/inventory.py:41",
            "--model",
            "no-such-model",
        ],
        "smollm2-135m",
    );
}

#[test]
fn corrupt_and_foreign_model_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.gguf");
    let bytes = std::fs::read(test_model()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    assert_fails_with(
        &[
            "explain",
            "examples/inventory.py:41",
            "--model",
            truncated.to_str().unwrap(),
        ],
        "corrupt",
    );
    let garbage = dir.path().join("garbage.gguf");
    std::fs::write(&garbage, b"definitely not a model").unwrap();
    assert_fails_with(
        &[
            "explain",
            "examples/inventory.py:41",
            "--model",
            garbage.to_str().unwrap(),
        ],
        "not a GGUF",
    );
}

#[test]
fn blank_line_between_functions_is_explained_or_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.py");
    std::fs::write(&file, "\n\n\n").unwrap();
    let location = format!("{}:2", file.display());
    assert_fails_with(&["explain", &location, "--dry-run"], "nothing to explain");
}
