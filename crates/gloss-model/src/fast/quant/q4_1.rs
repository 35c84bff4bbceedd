//! Q4_1: blocks of 32 weights, `d * q + m` with 4-bit `q`; low nibbles hold elements 0..16.

use super::{Q8Row, QK, f16_at};

/// f16 `d`, f16 `m`, then 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 20;

pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let (d, m) = (f16_at(block, 0), f16_at(block, 2));
    for (j, &b) in block[4..20].iter().enumerate() {
        out[j] = d * (b & 0xF) as f32 + m;
        out[j + 16] = d * (b >> 4) as f32 + m;
    }
}

#[inline(always)]
pub fn unpack(block: &[u8]) -> [u8; QK] {
    let mut q = [0u8; QK];
    for (j, &b) in block[4..20].iter().enumerate() {
        q[j] = b & 0xF;
        q[j + 16] = b >> 4;
    }
    q
}

/// `sum w * a` as `d_w d_a sum q a + m d_a sum a`.
pub fn dot(row: &[u8], act: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (c, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let q = unpack(block);
        let a = &act.qs[c * QK..(c + 1) * QK];
        let isum: i32 = q.iter().zip(a).map(|(&q, &a)| q as i32 * a as i32).sum();
        sum += f16_at(block, 0) * act.d[c] * isum as f32 + f16_at(block, 2) * act.scaled_sum(c);
    }
    sum
}
