//! A led answer (`Prompt::Led`) is exactly the two plain generations it stands for: the sentence
//! taken from the model's continuation of the lead, then the answer the model gives when its turn
//! is begun with that sentence. Checked against those generations run as plain chat jobs on the
//! real test model (greedy decoding, so each is deterministic).

mod common;

use gloss_model::{
    CancelToken, GenerateParams, Job, JobEvent, LedChat, Message, ModelWorker, Priority, Prompt,
    StopReason,
};

const CODE: &str = "def total(values, start=0):\n    result = start\n    for value in values:\n        result += value\n    return result";

fn messages() -> Vec<Message> {
    vec![
        Message::system("You explain code."),
        Message::user(format!(
            "Explain the Python function `total`.\n\n```python\n{CODE}\n```\n\nAnswer in one sentence, then bullets."
        )),
    ]
}

/// The first non-empty line the model completes, once it is whole.
fn first_line(written: &str, finished: bool) -> Option<String> {
    let written = written.trim_start();
    let line = match written.split_once('\n') {
        Some((line, _)) => line,
        None if finished => written,
        None => return None,
    };
    let line = line.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

fn never(_: &str, _: bool) -> Option<String> {
    None
}

fn led(take: fn(&str, bool) -> Option<String>) -> LedChat {
    LedChat {
        messages: messages(),
        lead: "```python\ndef total(values, start=0):\n    \"\"\"".into(),
        lead_max_tokens: 24,
        take,
        then: "\n- ",
    }
}

/// The answer's text, the text streamed on the way, and how it ended.
fn answer(worker: &ModelWorker, prompt: Prompt, max_tokens: usize) -> (String, String, StopReason) {
    answer_with(worker, prompt, max_tokens, CancelToken::new())
}

fn answer_with(
    worker: &ModelWorker,
    prompt: Prompt,
    max_tokens: usize,
    cancel: CancelToken,
) -> (String, String, StopReason) {
    let events = worker.submit(Job {
        prompt,
        params: GenerateParams {
            max_tokens,
            ..GenerateParams::default()
        },
        priority: Priority::Command,
        cancel,
    });
    let mut streamed = String::new();
    loop {
        match events.recv().expect("the model thread answers every job") {
            JobEvent::Text(piece) => streamed.push_str(&piece),
            JobEvent::Finished(outcome) => {
                let generation = outcome.expect("generation succeeds");
                return (generation.text, streamed, generation.stop_reason);
            }
            JobEvent::Started { .. } => {}
        }
    }
}

#[test]
fn a_led_answer_is_the_taken_sentence_then_the_answer_continued_from_it() {
    let worker = ModelWorker::spawn(common::model_path(common::SMOLLM2));
    worker.wait_ready().expect("the test model loads");
    let chat_after = |start: &str| {
        let mut messages = messages();
        messages.push(Message::assistant(start));
        Prompt::Chat(messages)
    };

    let (lead_text, _, _) = answer(&worker, chat_after(&led(first_line).lead), 24);
    let sentence = first_line(&lead_text, true).expect("the model writes a docstring line");
    let start = format!("{sentence}\n- ");
    let (rest, _, _) = answer(&worker, chat_after(&start), 64);

    let (text, streamed, _) = answer(&worker, Prompt::Led(led(first_line)), 64);
    assert_eq!(text, format!("{start}{rest}"));
    assert_eq!(streamed, text, "what is streamed is the answer");

    // No sentence taken: the conversation is answered as if there had been no lead.
    let (plain, _, _) = answer(&worker, Prompt::Chat(messages()), 64);
    let (unled, _, _) = answer(&worker, Prompt::Led(led(never)), 64);
    assert_eq!(unled, plain);

    // A job cancelled before it runs says nothing.
    let cancel = CancelToken::new();
    cancel.cancel();
    let (text, streamed, stop) = answer_with(&worker, Prompt::Led(led(first_line)), 64, cancel);
    assert_eq!(
        (text.as_str(), streamed.as_str(), stop),
        ("", "", StopReason::Cancelled)
    );
    worker.shutdown();
}
