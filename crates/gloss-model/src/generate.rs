//! The token loop: prefill the prompt, then pick, stream and stop, one token at a time.

use std::time::Instant;

use candle_core::Tensor;
use candle_transformers::generation::{LogitsProcessor, Sampling as CandleSampling};

use crate::cancel::CancelToken;
use crate::engine::LoadedModel;
use crate::error::ModelError;
use crate::tokenizer::StreamDecoder;

/// How the next token is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// Always the most likely token: the same input gives the same explanation, which the cache relies on.
    Greedy,
    /// Temperature and nucleus sampling, reproducible through the seed.
    Random {
        temperature: f64,
        top_p: f64,
        seed: u64,
    },
}

/// Tokens drafted per step by prompt lookup, by default. A pass over three tokens costs about 1.2
/// single-token passes (decoding is bound by memory traffic, which a pass pays once whatever its
/// tokens), explanations quote their code often enough, and `DraftBackoff` stops drafting through
/// stretches that do not: 1.09x faster end to end on the 30 dev cases than no drafting, and 3 or 4
/// drafted tokens were slower than 2 (docs/performance.md). Greedy output is the same.
pub const DEFAULT_DRAFT_TOKENS: usize = 2;

#[derive(Clone, Debug)]
pub struct GenerateParams {
    pub max_tokens: usize,
    pub sampling: Sampling,
    /// Tokens to draft from the prompt and verify in one pass (greedy decoding on the fast engine
    /// only; 0 turns drafting off). The output is the same either way.
    pub draft_tokens: usize,
    /// End a generation that has fallen into a loop (see `repetition_start`), without the
    /// repetition.
    pub stop_at_loops: bool,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            sampling: Sampling::Greedy,
            draft_tokens: DEFAULT_DRAFT_TOKENS,
            stop_at_loops: true,
        }
    }
}

/// How prompt-lookup drafting went in one generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DraftStats {
    /// Forward passes over the decoded token plus a draft.
    pub verify_steps: usize,
    pub drafted: usize,
    pub accepted: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    MaxTokens,
    Cancelled,
    /// The model's context window is full.
    ContextFull,
    /// The model was repeating itself token for token; the text ends where the repetition began.
    Loop,
}

#[derive(Clone, Debug)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_seconds: f64,
    pub generate_seconds: f64,
    pub stop_reason: StopReason,
    /// Prompt tokens whose prefill was skipped because the cache already held them.
    pub reused_prompt_tokens: usize,
    pub draft: DraftStats,
}

impl Generation {
    /// A generation that produced nothing (cancelled before it began).
    pub fn empty(prompt_tokens: usize, stop_reason: StopReason) -> Self {
        Self {
            text: String::new(),
            prompt_tokens,
            generated_tokens: 0,
            prefill_seconds: 0.0,
            generate_seconds: 0.0,
            stop_reason,
            reused_prompt_tokens: 0,
            draft: DraftStats::default(),
        }
    }
}

/// Generates a continuation of `prompt`, calling `on_text` with each piece of complete UTF-8 text
/// as soon as it exists. Cancellation is honoured before the prefill and between any two tokens.
///
/// Two things make it cheaper than one forward pass per token, without changing a greedy answer:
/// the prompt's prefix that the cache still holds from the previous request (the system prompt and
/// instructions) is not prefilled again, and tokens are drafted by looking up the latest n-gram in
/// the prompt and the answer so far (explanations quote the code), then verified in one pass.
pub fn generate(
    model: &mut LoadedModel,
    prompt: &[u32],
    params: &GenerateParams,
    cancel: &CancelToken,
    on_text: &mut dyn FnMut(&str),
) -> Result<Generation, ModelError> {
    let context_length = model.info().context_length;
    if prompt.len() >= context_length {
        return Err(ModelError::PromptTooLong {
            prompt_tokens: prompt.len(),
            context_length,
        });
    }
    let mut generation = Generation::empty(prompt.len(), StopReason::Cancelled);
    if cancel.is_cancelled() || prompt.is_empty() {
        return Ok(generation);
    }
    let mut sampler = match params.sampling {
        Sampling::Greedy => LogitsProcessor::from_sampling(0, CandleSampling::ArgMax),
        Sampling::Random {
            temperature,
            top_p,
            seed,
        } => LogitsProcessor::from_sampling(
            seed,
            CandleSampling::TopP {
                p: top_p,
                temperature,
            },
        ),
    };
    let drafting = params.draft_tokens > 0
        && params.sampling == Sampling::Greedy
        && model.supports_batched_logits();
    let tokenizer = model.tokenizer().clone();
    let stop_ids = tokenizer.stop_ids();
    let mut decoder = StreamDecoder::new(&tokenizer);

    let prefill_started = Instant::now();
    let reused = model.reusable_prefix(prompt);
    generation.reused_prompt_tokens = reused;
    let mut logits = model.forward(&prompt[reused..], reused)?;
    generation.prefill_seconds = prefill_started.elapsed().as_secs_f64();

    let decode_started = Instant::now();
    // Prompt and answer so far: where drafts are looked up.
    let mut history = prompt.to_vec();
    let mut position = prompt.len();
    // Tokens verified by the last batched pass, waiting to be emitted, with the logits after each.
    let mut verified: std::collections::VecDeque<(u32, Vec<f32>)> = Default::default();
    let mut backoff = DraftBackoff::default();
    // The text's length before each generated token, to cut a loop off where it began.
    let mut text_before = Vec::new();
    generation.stop_reason = loop {
        if generation.generated_tokens >= params.max_tokens {
            break StopReason::MaxTokens;
        }
        if cancel.is_cancelled() {
            break StopReason::Cancelled;
        }
        // A token the last pass verified is in the cache already, with the logits after it.
        let (next, cached) = match verified.pop_front() {
            Some((token, after)) => {
                logits = after;
                (token, true)
            }
            None => (
                sampler.sample(&Tensor::new(logits.as_slice(), &candle_core::Device::Cpu)?)?,
                false,
            ),
        };
        if stop_ids.contains(&next) {
            break StopReason::EndOfTurn;
        }
        generation.generated_tokens += 1;
        history.push(next);
        text_before.push(generation.text.len());
        if params.stop_at_loops
            && let Some(repeated) = repetition_start(&history[prompt.len()..])
        {
            generation.text.truncate(text_before[repeated]);
            break StopReason::Loop;
        }
        // A stray control token (a second `<|im_start|>`, say) is template markup, never answer text.
        if !tokenizer.is_special(next)
            && let Some(piece) = decoder.push(next)
        {
            generation.text.push_str(&piece);
            on_text(&piece);
        }
        if generation.generated_tokens >= params.max_tokens {
            break StopReason::MaxTokens;
        }
        if position + 1 >= context_length {
            break StopReason::ContextFull;
        }
        if cached {
            position += 1;
            continue;
        }
        let room = (params.max_tokens - generation.generated_tokens)
            .min(context_length - position - 1)
            .saturating_sub(1);
        let draft = if drafting && backoff.should_draft() {
            lookup_draft(&history, params.draft_tokens.min(room))
        } else {
            Vec::new()
        };
        if draft.is_empty() {
            logits = model.forward(&[next], position)?;
            position += 1;
            continue;
        }
        // One pass over `next` and the draft; row i holds the logits after token i.
        let mut batch = Vec::with_capacity(draft.len() + 1);
        batch.push(next);
        batch.extend_from_slice(&draft);
        let rows = model.forward_rows(&batch, position, batch.len())?;
        let vocab = rows.len() / batch.len();
        generation.draft.verify_steps += 1;
        generation.draft.drafted += draft.len();
        let mut rows = rows.chunks_exact(vocab);
        logits = rows.next().expect("one row per token").to_vec();
        position += 1;
        // Accept drafted tokens while each is what greedy decoding picks at its place.
        let mut expected = argmax(&logits);
        for (&token, after) in draft.iter().zip(rows) {
            if token != expected {
                break;
            }
            generation.draft.accepted += 1;
            verified.push_back((token, after.to_vec()));
            expected = argmax(after);
        }
        backoff.record(!verified.is_empty());
        // Rejected drafts leave stale cache entries beyond the verified tokens.
        model.truncate_cache(position + verified.len());
    };
    // A loop's last token may have left bytes in the decoder; the loop is not part of the text.
    if generation.stop_reason != StopReason::Loop
        && let Some(rest) = decoder.finish()
    {
        generation.text.push_str(&rest);
        on_text(&rest);
    }
    generation.generate_seconds = decode_started.elapsed().as_secs_f64();
    Ok(generation)
}

/// Tokens a repeated cycle must fill before the answer counts as looping.
const LOOP_MIN_TOKENS: usize = 48;
/// The longest cycle looked for: a short phrase, or a bullet marker with nothing after it.
const LOOP_MAX_PERIOD: usize = 16;

/// Where `generated` began to repeat itself, if it ends in a loop: its last `LOOP_MIN_TOKENS`
/// tokens or more repeat a cycle of at most `LOOP_MAX_PERIOD` tokens. The index is that of the
/// first token that repeats the cycle, so the cycle itself is kept once. A greedy small model that
/// starts to repeat itself this way (`- - - -`, the same clause again and again) never stops
/// before the token bound, and nothing in the repetition is worth reading.
fn repetition_start(generated: &[u32]) -> Option<usize> {
    let len = generated.len();
    if len < LOOP_MIN_TOKENS {
        return None;
    }
    let tail = &generated[len - LOOP_MIN_TOKENS..];
    let period =
        (1..=LOOP_MAX_PERIOD).find(|&p| tail[p..].iter().zip(tail).all(|(a, b)| a == b))?;
    // The loop goes back as far as each token equals the one a period later.
    let mut start = len - LOOP_MIN_TOKENS;
    while start > 0 && generated[start - 1] == generated[start - 1 + period] {
        start -= 1;
    }
    Some(start + period)
}

/// When to draft: a rejected draft costs most of a pass for nothing, and rejections come in runs
/// (prose that paraphrases rather than quotes), so after each rejection drafting pauses for twice
/// as many steps as the last pause, up to `MAX_PAUSE`; an accepted draft ends the pause.
#[derive(Default)]
struct DraftBackoff {
    pause: usize,
    wait: usize,
}

impl DraftBackoff {
    const MAX_PAUSE: usize = 16;

    /// Whether this step may draft (counts down a pause).
    fn should_draft(&mut self) -> bool {
        if self.wait > 0 {
            self.wait -= 1;
            return false;
        }
        true
    }

    /// The outcome of a verified draft: whether any drafted token was accepted.
    fn record(&mut self, accepted: bool) {
        self.pause = if accepted {
            0
        } else {
            (self.pause * 2).clamp(1, Self::MAX_PAUSE)
        };
        self.wait = self.pause;
    }
}

/// The tokens that followed the latest earlier occurrence of the history's last n-gram (longest n
/// first), at most `max` of them.
fn lookup_draft(history: &[u32], max: usize) -> Vec<u32> {
    const MAX_NGRAM: usize = 3;
    // A single repeated token predicts poorly (0.6 accepted per pass on the dev set against 0.9
    // from two-token matches), and every rejected draft still costs its share of the pass.
    const MIN_NGRAM: usize = 2;
    if max == 0 {
        return Vec::new();
    }
    for n in (MIN_NGRAM..=MAX_NGRAM.min(history.len().saturating_sub(1))).rev() {
        let tail = &history[history.len() - n..];
        // Latest match first: the answer's own recent wording predicts best.
        for start in (0..history.len() - n).rev() {
            if &history[start..start + n] == tail {
                let from = start + n;
                let to = (from + max).min(history.len());
                if from < to {
                    return history[from..to].to_vec();
                }
            }
        }
    }
    Vec::new()
}

/// The most likely token, the first on ties (as candle's arg-max sampling picks).
fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_continue_the_latest_longest_match() {
        // "... 5 6 7 8 ... 6 7" -> after "6 7" came "8 9".
        let history = [1, 5, 6, 7, 8, 9, 2, 6, 7];
        assert_eq!(lookup_draft(&history, 2), vec![8, 9]);
        assert_eq!(lookup_draft(&history, 10), vec![8, 9, 2, 6, 7]);
        assert_eq!(lookup_draft(&history, 0), Vec::<u32>::new());
        assert_eq!(lookup_draft(&[1, 2, 3], 4), Vec::<u32>::new());
        // A lone repeated token is too weak a match to draft from.
        assert_eq!(lookup_draft(&[4, 1, 9, 4], 1), Vec::<u32>::new());
        assert_eq!(lookup_draft(&[4, 1, 9, 4, 1], 1), vec![9]);
    }

    #[test]
    fn drafting_pauses_longer_after_each_rejection_and_resumes_on_acceptance() {
        let mut gate = DraftBackoff::default();
        let mut pauses = Vec::new();
        for _ in 0..6 {
            assert!(gate.should_draft());
            gate.record(false);
            let mut skipped = 0;
            while !gate.should_draft() {
                skipped += 1;
            }
            pauses.push(skipped);
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 16]);
        gate.record(true);
        assert!(gate.should_draft());
        gate.record(false);
        assert!(!gate.should_draft());
        assert!(gate.should_draft());
    }

    #[test]
    fn a_loop_is_cut_where_its_cycle_first_repeats() {
        let prose: Vec<u32> = (100..130).collect();
        // "- " again and again: a cycle of two tokens.
        let dashes: Vec<u32> = prose.iter().copied().chain([7, 8].repeat(40)).collect();
        assert_eq!(repetition_start(&dashes), Some(prose.len() + 2));
        // A clause of ten tokens said five times: kept once.
        let clause: Vec<u32> = (1..=10).collect();
        let clauses: Vec<u32> = prose.iter().copied().chain(clause.repeat(5)).collect();
        assert_eq!(repetition_start(&clauses), Some(prose.len() + 10));
    }

    #[test]
    fn repeated_words_short_of_a_loop_are_left_alone() {
        let mut varied: Vec<u32> = (0..200).map(|i| i % 37).collect();
        assert_eq!(
            repetition_start(&varied),
            None,
            "a cycle of 37 is past the longest looked for"
        );
        varied.extend([5].repeat(LOOP_MIN_TOKENS - 1));
        assert_eq!(repetition_start(&varied), None, "one token short of a loop");
        varied.push(5);
        assert!(repetition_start(&varied).is_some());
        assert_eq!(repetition_start(&[5; LOOP_MIN_TOKENS - 1]), None);
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.1, 0.5, 0.5, -1.0]), 1);
    }
}
