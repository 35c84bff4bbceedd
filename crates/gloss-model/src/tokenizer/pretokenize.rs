//! Pre-tokenization: splitting text into the words that BPE merges never cross, reproducing the
//! per-`tokenizer.ggml.pre` regexes of llama.cpp by hand (no regex engine, no lookaround).
//!
//! The regexes, as llama.cpp runs them:
//! - `qwen2`: `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
//! - `smollm` (and the StarCoder family): first `\p{N}` (every digit its own word), then on the
//!   pieces between digits `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
//!   with whatever that leaves unmatched kept as a word of its own.
//! - `gpt-2`: that second regex alone.
//!
//! Every code point falls in exactly one [`Class`]; the regexes only ever ask about these four, so
//! a table lookup per character and a little state machine per alternative are equivalent to them.

use super::unicode_class::NON_ASCII_CLASSES;

/// What the pre-tokenizer regexes can tell apart about one character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// `\p{L}`
    Letter,
    /// `\p{N}`
    Number,
    /// `\s`: Unicode `White_Space`.
    Space,
    /// `[^\s\p{L}\p{N}]`: punctuation, symbols, marks, controls, unassigned.
    Other,
}

/// Which family of llama.cpp pre-tokenizer regexes a GGUF's `tokenizer.ggml.pre` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PreTokenizer {
    Qwen2,
    SmolLm,
    Gpt2,
}

impl PreTokenizer {
    /// The `tokenizer.ggml.pre` values llama.cpp maps to each regex set; anything else is refused
    /// rather than tokenized subtly wrong.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "qwen2" | "deepseek-r1-qwen" | "megrez" | "stablelm2" => Some(Self::Qwen2),
            "smollm" | "starcoder" | "refact" | "codeshell" => Some(Self::SmolLm),
            "gpt-2" | "phi-2" | "mpt" | "olmo" => Some(Self::Gpt2),
            _ => None,
        }
    }

    pub(crate) const SUPPORTED: &'static str = "qwen2, deepseek-r1-qwen, megrez, stablelm2, smollm, starcoder, refact, codeshell, gpt-2, phi-2, mpt, olmo";

    /// Splits `text` into words, leaving each word's end (a byte offset into `text`) in `ends`.
    /// The words tile `text`: the last end is `text.len()` unless `text` is empty.
    pub(crate) fn split(self, text: &str, chars: &mut Vec<Ch>, ends: &mut Vec<usize>) {
        chars.clear();
        ends.clear();
        chars.extend(text.char_indices().map(|(offset, c)| Ch {
            offset,
            class: classify(c),
            ascii: if c.is_ascii() { c as u8 } else { NON_ASCII },
        }));
        let words = Words {
            chars,
            text_len: text.len(),
            ends,
        };
        match self {
            Self::Qwen2 => split_qwen2(words),
            Self::SmolLm => split_smollm(words),
            Self::Gpt2 => {
                let n = words.chars.len();
                let mut words = words;
                split_gpt2(&mut words, 0, n);
            }
        }
    }
}

/// One character of the text being split.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ch {
    offset: usize,
    class: Class,
    /// The character itself when ASCII, else [`NON_ASCII`]: the regexes only name ASCII ones.
    ascii: u8,
}

const NON_ASCII: u8 = 0xFF;

const ASCII_CLASSES: [Class; 128] = {
    let mut table = [Class::Other; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        table[i] = if b.is_ascii_alphabetic() {
            Class::Letter
        } else if b.is_ascii_digit() {
            Class::Number
        } else if matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            // std::regex's `\s` and White_Space agree on ASCII; note 0x0B, which
            // `u8::is_ascii_whitespace` leaves out.
            Class::Space
        } else {
            Class::Other
        };
        i += 1;
    }
    table
};

pub(crate) fn classify(c: char) -> Class {
    let cp = c as u32;
    if cp < 128 {
        return ASCII_CLASSES[cp as usize];
    }
    match NON_ASCII_CLASSES.binary_search_by(|&(lo, hi, _)| {
        if hi < cp {
            std::cmp::Ordering::Less
        } else if lo > cp {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }) {
        Ok(i) => NON_ASCII_CLASSES[i].2,
        Err(_) => Class::Other,
    }
}

struct Words<'a> {
    chars: &'a [Ch],
    text_len: usize,
    ends: &'a mut Vec<usize>,
}

impl Words<'_> {
    fn class(&self, i: usize) -> Option<Class> {
        self.chars.get(i).map(|c| c.class)
    }

    fn is(&self, i: usize, class: Class) -> bool {
        self.class(i) == Some(class)
    }

    fn ascii(&self, i: usize) -> u8 {
        self.chars.get(i).map_or(NON_ASCII, |c| c.ascii)
    }

    /// Ends a word before character `i` (a char index; `chars.len()` means the end of text).
    fn end_at(&mut self, i: usize) {
        let offset = self.chars.get(i).map_or(self.text_len, |c| c.offset);
        self.ends.push(offset);
    }

    /// The first index at or after `i`, below `limit`, whose class is not `class`.
    fn skip(&self, mut i: usize, limit: usize, class: Class) -> usize {
        while i < limit && self.chars[i].class == class {
            i += 1;
        }
        i
    }
}

fn is_newline(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Length of a contraction (`'s`, `'re`, ...) starting at `i`, if there is one before `limit`.
fn contraction(w: &Words<'_>, i: usize, limit: usize, any_case: bool) -> Option<usize> {
    if w.ascii(i) != b'\'' || i + 1 >= limit {
        return None;
    }
    let fold = |b: u8| if any_case { b.to_ascii_lowercase() } else { b };
    let c1 = fold(w.ascii(i + 1));
    if matches!(c1, b's' | b't' | b'm' | b'd') {
        return Some(2);
    }
    if i + 2 < limit {
        let c2 = fold(w.ascii(i + 2));
        if matches!((c1, c2), (b'r', b'e') | (b'v', b'e') | (b'l', b'l')) {
            return Some(3);
        }
    }
    None
}

/// The Qwen2 regex. Alternatives are tried in order at each position, as the leftmost-first
/// regex engine does; every character matches some alternative, so words tile the text.
fn split_qwen2(mut w: Words<'_>) {
    use Class::*;
    let n = w.chars.len();
    let mut i = 0;
    while i < n {
        let c = w.chars[i];
        // (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])
        if let Some(len) = contraction(&w, i, n, true) {
            i += len;
            w.end_at(i);
            continue;
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c.class == Letter {
            i = w.skip(i + 1, n, Letter);
            w.end_at(i);
            continue;
        }
        if c.class != Number && !is_newline(c.ascii) && w.is(i + 1, Letter) {
            i = w.skip(i + 2, n, Letter);
            w.end_at(i);
            continue;
        }
        // \p{N}
        if c.class == Number {
            i += 1;
            w.end_at(i);
            continue;
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let start = if c.ascii == b' ' && w.is(i + 1, Other) {
            i + 1
        } else {
            i
        };
        if w.chars[start].class == Other {
            let mut j = w.skip(start + 1, n, Other);
            while j < n && is_newline(w.chars[j].ascii) {
                j += 1;
            }
            i = j;
            w.end_at(i);
            continue;
        }
        // Only whitespace is left. `\s*[\r\n]+` backtracks to the last newline of the run.
        let run_end = w.skip(i, n, Space);
        let last_newline = (i..run_end).rev().find(|&k| is_newline(w.chars[k].ascii));
        i = match last_newline {
            Some(k) => k + 1,
            // `\s+(?!\S)` leaves the last space to the word after it; `\s+` takes a lone one.
            None if run_end < n && run_end - i >= 2 => run_end - 1,
            None => run_end,
        };
        w.end_at(i);
    }
}

/// SmolLM's two regexes: every `\p{N}` is a word, and the GPT-2 regex splits what is between.
/// The GPT-2 regex cannot look past a digit, because llama.cpp runs it on the pieces separately.
fn split_smollm(mut w: Words<'_>) {
    let n = w.chars.len();
    let mut i = 0;
    while i < n {
        if w.chars[i].class == Class::Number {
            i += 1;
            w.end_at(i);
            continue;
        }
        let mut j = i + 1;
        while j < n && w.chars[j].class != Class::Number {
            j += 1;
        }
        split_gpt2(&mut w, i, j);
        i = j;
    }
}

/// The GPT-2 regex on characters `from..to`, as llama.cpp's hand-written version of it runs:
/// a whitespace run at the end of the piece is one word, since `(?!\S)` sees nothing after it.
fn split_gpt2(w: &mut Words<'_>, from: usize, to: usize) {
    use Class::*;
    let class_in = |w: &Words<'_>, k: usize| if k < to { w.class(k) } else { None };
    let mut i = from;
    while i < to {
        let c = w.chars[i];
        // 's|'t|'re|'ve|'m|'ll|'d
        if let Some(len) = contraction(w, i, to, false) {
            i += len;
            w.end_at(i);
            continue;
        }
        //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
        let (start, class) = if c.ascii == b' ' {
            (i + 1, class_in(w, i + 1))
        } else {
            (i, Some(c.class))
        };
        if let Some(class @ (Letter | Number | Other)) = class {
            i = w.skip(start + 1, to, class);
            w.end_at(i);
            continue;
        }
        // \s+(?!\S), and a lone whitespace character as its own word.
        let run_end = w.skip(i, to, Space);
        i = if run_end < to && run_end - i >= 2 {
            run_end - 1
        } else {
            run_end.max(i + 1)
        };
        w.end_at(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pre: PreTokenizer, text: &str) -> Vec<&str> {
        let (mut chars, mut ends) = (Vec::new(), Vec::new());
        pre.split(text, &mut chars, &mut ends);
        let mut start = 0;
        ends.iter()
            .map(|&end| {
                let word = &text[start..end];
                start = end;
                word
            })
            .collect()
    }

    #[test]
    fn classes_of_a_few_characters() {
        assert_eq!(classify('a'), Class::Letter);
        assert_eq!(classify('é'), Class::Letter);
        assert_eq!(classify('你'), Class::Letter);
        assert_eq!(classify('٣'), Class::Number);
        assert_eq!(classify('²'), Class::Number);
        assert_eq!(classify('\u{3000}'), Class::Space);
        assert_eq!(classify('\u{0B}'), Class::Space);
        assert_eq!(classify('\u{1C}'), Class::Other);
        assert_eq!(classify('\u{200D}'), Class::Other);
        assert_eq!(classify('\u{301}'), Class::Other);
        assert_eq!(classify('🦀'), Class::Other);
    }

    #[test]
    fn qwen2_words() {
        assert_eq!(
            split(PreTokenizer::Qwen2, "x = 12 + y;\n\n  z's  \t"),
            [
                "x", " =", " ", "1", "2", " +", " y", ";\n\n", " ", " z", "'s", "  \t"
            ]
        );
        assert_eq!(
            split(PreTokenizer::Qwen2, "a  \n  b\r\n"),
            ["a", "  \n", " ", " b", "\r\n"]
        );
    }

    #[test]
    fn smollm_words() {
        assert_eq!(
            split(PreTokenizer::SmolLm, "x  12 it's\n\tok"),
            ["x", "  ", "1", "2", " it", "'s", "\n", "\t", "ok"]
        );
    }
}
