//! Single-thread throughput of the eight-row kernels per format, in GMAC/s (weights times tokens
//! per second), for one token per weight pass (decoding) and four or eight (prompt processing): the figure
//! to watch when changing a kernel or a layout.
//!
//! cargo run --release -p gloss-model --example kernel_throughput

use std::time::Instant;

use gloss_model::fast::kernels::{Isa, dot_r8};
use gloss_model::fast::quant::{Q8Batch, QType};

/// A multiple of 256 (the K-quants' block), about the models' row lengths.
const COLS: usize = 1792;
const ROWS: usize = 512;
const PASSES: usize = 40;

fn main() {
    let isa = Isa::detect();
    let mut seed = 7u64;
    let mut byte = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u8
    };
    let x: Vec<f32> = (0..8 * COLS).map(|_| byte() as f32 / 128.0 - 1.0).collect();
    let mut acts = Q8Batch::default();
    acts.quantize(&x, COLS);
    eprintln!("kernels: {isa:?}, {ROWS} rows x {COLS} columns, one thread");
    for ty in QType::ALL {
        let Some(block_bytes) = ty
            .r8_block_bytes()
            .filter(|_| COLS.is_multiple_of(ty.block_elems()))
        else {
            continue;
        };
        let group_bytes = COLS / ty.block_elems() * block_bytes;
        let mut packed = vec![0u8; ROWS / 8 * group_bytes];
        // Random payload, small fixed f16 scales (0x2000 ~ 0.0078): the speed does not depend
        // on the values.
        let native: Vec<Vec<u8>> = (0..8)
            .map(|_| {
                let mut row: Vec<u8> = (0..ty.row_bytes(COLS)).map(|_| byte()).collect();
                for block in row.chunks_exact_mut(ty.block_bytes()) {
                    let at = if ty == QType::Q6K { 208 } else { 0 };
                    block[at..at + 2].copy_from_slice(&[0, 0x20]);
                }
                row
            })
            .collect();
        for group in packed.chunks_exact_mut(group_bytes) {
            ty.repack_r8(std::array::from_fn(|i| native[i].as_slice()), group);
        }
        let one = |n: usize| {
            let started = Instant::now();
            let mut sink = 0f32;
            for _ in 0..PASSES {
                if n == 8 {
                    let a: [_; 8] = std::array::from_fn(|t| acts.row(t));
                    let mut out = [[[0f32; 8]; 8]; ROWS / 8];
                    dot_r8(isa, ty, &packed, &a, &mut out);
                    sink += out[0][3][7];
                } else if n == 4 {
                    let a: [_; 4] = std::array::from_fn(|t| acts.row(t));
                    let mut out = [[[0f32; 8]; 4]; ROWS / 8];
                    dot_r8(isa, ty, &packed, &a, &mut out);
                    sink += out[0][3][7];
                } else {
                    let mut out = [[[0f32; 8]; 1]; ROWS / 8];
                    dot_r8(isa, ty, &packed, &[acts.row(0)], &mut out);
                    sink += out[0][0][7];
                }
            }
            std::hint::black_box(sink);
            let macs = (PASSES * ROWS * COLS * n) as f64;
            macs / started.elapsed().as_secs_f64() / 1e9
        };
        let (t1, t4, t8) = (one(1), one(4), one(8));
        eprintln!("{ty:?}: {t1:6.1} GMAC/s at 1 token, {t4:6.1} at 4 tokens, {t8:6.1} at 8");
    }
}
