//! What gloss asks the model and what it makes of the answer: levels, prompts, the explanation
//! pipeline, the cache of finished explanations, and the backends that generate them (the local
//! model, or a remote server in `remote`).

pub mod lead;
pub mod level;
pub mod prompt;

pub use level::{ExplanationKind, Level};
pub use prompt::{PROMPT_VERSION, PromptInput, build_messages};
pub mod request;
pub use request::{CONTEXT_TOKEN_BUDGET, PreparedExplanation, prepare};
pub mod cache;
pub mod service;
pub use cache::{CacheKey, CachedExplanation, ExplanationCache};
pub use service::{ExplainService, Ticket};
pub mod grounding;
pub use grounding::{KnownNames, drop_ungrounded};
pub mod shape;
pub use shape::{finished_text, shape_answer};
pub mod remote;
pub use remote::{Backend, RemoteGenerator, RemoteTarget};
