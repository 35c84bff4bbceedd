//! Q6_K: super-blocks of 256 weights, `d * sc_k * (q - 32)` with 6-bit `q` and a signed 8-bit
//! scale per 16 weights. Each half of 128 weights takes 64 bytes of low nibbles, 32 bytes of
//! 2-bit high parts and 8 scales; seen as four 32-weight chunks `k`, chunk `k` takes the low
//! (k = 0, 1) or high (k = 2, 3) nibbles of bytes `32 (k % 2)..` and bits `2 k..2 k + 2` of the
//! high parts.

use super::{Q8Row, QK, QK_K, f16_at};

/// 128 bytes `ql`, 64 bytes `qh`, 16 signed scales, f16 `d`.
pub const BLOCK_BYTES: usize = 210;

/// Unsigned 6-bit values of 32-weight chunk `c` (0..8) and the scales of its two halves.
#[inline(always)]
pub fn unpack_chunk(block: &[u8], c: usize) -> ([u8; QK], [i8; 2]) {
    let (n, k) = (c / 4, c % 4);
    let ql = &block[64 * n + 32 * (k % 2)..64 * n + 32 * (k % 2) + 32];
    let qh = &block[128 + 32 * n..128 + 32 * n + 32];
    let lo_shift = 4 * (k / 2);
    let hi_shift = 2 * k;
    let q = std::array::from_fn(|l| ((ql[l] >> lo_shift) & 0xF) | (((qh[l] >> hi_shift) & 3) << 4));
    let sc = 192 + 8 * n + 2 * k;
    (q, [block[sc] as i8, block[sc + 1] as i8])
}

pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 208);
    for c in 0..QK_K / QK {
        let (q, sc) = unpack_chunk(block, c);
        for (l, &q) in q.iter().enumerate() {
            out[c * QK + l] = d * sc[l / 16] as f32 * (q as i32 - 32) as f32;
        }
    }
}

/// Per chunk: `d d_a (sc_0 (sum q a - 32 sum a)_0..16 + sc_1 (...)_16..32)`, all integer inside.
pub fn dot(row: &[u8], act: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (b, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let d = f16_at(block, 208);
        for k in 0..QK_K / QK {
            let c = b * (QK_K / QK) + k;
            let (q, sc) = unpack_chunk(block, k);
            let a = &act.qs[c * QK..(c + 1) * QK];
            let mut isum = 0i32;
            for h in 0..2 {
                let dot: i32 = (0..16)
                    .map(|l| q[16 * h + l] as i32 * a[16 * h + l] as i32)
                    .sum();
                isum += sc[h] as i32 * (dot - 32 * act.s16[2 * c + h] as i32);
            }
            sum += d * act.d[c] * isum as f32;
        }
    }
    sum
}
