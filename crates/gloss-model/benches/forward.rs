//! `cargo bench -p gloss-model --bench forward -- MODEL.gguf [PROMPT_TOKENS GEN_TOKENS ROUNDS]`:
//! the same measurement as `gloss bench` (prefill of a code prompt, then greedy decode, median
//! of the rounds after a warm-up round, load time, peak RSS) without the rest of gloss, so the
//! engine can be measured while other crates are mid-change. `GLOSS_ENGINE=reference` measures
//! candle's path; `RAYON_NUM_THREADS` sets the threads. Prints one JSON line.

use std::time::Instant;

use gloss_model::LoadedModel;

const PROMPT_SOURCE: &str = include_str!("../../../examples/inventory.py");

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in logits.iter().enumerate() {
        if *v > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn main() {
    // `cargo bench` appends `--bench`; keep only our positional arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(path) = args.first() else {
        eprintln!("usage: forward MODEL.gguf [PROMPT_TOKENS GEN_TOKENS ROUNDS]");
        return;
    };
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (prompt_tokens, gen_tokens, rounds) = (arg(1, 256), arg(2, 64), arg(3, 3));

    let started = Instant::now();
    let mut model = LoadedModel::load(std::path::Path::new(path)).expect("load");
    let load_seconds = started.elapsed().as_secs_f64();
    let prompt: Vec<u32> = model
        .tokenizer()
        .encode(PROMPT_SOURCE, false)
        .into_iter()
        .cycle()
        .take(prompt_tokens)
        .collect();

    let mut prefill = Vec::new();
    let mut decode = Vec::new();
    for _ in 0..=rounds {
        let t = Instant::now();
        let mut logits = model.forward(&prompt, 0).expect("prefill");
        prefill.push(prompt.len() as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for step in 0..gen_tokens {
            logits = model
                .forward(&[argmax(&logits)], prompt.len() + step)
                .expect("decode");
        }
        decode.push(gen_tokens as f64 / t.elapsed().as_secs_f64());
    }
    let first = (prefill[0], decode[0]);
    let median = |v: &mut Vec<f64>| {
        let mut rest = v.split_off(1);
        rest.sort_by(f64::total_cmp);
        rest[rest.len() / 2]
    };
    let line = format!(
        "{{\"model\":\"{}\",\"engine\":\"{}\",\"threads\":{},\"load_seconds\":{load_seconds:.3},\"prefill_tokens_per_second\":{:.1},\"decode_tokens_per_second\":{:.1},\"first_round_prefill\":{:.1},\"first_round_decode\":{:.1},\"peak_rss_bytes\":{}}}",
        path.rsplit('/').next().unwrap_or(path),
        std::env::var("GLOSS_ENGINE").unwrap_or_else(|_| "fast".into()),
        candle_core::utils::get_num_threads(),
        median(&mut prefill),
        median(&mut decode),
        first.0,
        first.1,
        peak_rss_bytes(),
    );
    eprintln!("{line}");
}
