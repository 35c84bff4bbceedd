//! What the model keeps between requests: after a long prompt, going idle gives back the scratch
//! buffers that prompt grew and the KV cache past the kept positions, and the next request
//! continues from the kept positions as if nothing had been released.

mod common;

use std::fs::File;
use std::io::BufReader;

use candle_core::quantized::gguf_file;
use gloss_model::fast::FastModel;

const KEPT: usize = 256;

fn load() -> FastModel {
    let path = common::model_path(common::SMOLLM2);
    let mut reader = BufReader::new(File::open(&path).unwrap());
    let content = gguf_file::Content::read(&mut reader).unwrap();
    let arch = content.metadata["general.architecture"]
        .to_string()
        .unwrap()
        .clone();
    FastModel::load(&path, &content, &arch, None).unwrap()
}

fn argmax(logits: &[f32]) -> usize {
    (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap()
}

#[test]
fn going_idle_gives_back_the_scratch_and_keeps_the_shared_positions() {
    let mut model = load();
    let prompt: Vec<u32> = (0..600u32).map(|i| 100 + (i * 389) % 4000).collect();
    let whole = model.forward(&prompt, 0).unwrap();
    let grown = model.scratch_bytes();
    assert!(
        grown > prompt.len() * 20_000,
        "a 600-token batch needs tens of kilobytes of scratch per token, found {grown} bytes"
    );

    model.release_idle_memory(KEPT);
    assert_eq!(model.scratch_bytes(), 0, "the scratch outlived the request");

    // A prompt that shares the kept positions runs only its own tokens.
    let resumed = model.forward(&prompt[KEPT..], KEPT).unwrap();
    let (lo, hi) = whole
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let worst = whole
        .iter()
        .zip(&resumed)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 0.05 * (hi - lo),
        "resuming after the release moved a logit by {worst} (range {})",
        hi - lo
    );
    assert_eq!(argmax(&whole), argmax(&resumed));
}
