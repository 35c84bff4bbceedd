//! Every fast-path kernel against its scalar reference on random blocks.
//!
//! - Dequantization matches candle's for every format (bit for bit: same f32 products).
//! - The scalar dot product matches the f32 dot of the dequantized weights with the dequantized
//!   activations (relative 1e-4 of the sum of |products|: only summation order differs).
//! - Each SIMD family matches the scalar dot product for 1 and 4 activation rows (relative 1e-5
//!   of the sum of |products|: integer parts are exact, float scales are summed in other orders).
//! - SIMD activation quantization equals the scalar one bit for bit.
//! - The eight-row repacked kernels of every format that has the layout (portable and SIMD) match
//!   the native scalar dot product row by row (same 1e-5 bound).

use candle_core::Device;
use candle_core::quantized::ggml_file::qtensor_from_ggml;
use gloss_model::fast::kernels::{Isa, dot_keys, dot_r8, dot_rows, quantize_block};
use gloss_model::fast::quant::{Q8Batch, QType};

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn f16_bytes(v: f32) -> [u8; 2] {
    half::f16::from_f32(v).to_bits().to_le_bytes()
}

/// A random row of `cols` weights in format `ty`: random payload bytes, sane f16 scales.
fn random_row(ty: QType, cols: usize, rng: &mut Rng) -> Vec<u8> {
    let mut row: Vec<u8> = (0..ty.row_bytes(cols)).map(|_| rng.next() as u8).collect();
    for block in row.chunks_exact_mut(ty.block_bytes()) {
        let (d, m) = (rng.f32() * 0.05, rng.f32() * 0.05);
        match ty {
            QType::Q4_0 | QType::Q5_0 | QType::Q8_0 => block[0..2].copy_from_slice(&f16_bytes(d)),
            QType::Q4_1 | QType::Q4K => {
                block[0..2].copy_from_slice(&f16_bytes(d));
                block[2..4].copy_from_slice(&f16_bytes(m));
            }
            QType::Q6K => block[208..210].copy_from_slice(&f16_bytes(d)),
        }
    }
    row
}

fn activations(rows: usize, cols: usize, rng: &mut Rng) -> (Q8Batch, Vec<Vec<f32>>) {
    let x: Vec<f32> = (0..rows * cols).map(|_| rng.f32() * 3.0).collect();
    let mut batch = Q8Batch::default();
    batch.quantize(&x, cols);
    let dequantized = (0..rows)
        .map(|r| {
            let row = batch.row(r);
            (0..cols)
                .map(|i| row.qs[i] as f32 * row.d[i / 32])
                .collect()
        })
        .collect();
    (batch, dequantized)
}

const COLS: usize = 1536;

#[test]
fn dequantization_matches_candle() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for ty in QType::ALL {
        let row = random_row(ty, COLS, &mut rng);
        let mut ours = vec![0f32; COLS];
        ty.dequantize_row(&row, &mut ours);
        let theirs = qtensor_from_ggml(ty.ggml(), &row, vec![COLS], &Device::Cpu)
            .unwrap()
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                "{ty:?} element {i}: {a} vs candle {b}"
            );
        }
    }
}

#[test]
fn scalar_dot_matches_dequantized_f32() {
    let mut rng = Rng(42);
    for ty in QType::ALL {
        for _ in 0..20 {
            let row = random_row(ty, COLS, &mut rng);
            let (acts, x) = activations(1, COLS, &mut rng);
            let mut w = vec![0f32; COLS];
            ty.dequantize_row(&row, &mut w);
            let expected: f64 = w
                .iter()
                .zip(&x[0])
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum();
            let scale: f64 = w
                .iter()
                .zip(&x[0])
                .map(|(a, b)| (*a as f64 * *b as f64).abs())
                .sum();
            let got = ty.dot_scalar(&row, acts.row(0)) as f64;
            assert!(
                (got - expected).abs() <= 1e-4 * scale,
                "{ty:?}: scalar {got} vs f32 {expected} (scale {scale})"
            );
        }
    }
}

#[test]
fn simd_dots_match_scalar() {
    let mut rng = Rng(7);
    let families = [Isa::Avx2, Isa::Avx512Vnni];
    if families.iter().all(|isa| !isa.available()) {
        eprintln!("no SIMD kernels on this CPU; nothing to compare");
    }
    for isa in families.into_iter().filter(|isa| isa.available()) {
        for ty in QType::ALL {
            for _ in 0..20 {
                let row = random_row(ty, COLS, &mut rng);
                let (acts, x) = activations(4, COLS, &mut rng);
                let rows: [_; 4] = std::array::from_fn(|t| acts.row(t));
                let mut four = [0f32; 4];
                dot_rows(isa, ty, &row, &rows, &mut four);
                let mut w = vec![0f32; COLS];
                ty.dequantize_row(&row, &mut w);
                for t in 0..4 {
                    let expected = ty.dot_scalar(&row, acts.row(t));
                    let mut one = [0f32];
                    dot_rows(isa, ty, &row, &[acts.row(t)], &mut one);
                    let scale: f32 = w.iter().zip(&x[t]).map(|(a, b)| (a * b).abs()).sum();
                    for got in [one[0], four[t]] {
                        assert!(
                            (got - expected).abs() <= 1e-5 * scale,
                            "{isa:?} {ty:?} row {t}: {got} vs scalar {expected} (scale {scale})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn repacked_rows_match_native_rows() {
    let mut rng = Rng(99);
    for ty in QType::ALL {
        let Some(block_bytes) = ty.r8_block_bytes() else {
            continue;
        };
        for _ in 0..10 {
            let rows: Vec<Vec<u8>> = (0..8).map(|_| random_row(ty, COLS, &mut rng)).collect();
            let mut packed = vec![0u8; COLS / ty.block_elems() * block_bytes];
            ty.repack_r8(std::array::from_fn(|i| rows[i].as_slice()), &mut packed);
            let (acts, x) = activations(4, COLS, &mut rng);
            let four: [_; 4] = std::array::from_fn(|t| acts.row(t));
            for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni] {
                if !isa.available() {
                    continue;
                }
                let mut out4 = [[[0f32; 8]; 4]];
                dot_r8(isa, ty, &packed, &four, &mut out4);
                let out4 = out4[0];
                // Several groups in one call give each group's own results.
                let mut twice = [[[0f32; 8]; 4]; 2];
                dot_r8(
                    isa,
                    ty,
                    &[packed.clone(), packed.clone()].concat(),
                    &four,
                    &mut twice,
                );
                assert_eq!(
                    twice,
                    [out4, out4],
                    "{isa:?} {ty:?}: two groups in one call"
                );
                for t in 0..4 {
                    let mut out1 = [[[0f32; 8]]];
                    dot_r8(isa, ty, &packed, &[acts.row(t)], &mut out1);
                    let out1 = out1[0];
                    for (i, row) in rows.iter().enumerate() {
                        let expected = ty.dot_scalar(row, acts.row(t));
                        let mut w = vec![0f32; COLS];
                        ty.dequantize_row(row, &mut w);
                        let scale: f32 = w.iter().zip(&x[t]).map(|(a, b)| (a * b).abs()).sum();
                        for got in [out1[0][i], out4[t][i]] {
                            assert!(
                                (got - expected).abs() <= 1e-5 * scale,
                                "{isa:?} {ty:?} row {i} token {t}: {got} vs native {expected}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn simd_activation_quantization_equals_scalar() {
    let mut rng = Rng(5);
    for case in 0..2000 {
        let x: [f32; 32] = std::array::from_fn(|i| match case % 4 {
            // The scale is exactly 1 and every other value a half: the rounding ties.
            0 if i == 0 => 127.0,
            0 => i as f32 - 16.5,
            1 => 0.0,
            _ => rng.f32() * 10f32.powi(case % 7 - 3),
        });
        let mut want = [0i8; 32];
        let expected = quantize_block(Isa::Scalar, &x, &mut want);
        for isa in [Isa::Avx2, Isa::Avx512Vnni] {
            if !isa.available() {
                continue;
            }
            let mut got = [0i8; 32];
            let result = quantize_block(isa, &x, &mut got);
            assert_eq!((result, got), (expected, want), "{isa:?} on {x:?}");
        }
    }
}

#[test]
fn key_dot_products_match_plain_ones() {
    let mut rng = Rng(11);
    for (dim, keys) in [(64, 21), (128, 8), (24, 3), (6, 9)] {
        let q: Vec<f32> = (0..dim).map(|_| rng.f32()).collect();
        let k: Vec<f32> = (0..dim * keys).map(|_| rng.f32()).collect();
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni] {
            if !isa.available() {
                continue;
            }
            let mut scores = vec![f32::NAN; keys];
            dot_keys(isa, &q, &k, &mut scores);
            for (j, got) in scores.iter().enumerate() {
                let want: f32 = q.iter().zip(&k[j * dim..]).map(|(a, b)| a * b).sum();
                assert!(
                    (got - want).abs() < 1e-4,
                    "{isa:?} dim {dim} key {j}: {got} vs {want}"
                );
            }
        }
    }
}
