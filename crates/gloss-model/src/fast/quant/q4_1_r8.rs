//! Q4_1 repacked at load, eight rows interleaved, as `q5_0_r8` explains; 160 = 8 * 20 bytes
//! per 32-weight chunk of eight rows:
//! - bytes 0..16: the eight rows' f16 scales `d`; bytes 16..32: their f16 minimums `m`;
//! - bytes 32..160: four 32-byte vectors `V_p`; byte `4 i + e` of `V_p` holds row `i`'s weight
//!   `4 p + e` (low nibble) and weight `4 (p + 4) + e` (high nibble).

use super::{Q8Row, QK, f16_at, put_nibbles, q4_1, repack_blocks};

pub const ROWS: usize = 8;
pub const CHUNK_BYTES: usize = 160;

/// Repacks eight native Q4_1 rows (same length) into `out` (`blocks * CHUNK_BYTES` zeroed bytes).
pub fn repack(rows: [&[u8]; ROWS], out: &mut [u8]) {
    repack_blocks(
        rows,
        q4_1::BLOCK_BYTES,
        CHUNK_BYTES,
        out,
        |chunk, i, block| {
            chunk[2 * i..2 * i + 2].copy_from_slice(&block[0..2]);
            chunk[16 + 2 * i..16 + 2 * i + 2].copy_from_slice(&block[2..4]);
            put_nibbles(&mut chunk[32..160], i, &q4_1::unpack(block));
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
                .map(|j| {
                    let (k, e) = (j / 4, j % 4);
                    let q = (chunk[32 + 32 * (k % 4) + 4 * i + e] >> (4 * (k / 4))) & 0xF;
                    q as i32 * a[j] as i32
                })
                .sum();
            *o += f16_at(chunk, 2 * i) * act.d[c] * isum as f32
                + f16_at(chunk, 16 + 2 * i) * act.ds[c];
        }
    }
    out
}
