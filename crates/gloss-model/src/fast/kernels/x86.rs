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
            Q8Row, QK, QType, q4_0, q4_1, q4_1_r8, q4_k, q5_0, q5_0_r8, q6_k, q8_0,
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

        /// Eight interleaved rows (`q5_0_r8` when `Q5`, else `q4_1_r8`) times `N` activation
        /// rows: per chunk, eight `udot_acc` with broadcast activation words leave row `i`'s
        /// sum in lane `i`; one FMA per chunk applies the eight rows' scales.
        #[target_feature(enable = $features)]
        unsafe fn dot_r8_impl<const N: usize, const Q5: bool>(
            g: &[u8],
            a: &[Act; N],
        ) -> [[f32; 8]; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            let mut corr = [_mm256_setzero_ps(); N];
            let m4 = _mm256_set1_epi8(0xF);
            let bit4 = _mm256_set1_epi8(0x10);
            let (chunk_bytes, nib) = if Q5 {
                (q5_0_r8::CHUNK_BYTES, 16)
            } else {
                (q4_1_r8::CHUNK_BYTES, 32)
            };
            for (c, chunk) in g.chunks_exact(chunk_bytes).enumerate() {
                let p = chunk.as_ptr();
                // SAFETY: the chunk holds scales at 0..16, (Q4_1: minimums at 16..32,) four
                // nibble vectors from `nib`, and (Q5_0:) fifth bits at 144..176.
                let (dw, off, v0, v1, v2, v3, h) = unsafe {
                    let ld = |o: usize| _mm256_loadu_si256(p.add(o) as *const __m256i);
                    let dw = _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i));
                    // The per-row term that multiplies `d_a * sum a`: `-16 d` or `m`.
                    let off = if Q5 {
                        _mm256_mul_ps(dw, _mm256_set1_ps(-16.0))
                    } else {
                        _mm256_cvtph_ps(_mm_loadu_si128(p.add(16) as *const __m128i))
                    };
                    let h = if Q5 { ld(144) } else { _mm256_setzero_si256() };
                    (dw, off, ld(nib), ld(nib + 32), ld(nib + 64), ld(nib + 96), h)
                };
                let lo = |v: __m256i| _mm256_and_si256(v, m4);
                let hi = |v: __m256i| _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                let b = |x: __m256i| _mm256_and_si256(x, bit4);
                let regs = if Q5 {
                    [
                        _mm256_or_si256(lo(v0), b(_mm256_slli_epi16(h, 4))),
                        _mm256_or_si256(lo(v1), b(_mm256_slli_epi16(h, 3))),
                        _mm256_or_si256(lo(v2), b(_mm256_slli_epi16(h, 2))),
                        _mm256_or_si256(lo(v3), b(_mm256_slli_epi16(h, 1))),
                        _mm256_or_si256(hi(v0), b(h)),
                        _mm256_or_si256(hi(v1), b(_mm256_srli_epi16(h, 1))),
                        _mm256_or_si256(hi(v2), b(_mm256_srli_epi16(h, 2))),
                        _mm256_or_si256(hi(v3), b(_mm256_srli_epi16(h, 3))),
                    ]
                } else {
                    [lo(v0), lo(v1), lo(v2), lo(v3), hi(v0), hi(v1), hi(v2), hi(v3)]
                };
                for t in 0..N {
                    // SAFETY: `c` is below the activation rows' block count (`dot_r8`):
                    // 32 bytes, read as eight 4-byte words.
                    unsafe {
                        let words = a[t].qs.add(c * QK) as *const i32;
                        let mut s = _mm256_setzero_si256();
                        for (k, r) in regs.iter().enumerate() {
                            let x = _mm256_set1_epi32(std::ptr::read_unaligned(words.add(k)));
                            s = udot_acc(s, *r, x);
                        }
                        let scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t].d(c)));
                        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale, acc[t]);
                        corr[t] = _mm256_fmadd_ps(off, _mm256_set1_ps(a[t].ds(c)), corr[t]);
                    }
                }
            }
            let mut out = [[0f32; 8]; N];
            for t in 0..N {
                let r = _mm256_add_ps(acc[t], corr[t]);
                // SAFETY: `out[t]` holds eight f32.
                unsafe { _mm256_storeu_ps(out[t].as_mut_ptr(), r) };
            }
            out
        }

        /// Eight interleaved rows of `ty` (Q5_0 or Q4_1, repacked) times each of the `N`
        /// activation rows.
        ///
        /// # Safety
        /// The CPU must have the features this module is compiled for.
        #[target_feature(enable = $features)]
        pub unsafe fn dot_r8<const N: usize>(
            ty: QType,
            g: &[u8],
            a: &[Q8Row<'_>; N],
        ) -> [[f32; 8]; N] {
            let chunk_bytes = match ty {
                QType::Q5_0 => q5_0_r8::CHUNK_BYTES,
                QType::Q4_1 => q4_1_r8::CHUNK_BYTES,
                _ => panic!("no eight-row layout for {ty:?}"),
            };
            let blocks = g.len() / chunk_bytes;
            assert!(
                g.len() % chunk_bytes == 0
                    && a.iter().all(|a| a.is_consistent() && a.blocks() == blocks),
                "weight rows and activation rows disagree in length"
            );
            let act: [Act; N] = std::array::from_fn(|t| Act {
                qs: a[t].qs.as_ptr(),
                d: a[t].d.as_ptr(),
                ds: a[t].ds.as_ptr(),
                s16: a[t].s16.as_ptr(),
            });
            // SAFETY: same features; lengths checked above.
            unsafe {
                if ty == QType::Q5_0 {
                    dot_r8_impl::<N, true>(g, &act)
                } else {
                    dot_r8_impl::<N, false>(g, &act)
                }
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
