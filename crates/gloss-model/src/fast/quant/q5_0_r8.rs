//! Q5_0 repacked at load, eight rows interleaved ("R8"), so one `vpdpbusd` multiplies four
//! weights of each of eight rows by the same four (broadcast) activation bytes and leaves one
//! row's partial sum per 32-bit lane: no horizontal sums, and one float FMA per 32 weights of
//! eight rows instead of one per row. Same size as the native blocks (176 = 8 * 22 bytes).
//!
//! Per 32-weight chunk of eight rows:
//! - bytes 0..16: the eight rows' f16 scales;
//! - bytes 16..144: four 32-byte vectors `V_p`; byte `4 i + e` of `V_p` holds, for row `i`, the
//!   low four bits of weight `4 p + e` (low nibble) and of weight `4 (p + 4) + e` (high nibble);
//! - bytes 144..176: byte `4 i + e`, bit `k`: the fifth bit of row `i`'s weight `4 k + e`.

use super::{Q8Row, QK, f16_at, put_nibbles, q5_0, repack_blocks};

pub const ROWS: usize = 8;
pub const CHUNK_BYTES: usize = 176;

/// Repacks eight native Q5_0 rows (same length) into `out` (`blocks * CHUNK_BYTES` zeroed bytes).
pub fn repack(rows: [&[u8]; ROWS], out: &mut [u8]) {
    repack_blocks(
        rows,
        q5_0::BLOCK_BYTES,
        CHUNK_BYTES,
        out,
        |chunk, i, block| {
            chunk[2 * i..2 * i + 2].copy_from_slice(&block[0..2]);
            let q = q5_0::unpack(block);
            put_nibbles(&mut chunk[16..144], i, &q);
            for (j, v) in q.iter().enumerate() {
                chunk[144 + 4 * i + j % 4] |= (v >> 4) << (j / 4);
            }
        },
    );
}

/// Unsigned 5-bit weight `j` (0..32) of row `i` in one repacked chunk.
#[inline(always)]
pub fn weight(chunk: &[u8], i: usize, j: usize) -> u8 {
    let (k, e) = (j / 4, j % 4);
    let byte = 4 * i + e;
    let low = (chunk[16 + 32 * (k % 4) + byte] >> (4 * (k / 4))) & 0xF;
    let high = (chunk[144 + byte] >> k) & 1;
    low | (high << 4)
}

/// The portable kernel: eight rows' dot products with one activation row.
pub fn dot(group: &[u8], act: Q8Row<'_>) -> [f32; ROWS] {
    let mut out = [0f32; ROWS];
    for (c, chunk) in group.chunks_exact(CHUNK_BYTES).enumerate() {
        let a = &act.qs[c * QK..(c + 1) * QK];
        for (i, o) in out.iter_mut().enumerate() {
            let isum: i32 = (0..QK)
                .map(|j| weight(chunk, i, j) as i32 * a[j] as i32)
                .sum();
            let d = f16_at(chunk, 2 * i);
            *o += d * act.d[c] * isum as f32 - 16.0 * d * act.ds[c];
        }
    }
    out
}
