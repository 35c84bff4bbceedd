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

/// The largest element (negative infinity for none), over eight lanes so it vectorizes.
pub fn max(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = if v > *lane { v } else { *lane };
        }
    }
    lanes
        .iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// The sum of the elements, over eight lanes so it vectorizes.
pub fn sum(x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `out = sum_j w[j] * rows[j]` for rows of `out.len()` values, sixteen columns at a time so the
/// sums stay in registers across all the rows (an axpy per row stored and reloaded them).
pub fn weighted_sum(w: &[f32], rows: &[f32], out: &mut [f32]) {
    const COLS: usize = 16;
    let dim = out.len();
    let blocks = dim / COLS;
    for b in 0..blocks {
        let mut acc = [0f32; COLS];
        for (&p, row) in w.iter().zip(rows.chunks_exact(dim)) {
            let part: &[f32; COLS] = row[b * COLS..(b + 1) * COLS].try_into().unwrap();
            for (a, &v) in acc.iter_mut().zip(part) {
                *a += p * v;
            }
        }
        out[b * COLS..(b + 1) * COLS].copy_from_slice(&acc);
    }
    let tail = &mut out[blocks * COLS..];
    tail.fill(0.0);
    for (&p, row) in w.iter().zip(rows.chunks_exact(dim)) {
        for (a, &v) in tail.iter_mut().zip(&row[blocks * COLS..]) {
            *a += p * v;
        }
    }
}

/// `g = silu(g) * u`.
pub fn silu_mul(g: &mut [f32], u: &[f32]) {
    for (g, &u) in g.iter_mut().zip(u) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}

/// `e^x` within about one ulp (Cephes' `expf`: `x = k ln 2 + r`, a degree-5 polynomial for
/// `e^r`, `2^k` built in the exponent bits), written without calls or branches so loops over
/// slices vectorize; libm's `expf` is a call per element and was a tenth of prompt processing.
/// Inputs below about -87.3 give the smallest normal float instead of a subnormal or zero.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so `k * LN2_HI` is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.33, 88.37);
    let k = (x * LOG2_E + 0.5).floor();
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((k as i32 + 127) as u32) << 23)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_a_few_ulp_of_libm() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let (got, want) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) >= 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn weighted_sum_matches_the_plain_sum_for_any_width() {
        for dim in [1, 7, 16, 24, 64, 80] {
            let w: Vec<f32> = (0..5).map(|j| 0.1 + j as f32).collect();
            let rows: Vec<f32> = (0..5 * dim).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut out = vec![f32::NAN; dim];
            weighted_sum(&w, &rows, &mut out);
            for (c, got) in out.iter().enumerate() {
                let want: f32 = (0..5).map(|j| w[j] * rows[j * dim + c]).sum();
                assert!(
                    (got - want).abs() < 1e-5,
                    "dim {dim} column {c}: {got} vs {want}"
                );
            }
        }
    }
}
