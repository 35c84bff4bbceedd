//! AVX2 and AVX-512 VNNI kernels, generated from one body: they differ only in how 32 unsigned
//! weight bytes times 32 signed activation bytes become eight i32 sums (`udot`).
//!
//! Every format is decoded, 32 weights at a time, into unsigned bytes `q` whose dot product with
//! the activations is exact in i32; offsets and minimums are folded in afterwards through the
//! precomputed activation block sums, so the inner loop is one `udot` and one FMA per 32 weights
//! per token. Lengths are checked once in `dot`; the loops then index without checks.

macro_rules! x86_kernels {
    ($features:literal, $udot:item, $udot_acc:item) => {
        use std::arch::x86_64::*;

        use crate::fast::quant::{
            Q8Row, QK, QType, q4_0, q4_1, q4_k, q4_k_r8, q5_0, q6_k, q6_k_r8, q8_0,
        };

        $udot

        $udot_acc

        /// One activation row as raw pointers (lengths checked by `dot`).
        #[derive(Clone, Copy)]
        struct Act {
            qs: *const i8,
            d: *const f32,
            ds: *const f32,
            s16: *const i16,
        }

        impl Act {
            /// Bytes of 32-block `c`.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn q(self, c: usize) -> __m256i {
                // SAFETY: `c` is below the row's block count (caller), so 32 bytes are readable.
                unsafe { _mm256_loadu_si256(self.qs.add(c * QK) as *const __m256i) }
            }
            #[inline(always)]
            unsafe fn d(self, c: usize) -> f32 {
                // SAFETY: as in `q`.
                unsafe { *self.d.add(c) }
            }
            #[inline(always)]
            unsafe fn ds(self, c: usize) -> f32 {
                // SAFETY: as in `q`.
                unsafe { *self.ds.add(c) }
            }
            #[inline(always)]
            unsafe fn s16(self, j: usize) -> i32 {
                // SAFETY: `j < 2 * blocks` (caller).
                unsafe { *self.s16.add(j) as i32 }
            }
        }

        #[target_feature(enable = $features)]
        #[inline]
        fn hsum(v: __m256) -> f32 {
            let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
            let x = _mm_add_ss(x, _mm_movehdup_ps(x));
            _mm_cvtss_f32(x)
        }

        /// The f16 at `p` (unaligned) as f32.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn f16(p: *const u8) -> f32 {
            // SAFETY: the caller guarantees two readable bytes at `p`.
            let bits = unsafe { std::ptr::read_unaligned(p as *const u16) };
            _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
        }

        /// 16 bytes of nibbles at `p` as 32 bytes: low nibbles first, then high nibbles.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn nibbles16(p: *const u8) -> __m256i {
            // SAFETY: the caller guarantees 16 readable bytes at `p`.
            let x = unsafe { _mm_loadu_si128(p as *const __m128i) };
            let m = _mm_set1_epi8(0xF);
            _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m), _mm_and_si128(x, m))
        }

        /// Bit `j` of `bits` as byte `j`: 0xFF where set, 0 where clear.
        #[target_feature(enable = $features)]
        #[inline]
        fn bits_to_bytes(bits: u32) -> __m256i {
            let x = _mm256_set1_epi32(bits as i32);
            let spread = _mm256_setr_epi8(
                0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3,
                3, 3, 3, 3, 3,
            );
            let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
            _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(x, spread), mask), mask)
        }

        /// Finishes `N` dot products: horizontal sums of the vector accumulators plus the
        /// scalar offset terms.
        #[target_feature(enable = $features)]
        #[inline]
        fn finish<const N: usize>(acc: &[__m256; N], corr: &[f32; N]) -> [f32; N] {
            let mut out = [0f32; N];
            for t in 0..N {
                out[t] = hsum(acc[t]) + corr[t];
            }
            out
        }

        /// Blocks of 32 weights with one f16 scale: Q4_0, Q4_1, Q5_0 (`decode` gives the
        /// unsigned bytes, `offset` the per-block term that multiplies `d_a * sum a`).
        macro_rules! small_block_dot {
            ($name:ident, $bytes:expr, |$blk:ident| $decode:expr, |$d:ident| $offset:expr) => {
                #[target_feature(enable = $features)]
                unsafe fn $name<const N: usize>(w: &[u8], a: &[Act; N]) -> [f32; N] {
                    let mut acc = [_mm256_setzero_ps(); N];
                    let mut corr = [0f32; N];
                    for (c, block) in w.chunks_exact($bytes).enumerate() {
                        let $blk = block.as_ptr();
                        // SAFETY: `block` holds one whole block of the format; `decode` and
                        // `offset` read inside it.
                        let ($d, q, offset): (f32, __m256i, f32) =
                            unsafe { (f16($blk), $decode, { let $d = f16($blk); $offset }) };
                        let dw = _mm256_set1_ps($d);
                        for t in 0..N {
                            // SAFETY: `c` is below the activation rows' block count (`dot`).
                            unsafe {
                                let p = udot(q, a[t].q(c));
                                let s = _mm256_mul_ps(dw, _mm256_set1_ps(a[t].d(c)));
                                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[t]);
                                corr[t] += offset * a[t].ds(c);
                            }
                        }
                    }
                    finish(&acc, &corr)
                }
            };
        }

        small_block_dot!(dot_q4_0, q4_0::BLOCK_BYTES, |b| nibbles16(b.add(2)), |d| -8.0 * d);
        small_block_dot!(dot_q4_1, q4_1::BLOCK_BYTES, |b| nibbles16(b.add(4)), |_d| f16(b.add(2)));
        small_block_dot!(
            dot_q5_0,
            q5_0::BLOCK_BYTES,
            |b| {
                let qh = std::ptr::read_unaligned(b.add(2) as *const u32);
                let high = _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10));
                _mm256_or_si256(nibbles16(b.add(6)), high)
            },
            |d| -16.0 * d
        );

        /// Signed weights: `|w| * (a with the sign of w)` keeps `udot`'s unsigned operand.
        #[target_feature(enable = $features)]
        unsafe fn dot_q8_0<const N: usize>(w: &[u8], a: &[Act; N]) -> [f32; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            for (c, block) in w.chunks_exact(q8_0::BLOCK_BYTES).enumerate() {
                let b = block.as_ptr();
                // SAFETY: `block` holds one 34-byte Q8_0 block.
                let (d, q) = unsafe { (f16(b), _mm256_loadu_si256(b.add(2) as *const __m256i)) };
                let abs = _mm256_abs_epi8(q);
                let dw = _mm256_set1_ps(d);
                for t in 0..N {
                    // SAFETY: `c` is below the activation rows' block count (`dot`).
                    unsafe {
                        let p = udot(abs, _mm256_sign_epi8(a[t].q(c), q));
                        let s = _mm256_mul_ps(dw, _mm256_set1_ps(a[t].d(c)));
                        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[t]);
                    }
                }
            }
            finish(&acc, &[0.0; N])
        }

        #[target_feature(enable = $features)]
        unsafe fn dot_q4_k<const N: usize>(w: &[u8], a: &[Act; N]) -> [f32; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            let mut corr = [0f32; N];
            let m4 = _mm256_set1_epi8(0xF);
            for (bi, block) in w.chunks_exact(q4_k::BLOCK_BYTES).enumerate() {
                let b = block.as_ptr();
                // SAFETY: `block` holds one 144-byte Q4_K block.
                let (d, dmin) = unsafe { (f16(b), f16(b.add(2))) };
                let (sc, m) = q4_k::scales_mins(block);
                for g in 0..4 {
                    // SAFETY: bytes 16 + 32 g..16 + 32 g + 32 lie inside the block.
                    let x = unsafe { _mm256_loadu_si256(b.add(16 + 32 * g) as *const __m256i) };
                    let halves = [
                        _mm256_and_si256(x, m4),
                        _mm256_and_si256(_mm256_srli_epi16(x, 4), m4),
                    ];
                    for (h, q) in halves.into_iter().enumerate() {
                        let j = 2 * g + h;
                        let c = bi * 8 + j;
                        let scale = _mm256_set1_ps(d * sc[j] as f32);
                        let min = -dmin * m[j] as f32;
                        for t in 0..N {
                            // SAFETY: `c` is below the activation rows' block count (`dot`).
                            unsafe {
                                let p = udot(q, a[t].q(c));
                                let s = _mm256_mul_ps(scale, _mm256_set1_ps(a[t].d(c)));
                                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[t]);
                                corr[t] += min * a[t].ds(c);
                            }
                        }
                    }
                }
            }
            finish(&acc, &corr)
        }

        #[target_feature(enable = $features)]
        unsafe fn dot_q6_k<const N: usize>(w: &[u8], a: &[Act; N]) -> [f32; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            let mut corr = [0f32; N];
            let m4 = _mm256_set1_epi8(0xF);
            let m2 = _mm256_set1_epi8(3);
            for (bi, block) in w.chunks_exact(q6_k::BLOCK_BYTES).enumerate() {
                let b = block.as_ptr();
                // SAFETY: `block` holds one 210-byte Q6_K block.
                let d = unsafe { f16(b.add(208)) };
                let dw = _mm256_set1_ps(d);
                for n in 0..2 {
                    // SAFETY: `ql` spans bytes 0..128, `qh` 128..192 of the block.
                    let (ql0, ql1, qh) = unsafe {
                        (
                            _mm256_loadu_si256(b.add(64 * n) as *const __m256i),
                            _mm256_loadu_si256(b.add(64 * n + 32) as *const __m256i),
                            _mm256_loadu_si256(b.add(128 + 32 * n) as *const __m256i),
                        )
                    };
                    let hi = |x: __m256i| _mm256_slli_epi16(_mm256_and_si256(x, m2), 4);
                    let qs = [
                        _mm256_or_si256(_mm256_and_si256(ql0, m4), hi(qh)),
                        _mm256_or_si256(_mm256_and_si256(ql1, m4), hi(_mm256_srli_epi16(qh, 2))),
                        _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                            hi(_mm256_srli_epi16(qh, 4)),
                        ),
                        _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                            hi(_mm256_srli_epi16(qh, 6)),
                        ),
                    ];
                    for (k, q) in qs.into_iter().enumerate() {
                        let c = bi * 8 + 4 * n + k;
                        let s0 = block[192 + 8 * n + 2 * k] as i8 as i32;
                        let s1 = block[192 + 8 * n + 2 * k + 1] as i8 as i32;
                        let scales = _mm256_setr_epi32(s0, s0, s0, s0, s1, s1, s1, s1);
                        for t in 0..N {
                            // SAFETY: `c` is below the activation rows' block count (`dot`).
                            unsafe {
                                let p = _mm256_mullo_epi32(udot(q, a[t].q(c)), scales);
                                let da = d * a[t].d(c);
                                let s = _mm256_mul_ps(dw, _mm256_set1_ps(a[t].d(c)));
                                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[t]);
                                let sums = s0 * a[t].s16(2 * c) + s1 * a[t].s16(2 * c + 1);
                                corr[t] -= 32.0 * da * sums as f32;
                            }
                        }
                    }
                }
            }
            finish(&acc, &corr)
        }

        /// Four 32-byte nibble vectors at `p` as eight registers of unsigned bytes: the low
        /// nibbles of vectors 0..4, then their high nibbles (weights `4 k..4 k + 4` of each row
        /// in register `k`, for the layouts of `q4_1_r8`).
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn nibble_regs(p: *const u8) -> [__m256i; 8] {
            let m4 = _mm256_set1_epi8(0xF);
            // SAFETY: the caller guarantees 128 readable bytes at `p`.
            let v: [__m256i; 4] =
                std::array::from_fn(|k| unsafe { _mm256_loadu_si256(p.add(32 * k) as *const __m256i) });
            std::array::from_fn(|k| {
                if k < 4 {
                    _mm256_and_si256(v[k], m4)
                } else {
                    _mm256_and_si256(_mm256_srli_epi16(v[k - 4], 4), m4)
                }
            })
        }

        /// Row `i`'s integer sums over 32-block `c` of one token, in lane `i`: eight `udot_acc`
        /// of register `k` with the token's broadcast activation word `k`. With `SIGNED`, the
        /// registers hold signed weights and `abs` their magnitudes (the sign moves onto the
        /// activations, keeping `udot`'s unsigned operand).
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn row_sums<const SIGNED: bool>(
            regs: &[__m256i; 8],
            abs: &[__m256i; 8],
            a: Act,
            c: usize,
            range: std::ops::Range<usize>,
        ) -> __m256i {
            // SAFETY: `c` is below the activation row's block count (caller): 32 bytes, read
            // as eight 4-byte words.
            let words = unsafe { a.qs.add(c * QK) } as *const i32;
            // Two chains of `udot_acc`, not one: each step waits for the previous one's
            // latency, and a chain of eight left the multipliers idle half the time.
            let mut s = [_mm256_setzero_si256(); 2];
            for k in range {
                // SAFETY: `k < 8`, inside the 32 bytes.
                let x = _mm256_set1_epi32(unsafe { std::ptr::read_unaligned(words.add(k)) });
                s[k % 2] = if SIGNED {
                    udot_acc(s[k % 2], abs[k], _mm256_sign_epi8(x, regs[k]))
                } else {
                    udot_acc(s[k % 2], regs[k], x)
                };
            }
            _mm256_add_epi32(s[0], s[1])
        }

        /// Adds 32-block `c` of eight interleaved rows to each token's sums: the integer sums
        /// times the rows' scales `dw` (and the token's), plus the rows' offset terms `off`
        /// times the token's `d_a sum a`.
        #[target_feature(enable = $features)]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        unsafe fn add_block<const N: usize, const SIGNED: bool>(
            regs: &[__m256i; 8],
            abs: &[__m256i; 8],
            dw: __m256,
            off: __m256,
            a: &[Act; N],
            c: usize,
            acc: &mut [__m256; N],
            corr: &mut [__m256; N],
        ) {
            for t in 0..N {
                // SAFETY: forwarded to the caller.
                unsafe {
                    let s = row_sums::<SIGNED>(regs, abs, a[t], c, 0..8);
                    let scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t].d(c)));
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale, acc[t]);
                    if !SIGNED {
                        corr[t] = _mm256_fmadd_ps(off, _mm256_set1_ps(a[t].ds(c)), corr[t]);
                    }
                }
            }
        }

        /// The eight rows' results: both sums per token.
        #[target_feature(enable = $features)]
        #[inline]
        fn store_r8<const N: usize>(acc: &[__m256; N], corr: &[__m256; N]) -> [[f32; 8]; N] {
            let mut out = [[0f32; 8]; N];
            for t in 0..N {
                let r = _mm256_add_ps(acc[t], corr[t]);
                // SAFETY: `out[t]` holds eight f32.
                unsafe { _mm256_storeu_ps(out[t].as_mut_ptr(), r) };
            }
            out
        }

        /// Eight interleaved Q5_0, Q4_1 or Q8_0 rows (`q5_0_r8`, `q4_1_r8`, `q8_0_r8`; one
        /// chunk per 32-block) times `N` activation rows.
        #[target_feature(enable = $features)]
        unsafe fn dot_r8_small<const N: usize>(ty: QType, g: &[u8], a: &[Act; N]) -> [[f32; 8]; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            let mut corr = [_mm256_setzero_ps(); N];
            let bit4 = _mm256_set1_epi8(0x10);
            let chunk_bytes = ty.r8_block_bytes().expect("an eight-row format");
            for (c, chunk) in g.chunks_exact(chunk_bytes).enumerate() {
                let p = chunk.as_ptr();
                // SAFETY: each layout's offsets lie inside its chunk (see the modules' docs);
                // `c` is below the activation rows' block count (`dot_r8`).
                unsafe {
                    let dw = _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i));
                    match ty {
                        QType::Q5_0 => {
                            let mut regs = nibble_regs(p.add(16));
                            let h = _mm256_loadu_si256(p.add(144) as *const __m256i);
                            // Bit `k` of each byte of `h` is the fifth bit of register `k`'s.
                            for (k, r) in regs.iter_mut().enumerate() {
                                let at4 = match k {
                                    0 => _mm256_slli_epi16(h, 4),
                                    1 => _mm256_slli_epi16(h, 3),
                                    2 => _mm256_slli_epi16(h, 2),
                                    3 => _mm256_slli_epi16(h, 1),
                                    4 => h,
                                    5 => _mm256_srli_epi16(h, 1),
                                    6 => _mm256_srli_epi16(h, 2),
                                    _ => _mm256_srli_epi16(h, 3),
                                };
                                *r = _mm256_or_si256(*r, _mm256_and_si256(at4, bit4));
                            }
                            let off = _mm256_mul_ps(dw, _mm256_set1_ps(-16.0));
                            add_block::<N, false>(&regs, &regs, dw, off, a, c, &mut acc, &mut corr);
                        }
                        QType::Q4_1 => {
                            let regs = nibble_regs(p.add(32));
                            let off = _mm256_cvtph_ps(_mm_loadu_si128(p.add(16) as *const __m128i));
                            add_block::<N, false>(&regs, &regs, dw, off, a, c, &mut acc, &mut corr);
                        }
                        _ => {
                            let regs: [__m256i; 8] = std::array::from_fn(|k| {
                                _mm256_loadu_si256(p.add(16 + 32 * k) as *const __m256i)
                            });
                            let abs = regs.map(|r| _mm256_abs_epi8(r));
                            let off = _mm256_setzero_ps();
                            add_block::<N, true>(&regs, &abs, dw, off, a, c, &mut acc, &mut corr);
                        }
                    }
                }
            }
            store_r8(&acc, &corr)
        }

        /// Eight interleaved Q4_K rows (`q4_k_r8`) times `N` activation rows.
        #[target_feature(enable = $features)]
        unsafe fn dot_r8_q4_k<const N: usize>(g: &[u8], a: &[Act; N]) -> [[f32; 8]; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            let mut corr = [_mm256_setzero_ps(); N];
            for (b, block) in g.chunks_exact(q4_k_r8::BLOCK_BYTES).enumerate() {
                let p = block.as_ptr();
                // SAFETY: the offsets lie inside the 1184-byte block (`q4_k_r8`); `8 b + j` is
                // below the activation rows' block count (`dot_r8`).
                unsafe {
                    let d = _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i));
                    let dmin = _mm256_cvtph_ps(_mm_loadu_si128(p.add(16) as *const __m128i));
                    let bytes = |at: usize| {
                        let v = _mm_loadl_epi64(p.add(at) as *const __m128i);
                        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v))
                    };
                    for j in 0..8 {
                        let regs = nibble_regs(p.add(160 + 128 * j));
                        let dw = _mm256_mul_ps(d, bytes(32 + 8 * j));
                        let off = _mm256_mul_ps(dmin, bytes(96 + 8 * j));
                        let off = _mm256_sub_ps(_mm256_setzero_ps(), off);
                        add_block::<N, false>(&regs, &regs, dw, off, a, 8 * b + j, &mut acc, &mut corr);
                    }
                }
            }
            store_r8(&acc, &corr)
        }

        /// Eight interleaved Q6_K rows (`q6_k_r8`) times `N` activation rows: each 32-block's
        /// two halves carry their own scales, so the halves are summed apart and combined in
        /// integers with the `- 32` offset before the one float step.
        #[target_feature(enable = $features)]
        unsafe fn dot_r8_q6_k<const N: usize>(g: &[u8], a: &[Act; N]) -> [[f32; 8]; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            let m2 = _mm256_set1_epi8(0x30);
            for (b, block) in g.chunks_exact(q6_k_r8::BLOCK_BYTES).enumerate() {
                let p = block.as_ptr();
                // SAFETY: the offsets lie inside the 1680-byte block (`q6_k_r8`); `8 b + k` is
                // below the activation rows' block count (`dot_r8`).
                unsafe {
                    let d = _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i));
                    for k in 0..8 {
                        let scale = |at: usize| {
                            _mm256_cvtepi8_epi32(_mm_loadl_epi64(p.add(at) as *const __m128i))
                        };
                        let (sc0, sc1) = (scale(16 + 16 * k), scale(24 + 16 * k));
                        let w = p.add(144 + 192 * k);
                        let mut regs = nibble_regs(w);
                        for h in 0..2 {
                            let hv = _mm256_loadu_si256(w.add(128 + 32 * h) as *const __m256i);
                            let tops = [
                                _mm256_slli_epi16(hv, 4),
                                _mm256_slli_epi16(hv, 2),
                                hv,
                                _mm256_srli_epi16(hv, 2),
                            ];
                            for (m, top) in tops.into_iter().enumerate() {
                                let r = &mut regs[4 * h + m];
                                *r = _mm256_or_si256(*r, _mm256_and_si256(top, m2));
                            }
                        }
                        let c = 8 * b + k;
                        for t in 0..N {
                            let s0 = row_sums::<false>(&regs, &regs, a[t], c, 0..4);
                            let s1 = row_sums::<false>(&regs, &regs, a[t], c, 4..8);
                            let x0 = _mm256_sub_epi32(s0, _mm256_set1_epi32(32 * a[t].s16(2 * c)));
                            let x1 =
                                _mm256_sub_epi32(s1, _mm256_set1_epi32(32 * a[t].s16(2 * c + 1)));
                            let isum = _mm256_add_epi32(
                                _mm256_mullo_epi32(x0, sc0),
                                _mm256_mullo_epi32(x1, sc1),
                            );
                            let scale = _mm256_mul_ps(d, _mm256_set1_ps(a[t].d(c)));
                            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc[t]);
                        }
                    }
                }
            }
            store_r8(&acc, &[_mm256_setzero_ps(); N])
        }

        /// Consecutive groups of eight interleaved rows of `ty` (repacked at load,
        /// `QType::repack_r8`), one per element of `out`, times each of the `N` activation rows:
        /// `out[g][t][i]` is row `i` of group `g` times `a[t]`.
        ///
        /// # Safety
        /// The CPU must have the features this module is compiled for.
        #[target_feature(enable = $features)]
        pub unsafe fn dot_r8<const N: usize>(
            ty: QType,
            groups: &[u8],
            a: &[Q8Row<'_>; N],
            out: &mut [[[f32; 8]; N]],
        ) {
            let block_bytes = ty
                .r8_block_bytes()
                .unwrap_or_else(|| panic!("no eight-row layout for {ty:?}"));
            assert!(
                !out.is_empty() && groups.len() % out.len() == 0,
                "one output per group"
            );
            let group_bytes = groups.len() / out.len();
            let blocks = group_bytes / block_bytes * (ty.block_elems() / QK);
            assert!(
                group_bytes % block_bytes == 0
                    && a.iter().all(|a| a.is_consistent() && a.blocks() == blocks),
                "weight rows and activation rows disagree in length"
            );
            let act: [Act; N] = std::array::from_fn(|t| Act {
                qs: a[t].qs.as_ptr(),
                d: a[t].d.as_ptr(),
                ds: a[t].ds.as_ptr(),
                s16: a[t].s16.as_ptr(),
            });
            for (g, out) in groups.chunks_exact(group_bytes).zip(out) {
                // SAFETY: same features; lengths checked above.
                *out = unsafe {
                    match ty {
                        QType::Q4K => dot_r8_q4_k(g, &act),
                        QType::Q6K => dot_r8_q6_k(g, &act),
                        _ => dot_r8_small(ty, g, &act),
                    }
                };
            }
        }

        /// `w · a[t]` for each of the `N` rows.
        ///
        /// # Safety
        /// The CPU must have the features this module is compiled for.
        #[target_feature(enable = $features)]
        pub unsafe fn dot<const N: usize>(ty: QType, w: &[u8], a: &[Q8Row<'_>; N]) -> [f32; N] {
            let blocks = w.len() / ty.block_bytes() * (ty.block_elems() / QK);
            assert!(
                w.len() % ty.block_bytes() == 0
                    && a.iter().all(|a| a.is_consistent() && a.blocks() == blocks),
                "weight row and activation rows disagree in length"
            );
            let act: [Act; N] = std::array::from_fn(|t| Act {
                qs: a[t].qs.as_ptr(),
                d: a[t].d.as_ptr(),
                ds: a[t].ds.as_ptr(),
                s16: a[t].s16.as_ptr(),
            });
            // SAFETY: the same features are enabled here as in each kernel; the kernels read
            // whole blocks of `w` and blocks `0..blocks` of each activation row, whose lengths
            // were checked above.
            unsafe {
                match ty {
                    QType::Q4_0 => dot_q4_0(w, &act),
                    QType::Q4_1 => dot_q4_1(w, &act),
                    QType::Q5_0 => dot_q5_0(w, &act),
                    QType::Q8_0 => dot_q8_0(w, &act),
                    QType::Q4K => dot_q4_k(w, &act),
                    QType::Q6K => dot_q6_k(w, &act),
                }
            }
        }
    };
}

pub mod avx2 {
    //! AVX2: `maddubs` pairs, then `madd` with ones into i32 (no i16 overflow: |q| <= 63 or the
    //! sign trick keeps each pair under 2 * 128 * 127).
    x86_kernels!(
        "avx2,fma,f16c",
        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        fn udot(u: __m256i, s: __m256i) -> __m256i {
            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
        },
        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        fn udot_acc(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
            _mm256_add_epi32(acc, udot(u, s))
        }
    );
}

pub mod vnni {
    //! AVX-512 VNNI on 256-bit registers: `vpdpbusd` does the whole u8 x i8 -> i32 step.
    x86_kernels!(
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        #[inline]
        fn udot(u: __m256i, s: __m256i) -> __m256i {
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
        },
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        #[inline]
        fn udot_acc(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
            _mm256_dpbusd_epi32(acc, u, s)
        }
    );
}

/// Quantizes 32 floats to int8 as `quant::quantize_block` does (same scale, same rounding: half
/// to even), returning the scale and the sums of each half.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn quantize_block(x: &[f32; 32], qs: &mut [i8; 32]) -> (f32, [i16; 2]) {
    use std::arch::x86_64::*;
    // SAFETY: `x` holds 32 floats, read as four vectors of eight.
    let v: [__m256; 4] = std::array::from_fn(|i| unsafe { _mm256_loadu_ps(x.as_ptr().add(8 * i)) });
    let sign = _mm256_set1_ps(-0.0);
    let abs = v.map(|v| _mm256_andnot_ps(sign, v));
    let m = _mm256_max_ps(_mm256_max_ps(abs[0], abs[1]), _mm256_max_ps(abs[2], abs[3]));
    let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
    let scale = amax / 127.0;
    let inv = _mm256_set1_ps(if scale > 0.0 { 1.0 / scale } else { 0.0 });
    let q = v.map(|v| {
        let r = _mm256_round_ps(
            _mm256_mul_ps(v, inv),
            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
        );
        _mm256_cvtps_epi32(r)
    });
    let half_sum = |a: __m256i, b: __m256i| {
        let s = _mm256_add_epi32(a, b);
        let s = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s) as i16
    };
    let sums = [half_sum(q[0], q[1]), half_sum(q[2], q[3])];
    // Packing works within 128-bit lanes; the permute puts the 32 bytes back in order.
    let w = _mm256_packs_epi16(
        _mm256_packs_epi32(q[0], q[1]),
        _mm256_packs_epi32(q[2], q[3]),
    );
    let w = _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    // SAFETY: `qs` holds 32 bytes.
    unsafe { _mm256_storeu_si256(qs.as_mut_ptr() as *mut __m256i, w) };
    (scale, sums)
}

/// `out[j] = q · keys[j]` for eight consecutive keys of `q.len()` values each (a multiple of 8):
/// one vector of partial sums per key, then one transposing reduction for all eight, instead of
/// a horizontal sum per key.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot8(q: &[f32], keys: &[f32]) -> [f32; 8] {
    use std::arch::x86_64::*;
    let dim = q.len();
    assert!(
        dim.is_multiple_of(8) && keys.len() == 8 * dim,
        "eight whole keys"
    );
    let mut acc = [_mm256_setzero_ps(); 8];
    for c in (0..dim).step_by(8) {
        // SAFETY: `c + 8 <= dim`, and key `j` spans `j * dim..(j + 1) * dim` (checked above).
        unsafe {
            let qv = _mm256_loadu_ps(q.as_ptr().add(c));
            for (j, acc) in acc.iter_mut().enumerate() {
                let kv = _mm256_loadu_ps(keys.as_ptr().add(j * dim + c));
                *acc = _mm256_fmadd_ps(qv, kv, *acc);
            }
        }
    }
    // Pairwise sums: after three rounds lane j holds key j's total.
    let h01 = _mm256_hadd_ps(acc[0], acc[1]);
    let h23 = _mm256_hadd_ps(acc[2], acc[3]);
    let h45 = _mm256_hadd_ps(acc[4], acc[5]);
    let h67 = _mm256_hadd_ps(acc[6], acc[7]);
    let h0123 = _mm256_hadd_ps(h01, h23);
    let h4567 = _mm256_hadd_ps(h45, h67);
    let lo = _mm256_permute2f128_ps(h0123, h4567, 0x20);
    let hi = _mm256_permute2f128_ps(h0123, h4567, 0x31);
    let mut out = [0f32; 8];
    // SAFETY: `out` holds eight f32.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_add_ps(lo, hi)) };
    out
}
