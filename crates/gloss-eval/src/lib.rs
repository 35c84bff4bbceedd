//! `gloss eval`: how good the explanations are, measured on real functions with the doc text their
//! authors wrote. Each case is explained, and the report gives the similarity of the explanation's
//! summary to that doc text (all-MiniLM-L6-v2 sentence embeddings), the share of quoted identifiers
//! that exist in the code, the length and the time.

pub mod cases;
pub mod embedder;
pub mod metrics;
pub mod run;
pub mod wordpiece;

pub use cases::{Case, read_cases};
pub use embedder::{Embedder, ensure_files};
pub use run::{CaseOutcome, PromptStyle, Summary, evaluate_case, prepare_case, summarize};
