//! Our embeddings (candle's BERT, our tokenizer, mean pooling) against cosines an independent
//! float64 numpy implementation computed from the same weights: the similarity `gloss eval`
//! reports must be the one all-MiniLM-L6-v2 defines.

use gloss_eval::{Embedder, ensure_files};
use serde_json::Value;

#[test]
fn cosines_match_an_independent_implementation() {
    let (weights, vocab) = ensure_files(false).expect("the embedding model's files");
    let embedder = Embedder::load(&weights, &vocab).expect("load");
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/minilm-cosines.json")).unwrap();
    for pair in fixture["pairs"].as_array().unwrap() {
        let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
        let expected = pair["cosine"].as_f64().unwrap() as f32;
        let got = embedder.similarity(a, b).unwrap();
        assert!(
            (got - expected).abs() < 2e-3,
            "{a:?} vs {b:?}: {got} (reference {expected})"
        );
    }
    let unit = embedder.embed("a sentence").unwrap();
    let norm: f32 = unit.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
}
