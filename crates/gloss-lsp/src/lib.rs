//! The gloss language server: explanations as hovers and code actions, cached, cancellable, with
//! progress. The only crate that knows LSP types.
//!
//! Layout: [`server`] implements tower-lsp-server's `LanguageServer` trait with thin methods that
//! take a [`session::Snapshot`] and call one handler each (`handlers/*`, one file per LSP method or
//! small group); [`convert`] is the one place positions and ranges cross the protocol boundary;
//! the explaining itself (cache, scheduling, cancellation) is `gloss_explain::service`.

pub mod commands;
pub mod config;
pub mod convert;
mod doc_comment;
mod documents;
mod explain;
mod handlers;
pub mod memory;
mod neighbors;
mod panic;
mod prefetch;
mod progress;
mod render;
mod server;
mod session;
mod transport;

pub use server::{ServeOutcome, ServerOptions, serve};
