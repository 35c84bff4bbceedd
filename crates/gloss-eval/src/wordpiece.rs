//! The uncased BERT tokenizer that all-MiniLM-L6-v2 was trained with: basic tokenization
//! (lower case, accents stripped, punctuation and CJK characters split off) then greedy
//! longest-match WordPiece against `vocab.txt`.
//!
//! Written here rather than taken from the `tokenizers` crate: the evaluation only ever embeds
//! short English sentences, and these eighty lines avoid a large dependency tree.

use std::collections::HashMap;

/// Words longer than this become `[UNK]`, as in BERT.
const MAX_WORD_CHARS: usize = 100;

pub struct WordPiece {
    ids: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

impl WordPiece {
    /// Reads a `vocab.txt`: one token a line, the line number is the id.
    pub fn from_vocab(text: &str) -> Result<Self, String> {
        let ids: HashMap<String, u32> = text
            .lines()
            .enumerate()
            .map(|(id, token)| (token.to_owned(), id as u32))
            .collect();
        let special = |name: &str| {
            ids.get(name)
                .copied()
                .ok_or_else(|| format!("the vocabulary has no {name} token"))
        };
        Ok(Self {
            cls: special("[CLS]")?,
            sep: special("[SEP]")?,
            unk: special("[UNK]")?,
            ids,
        })
    }

    /// `[CLS] tokens… [SEP]`, cut to `max_len` ids in all.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut out = vec![self.cls];
        for word in basic_tokens(text) {
            self.word_pieces(&word, &mut out);
        }
        out.truncate(max_len.saturating_sub(1).max(1));
        out.push(self.sep);
        out
    }

    fn word_pieces(&self, word: &str, out: &mut Vec<u32>) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            out.push(self.unk);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let mut candidate: String = chars[start..end].iter().collect();
                if start > 0 {
                    candidate.insert_str(0, "##");
                }
                if let Some(&id) = self.ids.get(&candidate) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            let Some(id) = found else {
                // One unmatchable piece makes the whole word unknown.
                out.push(self.unk);
                return;
            };
            pieces.push(id);
            start = end;
        }
        out.extend(pieces);
    }
}

/// Lower-cased, accent-stripped words with punctuation as words of their own.
fn basic_tokens(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut current, &mut words);
        } else if is_punctuation(c) || is_cjk(c) {
            flush(&mut current, &mut words);
            words.push(c.to_string());
        } else {
            for lower in c.to_lowercase() {
                if let Some(base) = strip_accent(lower) {
                    current.push(base);
                }
            }
        }
    }
    flush(&mut current, &mut words);
    words
}

/// BERT counts every ASCII symbol as punctuation, plus Unicode punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}' | '\u{3000}'..='\u{303f}')
        || matches!(c, '¡' | '§' | '«' | '¶' | '·' | '»' | '¿')
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}' | '\u{2b740}'..='\u{2b81f}' | '\u{2b820}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}' | '\u{2f800}'..='\u{2fa1f}')
}

/// The letter without its accent for the Latin-1 and Latin Extended-A letters English text
/// meets; combining marks (already separate) are dropped.
fn strip_accent(c: char) -> Option<char> {
    if ('\u{300}'..='\u{36f}').contains(&c) {
        return None;
    }
    let base = match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è'..='ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì'..='ï' | 'ī' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò'..='ö' | 'ō' | 'ő' => 'o',
        'ù'..='ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        other => other,
    };
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> WordPiece {
        let tokens = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "copy", "data", "##s", "from", ".", "un", "##able",
            "cafe", "(", ")",
        ];
        WordPiece::from_vocab(&tokens.join("\n")).expect("vocabulary")
    }

    #[test]
    fn words_split_into_pieces_with_cls_and_sep() {
        let ids = vocab().encode("Copy DATAs from unable. café()", 64);
        assert_eq!(ids, vec![2, 4, 5, 6, 7, 9, 10, 8, 11, 12, 13, 3]);
    }

    #[test]
    fn an_unmatchable_word_is_unknown_and_long_input_is_cut() {
        let wp = vocab();
        assert_eq!(wp.encode("copyx", 64), vec![2, 1, 3]);
        let ids = wp.encode(&"copy ".repeat(100), 10);
        assert_eq!(ids.len(), 10);
        assert_eq!(ids.last(), Some(&3));
    }
}
