//! The model files the tests run on, found the way `gloss` itself finds them. Shared by every test
//! suite that loads a model (include it with `#[path = ".../tests/support/models.rs"]`).
//!
//! A test names a catalog id; the id must be listed in `tests/test-models.txt`, which is also what
//! `scripts/test` pulls, so a test cannot depend on a file that only one machine happens to have.

#![allow(dead_code)]

use std::path::PathBuf;

const LIST: &str = include_str!("../test-models.txt");

pub const SMOLLM2: &str = "smollm2-135m";
pub const QWEN_05B: &str = "qwen2.5-coder-0.5b";
pub const QWEN_15B: &str = "qwen2.5-coder-1.5b";

/// `(catalog id, file name)` for every model the suite needs, in the list's order.
pub fn listed() -> Vec<(&'static str, &'static str)> {
    LIST.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split_whitespace();
            match (fields.next(), fields.next(), fields.next()) {
                (Some(id), Some(file), None) => (id, file),
                _ => panic!("tests/test-models.txt: expected `<id> <file>`, found {line:?}"),
            }
        })
        .collect()
}

/// The store `scripts/test` pulled into: `$GLOSS_TEST_MODEL_DIR`, else what `gloss models pull`
/// uses (`$GLOSS_MODEL_DIR`, else `$GLOSS_CACHE_DIR/models`, else the user cache).
pub fn store() -> PathBuf {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = set("GLOSS_TEST_MODEL_DIR").or_else(|| set("GLOSS_MODEL_DIR")) {
        return PathBuf::from(dir);
    }
    if let Some(cache) = set("GLOSS_CACHE_DIR") {
        return PathBuf::from(cache).join("models");
    }
    let user_cache = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .expect("set GLOSS_TEST_MODEL_DIR, GLOSS_CACHE_DIR or HOME");
    user_cache.join("gloss").join("models")
}

/// The file of model `id`. A model missing from the list, or from the store, fails the test with
/// what to do: a suite that skips its model tests proves nothing.
pub fn model_path(id: &str) -> PathBuf {
    let Some((_, file)) = listed().into_iter().find(|(listed, _)| *listed == id) else {
        panic!(
            "model {id} is not in tests/test-models.txt, so scripts/test does not fetch it: \
             add it there"
        );
    };
    let path = store().join(file);
    assert!(
        path.is_file(),
        "test model {} is missing: run scripts/test (it pulls every model in \
         tests/test-models.txt), or `cargo run -p gloss -- models pull {id}`",
        path.display()
    );
    path
}
