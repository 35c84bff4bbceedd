//! `gloss bench`: the yardstick for inference speed and memory, printed, never asserted. With
//! `--backend openai` it measures what a client of a model server sees: time to the first token
//! and tokens per second over the stream.

use std::io::Write;
use std::time::Instant;

use anyhow::bail;
use gloss_explain::remote::RemoteGenerator;
use gloss_explain::service::Generator;
use gloss_model::catalog::{Catalog, Progress, resolve_model};
use gloss_model::{
    CancelToken, GenerateParams, Generation, Job, JobEvent, LoadedModel, Message, Priority, Prompt,
};
use serde_json::json;

use crate::backend_args::BackendArgs;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// A model id from `gloss models list`, or the path of any GGUF file.
    #[arg(long)]
    model: Option<String>,
    /// Length of the prompt that is prefilled.
    #[arg(long, default_value_t = 256)]
    prompt_tokens: usize,
    /// Tokens generated after the prompt, one forward pass each.
    #[arg(long, default_value_t = 64)]
    gen_tokens: usize,
    /// Compute threads (default: the number of physical cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Measured rounds after one warm-up round; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Never download: fail if the model is not already pulled.
    #[arg(long)]
    offline: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Code-like text to tokenize into a prompt of any length; explanations are asked about code.
const PROMPT_SOURCE: &str = include_str!("../../../examples/inventory.py");

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.prompt_tokens == 0 || args.rounds == 0 {
        bail!("--prompt-tokens and --rounds must be at least 1");
    }
    if let Some(remote) = args.backend.remote()? {
        if args.model.is_some() || args.threads.is_some() {
            bail!(
                "--model and --threads are for the local model; with --backend openai use --remote-model"
            );
        }
        return run_remote(&args, remote);
    }
    if let Some(threads) = args.threads {
        if threads == 0 {
            bail!("--threads must be at least 1");
        }
        // SAFETY: still single-threaded here; candle reads these once, when its thread pool starts.
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        }
    }
    let spec = args
        .model
        .clone()
        .unwrap_or_else(|| Catalog::builtin().default_entry().id.clone());
    let resolved = resolve_model(&spec, args.offline, Progress::Auto)?;

    let load_started = Instant::now();
    let mut model = LoadedModel::load(&resolved.path)?;
    let load_seconds = load_started.elapsed().as_secs_f64();

    let source_tokens = model.tokenizer().encode(PROMPT_SOURCE, false);
    let prompt: Vec<u32> = source_tokens
        .iter()
        .copied()
        .cycle()
        .take(args.prompt_tokens)
        .collect();
    if prompt.len() + args.gen_tokens > model.info().context_length {
        bail!(
            "{} + {} tokens exceed the model's context of {}",
            args.prompt_tokens,
            args.gen_tokens,
            model.info().context_length
        );
    }

    let mut prefill_rates = Vec::new();
    let mut decode_rates = Vec::new();
    let mut first_round = None;
    for round in 0..=args.rounds {
        let (prefill, decode) = measure_round(&mut model, &prompt, args.gen_tokens)?;
        if round == 0 {
            // The first round is reported apart: a user's first hover pays for it.
            first_round = Some((prefill, decode));
        } else {
            prefill_rates.push(prefill);
            decode_rates.push(decode);
        }
    }
    let (first_prefill, first_decode) = first_round.unwrap_or_default();
    let prefill = median(&mut prefill_rates);
    let decode = median(&mut decode_rates);
    let peak_rss_bytes = peak_rss_bytes();
    let threads = args
        .threads
        .unwrap_or_else(candle_core::utils::get_num_threads);

    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "model": resolved.id,
            "sha256": resolved.sha256,
            "threads": threads,
            "prompt_tokens": args.prompt_tokens,
            "gen_tokens": args.gen_tokens,
            "load_seconds": load_seconds,
            "prefill_tokens_per_second": prefill,
            "decode_tokens_per_second": decode,
            "first_round_prefill_tokens_per_second": first_prefill,
            "first_round_decode_tokens_per_second": first_decode,
            "peak_rss_bytes": peak_rss_bytes,
        });
        writeln!(out, "{object:#}")?;
    } else {
        writeln!(out, "model            {} ({threads} threads)", resolved.id)?;
        writeln!(out, "load             {load_seconds:.3} s")?;
        writeln!(
            out,
            "prefill          {prefill:.1} tokens/s ({} tokens; first round {first_prefill:.1})",
            args.prompt_tokens
        )?;
        writeln!(
            out,
            "decode           {decode:.1} tokens/s ({} tokens after the prompt; first round {first_decode:.1})",
            args.gen_tokens
        )?;
        match peak_rss_bytes {
            Some(bytes) => writeln!(out, "peak resident    {:.1} MiB", bytes as f64 / 1048576.0)?,
            None => writeln!(out, "peak resident    unknown on this system")?,
        }
    }
    Ok(())
}

/// One prefill of the prompt and `gen_tokens` single-token steps after it, as tokens per second.
fn measure_round(
    model: &mut LoadedModel,
    prompt: &[u32],
    gen_tokens: usize,
) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let mut logits = model.forward(prompt, 0)?;
    let prefill = prompt.len() as f64 / started.elapsed().as_secs_f64();
    if gen_tokens == 0 {
        return Ok((prefill, 0.0));
    }
    let started = Instant::now();
    for step in 0..gen_tokens {
        // Greedy, and never stopping at end-of-turn: every round runs the same number of steps.
        let next = argmax(&logits);
        logits = model.forward(&[next], prompt.len() + step)?;
    }
    let decode = gen_tokens as f64 / started.elapsed().as_secs_f64();
    Ok((prefill, decode))
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, value) in logits.iter().enumerate() {
        if *value > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The high-water mark of resident memory, from the kernel's own accounting.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One streamed request per round: the prompt is code of about `--prompt-tokens` tokens (the
/// server reports the exact count) and the answer is cut at `--gen-tokens`.
fn run_remote(args: &BenchArgs, remote: RemoteGenerator) -> anyhow::Result<()> {
    let identity = remote.identity();
    // The documented estimate (3.5 characters a token) sizes the code; the server counts it.
    let chars = (args.prompt_tokens as f64 * 3.5) as usize;
    let code: String = PROMPT_SOURCE.chars().cycle().take(chars).collect();
    let messages = vec![
        Message::system("You explain code to programmers."),
        Message::user(format!(
            "Explain this code in detail, function by function:\n\n```python\n{code}\n```"
        )),
    ];
    let mut first_tokens = Vec::new();
    let mut rates = Vec::new();
    let mut first_round = None;
    let mut last = None;
    for round in 0..=args.rounds {
        let generation = remote_round(&remote, &messages, args.gen_tokens)?;
        // Tokens after the first, over the time after the first: the streaming rate.
        let rate = generation.generated_tokens.saturating_sub(1) as f64
            / generation.generate_seconds.max(1e-9);
        if round == 0 {
            first_round = Some((generation.prefill_seconds, rate));
        } else {
            first_tokens.push(generation.prefill_seconds);
            rates.push(rate);
        }
        last = Some(generation);
    }
    remote.shutdown();
    let (first_ttft, first_rate) = first_round.unwrap_or_default();
    let ttft = median(&mut first_tokens);
    let rate = median(&mut rates);
    let last = last.expect("at least one round ran");
    let target = remote.target();
    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "backend": "openai",
            "model": identity.id,
            "endpoint": target.endpoint,
            "remote_model": target.model,
            "prompt_tokens": last.prompt_tokens,
            "gen_tokens": last.generated_tokens,
            "time_to_first_token_seconds": ttft,
            "stream_tokens_per_second": rate,
            "first_round_time_to_first_token_seconds": first_ttft,
            "first_round_stream_tokens_per_second": first_rate,
        });
        writeln!(out, "{object:#}")?;
    } else {
        writeln!(out, "model            {} (openai backend)", identity.id)?;
        writeln!(
            out,
            "first token      {:.3} s ({} prompt tokens; first round {first_ttft:.3} s)",
            ttft, last.prompt_tokens
        )?;
        writeln!(
            out,
            "stream           {rate:.1} tokens/s ({} tokens; first round {first_rate:.1})",
            last.generated_tokens
        )?;
    }
    Ok(())
}

fn remote_round(
    remote: &RemoteGenerator,
    messages: &[Message],
    gen_tokens: usize,
) -> anyhow::Result<Generation> {
    let events = remote.submit(Job {
        prompt: Prompt::Chat(messages.to_vec()),
        params: GenerateParams {
            max_tokens: gen_tokens.max(1),
            ..GenerateParams::default()
        },
        priority: Priority::Command,
        cancel: CancelToken::new(),
    });
    for event in events {
        if let JobEvent::Finished(outcome) = event {
            return Ok(outcome?);
        }
    }
    bail!("the request ended without an answer")
}
