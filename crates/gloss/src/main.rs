//! The `gloss` binary: parses arguments, sets up logging to stderr, and calls into the libraries.

mod backend_args;
mod bench_cmd;
mod eval_cmd;
mod explain_cmd;
mod location;
mod lsp_cmd;
mod models_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "gloss",
    version,
    about = "Explains code with a language model that runs on your machine"
)]
struct Cli {
    /// Log filter for stderr, e.g. `info` or `gloss_model=debug` (overrides GLOSS_LOG).
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explain the function, method, class or statement at FILE:LINE[:COL].
    Explain(explain_cmd::ExplainArgs),
    /// List, pull, locate and verify models.
    #[command(subcommand)]
    Models(models_cmd::ModelsCommand),
    /// Run the language server on stdin/stdout.
    Lsp(lsp_cmd::LspArgs),
    /// Measure load time, prompt and generation speed, and peak memory of a model.
    Bench(bench_cmd::BenchArgs),
    /// Explain every case of an evaluation set and report similarity, grounding, length and time.
    Eval(eval_cmd::EvalArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    let outcome = match cli.command {
        Command::Explain(args) => explain_cmd::run(args),
        Command::Models(command) => models_cmd::run(command),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Lsp(args) => lsp_cmd::run(args),
        Command::Eval(args) => eval_cmd::run(args),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr only: stdout carries explanations, JSON and, for `gloss lsp`, the protocol.
fn init_logging(filter: Option<&str>) {
    let filter = filter
        .map(str::to_owned)
        .or_else(|| std::env::var("GLOSS_LOG").ok())
        .unwrap_or_else(|| "warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}
