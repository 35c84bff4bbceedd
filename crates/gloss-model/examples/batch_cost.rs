//! What one forward pass costs for 1, 2, 4 and 8 tokens after a 300-token context: the figure that
//! decides whether verifying drafted tokens in one pass can beat decoding them one by one.
//!
//! cargo run --release -p gloss-model --example batch_cost -- path/to/model.gguf

use std::path::Path;
use std::time::Instant;

use gloss_model::LoadedModel;

const CONTEXT: usize = 300;
const REPEATS: usize = 20;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: batch_cost MODEL.gguf");
        std::process::exit(2);
    };
    let mut model = LoadedModel::load(Path::new(&path)).expect("the model loads");
    let context: Vec<u32> = (0..CONTEXT as u32).map(|i| 100 + (i * 7) % 5000).collect();
    model.forward(&context, 0).expect("prefill");
    for round in 1..=3 {
        let mut single = 0.0;
        for n in [1usize, 2, 4, 8] {
            let tokens: Vec<u32> = (0..n as u32).map(|i| 200 + i).collect();
            let started = Instant::now();
            for _ in 0..REPEATS {
                model
                    .forward_rows(&tokens, CONTEXT, n)
                    .expect("forward pass");
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0 / REPEATS as f64;
            if n == 1 {
                single = ms;
            }
            eprintln!(
                "round {round}: {n} token(s) per pass: {ms:6.1} ms ({:.2}x one token)",
                ms / single
            );
        }
    }
}
