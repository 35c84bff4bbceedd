//! gloss's own CPU forward pass for `llama` and `qwen2` GGUF models: weights read in place from
//! the memory-mapped file, activations quantized to int8 once per row, SIMD dot-product kernels
//! chosen at run time, prompt tokens tiled per weight block, and a preallocated KV cache.
//!
//! The candle models in `engine.rs` stay as the reference (`GLOSS_ENGINE=reference`).

pub mod kernels;
pub mod kv_cache;
pub mod matmul;
pub mod model;
pub mod ops;
pub mod quant;

pub use model::FastModel;
