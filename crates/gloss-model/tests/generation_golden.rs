//! The forward pass agrees with llama.cpp on the golden prompt, token by token (teacher forcing).
//!
//! Exact greedy strings differ between CPUs at near-tied steps, so, as the fixture's note says, each
//! step checks the top token where llama.cpp's margin is clear, accepts any near-tied token where it
//! is not, and compares the golden token's log-probability within a tolerance.

mod common;

use gloss_model::{CancelToken, GenerateParams, LoadedModel, generate};
use serde_json::Value;

const CLEAR_MARGIN: f64 = 0.5;
const LOGPROB_TOLERANCE: f64 = 0.75;

fn golden() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/generation-golden.json"
    ))
    .expect("generation golden fixture");
    serde_json::from_str(&text).expect("golden fixture is JSON")
}

fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    let log_sum = sum.ln() + max;
    logits.iter().map(|&l| l as f64 - log_sum).collect()
}

fn argmax(values: &[f64]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

fn prompt_ids(model: &LoadedModel, prompt: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = model.bos().into_iter().collect();
    ids.extend(model.tokenizer().encode(prompt, true));
    ids
}

fn check_teacher_forced(model_id: &str) {
    let golden = golden();
    let prompt = golden["prompt"].as_str().unwrap();
    let steps = golden["steps"][model_id].as_array().unwrap();
    let mut model = LoadedModel::load(&common::model_path(model_id)).unwrap();
    let ids = prompt_ids(&model, prompt);

    let mut logits = model.forward(&ids, 0).unwrap();
    for (i, step) in steps.iter().enumerate() {
        let golden_id = step["id"].as_u64().unwrap() as u32;
        let logprobs = log_softmax(&logits);
        let ours = argmax(&logprobs);
        let top: Vec<(u32, f64)> = step["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t[0].as_u64().unwrap() as u32, t[2].as_f64().unwrap()))
            .collect();
        let margin = top[0].1 - top.get(1).map_or(f64::NEG_INFINITY, |t| t.1);
        if margin >= CLEAR_MARGIN {
            assert_eq!(
                ours, golden_id,
                "{model_id} step {i}: top token {ours} but llama.cpp clearly chose {golden_id} ({:?})",
                step["token"]
            );
        } else {
            let near_tied: Vec<u32> = top
                .iter()
                .filter(|t| top[0].1 - t.1 <= CLEAR_MARGIN)
                .map(|t| t.0)
                .collect();
            assert!(
                near_tied.contains(&ours),
                "{model_id} step {i}: top token {ours} is none of the near-tied {near_tied:?}"
            );
        }
        let expected = step["logprob"].as_f64().unwrap();
        let actual = logprobs[golden_id as usize];
        assert!(
            (actual - expected).abs() <= LOGPROB_TOLERANCE,
            "{model_id} step {i}: log-probability of {:?} is {actual:.3}, llama.cpp {expected:.3}",
            step["token"]
        );
        logits = model.forward(&[golden_id], ids.len() + i).unwrap();
    }
}

/// Whether free-running greedy text follows llama.cpp's golden tokens until it leaves them at a
/// near-tie (llama.cpp's margin under `CLEAR_MARGIN`) for another token llama.cpp listed within
/// `CLEAR_MARGIN` of its top, the fixture's own criterion; after that the contexts differ and
/// nothing more can be compared. Text that never leaves the golden tokens follows them too.
fn leaves_golden_only_at_a_near_tie(text: &str, steps: &[Value]) -> bool {
    let mut at = 0;
    for step in steps {
        let token = step["token"].as_str().unwrap();
        if text[at..].starts_with(token) {
            at += token.len();
            continue;
        }
        let top: Vec<(&str, f64)> = step["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t[1].as_str().unwrap(), t[2].as_f64().unwrap()))
            .collect();
        let best = top[0].1;
        let margin = best - top.get(1).map_or(f64::NEG_INFINITY, |t| t.1);
        return margin < CLEAR_MARGIN
            && top.iter().any(|&(alternative, logprob)| {
                alternative != token
                    && best - logprob < CLEAR_MARGIN
                    && text[at..].starts_with(alternative)
            });
    }
    true
}

/// Greedy decoding gives one of the first sentences llama.cpp gave on the machines it was run on,
/// or leaves llama.cpp's tokens only where they were nearly tied (rounding decides those).
fn check_greedy_sentence(model_id: &str) {
    let golden = golden();
    let prompt = golden["prompt"].as_str().unwrap();
    let known: Vec<&str> = ["outputs", "outputs_seen_elsewhere"]
        .iter()
        .filter_map(|key| golden[key][model_id].as_str())
        .collect();
    let mut model = LoadedModel::load(&common::model_path(model_id)).unwrap();
    let ids = prompt_ids(&model, prompt);
    let params = GenerateParams {
        max_tokens: 40,
        ..Default::default()
    };
    let generation = generate(&mut model, &ids, &params, &CancelToken::new(), &mut |_| {}).unwrap();
    let first_sentence = match generation.text.find(". ") {
        Some(end) => &generation.text[..=end],
        None => generation.text.trim_end(),
    };
    let steps = golden["steps"][model_id].as_array().unwrap();
    assert!(
        known.contains(&first_sentence)
            || leaves_golden_only_at_a_near_tie(&generation.text, steps),
        "{model_id}: greedy first sentence {first_sentence:?} is none of {known:?}, and leaves \
         llama.cpp's tokens where they were not nearly tied"
    );
}

#[test]
fn leaving_the_golden_tokens_is_accepted_only_at_near_ties() {
    let golden = golden();
    let steps = golden["steps"]["smollm2-135m"].as_array().unwrap();
    let sentence = golden["outputs"]["smollm2-135m"].as_str().unwrap();
    assert!(leaves_golden_only_at_a_near_tie(sentence, steps));
    // Step 1 is nearly tied between " function" and " Python".
    assert!(leaves_golden_only_at_a_near_tie(
        "This Python function adds.",
        steps
    ));
    // Step 0's margin is 0.25 but " A" is not among llama.cpp's listed tokens; step 2 (" takes")
    // is clear by 0.72.
    assert!(!leaves_golden_only_at_a_near_tie(
        "A function takes two.",
        steps
    ));
    assert!(!leaves_golden_only_at_a_near_tie(
        "This function uses two.",
        steps
    ));
}

#[test]
fn smollm2_matches_llama_cpp_step_by_step() {
    check_teacher_forced(common::SMOLLM2);
}

#[test]
fn qwen_05b_matches_llama_cpp_step_by_step() {
    check_teacher_forced(common::QWEN_05B);
}

#[test]
fn smollm2_greedy_sentence_is_a_known_one() {
    check_greedy_sentence(common::SMOLLM2);
}

#[test]
fn qwen_05b_greedy_sentence_is_a_known_one() {
    check_greedy_sentence(common::QWEN_05B);
}
