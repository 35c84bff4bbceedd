//! What the binary's end-to-end tests share: where the repository and the test model are, and
//! running the built `gloss` with an empty model store.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[path = "../../../../tests/support/models.rs"]
pub mod models;

/// The test model. Missing is a failure that says how to fetch it.
pub fn test_model() -> PathBuf {
    models::model_path(models::SMOLLM2)
}

/// Runs the built binary in the repository root with an empty model store, so that nothing is
/// fetched or found by accident.
pub fn gloss(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gloss"))
        .args(args)
        .current_dir(repo_root())
        .env(
            "GLOSS_MODEL_DIR",
            std::env::temp_dir().join("gloss-empty-store"),
        )
        .output()
        .expect("gloss runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
