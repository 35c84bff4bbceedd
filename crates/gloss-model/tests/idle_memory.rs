//! What the model keeps between requests: after a long prompt, going idle gives back the scratch
//! buffers that prompt grew and the KV cache past the kept positions, and the next request
//! continues from the kept positions as if nothing had been released.

mod common;

use gloss_model::engine::KEPT_WHEN_IDLE as KEPT;
use gloss_model::fast::FastModel;

fn load() -> FastModel {
    let gguf = common::open_gguf(common::SMOLLM2);
    FastModel::load(&gguf.path, &gguf.content, &gguf.arch, None).unwrap()
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
    let (worst, range) = common::logit_difference(&whole, &resumed);
    assert!(
        worst <= 0.05 * range,
        "resuming after the release moved a logit by {worst} (range {range})"
    );
    assert_eq!(argmax(&whole), argmax(&resumed));
}
