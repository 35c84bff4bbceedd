//! The f32 pieces of the forward pass: RMS norm, rotary embeddings, SiLU, attention dot products.

/// `out = x / sqrt(mean(x^2) + eps) * weight`, row by row.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let dim = weight.len();
    for (x, out) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean = dot(x, x) / dim as f32;
        let scale = 1.0 / (mean + eps).sqrt();
        for ((o, &x), &w) in out.iter_mut().zip(x).zip(weight) {
            *o = x * scale * w;
        }
    }
}

/// A dot product with eight independent partial sums, so the compiler vectorizes it.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += a * x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `g = silu(g) * u`.
pub fn silu_mul(g: &mut [f32], u: &[f32]) {
    for (g, &u) in g.iter_mut().zip(u) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

/// Rotary embeddings for one position, computed as candle does (f32 `pos * theta_i`, with
/// `theta_i = base^(-2 i / dim)`), so both paths rotate by the same angles.
pub struct Rope {
    theta: Vec<f32>,
    /// Pairs `(i, i + dim / 2)` (GPT-NeoX style, qwen2) instead of `(2 i, 2 i + 1)` (llama,
    /// whose GGUF q/k rows are permuted for the interleaved form).
    neox: bool,
}

impl Rope {
    pub fn new(head_dim: usize, base: f32, neox: bool) -> Self {
        let theta = (0..head_dim)
            .step_by(2)
            .map(|i| 1f32 / base.powf(i as f32 / head_dim as f32))
            .collect();
        Self { theta, neox }
    }

    /// The cosines and sines of position `pos`.
    pub fn angles(&self, pos: usize) -> (Vec<f32>, Vec<f32>) {
        self.theta
            .iter()
            .map(|t| {
                let a = pos as f32 * t;
                (a.cos(), a.sin())
            })
            .unzip()
    }

    /// Rotates every head of `x` (`heads * head_dim` values) by the given angles.
    pub fn apply(&self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        let half = self.theta.len();
        for head in x.chunks_exact_mut(2 * half) {
            for i in 0..half {
                let (a, b) = if self.neox {
                    (i, i + half)
                } else {
                    (2 * i, 2 * i + 1)
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos[i] - x1 * sin[i];
                head[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}
