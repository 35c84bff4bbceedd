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

#[derive(Clone, Debug)]
pub struct GenerateParams {
    pub max_tokens: usize,
    pub sampling: Sampling,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            sampling: Sampling::Greedy,
        }
    }
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
}

#[derive(Clone, Debug)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_seconds: f64,
    pub generate_seconds: f64,
    pub stop_reason: StopReason,
}

/// Generates a continuation of `prompt`, calling `on_text` with each piece of complete UTF-8 text
/// as soon as it exists. Cancellation is honoured before the prefill and between any two tokens.
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
    let mut generation = Generation {
        text: String::new(),
        prompt_tokens: prompt.len(),
        generated_tokens: 0,
        prefill_seconds: 0.0,
        generate_seconds: 0.0,
        stop_reason: StopReason::Cancelled,
    };
    if cancel.is_cancelled() {
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
    let tokenizer = model.tokenizer().clone();
    let stop_ids = tokenizer.stop_ids();
    let mut decoder = StreamDecoder::new(&tokenizer);

    let prefill_started = Instant::now();
    let mut logits = model.forward(prompt, 0)?;
    generation.prefill_seconds = prefill_started.elapsed().as_secs_f64();

    let decode_started = Instant::now();
    let mut position = prompt.len();
    generation.stop_reason = loop {
        if generation.generated_tokens >= params.max_tokens {
            break StopReason::MaxTokens;
        }
        if cancel.is_cancelled() {
            break StopReason::Cancelled;
        }
        let next = sampler.sample(&Tensor::new(logits.as_slice(), &candle_core::Device::Cpu)?)?;
        if stop_ids.contains(&next) {
            break StopReason::EndOfTurn;
        }
        generation.generated_tokens += 1;
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
        logits = model.forward(&[next], position)?;
        position += 1;
    };
    if let Some(rest) = decoder.finish() {
        generation.text.push_str(&rest);
        on_text(&rest);
    }
    generation.generate_seconds = decode_started.elapsed().as_secs_f64();
    Ok(generation)
}
