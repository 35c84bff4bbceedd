//! The model thread: one OS thread owns the model and serves a priority queue of generation jobs.
//!
//! Inference never runs on the caller's (async) runtime. Each job carries its own reply channel and
//! cancellation token; load success or failure is published once and every job learns of it.

use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::cancel::CancelToken;
use crate::chat::{Message, encode_chatml, render_chatml};
use crate::engine::{LoadedModel, ModelInfo};
use crate::error::ModelError;
use crate::generate::{DraftStats, GenerateParams, Generation, StopReason, generate};
use crate::tokenizer::Tokenizer;

/// Who is waiting: an explicit command beats a hover, and a hover beats background prefetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Prefetch,
    Hover,
    Command,
}

#[derive(Clone, Debug)]
pub enum Prompt {
    /// A ChatML conversation for the assistant to continue.
    Chat(Vec<Message>),
    /// A conversation whose answer opens with a sentence the model writes first in another form.
    Led(LedChat),
    /// Raw token ids, used by benchmarks.
    Tokens(Vec<u32>),
}

impl Prompt {
    /// The conversation, for backends that take messages (a lead is a refinement they may skip).
    pub fn messages(&self) -> Option<&[Message]> {
        match self {
            Prompt::Chat(messages) => Some(messages),
            Prompt::Led(led) => Some(&led.messages),
            Prompt::Tokens(_) => None,
        }
    }

    /// The prompt as text, exactly as the model reads it, for `--dry-run` and for running the
    /// same request through another engine. A led prompt shows its first step and then says how
    /// the answer continues.
    pub fn render(&self) -> String {
        match self {
            Prompt::Chat(messages) => render_chatml(messages),
            Prompt::Led(led) => {
                let mut leading = led.messages.clone();
                leading.push(Message::assistant(led.lead.clone()));
                let after = match led.then {
                    Some(then) => format!(
                        "then the first sentence written above opens the answer: the same \
conversation, its answer continued from that sentence and {then:?}"
                    ),
                    None => "then the comment written above, taken whole, is the answer".into(),
                };
                format!("{}\n\n[{after}]\n", render_chatml(&leading))
            }
            Prompt::Tokens(ids) => format!("{ids:?}"),
        }
    }
}

/// Finds the wanted sentence in the text written so far; the flag says the text is complete.
pub type TakeSentence = fn(&str, bool) -> Option<String>;

/// A conversation answered in two steps. A small model writes a better one-sentence summary as the
/// first line of a doc comment, the form it has seen most, than when asked for one in prose; so
/// the answer is first begun as the code's doc comment (`lead`), the sentence the model writes there
/// is taken, and the real answer is then generated with that sentence as its start. The second
/// step re-uses the cached prompt, so the lead costs only its own few tokens.
#[derive(Clone, Debug)]
pub struct LedChat {
    pub messages: Vec<Message>,
    /// The start of the first answer, for the model to continue (a doc comment's opening).
    pub lead: String,
    /// Tokens the first step may generate.
    pub lead_max_tokens: usize,
    /// The wanted sentence, once the text written after `lead` holds it whole; the flag says the
    /// first step has ended, so whatever is there is all there will be.
    pub take: TakeSentence,
    /// What follows the sentence at the start of the real answer; `None` when what `take`
    /// returns is the whole answer (a doc comment taken whole from the lead's continuation).
    pub then: Option<&'static str>,
    /// Whether the answer's complete lines so far hold all that its reader will be shown; the
    /// answer then ends there, as if the model had ended its turn.
    pub complete: Option<AnswerComplete>,
}

/// Tells, from the complete lines of an answer so far (the lead's sentence included), that more
/// text could not change what the reader is shown: a hover keeps a summary and a few bullets,
/// and a small model writes on well past them.
#[derive(Clone)]
pub struct AnswerComplete(pub Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl std::fmt::Debug for AnswerComplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnswerComplete(..)")
    }
}

#[derive(Clone, Debug)]
pub struct Job {
    pub prompt: Prompt,
    pub params: GenerateParams,
    pub priority: Priority,
    pub cancel: CancelToken,
}

#[derive(Debug)]
pub enum JobEvent {
    /// The job left the queue and its prompt was encoded.
    Started { prompt_tokens: usize },
    /// A piece of the answer, complete UTF-8.
    Text(String),
    /// The last event of every job.
    Finished(Result<Generation, ModelError>),
}

/// The tokenizer and metadata of a model that loaded; cheap to clone and usable from any thread.
#[derive(Clone)]
pub struct ReadyModel {
    pub info: ModelInfo,
    pub tokenizer: Arc<Tokenizer>,
}

#[derive(Clone)]
pub enum LoadState {
    Loading,
    Ready(ReadyModel),
    Failed(String),
}

struct Queued {
    job: Job,
    events: Sender<JobEvent>,
    /// Arrival order, so equal priorities are served first come, first served.
    sequence: u64,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.job
            .priority
            .cmp(&other.job.priority)
            .then_with(|| other.sequence.cmp(&self.sequence))
    }
}

enum Command {
    Run(Box<Queued>),
    Shutdown,
}

struct Shared {
    state: Mutex<LoadState>,
    changed: Condvar,
}

pub struct ModelWorker {
    commands: Sender<Command>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_sequence: std::sync::atomic::AtomicU64,
}

impl ModelWorker {
    /// Starts the model thread, which loads `path` and then serves jobs. Returns at once: jobs
    /// submitted while the model loads wait for it.
    pub fn spawn(path: PathBuf) -> Self {
        Self::spawn_with_threads(path, None)
    }

    /// Like [`ModelWorker::spawn`], with `threads` compute threads for the model (`None`: the
    /// default). Each worker has its own pool, so a new thread count takes effect with a new worker.
    pub fn spawn_with_threads(path: PathBuf, threads: Option<usize>) -> Self {
        let (commands, receiver) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            state: Mutex::new(LoadState::Loading),
            changed: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gloss-model".into())
            .spawn(move || run_model_thread(path, threads, receiver, thread_shared))
            .expect("the OS refused to start the model thread");
        Self {
            commands,
            shared,
            thread: Mutex::new(Some(thread)),
            next_sequence: Default::default(),
        }
    }

    pub fn state(&self) -> LoadState {
        lock(&self.shared.state).clone()
    }

    /// Blocks until the model has loaded or failed to.
    pub fn wait_ready(&self) -> Result<ReadyModel, ModelError> {
        let mut state = lock(&self.shared.state);
        loop {
            match &*state {
                LoadState::Loading => {
                    state = self
                        .shared
                        .changed
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                LoadState::Ready(ready) => return Ok(ready.clone()),
                LoadState::Failed(reason) => return Err(ModelError::Unavailable(reason.clone())),
            }
        }
    }

    /// Queues a job; its events arrive on the returned channel, always ending with `Finished`.
    pub fn submit(&self, job: Job) -> Receiver<JobEvent> {
        let (events, receiver) = crossbeam_channel::unbounded();
        let sequence = self
            .next_sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let queued = Box::new(Queued {
            job,
            events,
            sequence,
        });
        if let Err(crossbeam_channel::SendError(Command::Run(queued))) =
            self.commands.send(Command::Run(queued))
        {
            let _ = queued
                .events
                .send(JobEvent::Finished(Err(ModelError::Unavailable(
                    "the model thread has stopped".into(),
                ))));
        }
        receiver
    }

    /// Stops the thread after the job it is running (cancel that job first to stop sooner) and
    /// joins it. Jobs still queued are answered as unavailable.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ModelWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn publish(shared: &Shared, state: LoadState) {
    *lock(&shared.state) = state;
    shared.changed.notify_all();
}

fn run_model_thread(
    path: PathBuf,
    threads: Option<usize>,
    commands: Receiver<Command>,
    shared: Arc<Shared>,
) {
    let mut model = match LoadedModel::load_with_threads(&path, threads) {
        Ok(model) => {
            tracing::info!(
                path = %path.display(),
                seconds = model.info().load_seconds,
                "model loaded"
            );
            publish(
                &shared,
                LoadState::Ready(ReadyModel {
                    info: model.info().clone(),
                    tokenizer: model.tokenizer().clone(),
                }),
            );
            Some(model)
        }
        Err(error) => {
            tracing::error!(%error, "model failed to load");
            publish(&shared, LoadState::Failed(error.to_string()));
            None
        }
    };

    let mut queue = BinaryHeap::new();
    let mut shutting_down = false;
    loop {
        // Take everything that arrived, so the most urgent job runs next, not the oldest.
        while let Ok(command) = commands.try_recv() {
            match command {
                Command::Run(queued) => queue.push(*queued),
                Command::Shutdown => shutting_down = true,
            }
        }
        if shutting_down {
            break;
        }
        let Some(queued) = queue.pop() else {
            // Nothing waits: the moment to give back what the last long prompt touched.
            if let Some(model) = model.as_mut() {
                model.release_idle_memory();
            }
            match commands.recv() {
                Ok(Command::Run(queued)) => queue.push(*queued),
                Ok(Command::Shutdown) | Err(_) => break,
            }
            continue;
        };
        let outcome = match model.as_mut() {
            Some(model) => run_job(model, &queued),
            None => Err(ModelError::Unavailable(match &*lock(&shared.state) {
                LoadState::Failed(reason) => reason.clone(),
                _ => "the model did not load".into(),
            })),
        };
        let _ = queued.events.send(JobEvent::Finished(outcome));
    }
    for queued in queue.drain() {
        let _ = queued
            .events
            .send(JobEvent::Finished(Err(ModelError::Unavailable(
                "gloss is shutting down".into(),
            ))));
    }
}

fn run_job(model: &mut LoadedModel, queued: &Queued) -> Result<Generation, ModelError> {
    let job = &queued.job;
    let prompt = match &job.prompt {
        Prompt::Chat(messages) => encode_chatml(model.tokenizer(), model.bos(), messages)
            .map_err(ModelError::Inference)?,
        Prompt::Led(led) => return run_led_job(model, queued, led),
        Prompt::Tokens(ids) => ids.clone(),
    };
    if job.cancel.is_cancelled() {
        return Ok(Generation::empty(prompt.len(), StopReason::Cancelled));
    }
    let _ = queued.events.send(JobEvent::Started {
        prompt_tokens: prompt.len(),
    });
    guarded(|| {
        generate(model, &prompt, &job.params, &job.cancel, &mut |text| {
            let _ = queued.events.send(JobEvent::Text(text.to_owned()));
        })
    })
}

fn run_led_job(
    model: &mut LoadedModel,
    queued: &Queued,
    led: &LedChat,
) -> Result<Generation, ModelError> {
    let job = &queued.job;
    let mut leading = led.messages.clone();
    leading.push(Message::assistant(led.lead.clone()));
    let prompt =
        encode_chatml(model.tokenizer(), model.bos(), &leading).map_err(ModelError::Inference)?;
    if job.cancel.is_cancelled() {
        return Ok(Generation::empty(prompt.len(), StopReason::Cancelled));
    }
    let _ = queued.events.send(JobEvent::Started {
        prompt_tokens: prompt.len(),
    });
    // The first step stops as soon as the sentence is whole, or when the job is cancelled.
    let step_done = job.cancel.child();
    let mut written = String::new();
    let mut sentence = None;
    // The two steps share the job's token bound, so a led answer is no longer than a plain one.
    let params = GenerateParams {
        max_tokens: led.lead_max_tokens.min(job.params.max_tokens),
        ..job.params.clone()
    };
    let first = guarded(|| {
        generate(model, &prompt, &params, &step_done, &mut |text| {
            written.push_str(text);
            if sentence.is_none() {
                sentence = (led.take)(&written, false);
            }
            if sentence.is_some() {
                step_done.cancel();
            }
        })
    })?;
    if job.cancel.is_cancelled() {
        return Ok(Generation {
            text: String::new(),
            ..first
        });
    }
    let sentence = sentence.or_else(|| (led.take)(&written, true));
    let start = match (led.then, sentence) {
        // The comment is done, and so is the answer.
        (None, Some(whole)) => {
            let _ = queued.events.send(JobEvent::Text(whole.clone()));
            return Ok(Generation {
                text: whole,
                stop_reason: StopReason::EndOfTurn,
                ..first
            });
        }
        (Some(then), Some(sentence)) => Some(format!("{sentence}{then}")),
        (_, None) => None,
    };
    let mut answering = led.messages.clone();
    if let Some(start) = &start {
        answering.push(Message::assistant(start.clone()));
        let _ = queued.events.send(JobEvent::Text(start.clone()));
    }
    let prompt =
        encode_chatml(model.tokenizer(), model.bos(), &answering).map_err(ModelError::Inference)?;
    // The sentence is part of the answer, so it counts against the answer's bound; a lead that
    // gave none left nothing in the answer.
    let spent = if start.is_some() {
        first.generated_tokens
    } else {
        0
    };
    let answer_params = GenerateParams {
        max_tokens: job.params.max_tokens.saturating_sub(spent),
        ..job.params.clone()
    };
    let answer_done = job.cancel.child();
    let mut answer = start.clone().unwrap_or_default();
    // Where the answer was found complete: the end of its last complete line then.
    let mut complete_at = None;
    let mut second = if answer_params.max_tokens == 0 {
        Generation::empty(0, StopReason::MaxTokens)
    } else {
        guarded(|| {
            generate(model, &prompt, &answer_params, &answer_done, &mut |text| {
                if complete_at.is_some() {
                    return;
                }
                answer.push_str(text);
                let mut streamed = text;
                if text.contains('\n')
                    && let Some(complete) = &led.complete
                {
                    let lines_end = answer.rfind('\n').map_or(0, |newline| newline + 1);
                    if (complete.0)(&answer[..lines_end]) {
                        complete_at = Some(lines_end);
                        answer_done.cancel();
                        // What is streamed stays the answer: nothing after its end.
                        streamed = &text[..text.len() - (answer.len() - lines_end)];
                    }
                }
                let _ = queued.events.send(JobEvent::Text(streamed.to_owned()));
            })
        })?
    };
    // Not `answer`, which holds what was streamed: a loop's start was streamed before the token
    // loop cut it from `second.text`.
    let mut text = format!("{}{}", start.unwrap_or_default(), second.text);
    if let Some(end) = complete_at
        && !job.cancel.is_cancelled()
    {
        text.truncate(end);
        second.stop_reason = StopReason::EndOfTurn;
    }
    Ok(Generation {
        text,
        prompt_tokens: first.prompt_tokens + second.prompt_tokens,
        generated_tokens: first.generated_tokens + second.generated_tokens,
        prefill_seconds: first.prefill_seconds + second.prefill_seconds,
        generate_seconds: first.generate_seconds + second.generate_seconds,
        reused_prompt_tokens: first.reused_prompt_tokens + second.reused_prompt_tokens,
        draft: DraftStats {
            verify_steps: first.draft.verify_steps + second.draft.verify_steps,
            drafted: first.draft.drafted + second.draft.drafted,
            accepted: first.draft.accepted + second.draft.accepted,
        },
        ..second
    })
}

/// A panic inside candle must cost this job, not the thread that every later job needs.
fn guarded(
    step: impl FnOnce() -> Result<Generation, ModelError>,
) -> Result<Generation, ModelError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
        .unwrap_or_else(|_| Err(ModelError::Inference("the forward pass panicked".into())))
}
