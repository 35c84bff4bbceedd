//! Q4_0: blocks of 32 weights, `d * (q - 8)` with 4-bit `q`; low nibbles hold elements 0..16.

use super::{Q8Row, QK, f16_at};

/// f16 `d`, then 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 18;

pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (j, &b) in block[2..18].iter().enumerate() {
        out[j] = d * ((b & 0xF) as i32 - 8) as f32;
        out[j + 16] = d * ((b >> 4) as i32 - 8) as f32;
    }
}

/// Unsigned 4-bit values of the block, in element order.
#[inline(always)]
pub fn unpack(block: &[u8]) -> [u8; QK] {
    let mut q = [0u8; QK];
    for (j, &b) in block[2..18].iter().enumerate() {
        q[j] = b & 0xF;
        q[j + 16] = b >> 4;
    }
    q
}

/// `sum w * a` as `d_w d_a (sum q a - 8 sum a)`: the offset becomes one term per block.
pub fn dot(row: &[u8], act: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (c, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let q = unpack(block);
        let a = &act.qs[c * QK..(c + 1) * QK];
        let isum: i32 = q.iter().zip(a).map(|(&q, &a)| q as i32 * a as i32).sum();
        let d = f16_at(block, 0);
        sum += d * act.d[c] * isum as f32 - 8.0 * d * act.scaled_sum(c);
    }
    sum
}
