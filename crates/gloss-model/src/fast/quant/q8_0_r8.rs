//! Q8_0 repacked at load, eight rows interleaved, as `q5_0_r8` explains; 272 = 8 * 34 bytes per
//! 32-weight chunk of eight rows:
//! - bytes 0..16: the eight rows' f16 scales;
//! - bytes 16..272: eight 32-byte vectors `R_k`; byte `4 i + e` of `R_k` is row `i`'s signed
//!   weight `4 k + e`.
//!
//! The weights stay signed: the kernels multiply `|w|` by the activation with `w`'s sign, which
//! keeps AVX2's saturating pair sums in range where a +128 offset would not.

use super::{Q8Row, QK, f16_at, q8_0, repack_blocks};

pub const ROWS: usize = 8;
pub const CHUNK_BYTES: usize = 272;

/// Repacks eight native Q8_0 rows (same length) into `out` (`blocks * CHUNK_BYTES` zeroed bytes).
pub fn repack(rows: [&[u8]; ROWS], out: &mut [u8]) {
    repack_blocks(
        rows,
        q8_0::BLOCK_BYTES,
        CHUNK_BYTES,
        out,
        |chunk, i, block| {
            chunk[2 * i..2 * i + 2].copy_from_slice(&block[0..2]);
            for k in 0..8 {
                let at = 16 + 32 * k + 4 * i;
                chunk[at..at + 4].copy_from_slice(&block[2 + 4 * k..2 + 4 * k + 4]);
            }
        },
    );
}

/// The portable kernel: eight rows' dot products with one activation row.
pub fn dot(group: &[u8], act: Q8Row<'_>) -> [f32; ROWS] {
    let mut out = [0f32; ROWS];
    for (c, chunk) in group.chunks_exact(CHUNK_BYTES).enumerate() {
        let a = &act.qs[c * QK..(c + 1) * QK];
        for (i, o) in out.iter_mut().enumerate() {
            let isum: i32 = (0..QK)
                .map(|j| chunk[16 + 32 * (j / 4) + 4 * i + j % 4] as i8 as i32 * a[j] as i32)
                .sum();
            *o += f16_at(chunk, 2 * i) * act.d[c] * isum as f32;
        }
    }
    out
}
