//! A led answer (`Prompt::Led`) is exactly the two plain generations it stands for: the sentence
//! taken from the model's continuation of the lead, then the answer the model gives when its turn
//! is begun with that sentence. Checked against those generations run as plain chat jobs on the
//! real test model (greedy decoding, so each is deterministic).

mod common;

use std::sync::Arc;

use gloss_model::{
    AnswerComplete, CancelToken, GenerateParams, Job, JobEvent, LedChat, Message, ModelWorker,
    Priority, Prompt, StopReason,
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
        then: Some("\n- "),
        complete: None,
    }
}

struct Answer {
    text: String,
    /// What was streamed on the way.
    streamed: String,
    stop: StopReason,
    generated_tokens: usize,
}

fn answer(worker: &ModelWorker, prompt: Prompt, max_tokens: usize) -> Answer {
    answer_with(worker, prompt, max_tokens, CancelToken::new())
}

fn answer_with(
    worker: &ModelWorker,
    prompt: Prompt,
    max_tokens: usize,
    cancel: CancelToken,
) -> Answer {
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
                return Answer {
                    text: generation.text,
                    streamed,
                    stop: generation.stop_reason,
                    generated_tokens: generation.generated_tokens,
                };
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

    let lead = led(first_line).lead;
    // The led job stops its first step at the token that completes the line: find that token.
    let (lead_tokens, sentence) = (1..=24)
        .find_map(|tokens| {
            let written = answer(&worker, chat_after(&lead), tokens).text;
            first_line(&written, false).map(|sentence| (tokens, sentence))
        })
        .expect("the model writes a docstring line");
    let start = format!("{sentence}\n- ");
    // Both steps share the job's bound of 64 tokens.
    let rest = answer(&worker, chat_after(&start), 64 - lead_tokens).text;

    let led_answer = answer(&worker, Prompt::Led(led(first_line)), 64);
    assert_eq!(led_answer.text, format!("{start}{rest}"));
    assert_eq!(
        led_answer.streamed, led_answer.text,
        "what is streamed is the answer"
    );
    assert!(led_answer.generated_tokens <= 64);

    // With nothing to follow it, what was taken is the whole answer.
    let whole = LedChat {
        then: None,
        ..led(first_line)
    };
    let taken = answer(&worker, Prompt::Led(whole.clone()), 64);
    assert_eq!(
        (taken.text.as_str(), taken.stop),
        (sentence.as_str(), StopReason::EndOfTurn)
    );
    assert_eq!(taken.streamed, taken.text);
    let unled_whole = LedChat {
        take: never,
        ..whole
    };
    assert_eq!(
        answer(&worker, Prompt::Led(unled_whole), 64).text,
        answer(&worker, Prompt::Chat(messages()), 64).text
    );

    // No sentence taken: the conversation is answered as if there had been no lead.
    let plain = answer(&worker, Prompt::Chat(messages()), 64).text;
    let unled = answer(&worker, Prompt::Led(led(never)), 64).text;
    assert_eq!(unled, plain);

    // A job cancelled before it runs says nothing.
    let cancel = CancelToken::new();
    cancel.cancel();
    let cancelled = answer_with(&worker, Prompt::Led(led(first_line)), 64, cancel);
    assert_eq!(
        (
            cancelled.text.as_str(),
            cancelled.streamed.as_str(),
            cancelled.stop
        ),
        ("", "", StopReason::Cancelled)
    );
    worker.shutdown();
}

#[test]
fn a_led_answer_found_complete_ends_with_the_line_that_completed_it() {
    let worker = ModelWorker::spawn(common::model_path(common::SMOLLM2));
    worker.wait_ready().expect("the test model loads");
    let whole = answer(&worker, Prompt::Led(led(first_line)), 96);
    // The line after the led sentence (the first bullet, `- ` included) completes the answer.
    let sentence_end = whole
        .text
        .find('\n')
        .expect("the answer goes on after its sentence")
        + 1;
    let first_bullet_end = sentence_end
        + whole.text[sentence_end..]
            .find('\n')
            .expect("the model writes more than one line")
        + 1;
    let expected = whole.text[..first_bullet_end].to_owned();

    let judged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = judged.clone();
    let complete = AnswerComplete(Arc::new(move |so_far: &str| {
        seen.lock().unwrap().push(so_far.to_owned());
        so_far.matches('\n').count() >= 2
    }));
    let ended = answer(
        &worker,
        Prompt::Led(LedChat {
            complete: Some(complete),
            ..led(first_line)
        }),
        96,
    );
    assert_eq!(ended.text, expected);
    assert_eq!(
        ended.streamed, ended.text,
        "nothing past the end is streamed"
    );
    assert_eq!(ended.stop, StopReason::EndOfTurn);
    assert!(
        ended.generated_tokens < whole.generated_tokens,
        "{} tokens, not fewer than the whole answer's {}",
        ended.generated_tokens,
        whole.generated_tokens
    );
    let judged = judged.lock().unwrap();
    assert!(
        judged.iter().all(|so_far| so_far.ends_with('\n')),
        "only complete lines are judged: {judged:?}"
    );
    assert_eq!(judged.last(), Some(&expected));
    worker.shutdown();
}

#[test]
fn a_rendered_led_prompt_says_how_its_answer_goes_on() {
    let continued = Prompt::Led(led(first_line)).render();
    assert!(
        continued.contains(r#"continued from that sentence and "\n- "]"#),
        "{continued}"
    );
    let whole = Prompt::Led(LedChat {
        then: None,
        ..led(first_line)
    })
    .render();
    assert!(
        whole.ends_with("[then the comment written above, taken whole, is the answer]\n"),
        "{whole}"
    );
}
