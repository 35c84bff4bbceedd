//! `gloss lsp`: the language server on stdin and stdout.

use std::time::Duration;

use anyhow::{Context as _, bail};

#[derive(clap::Args)]
pub struct LspArgs {
    /// Accepted and ignored: stdio is the only transport, and some clients (VS Code's, with
    /// `TransportKind.stdio`) always pass this flag.
    #[arg(long)]
    stdio: bool,
    /// Compute threads for the model when the `threads` setting does not say (default: the
    /// number of physical cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: LspArgs) -> anyhow::Result<()> {
    let _ = args.stdio;
    if let Some(threads) = args.threads {
        if threads == 0 {
            bail!("--threads must be at least 1");
        }
        // SAFETY: no other thread exists yet (the runtime starts below); candle and rayon read
        // these when their thread pools start.
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        }
    }
    gloss_lsp::memory::use_one_arena();
    // Two workers are plenty: handlers only wait, and inference runs on the model's own thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gloss-lsp")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(gloss_lsp::serve(
        tokio::io::stdin(),
        tokio::io::stdout(),
        gloss_lsp::ServerOptions::default(),
    ));
    // Tasks still running (a progress report, a log line) must not hold the process open: tokio's
    // stdin reader in particular blocks until the client closes the pipe.
    runtime.shutdown_timeout(Duration::from_millis(500));
    if !outcome.shutdown_requested {
        // The specification: exit code 1 when `exit` comes without a `shutdown` before it.
        bail!("the client ended the session without a `shutdown` request");
    }
    Ok(())
}
