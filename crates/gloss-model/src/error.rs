//! The public error type of model loading and generation.

use std::path::PathBuf;

/// What went wrong with a model, phrased so the user knows what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file does not exist or cannot be read.
    #[error("cannot read model file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a GGUF file, or is truncated or damaged.
    #[error(
        "model file {path} is corrupt or not a GGUF file ({reason}); delete it and pull it again, e.g. `gloss models pull`"
    )]
    Corrupt { path: PathBuf, reason: String },
    /// A valid GGUF file of an architecture gloss has no forward pass for.
    #[error(
        "model file {path} has architecture `{architecture}`, which gloss does not support (supported: {supported})"
    )]
    UnsupportedArchitecture {
        path: PathBuf,
        architecture: String,
        supported: String,
    },
    /// The GGUF's tokenizer metadata could not be turned into a tokenizer.
    #[error("model file {path} has no usable tokenizer: {reason}")]
    Tokenizer { path: PathBuf, reason: String },
    /// The prompt does not fit the model's context window.
    #[error(
        "the prompt has {prompt_tokens} tokens, more than the model's context of {context_length}"
    )]
    PromptTooLong {
        prompt_tokens: usize,
        context_length: usize,
    },
    /// The model thread is gone (it failed to load, or it was shut down).
    #[error("the model is not available: {0}")]
    Unavailable(String),
    /// A numeric failure inside the forward pass.
    #[error("inference failed: {0}")]
    Inference(String),
    /// A remote model server failed to answer; the text (the server client's own message) says
    /// what is wrong and how to fix it.
    #[error("{0}")]
    Remote(String),
}

impl From<candle_core::Error> for ModelError {
    fn from(error: candle_core::Error) -> Self {
        ModelError::Inference(error.to_string())
    }
}
