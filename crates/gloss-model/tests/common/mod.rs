//! Finding the real model files the integration tests run on: through the shared list, which is
//! also what `scripts/test` pulls.

#![allow(dead_code)]

#[path = "../../../../tests/support/models.rs"]
mod models;

#[allow(unused_imports)]
pub use models::{QWEN_05B, QWEN_15B, SMOLLM2, model_path};

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use candle_core::quantized::gguf_file;

/// A model file opened and its header read: what both the fast engine and candle's reference
/// models load from.
pub struct Gguf {
    pub path: PathBuf,
    pub reader: BufReader<File>,
    pub content: gguf_file::Content,
    /// `general.architecture`.
    pub arch: String,
}

pub fn open_gguf(model_id: &str) -> Gguf {
    let path = model_path(model_id);
    let mut reader = BufReader::new(File::open(&path).unwrap());
    let content = gguf_file::Content::read(&mut reader).unwrap();
    let arch = content.metadata["general.architecture"]
        .to_string()
        .unwrap()
        .clone();
    Gguf {
        path,
        reader,
        content,
        arch,
    }
}

/// The largest difference between two rows of logits, and the range of the first.
pub fn logit_difference(expected: &[f32], actual: &[f32]) -> (f32, f32) {
    let (lo, hi) = expected
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let largest = expected
        .iter()
        .zip(actual)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    (largest, hi - lo)
}
