//! A generation that falls into a loop ends there, without the repetition, on the real test model:
//! begun with a run of empty bullets, greedy decoding goes on writing `- ` to the token bound.

mod common;

use gloss_model::chat::encode_chatml;
use gloss_model::{CancelToken, GenerateParams, LoadedModel, Message, StopReason, generate};

const BOUND: usize = 160;

fn looping_prompt(model: &LoadedModel) -> Vec<u32> {
    let messages = [
        Message::system("You explain code."),
        Message::user("Explain `def sniff(sample): return Dialect(sample)` as bullets."),
        Message::assistant("Sniffs a sample and returns a dialect.\n\n- - - - - - - - - - - -"),
    ];
    encode_chatml(model.tokenizer(), model.bos(), &messages).expect("the prompt encodes")
}

#[test]
fn a_looping_answer_ends_where_its_repetition_began() {
    let mut model = LoadedModel::load(&common::model_path(common::SMOLLM2)).unwrap();
    let prompt = looping_prompt(&model);
    let run = |model: &mut LoadedModel, stop_at_loops| {
        let params = GenerateParams {
            max_tokens: BOUND,
            stop_at_loops,
            ..GenerateParams::default()
        };
        let mut streamed = String::new();
        let generation = generate(model, &prompt, &params, &CancelToken::new(), &mut |piece| {
            streamed.push_str(piece)
        })
        .expect("generation runs");
        (generation, streamed)
    };

    let (unguarded, _) = run(&mut model, false);
    assert_eq!(unguarded.stop_reason, StopReason::MaxTokens);
    assert!(
        unguarded.text.trim_end().ends_with("- - - - - -"),
        "the model no longer loops on this prompt: {:?}",
        unguarded.text
    );

    let (guarded, streamed) = run(&mut model, true);
    assert_eq!(guarded.stop_reason, StopReason::Loop, "{:?}", guarded.text);
    assert!(
        guarded.generated_tokens < BOUND / 2,
        "{} tokens generated before the loop was noticed",
        guarded.generated_tokens
    );
    assert!(
        unguarded.text.starts_with(&guarded.text),
        "the text is the unguarded one's start: {:?} / {:?}",
        guarded.text,
        unguarded.text
    );
    assert!(
        guarded.text.matches('-').count() <= 2,
        "the repetition is cut, its cycle kept once at most: {:?}",
        guarded.text
    );
    assert!(streamed.starts_with(&guarded.text));
}
