//! Byte-level BPE: GPT-2's byte-to-character mapping of vocabulary pieces, and the merge loop that
//! turns one pre-tokenized word into token ids, lowest merge rank first, leftmost on ties.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// GPT-2 spells each byte as a printable character in vocabulary pieces: printable Latin-1 bytes
/// stand for themselves, the other 68 bytes take the code points from U+0100 up, in byte order.
pub(crate) fn byte_to_char(b: u8) -> char {
    if is_self_mapped(b) {
        return char::from(b);
    }
    // How many non-self-mapped bytes come before `b`.
    let rank = match b {
        0x00..=0x20 => u32::from(b),
        0x7F..=0xA0 => 33 + u32::from(b - 0x7F),
        _ => 33 + 34, // 0xAD, the only one left
    };
    char::from_u32(0x100 + rank).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn is_self_mapped(b: u8) -> bool {
    matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The inverse of [`byte_to_char`]; `None` for characters that spell no byte.
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let cp = c as u32;
    if let Ok(b) = u8::try_from(cp) {
        return is_self_mapped(b).then_some(b);
    }
    match cp.checked_sub(0x100)? {
        rank @ 0..=32 => u8::try_from(rank).ok(),
        rank @ 33..=66 => u8::try_from(rank - 33 + 0x7F).ok(),
        67 => Some(0xAD),
        _ => None,
    }
}

/// Decodes a GPT-2 spelled piece back to the bytes it stands for, if every character spells one.
pub(crate) fn decode_piece(piece: &str, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    for c in piece.chars() {
        match char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                out.truncate(start);
                return false;
            }
        }
    }
    true
}

/// FxHash: the merge table is probed once per adjacent pair of every word, and SipHash's
/// DoS resistance buys nothing for keys that come from the model file.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// What merging a pair of tokens gives: its priority (the merge's line in the file) and result.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Merge {
    pub(crate) rank: u32,
    pub(crate) merged: u32,
}

fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

/// Stands in for a byte the vocabulary has no token for (SmolLM2 lacks 21, 0x04 among them).
/// No merge involves it and it is left out of the output, which is what llama.cpp does.
pub(crate) const MISSING: u32 = u32::MAX;

/// The merge table keyed by token ids, and the token of every single byte.
pub(crate) struct Bpe {
    merges: FxMap<u64, Merge>,
    byte_tokens: [u32; 256],
}

impl Bpe {
    /// `byte_tokens` holds [`MISSING`] for bytes without a token; no real id can equal it,
    /// as vocabularies are smaller than `u32::MAX`.
    pub(crate) fn new(byte_tokens: [u32; 256]) -> Self {
        Self {
            merges: FxMap::default(),
            byte_tokens,
        }
    }

    /// Adds a merge unless the pair already has one: the first line wins, as in llama.cpp.
    pub(crate) fn add_merge(&mut self, left: u32, right: u32, merge: Merge) {
        self.merges.entry(pair_key(left, right)).or_insert(merge);
    }

    pub(crate) fn merge_count(&self) -> usize {
        self.merges.len()
    }

    fn merge_of(&self, left: u32, right: u32) -> Option<Merge> {
        self.merges.get(&pair_key(left, right)).copied()
    }

    fn byte_token(&self, b: u8) -> u32 {
        self.byte_tokens[usize::from(b)]
    }

    /// Appends the tokens of one word.
    pub(crate) fn encode_word(&self, word: &[u8], out: &mut Vec<u32>, s: &mut Scratch) {
        let push = |out: &mut Vec<u32>, id: u32| {
            if id != MISSING {
                out.push(id);
            }
        };
        match *word {
            [] => {}
            [b] => push(out, self.byte_token(b)),
            [a, b] => {
                let (a, b) = (self.byte_token(a), self.byte_token(b));
                match self.merge_of(a, b) {
                    Some(m) => out.push(m.merged),
                    None => {
                        push(out, a);
                        push(out, b);
                    }
                }
            }
            _ => self.encode_long_word(word, out, s),
        }
    }

    fn encode_long_word(&self, word: &[u8], out: &mut Vec<u32>, s: &mut Scratch) {
        let n = word.len();
        s.symbols.clear();
        s.heap.clear();
        s.symbols
            .extend(word.iter().enumerate().map(|(i, &b)| Symbol {
                id: self.byte_token(b),
                len: 1,
                prev: i.wrapping_sub(1),
                next: if i + 1 < n { i + 1 } else { NONE },
            }));
        for left in 0..n - 1 {
            self.push_pair(s, left, left + 1);
        }
        while let Some(Reverse(c)) = s.heap.pop() {
            let (left, right) = (c.left, c.right);
            let (l, r) = (s.symbols[left], s.symbols[right]);
            // A candidate is stale once either side has merged with something else since.
            if l.len == 0 || r.len == 0 || l.len + r.len != c.len {
                continue;
            }
            s.symbols[left].id = c.merged;
            s.symbols[left].len = l.len + r.len;
            s.symbols[left].next = r.next;
            s.symbols[right].len = 0;
            if r.next != NONE {
                s.symbols[r.next].prev = left;
            }
            if l.prev != NONE {
                self.push_pair(s, l.prev, left);
            }
            if r.next != NONE {
                self.push_pair(s, left, r.next);
            }
        }
        let mut i = 0;
        while i != NONE {
            let id = s.symbols[i].id;
            if id != MISSING {
                out.push(id);
            }
            i = s.symbols[i].next;
        }
    }

    fn push_pair(&self, s: &mut Scratch, left: usize, right: usize) {
        let (l, r) = (s.symbols[left], s.symbols[right]);
        if let Some(m) = self.merge_of(l.id, r.id) {
            s.heap.push(Reverse(Candidate {
                rank: m.rank,
                left,
                right,
                len: l.len + r.len,
                merged: m.merged,
            }));
        }
    }
}

const NONE: usize = usize::MAX;

/// One token of a word being merged; symbols are indexed by their first byte in the word.
#[derive(Clone, Copy, Debug)]
struct Symbol {
    id: u32,
    /// Bytes covered; 0 once merged into the symbol on its left.
    len: usize,
    prev: usize,
    next: usize,
}

/// A pair that could merge. Ordered by rank, then position, so the heap pops what BPE applies next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    rank: u32,
    left: usize,
    right: usize,
    len: usize,
    merged: u32,
}

/// Buffers reused across the words of one `encode` call.
#[derive(Default)]
pub(crate) struct Scratch {
    symbols: Vec<Symbol>,
    heap: BinaryHeap<Reverse<Candidate>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_mapping_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_char(b);
            assert!(seen.insert(c), "{b:#x} maps to a taken character");
            assert_eq!(char_to_byte(c), Some(b));
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(0xAD), 'Ń');
        assert_eq!(char_to_byte('Ġ'), Some(b' '));
        assert_eq!(char_to_byte('\u{144}'), None);
        assert_eq!(char_to_byte(' '), None);
    }

    #[test]
    fn merges_lowest_rank_first_and_leftmost_on_ties() {
        // Tokens: bytes are their own ids; 300 = "ab", 301 = "bc", 302 = "abc".
        let mut byte_tokens = [0u32; 256];
        for (i, t) in byte_tokens.iter_mut().enumerate() {
            *t = i as u32;
        }
        let mut bpe = Bpe::new(byte_tokens);
        let (a, b, c) = (u32::from(b'a'), u32::from(b'b'), u32::from(b'c'));
        bpe.add_merge(
            b,
            c,
            Merge {
                rank: 0,
                merged: 301,
            },
        );
        bpe.add_merge(
            a,
            b,
            Merge {
                rank: 1,
                merged: 300,
            },
        );
        bpe.add_merge(
            a,
            301,
            Merge {
                rank: 2,
                merged: 302,
            },
        );
        let mut s = Scratch::default();
        let mut out = Vec::new();
        bpe.encode_word(b"abc", &mut out, &mut s);
        assert_eq!(out, [302]);
        out.clear();
        bpe.encode_word(b"abab", &mut out, &mut s);
        assert_eq!(out, [300, 300]);
        out.clear();
        bpe.encode_word(b"bcbc", &mut out, &mut s);
        assert_eq!(out, [301, 301]);
        out.clear();
        bpe.encode_word(b"abx", &mut out, &mut s);
        assert_eq!(out, [300, u32::from(b'x')]);

        byte_tokens[usize::from(b'x')] = MISSING;
        let bpe = Bpe { byte_tokens, ..bpe };
        out.clear();
        bpe.encode_word(b"xabx", &mut out, &mut s);
        assert_eq!(out, [300]);
        out.clear();
        bpe.encode_word(b"x", &mut out, &mut s);
        bpe.encode_word(b"bx", &mut out, &mut s);
        assert_eq!(out, [u32::from(b'b')]);
    }
}
