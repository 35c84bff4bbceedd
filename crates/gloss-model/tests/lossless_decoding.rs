//! Prefix reuse, prompt-lookup drafting and the thread count change how much work a generation
//! costs or how it is spread, never what it says: greedy answers must be token-for-token those of
//! plain single-threaded decoding from an empty cache.

mod common;

use gloss_model::chat::encode_chatml;
use gloss_model::{CancelToken, GenerateParams, LoadedModel, Message, generate};

const CODE: &str = r#"def copy_stream(source, target, chunk_size=65536):
    total = 0
    while True:
        chunk = source.read(chunk_size)
        if not chunk:
            break
        target.write(chunk)
        total += len(chunk)
    return total"#;

fn prompt(model: &LoadedModel, instruction: &str) -> Vec<u32> {
    let messages = [
        Message::system("You explain code. Quote names from the code in backticks."),
        Message::user(format!("{instruction}\n```python\n{CODE}\n```")),
    ];
    encode_chatml(model.tokenizer(), model.bos(), &messages).unwrap()
}

fn run(model: &mut LoadedModel, prompt: &[u32], draft_tokens: usize) -> gloss_model::Generation {
    let params = GenerateParams {
        max_tokens: 96,
        draft_tokens,
        ..GenerateParams::default()
    };
    generate(model, prompt, &params, &CancelToken::new(), &mut |_| {}).unwrap()
}

fn check(model_id: &str) {
    let path = common::model_path(model_id);
    let instructions = [
        "Explain `copy_stream`, quoting its parameters.",
        "Explain `copy_stream` briefly, in one sentence.",
        "Explain `copy_stream`, quoting its parameters.",
    ];
    // The reference: a fresh model for each prompt, one token per pass, on one thread (the thread
    // count splits work by rows and must not change a single logit).
    let expected: Vec<String> = instructions
        .iter()
        .map(|instruction| {
            let mut fresh = LoadedModel::load_with_threads(&path, Some(1)).unwrap();
            let ids = prompt(&fresh, instruction);
            run(&mut fresh, &ids, 0).text
        })
        .collect();
    // One model serving the prompts in turn, drafting: later prompts reuse the shared prefix.
    let mut model = LoadedModel::load(&path).unwrap();
    let mut accepted = 0;
    for (i, instruction) in instructions.iter().enumerate() {
        let ids = prompt(&model, instruction);
        let generation = run(&mut model, &ids, 3);
        assert_eq!(
            generation.text, expected[i],
            "{model_id}: prompt {i} changed"
        );
        if i > 0 {
            assert!(
                generation.reused_prompt_tokens > 10,
                "{model_id}: prompt {i} reused only {} tokens",
                generation.reused_prompt_tokens
            );
        }
        accepted += generation.draft.accepted;
    }
    // Explanations of this code quote it: some drafts must have been right.
    assert!(
        accepted > 0,
        "{model_id}: no drafted token was ever accepted"
    );
}

#[test]
fn smollm2_answers_are_unchanged() {
    check(common::SMOLLM2);
}

#[test]
fn qwen_answers_are_unchanged() {
    check(common::QWEN_05B);
}
