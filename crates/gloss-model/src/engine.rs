//! A loaded model: the GGUF file's weights, its tokenizer and what its metadata says about it.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

use crate::error::ModelError;
use crate::tokenizer::Tokenizer;

/// Cache positions kept between requests, so that the next request's prefill starts after what
/// it shares with the last: the system prompt (63 tokens of the default model's hover prompts on
/// the dev set, each about another function). A code action right after a hover on the same
/// region shares more (its code and context, a few hundred tokens) and prefills the rest again,
/// under a second with the default model. Each position kept costs 25 KB of memory with the
/// default model, 46 KB with the 135M test model.
pub const KEPT_WHEN_IDLE: usize = 256;

/// The architectures gloss has a forward pass for, as GGUF names them in `general.architecture`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    Llama,
    Qwen2,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::Llama, Architecture::Qwen2];

    pub fn identifier(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }

    fn from_identifier(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|arch| arch.identifier() == name)
    }
}

/// What the file's metadata tells about the model, kept after the weights are built.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub architecture: Architecture,
    /// `general.name`, when the file has one.
    pub name: Option<String>,
    pub context_length: usize,
    pub load_seconds: f64,
}

enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    /// gloss's own forward pass (`crate::fast`), the default; candle's models above stay as the
    /// reference, chosen with `GLOSS_ENGINE=reference`.
    Fast(Box<crate::fast::FastModel>),
}

/// The device for the weights: a GPU when gloss was built with the `cuda` or `metal` feature and
/// one is there (unless `GLOSS_DEVICE=cpu`), else the CPU. On a GPU the reference forward pass
/// runs, since the fast one is CPU code.
fn select_device() -> Device {
    #[cfg(any(feature = "cuda", feature = "metal"))]
    {
        if std::env::var("GLOSS_DEVICE").is_ok_and(|v| v == "cpu") {
            return Device::Cpu;
        }
        #[cfg(feature = "cuda")]
        match Device::new_cuda(0) {
            Ok(device) => return device,
            Err(error) => tracing::warn!(%error, "no usable CUDA device; running on the CPU"),
        }
        #[cfg(feature = "metal")]
        match Device::new_metal(0) {
            Ok(device) => return device,
            Err(error) => tracing::warn!(%error, "no usable Metal device; running on the CPU"),
        }
    }
    Device::Cpu
}

/// Whether `GLOSS_ENGINE` asks for candle's reference forward pass instead of the fast one.
fn reference_engine_requested() -> bool {
    std::env::var("GLOSS_ENGINE").is_ok_and(|v| v == "reference")
}

pub struct LoadedModel {
    weights: Weights,
    tokenizer: std::sync::Arc<Tokenizer>,
    info: ModelInfo,
    bos: Option<u32>,
    device: Device,
    /// The tokens whose keys and values the fast engine's cache holds, at positions `0..len`: a
    /// request that starts with them (the same system prompt and instructions) skips their prefill.
    cached: Vec<u32>,
}

impl LoadedModel {
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        Self::load_with_threads(path, None)
    }

    /// Loads with `threads` compute threads for the fast engine's own pool (`None`: the default).
    /// The reference engine always uses candle's process-wide pool.
    pub fn load_with_threads(path: &Path, threads: Option<usize>) -> Result<Self, ModelError> {
        let started = Instant::now();
        let file = File::open(path).map_err(|source| ModelError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let corrupt = |reason: String| ModelError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let content = gguf_file::Content::read(&mut reader).map_err(|e| corrupt(e.to_string()))?;

        let architecture_name = metadata_string(&content, "general.architecture")
            .ok_or_else(|| corrupt("no general.architecture in its metadata".into()))?;
        let architecture = Architecture::from_identifier(&architecture_name).ok_or_else(|| {
            ModelError::UnsupportedArchitecture {
                path: path.to_owned(),
                architecture: architecture_name.clone(),
                supported: Architecture::ALL.map(Architecture::identifier).join(", "),
            }
        })?;
        let context_length = content
            .metadata
            .get(&format!("{architecture_name}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .unwrap_or(2048) as usize;
        let name = metadata_string(&content, "general.name");

        let tokenizer = Tokenizer::from_gguf(&content).map_err(|e| ModelError::Tokenizer {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let wants_bos = content
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let bos = if wants_bos { tokenizer.bos_id() } else { None };

        let device = select_device();
        let fast = if reference_engine_requested() || !device.is_cpu() {
            None
        } else {
            match crate::fast::FastModel::load(path, &content, architecture.identifier(), threads) {
                Ok(model) => Some(Weights::Fast(Box::new(model))),
                Err(reason) => {
                    tracing::info!(%reason, "fast engine unavailable, using the reference engine");
                    None
                }
            }
        };
        // Tensor data that is missing or short shows up here, not in the header read above.
        let weights = match (fast, architecture) {
            (Some(fast), _) => Ok(fast),
            (None, architecture) => match architecture {
                Architecture::Llama => {
                    quantized_llama::ModelWeights::from_gguf(content, &mut reader, &device)
                        .map(Weights::Llama)
                }
                Architecture::Qwen2 => {
                    quantized_qwen2::ModelWeights::from_gguf(content, &mut reader, &device)
                        .map(Weights::Qwen2)
                }
            },
        }
        .map_err(|e| corrupt(e.to_string()))?;

        Ok(Self {
            weights,
            tokenizer: std::sync::Arc::new(tokenizer),
            info: ModelInfo {
                path: path.to_owned(),
                architecture,
                name,
                context_length,
                load_seconds: started.elapsed().as_secs_f64(),
            },
            bos,
            device,
            cached: Vec::new(),
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn tokenizer(&self) -> &std::sync::Arc<Tokenizer> {
        &self.tokenizer
    }

    /// The token the model expects at the very start of a sequence, when its metadata asks for one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// Runs `tokens` at positions `start..start + tokens.len()` and returns the logits for the
    /// token after the last one.
    ///
    /// `start == 0` begins a new sequence: the model forgets every earlier token, so one request's
    /// KV cache never leaks into the next.
    pub fn forward(&mut self, tokens: &[u32], start: usize) -> Result<Vec<f32>, ModelError> {
        self.check_positions(tokens, start)?;
        if start == 0 {
            self.reset();
        }
        if let Weights::Fast(_) = &self.weights {
            return self.forward_rows(tokens, start, 1);
        }
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = match &mut self.weights {
            Weights::Llama(model) => model.forward(&input, start)?,
            Weights::Qwen2(model) => model.forward(&input, start)?,
            Weights::Fast(_) => unreachable!("handled above"),
        };
        Ok(logits
            .squeeze(0)?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1()?)
    }

    fn check_positions(&self, tokens: &[u32], start: usize) -> Result<(), ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::Inference("forward pass over no tokens".into()));
        }
        if start + tokens.len() > self.info.context_length {
            return Err(ModelError::PromptTooLong {
                prompt_tokens: start + tokens.len(),
                context_length: self.info.context_length,
            });
        }
        Ok(())
    }

    /// How many leading tokens of `prompt` are already in the cache and need no prefill. Always
    /// leaves at least one token to run, since the logits after the prompt are needed; zero for
    /// the reference engine, whose cache is rebuilt for every request.
    pub fn reusable_prefix(&self, prompt: &[u32]) -> usize {
        if !self.supports_batched_logits() {
            return 0;
        }
        let common = self
            .cached
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        common.min(prompt.len().saturating_sub(1))
    }

    /// Whether [`LoadedModel::forward_rows`] can give logits for several positions at once.
    pub fn supports_batched_logits(&self) -> bool {
        matches!(self.weights, Weights::Fast(_))
    }

    /// Runs `tokens` at positions `start..` (after `start` cached ones) and returns the logits
    /// after each of the last `rows` tokens, `rows` vocabulary-sized rows. Fast engine only.
    pub fn forward_rows(
        &mut self,
        tokens: &[u32],
        start: usize,
        rows: usize,
    ) -> Result<Vec<f32>, ModelError> {
        self.check_positions(tokens, start)?;
        let Weights::Fast(model) = &mut self.weights else {
            return Err(ModelError::Inference(
                "batched logits need the fast engine".into(),
            ));
        };
        if start > self.cached.len() {
            return Err(ModelError::Inference(format!(
                "position {start} follows a gap: only {} positions are cached",
                self.cached.len()
            )));
        }
        // Until the pass succeeds, nothing past `start` can be trusted.
        self.cached.truncate(start);
        let logits = model
            .forward_rows(tokens, start, rows)
            .map_err(ModelError::Inference)?;
        self.cached.extend_from_slice(tokens);
        Ok(logits)
    }

    /// Between requests: keeps the cache's first positions, which hold the instructions that
    /// every prompt starts with, and gives the memory of the rest back to the OS. A long prompt
    /// (a function of a thousand lines) touches tens of kilobytes per position, which would
    /// otherwise stay resident until the process ends, while the next prompt can reuse only the
    /// shared instructions anyway.
    /// The buffers a generation freed go back too: glibc keeps them in the model thread's arena
    /// (tens of megabytes of activations for a long prompt) until something trims it.
    pub fn release_idle_memory(&mut self) {
        if let Weights::Fast(model) = &mut self.weights {
            self.cached.truncate(KEPT_WHEN_IDLE);
            model.release_idle_memory(KEPT_WHEN_IDLE);
        }
        crate::allocator::release_free_memory();
    }

    /// Forgets cached positions from `len` on: drafted tokens that verification rejected.
    pub fn truncate_cache(&mut self, len: usize) {
        self.cached.truncate(len);
    }

    fn reset(&mut self) {
        self.cached.clear();
        match &mut self.weights {
            Weights::Llama(model) => model.clear_kv_cache(),
            Weights::Qwen2(model) => model.clear_kv_cache(),
            // Positions are overwritten from 0; nothing to clear.
            Weights::Fast(_) => {}
        }
    }
}

fn metadata_string(content: &gguf_file::Content, key: &str) -> Option<String> {
    content
        .metadata
        .get(key)
        .and_then(|v| v.to_string().ok())
        .cloned()
}
