//! Finding the real model files the integration tests run on.

use std::path::PathBuf;

/// Where tests find model files: `$GLOSS_TEST_MODEL_DIR`, else the per-user store that
/// `gloss models pull` fills (and `.ci/run` fills before the tests).
pub fn model_path(file: &str) -> PathBuf {
    let dir = std::env::var_os("GLOSS_TEST_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("gloss").join("models")))
        .expect("no cache directory: set GLOSS_TEST_MODEL_DIR");
    let path = dir.join(file);
    assert!(
        path.is_file(),
        "test model {} is missing: run `cargo run -- models pull smollm2-135m` (and `qwen2.5-coder-0.5b`), or set GLOSS_TEST_MODEL_DIR",
        path.display()
    );
    path
}

pub const SMOLLM2: (&str, &str) = ("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf");
pub const QWEN_05B: (&str, &str) = (
    "qwen2.5-coder-0.5b",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
);
