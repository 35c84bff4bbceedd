//! Q4_K repacked at load, eight rows interleaved, as `q5_0_r8` explains. Per 256-weight
//! super-block of eight rows, 1184 bytes (the native 8 * 144 plus 32: scales and minimums take a
//! byte each instead of six bits, so the kernels load them eight rows at a time):
//! - bytes 0..16: the rows' f16 `d`; bytes 16..32: their f16 `dmin`;
//! - bytes 32..96: byte `8 j + i` is row `i`'s scale of 32-weight sub-block `j`; bytes 96..160
//!   likewise its minimum;
//! - bytes `160 + 128 j..`: sub-block `j`'s four nibble vectors, arranged as in `q4_1_r8` (byte
//!   `4 i + e` of vector `p` holds row `i`'s weight `4 p + e` low and `4 (p + 4) + e` high).

use super::{Q8Row, QK, QK_K, f16_at, put_nibbles, q4_k, repack_blocks};

pub const ROWS: usize = 8;
pub const BLOCK_BYTES: usize = 1184;
const SUBS: usize = QK_K / QK;

/// Repacks eight native Q4_K rows (same length) into `out` (`blocks * BLOCK_BYTES` zeroed bytes).
pub fn repack(rows: [&[u8]; ROWS], out: &mut [u8]) {
    repack_blocks(
        rows,
        q4_k::BLOCK_BYTES,
        BLOCK_BYTES,
        out,
        |dst, i, block| {
            dst[2 * i..2 * i + 2].copy_from_slice(&block[0..2]);
            dst[16 + 2 * i..16 + 2 * i + 2].copy_from_slice(&block[2..4]);
            let (sc, m) = q4_k::scales_mins(block);
            for j in 0..SUBS {
                dst[32 + 8 * j + i] = sc[j];
                dst[96 + 8 * j + i] = m[j];
                put_nibbles(
                    &mut dst[160 + 128 * j..288 + 128 * j],
                    i,
                    &q4_k::unpack_sub(block, j),
                );
            }
        },
    );
}

/// Row `i`'s unsigned 4-bit weight `l` of sub-block `j` in one repacked super-block.
#[inline(always)]
fn weight(block: &[u8], i: usize, j: usize, l: usize) -> u8 {
    let (k, e) = (l / 4, l % 4);
    (block[160 + 128 * j + 32 * (k % 4) + 4 * i + e] >> (4 * (k / 4))) & 0xF
}

/// The portable kernel: eight rows' dot products with one activation row.
pub fn dot(group: &[u8], act: Q8Row<'_>) -> [f32; ROWS] {
    let mut out = [0f32; ROWS];
    for (b, block) in group.chunks_exact(BLOCK_BYTES).enumerate() {
        for (i, o) in out.iter_mut().enumerate() {
            let (d, dmin) = (f16_at(block, 2 * i), f16_at(block, 16 + 2 * i));
            for j in 0..SUBS {
                let c = b * SUBS + j;
                let a = &act.qs[c * QK..(c + 1) * QK];
                let isum: i32 = (0..QK)
                    .map(|l| weight(block, i, j, l) as i32 * a[l] as i32)
                    .sum();
                let (sc, m) = (block[32 + 8 * j + i], block[96 + 8 * j + i]);
                *o += d * act.d[c] * (sc as i32 * isum) as f32 - dmin * m as f32 * act.ds[c];
            }
        }
    }
    out
}
