//! The transformer of `llama` and `qwen2` GGUF files (qwen2 adds q/k/v biases and rotates
//! NeoX-style), run over whole prompts at once with the KV cache kept between calls.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file;
use memmap2::{Mmap, MmapOptions};
use rayon::prelude::*;

use super::kernels::{Isa, dot_keys};
use super::kv_cache::KvCache;
use super::matmul::{MatJob, OutPtr, QMatrix, RepackArena, matmul};
use super::ops::{self, Rope};
use super::quant::{Q8Batch, QType};

/// Why the fast path cannot run a file (the caller falls back to the reference path).
#[derive(Debug)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub n_layers: usize,
    pub dim: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub ffn_dim: usize,
    pub vocab: usize,
    pub eps: f32,
    pub rope_base: f32,
    pub neox: bool,
    pub context_length: usize,
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: QMatrix,
    wk: QMatrix,
    wv: QMatrix,
    /// q, k, v biases (qwen2 only).
    bias: Option<[Vec<f32>; 3]>,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    w_gate: QMatrix,
    w_up: QMatrix,
    w_down: QMatrix,
}

/// Buffers reused by every forward call (sized for the largest batch seen so far).
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    acts: Q8Batch,
}

impl Scratch {
    fn bytes(&self) -> usize {
        let floats = [
            &self.x, &self.xn, &self.q, &self.k, &self.v, &self.att, &self.o, &self.gate, &self.up,
        ];
        floats.iter().map(|v| v.capacity()).sum::<usize>() * std::mem::size_of::<f32>()
            + self.acts.bytes()
    }
}

pub struct FastModel {
    cfg: Config,
    embed: QMatrix,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    output: QMatrix,
    rope: Rope,
    kv: KvCache,
    pool: Arc<rayon::ThreadPool>,
    isa: Isa,
    scratch: Scratch,
}

struct Tensors<'a> {
    content: &'a gguf_file::Content,
    map: Arc<Mmap>,
}

impl Tensors<'_> {
    fn info(&self, name: &str) -> Result<&gguf_file::TensorInfo, Unsupported> {
        self.content
            .tensor_infos
            .get(name)
            .ok_or_else(|| Unsupported(format!("no tensor {name}")))
    }

    fn start(&self, info: &gguf_file::TensorInfo) -> usize {
        (self.content.tensor_data_offset + info.offset) as usize
    }

    fn matrix(&self, name: &str) -> Result<QMatrix, Unsupported> {
        let info = self.info(name)?;
        let ty = QType::from_ggml(info.ggml_dtype).ok_or_else(|| {
            Unsupported(format!(
                "{name} is {:?}, which has no fast kernel",
                info.ggml_dtype
            ))
        })?;
        let &[rows, cols] = info.shape.dims() else {
            return Err(Unsupported(format!("{name} is not a matrix")));
        };
        QMatrix::new(ty, rows, cols, self.map.clone(), self.start(info))
            .ok_or_else(|| Unsupported(format!("{name} is truncated or oddly shaped")))
    }

    fn vector(&self, name: &str) -> Result<Vec<f32>, Unsupported> {
        let info = self.info(name)?;
        if info.ggml_dtype != candle_core::quantized::GgmlDType::F32 {
            return Err(Unsupported(format!("{name} is not f32")));
        }
        let (start, n) = (self.start(info), info.shape.elem_count());
        let bytes = self
            .map
            .get(start..start + 4 * n)
            .ok_or_else(|| Unsupported(format!("{name} is truncated")))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

impl FastModel {
    /// Maps `path` (whose header `content` was already read) and builds the model over it.
    /// `threads`: the compute threads of this model's own pool (default: candle's choice, the
    /// physical cores or `CANDLE_NUM_THREADS`).
    pub fn load(
        path: &Path,
        content: &gguf_file::Content,
        arch: &str,
        threads: Option<usize>,
    ) -> Result<Self, Unsupported> {
        let file = File::open(path).map_err(|e| Unsupported(e.to_string()))?;
        // SAFETY: the model file is opened read-only and gloss never writes it while loaded;
        // a file truncated under the mapping by another process would fault, as with any mmap.
        let map =
            unsafe { MmapOptions::new().map(&file) }.map_err(|e| Unsupported(e.to_string()))?;
        let t = Tensors {
            content,
            map: Arc::new(map),
        };
        let md = |key: &str| {
            content
                .metadata
                .get(&format!("{arch}.{key}"))
                .ok_or_else(|| Unsupported(format!("no {arch}.{key}")))
        };
        let num = |key: &str| -> Result<usize, Unsupported> {
            md(key)?
                .to_u32()
                .map(|v| v as usize)
                .map_err(|e| Unsupported(e.to_string()))
        };
        let dim = num("embedding_length")?;
        let n_heads = num("attention.head_count")?;
        let n_kv_heads = num("attention.head_count_kv").unwrap_or(n_heads);
        let embed = t.matrix("token_embd.weight")?;
        let cfg = Config {
            n_layers: num("block_count")?,
            dim,
            n_heads,
            n_kv_heads,
            head_dim: dim / n_heads,
            ffn_dim: num("feed_forward_length")?,
            vocab: embed.rows,
            eps: md("attention.layer_norm_rms_epsilon")?
                .to_f32()
                .map_err(|e| Unsupported(e.to_string()))?,
            rope_base: md("rope.freq_base")
                .and_then(|v| v.to_f32().map_err(|e| Unsupported(e.to_string())))
                .unwrap_or(10_000.0),
            neox: arch == "qwen2",
            context_length: num("context_length").unwrap_or(2048),
        };
        if !dim.is_multiple_of(n_heads)
            || !n_heads.is_multiple_of(n_kv_heads)
            || !cfg.head_dim.is_multiple_of(2)
        {
            return Err(Unsupported("unusual head layout".into()));
        }
        if num("rope.dimension_count").is_ok_and(|rope_dim| rope_dim != cfg.head_dim) {
            return Err(Unsupported("partial rotary embeddings".into()));
        }
        let mut layers = Vec::with_capacity(cfg.n_layers);
        for l in 0..cfg.n_layers {
            let name = |s: &str| format!("blk.{l}.{s}");
            let bias = if arch == "qwen2" {
                Some([
                    t.vector(&name("attn_q.bias"))?,
                    t.vector(&name("attn_k.bias"))?,
                    t.vector(&name("attn_v.bias"))?,
                ])
            } else {
                None
            };
            layers.push(Layer {
                attn_norm: t.vector(&name("attn_norm.weight"))?,
                wq: t.matrix(&name("attn_q.weight"))?,
                wk: t.matrix(&name("attn_k.weight"))?,
                wv: t.matrix(&name("attn_v.weight"))?,
                bias,
                wo: t.matrix(&name("attn_output.weight"))?,
                ffn_norm: t.vector(&name("ffn_norm.weight"))?,
                w_gate: t.matrix(&name("ffn_gate.weight"))?,
                w_up: t.matrix(&name("ffn_up.weight"))?,
                w_down: t.matrix(&name("ffn_down.weight"))?,
            });
        }
        let kv_dim = cfg.n_kv_heads * cfg.head_dim;
        let threads = threads
            .unwrap_or_else(candle_core::utils::get_num_threads)
            .max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("gloss-fast-{i}"))
            .build()
            .map_err(|e| Unsupported(e.to_string()))?;
        for layer in &layers {
            let shapes = [
                (&layer.wq, dim, dim),
                (&layer.wk, kv_dim, dim),
                (&layer.wv, kv_dim, dim),
                (&layer.wo, dim, dim),
                (&layer.w_gate, cfg.ffn_dim, dim),
                (&layer.w_up, cfg.ffn_dim, dim),
                (&layer.w_down, dim, cfg.ffn_dim),
            ];
            if shapes.iter().any(|(m, r, c)| m.rows != *r || m.cols != *c) {
                return Err(Unsupported("unexpected matrix shapes".into()));
            }
        }
        // Tied embeddings (SmolLM2) reuse the token table as the output projection; lookups
        // read the original rows, faulted back from the file one page at a time.
        let mut output = match t.matrix("output.weight") {
            Ok(m) => m,
            Err(_) => t.matrix("token_embd.weight")?,
        };
        let mut matrices: Vec<&mut QMatrix> = layers
            .iter_mut()
            .flat_map(|l| {
                [
                    &mut l.wq,
                    &mut l.wk,
                    &mut l.wv,
                    &mut l.wo,
                    &mut l.w_gate,
                    &mut l.w_up,
                    &mut l.w_down,
                ]
            })
            .collect();
        // Repack once, here, on every core (never lazily on a first request); then fault in
        // the pages every forward pass reads, so the first request is as fast as later ones.
        // The token table is left unfaulted: a lookup reads only its own rows.
        //
        // `GLOSS_FAST_REPACK=0` repacks nothing (to compare with the native-layout kernels).
        // Repacked Q4_1 turns one of SmolLM2's greedy golden sentences at a near-tie into the
        // one candle's reference gives on AVX-512 machines; both are accepted by the golden test.
        let repack = std::env::var("GLOSS_FAST_REPACK").as_deref() != Ok("0");
        matrices.push(&mut output);
        pool.install(|| {
            if repack {
                RepackArena::repack(&mut matrices).map_err(|e| Unsupported(e.to_string()))?;
            }
            matrices.par_iter().for_each(|m| m.prefault());
            Ok::<_, Unsupported>(())
        })?;
        drop(matrices);
        Ok(Self {
            rope: Rope::new(cfg.head_dim, cfg.rope_base, cfg.neox),
            kv: KvCache::new(
                cfg.n_layers,
                cfg.n_kv_heads,
                cfg.head_dim,
                cfg.context_length,
            )
            .map_err(|e| Unsupported(format!("no memory for the KV cache: {e}")))?,
            norm: t.vector("output_norm.weight")?,
            cfg,
            embed,
            layers,
            output,
            pool: Arc::new(pool),
            isa: Isa::detect(),
            scratch: Scratch::default(),
        })
    }

    /// Gives back the KV cache's memory for positions `kept..`, and the scratch buffers: they are
    /// sized by the longest batch run so far (65 KB a token with the default model, so 65 MB
    /// after a prompt of a thousand tokens), which a server would otherwise hold for good, and
    /// growing them again costs nothing next to the matrix products that fill them.
    pub fn release_idle_memory(&mut self, kept: usize) {
        self.kv.release_from(kept);
        self.scratch = Scratch::default();
    }

    /// Bytes the scratch buffers hold: what a server keeps between requests besides the weights
    /// and the KV cache.
    pub fn scratch_bytes(&self) -> usize {
        self.scratch.bytes()
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Runs `tokens` at positions `start..` and returns the logits after the last one. Earlier
    /// positions must have been run before (the cache holds them); `start == 0` starts over.
    pub fn forward(&mut self, tokens: &[u32], start: usize) -> Result<Vec<f32>, String> {
        self.forward_rows(tokens, start, 1)
    }

    /// Like [`FastModel::forward`], but returns the logits after each of the last `rows` tokens,
    /// one vocabulary-sized row each: what verifying several drafted tokens at once needs.
    pub fn forward_rows(
        &mut self,
        tokens: &[u32],
        start: usize,
        rows: usize,
    ) -> Result<Vec<f32>, String> {
        // The whole pass runs on a pool thread: each of its hundred-odd parallel sections then
        // starts on a thread that is already awake, instead of waking the pool from outside and
        // sleeping until it is done (a tenth of a decoding step went to those wake-ups).
        let pool = Arc::clone(&self.pool);
        pool.install(|| self.forward_rows_on_pool(tokens, start, rows))
    }

    fn forward_rows_on_pool(
        &mut self,
        tokens: &[u32],
        start: usize,
        rows: usize,
    ) -> Result<Vec<f32>, String> {
        let n = tokens.len();
        let rows = rows.clamp(1, n.max(1));
        let cfg = self.cfg.clone();
        if n == 0 || start + n > self.kv.capacity() {
            return Err(format!("positions {start}..{} out of range", start + n));
        }
        let (dim, hd) = (cfg.dim, cfg.head_dim);
        let (q_dim, kv_dim) = (cfg.n_heads * hd, cfg.n_kv_heads * hd);
        let s = &mut self.scratch;
        s.x.resize(n * dim, 0.0);
        s.xn.resize(n * dim, 0.0);
        s.q.resize(n * q_dim, 0.0);
        s.k.resize(n * kv_dim, 0.0);
        s.v.resize(n * kv_dim, 0.0);
        s.att.resize(n * q_dim, 0.0);
        s.o.resize(n * dim, 0.0);
        s.gate.resize(n * cfg.ffn_dim, 0.0);
        s.up.resize(n * cfg.ffn_dim, 0.0);

        for (&tok, x) in tokens.iter().zip(s.x.chunks_exact_mut(dim)) {
            if tok as usize >= self.embed.rows {
                return Err(format!("token {tok} is outside the vocabulary"));
            }
            self.embed.dequantize_row(tok as usize, x);
        }
        let angles: Vec<_> = (start..start + n).map(|p| self.rope.angles(p)).collect();

        for (l, layer) in self.layers.iter().enumerate() {
            ops::rms_norm(&s.x, &layer.attn_norm, cfg.eps, &mut s.xn);
            s.acts.quantize_on(Some(&self.pool), &s.xn, dim);
            matmul(
                &self.pool,
                self.isa,
                &s.acts,
                &mut [
                    MatJob {
                        w: &layer.wq,
                        out: &mut s.q,
                    },
                    MatJob {
                        w: &layer.wk,
                        out: &mut s.k,
                    },
                    MatJob {
                        w: &layer.wv,
                        out: &mut s.v,
                    },
                ],
            );
            if let Some([bq, bk, bv]) = &layer.bias {
                for (buf, b) in [(&mut s.q, bq), (&mut s.k, bk), (&mut s.v, bv)] {
                    for row in buf.chunks_exact_mut(b.len()) {
                        row.iter_mut().zip(b).for_each(|(x, b)| *x += b);
                    }
                }
            }
            for (i, (cos, sin)) in angles.iter().enumerate() {
                self.rope
                    .apply(&mut s.q[i * q_dim..(i + 1) * q_dim], cos, sin);
                self.rope
                    .apply(&mut s.k[i * kv_dim..(i + 1) * kv_dim], cos, sin);
            }
            self.kv.store(l, start, &s.k, &s.v);
            attention(
                &self.pool, self.isa, &cfg, &self.kv, l, start, n, &s.q, &mut s.att,
            );

            s.acts.quantize_on(Some(&self.pool), &s.att, q_dim);
            matmul(
                &self.pool,
                self.isa,
                &s.acts,
                &mut [MatJob {
                    w: &layer.wo,
                    out: &mut s.o,
                }],
            );
            s.x.iter_mut().zip(&s.o).for_each(|(x, o)| *x += o);

            ops::rms_norm(&s.x, &layer.ffn_norm, cfg.eps, &mut s.xn);
            s.acts.quantize_on(Some(&self.pool), &s.xn, dim);
            matmul(
                &self.pool,
                self.isa,
                &s.acts,
                &mut [
                    MatJob {
                        w: &layer.w_gate,
                        out: &mut s.gate,
                    },
                    MatJob {
                        w: &layer.w_up,
                        out: &mut s.up,
                    },
                ],
            );
            silu_mul(&self.pool, &mut s.gate, &s.up, cfg.ffn_dim);
            s.acts.quantize_on(Some(&self.pool), &s.gate, cfg.ffn_dim);
            matmul(
                &self.pool,
                self.isa,
                &s.acts,
                &mut [MatJob {
                    w: &layer.w_down,
                    out: &mut s.o,
                }],
            );
            s.x.iter_mut().zip(&s.o).for_each(|(x, o)| *x += o);
        }

        // Logits only where they are wanted: the vocabulary projection is the largest matrix.
        let last = &s.x[(n - rows) * dim..];
        let mut normed = vec![0f32; rows * dim];
        ops::rms_norm(last, &self.norm, cfg.eps, &mut normed);
        s.acts.quantize_on(Some(&self.pool), &normed, dim);
        let mut logits = vec![0f32; rows * self.output.rows];
        matmul(
            &self.pool,
            self.isa,
            &s.acts,
            &mut [MatJob {
                w: &self.output,
                out: &mut logits,
            }],
        );
        Ok(logits)
    }
}

/// `gate = silu(gate) * up` over the pool, a block of token rows per task.
fn silu_mul(pool: &rayon::ThreadPool, gate: &mut [f32], up: &[f32], width: usize) {
    let rows = (gate.len() / width)
        .div_ceil(pool.current_num_threads() * 4)
        .max(1);
    pool.install(|| {
        gate.par_chunks_mut(rows * width)
            .zip(up.par_chunks(rows * width))
            .for_each(|(g, u)| ops::silu_mul(g, u))
    });
}

/// Causal attention of `n` new positions over the cached `start + n`, each query head reading
/// its group's KV head in place. Parallel over (head, block of queries).
#[allow(clippy::too_many_arguments)]
fn attention(
    pool: &rayon::ThreadPool,
    isa: Isa,
    cfg: &Config,
    kv: &KvCache,
    layer: usize,
    start: usize,
    n: usize,
    q: &[f32],
    out: &mut [f32],
) {
    let (nh, hd) = (cfg.n_heads, cfg.head_dim);
    let group = cfg.n_heads / cfg.n_kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    const QUERIES: usize = 16;
    let tasks: Vec<(usize, usize)> = (0..nh)
        .flat_map(|h| (0..n).step_by(QUERIES).map(move |i| (h, i)))
        .collect();
    let out_ptr = OutPtr(out.as_mut_ptr());
    pool.install(|| {
        tasks.par_iter().for_each(|&(h, i0)| {
            let keys = kv.keys(layer, h / group, start + n);
            let values = kv.values(layer, h / group, start + n);
            let mut scores = vec![0f32; start + n];
            for i in i0..(i0 + QUERIES).min(n) {
                let len = start + i + 1;
                let qh = &q[(i * nh + h) * hd..(i * nh + h + 1) * hd];
                let scores = &mut scores[..len];
                dot_keys(isa, qh, &keys[..len * hd], scores);
                scores.iter_mut().for_each(|s| *s *= scale);
                let max = ops::max(scores);
                for s in scores.iter_mut() {
                    *s = ops::exp(*s - max);
                }
                let inv_sum = 1.0 / ops::sum(scores);
                scores.iter_mut().for_each(|s| *s *= inv_sum);
                // SAFETY: query `i` of head `h` owns `out[(i * nh + h) * hd..][..hd]`, inside
                // `out` (n * nh * hd elements); no other task writes it.
                let dst =
                    unsafe { std::slice::from_raw_parts_mut(out_ptr.at((i * nh + h) * hd), hd) };
                ops::weighted_sum(scores, values, dst);
            }
        })
    });
}
