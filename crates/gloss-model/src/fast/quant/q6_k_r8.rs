//! Q6_K repacked at load, eight rows interleaved, as `q5_0_r8` explains. Per 256-weight
//! super-block of eight rows, 1680 bytes (the native 8 * 210):
//! - bytes 0..16: the rows' f16 `d`;
//! - bytes `16 + 16 c..`: the signed scales of 32-weight chunk `c`, byte `i` for row `i`'s first
//!   16 weights and byte `8 + i` for its last 16;
//! - bytes `144 + 192 c..`: chunk `c`'s weights: four nibble vectors arranged as in `q4_1_r8`
//!   (the low four bits), then two 32-byte vectors `H_h` whose byte `4 i + e` holds, in bits
//!   `2 m..2 m + 2`, the top two bits of row `i`'s weight `4 (4 h + m) + e`.

use super::{Q8Row, QK, QK_K, f16_at, put_nibbles, q6_k, repack_blocks};

pub const ROWS: usize = 8;
pub const BLOCK_BYTES: usize = 1680;
const CHUNKS: usize = QK_K / QK;
const CHUNK_BYTES: usize = 192;
const WEIGHTS_AT: usize = 16 + 16 * CHUNKS;

/// Repacks eight native Q6_K rows (same length) into `out` (`blocks * BLOCK_BYTES` zeroed bytes).
pub fn repack(rows: [&[u8]; ROWS], out: &mut [u8]) {
    repack_blocks(
        rows,
        q6_k::BLOCK_BYTES,
        BLOCK_BYTES,
        out,
        |dst, i, block| {
            dst[2 * i..2 * i + 2].copy_from_slice(&block[208..210]);
            for c in 0..CHUNKS {
                let (q, sc) = q6_k::unpack_chunk(block, c);
                dst[16 + 16 * c + i] = sc[0] as u8;
                dst[16 + 16 * c + 8 + i] = sc[1] as u8;
                let chunk = &mut dst[WEIGHTS_AT + CHUNK_BYTES * c..][..CHUNK_BYTES];
                put_nibbles(&mut chunk[..128], i, &q);
                for (j, v) in q.iter().enumerate() {
                    let k = j / 4;
                    chunk[128 + 32 * (k / 4) + 4 * i + j % 4] |= (v >> 4) << (2 * (k % 4));
                }
            }
        },
    );
}

/// Row `i`'s unsigned 6-bit weight `l` of one repacked chunk.
#[inline(always)]
fn weight(chunk: &[u8], i: usize, l: usize) -> u8 {
    let (k, e) = (l / 4, l % 4);
    let low = (chunk[32 * (k % 4) + 4 * i + e] >> (4 * (k / 4))) & 0xF;
    let high = (chunk[128 + 32 * (k / 4) + 4 * i + e] >> (2 * (k % 4))) & 3;
    low | (high << 4)
}

/// The portable kernel: eight rows' dot products with one activation row.
pub fn dot(group: &[u8], act: Q8Row<'_>) -> [f32; ROWS] {
    let mut out = [0f32; ROWS];
    for (b, block) in group.chunks_exact(BLOCK_BYTES).enumerate() {
        for (i, o) in out.iter_mut().enumerate() {
            let d = f16_at(block, 2 * i);
            for k in 0..CHUNKS {
                let c = b * CHUNKS + k;
                let chunk = &block[WEIGHTS_AT + CHUNK_BYTES * k..][..CHUNK_BYTES];
                let a = &act.qs[c * QK..(c + 1) * QK];
                let mut isum = 0i32;
                for h in 0..2 {
                    let dot: i32 = (16 * h..16 * h + 16)
                        .map(|l| weight(chunk, i, l) as i32 * a[l] as i32)
                        .sum();
                    let sc = block[16 + 16 * k + 8 * h + i] as i8 as i32;
                    isum += sc * (dot - 32 * act.s16[2 * c + h] as i32);
                }
                *o += d * act.d[c] * isum as f32;
            }
        }
    }
    out
}
