//! In-process inference for gloss: GGUF models on candle, their tokenizer, the ChatML template,
//! generation, the model thread, and the catalog of models gloss can pull.

pub mod allocator;
pub mod cancel;
pub mod catalog;
pub mod chat;
pub mod engine;
pub mod error;
pub mod fast;
pub mod generate;
pub mod tokenizer;
pub mod worker;

pub use cancel::CancelToken;
pub use chat::{Message, Role};
pub use engine::{Architecture, LoadedModel, ModelInfo};
pub use error::ModelError;
pub use generate::{
    DEFAULT_DRAFT_TOKENS, DraftStats, GenerateParams, Generation, Sampling, StopReason, generate,
};
pub use worker::{
    AnswerComplete, Job, JobEvent, LedChat, LoadState, ModelWorker, Priority, Prompt, ReadyModel,
    TakeSentence,
};
