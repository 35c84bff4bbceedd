//! Finding the real model files the integration tests run on: through the shared list, which is
//! also what `scripts/test` pulls.

#![allow(dead_code)]

#[path = "../../../../tests/support/models.rs"]
mod models;

#[allow(unused_imports)]
pub use models::{QWEN_05B, QWEN_15B, SMOLLM2, model_path};
