//! The model's own tokenizer, built from a GGUF file's `tokenizer.ggml.*` metadata: GPT-2 style
//! byte-level BPE with llama.cpp's pre-tokenizers and special-token parsing, plus detokenizing,
//! whole and streamed.
//!
//! Encoding reproduces llama.cpp's `llama_tokenize` (without BOS) id for id; see
//! `tests/tokenizer_golden.rs` for the proof against its output.

mod bpe;
mod pretokenize;
mod unicode_class;

use std::fmt;

use candle_core::quantized::gguf_file::{Content, Value};

use bpe::{Bpe, FxMap, Merge, Scratch};
use pretokenize::{Ch, PreTokenizer};

/// Why a GGUF file's metadata does not make a tokenizer gloss can run.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("the GGUF metadata has no `{0}`")]
    MissingMetadata(&'static str),
    #[error("the GGUF metadata `{key}` is not {expected}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
    },
    #[error(
        "tokenizer model `{model}` is not supported: gloss runs GPT-2 style byte-level BPE (`gpt2`) only"
    )]
    Unsupported { model: String },
    #[error("pre-tokenizer `{pre}` is not supported (supported: {supported})")]
    UnsupportedPreTokenizer {
        pre: String,
        supported: &'static str,
    },
    #[error("the vocabulary is unusable: {0}")]
    InvalidVocabulary(String),
}

/// `tokenizer.ggml.token_type` values, as llama.cpp numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl TokenType {
    fn from_gguf(v: i64) -> Self {
        match v {
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            // 1 is normal; 0 (undefined) and anything unknown are treated as text too.
            _ => Self::Normal,
        }
    }

    /// Whether the piece is literal text rather than GPT-2 spelled bytes.
    fn is_literal(self) -> bool {
        !matches!(self, Self::Normal | Self::Byte)
    }
}

/// When the metadata names no eot token, llama.cpp guesses it from the text: the first of these
/// the vocabulary has.
const EOT_PIECES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
];

/// Pieces that end a chat turn whenever the vocabulary has them, whatever eos says.
const TURN_END_PIECES: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|end_of_text|>",
];

/// A byte-level BPE tokenizer; cheap to share between threads behind an `Arc`.
pub struct Tokenizer {
    pre: PreTokenizer,
    bpe: Bpe,
    /// Vocabulary pieces exactly as the GGUF spells them.
    pieces: Vec<String>,
    piece_ids: FxMap<String, u32>,
    types: Vec<TokenType>,
    /// The bytes each token stands for: `bytes[offsets[id]..offsets[id + 1]]`.
    bytes: Vec<u8>,
    offsets: Vec<usize>,
    /// Tokens matched in text before BPE, longest first (llama.cpp's order).
    specials: Vec<Special>,
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    stop: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct Special {
    id: u32,
    /// User-defined tokens are split out even when special parsing is off, as in llama.cpp.
    always: bool,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("pre", &self.pre)
            .field("vocab_size", &self.pieces.len())
            .field("merges", &self.bpe.merge_count())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("eot", &self.eot)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

fn metadata<'a>(content: &'a Content, key: &'static str) -> Result<&'a Value, TokenizerError> {
    content
        .metadata
        .get(key)
        .ok_or(TokenizerError::MissingMetadata(key))
}

fn metadata_str<'a>(content: &'a Content, key: &'static str) -> Result<&'a str, TokenizerError> {
    match metadata(content, key)? {
        Value::String(s) => Ok(s),
        _ => Err(TokenizerError::WrongType {
            key,
            expected: "a string",
        }),
    }
}

fn metadata_array<'a>(
    content: &'a Content,
    key: &'static str,
) -> Result<&'a [Value], TokenizerError> {
    match metadata(content, key)? {
        Value::Array(v) => Ok(v),
        _ => Err(TokenizerError::WrongType {
            key,
            expected: "an array",
        }),
    }
}

fn as_integer(v: &Value) -> Option<i64> {
    match *v {
        Value::U8(x) => Some(i64::from(x)),
        Value::I8(x) => Some(i64::from(x)),
        Value::U16(x) => Some(i64::from(x)),
        Value::I16(x) => Some(i64::from(x)),
        Value::U32(x) => Some(i64::from(x)),
        Value::I32(x) => Some(i64::from(x)),
        Value::U64(x) => i64::try_from(x).ok(),
        Value::I64(x) => Some(x),
        _ => None,
    }
}

impl Tokenizer {
    /// Builds the tokenizer from the metadata of a GGUF file (no tensor data is read).
    pub fn from_gguf(content: &Content) -> Result<Self, TokenizerError> {
        let model = metadata_str(content, "tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(TokenizerError::Unsupported {
                model: model.to_owned(),
            });
        }
        let pre_name = metadata_str(content, "tokenizer.ggml.pre")?;
        let pre = PreTokenizer::from_name(pre_name).ok_or_else(|| {
            TokenizerError::UnsupportedPreTokenizer {
                pre: pre_name.to_owned(),
                supported: PreTokenizer::SUPPORTED,
            }
        })?;

        let token_values = metadata_array(content, "tokenizer.ggml.tokens")?;
        if token_values.is_empty() || u32::try_from(token_values.len()).is_err() {
            return Err(TokenizerError::InvalidVocabulary(format!(
                "{} tokens",
                token_values.len()
            )));
        }
        let mut pieces = Vec::with_capacity(token_values.len());
        for v in token_values {
            match v {
                Value::String(s) => pieces.push(s.clone()),
                _ => {
                    return Err(TokenizerError::WrongType {
                        key: "tokenizer.ggml.tokens",
                        expected: "an array of strings",
                    });
                }
            }
        }
        let n = pieces.len();

        // Token types are optional in GGUF; without them every token is text.
        let mut types = vec![TokenType::Normal; n];
        if let Some(Value::Array(values)) = content.metadata.get("tokenizer.ggml.token_type") {
            for (t, v) in types.iter_mut().zip(values) {
                let v = as_integer(v).ok_or(TokenizerError::WrongType {
                    key: "tokenizer.ggml.token_type",
                    expected: "an array of integers",
                })?;
                *t = TokenType::from_gguf(v);
            }
        }

        let mut piece_ids = FxMap::with_capacity_and_hasher(n, Default::default());
        let mut bytes = Vec::with_capacity(n * 6);
        let mut offsets = Vec::with_capacity(n + 1);
        for (id, (piece, &ty)) in (0u32..).zip(pieces.iter().zip(&types)) {
            // Keep the first of duplicate pieces (candle reads invalid UTF-8 lossily, which can
            // make two pieces equal); lookups by text then agree with the merge table.
            piece_ids.entry(piece.clone()).or_insert(id);
            offsets.push(bytes.len());
            if ty.is_literal() || !bpe::decode_piece(piece, &mut bytes) {
                bytes.extend_from_slice(piece.as_bytes());
            }
        }
        offsets.push(bytes.len());

        let mut byte_tokens = [bpe::MISSING; 256];
        for (b, slot) in (0..=255u8).zip(byte_tokens.iter_mut()) {
            if let Some(&id) = piece_ids.get(&bpe::byte_to_char(b).to_string()) {
                *slot = id;
            }
        }
        // Only a vocabulary that cannot spell plain ASCII text is beyond use; a few missing
        // control or never-in-UTF-8 bytes are dropped from text, as llama.cpp drops them.
        if let Some(b) = (0x20..0x7F_u8).find(|&b| byte_tokens[usize::from(b)] == bpe::MISSING) {
            return Err(TokenizerError::InvalidVocabulary(format!(
                "no token for byte {b:#04x} ({:?})",
                char::from(b)
            )));
        }

        let mut bpe = Bpe::new(byte_tokens);
        let merges = metadata_array(content, "tokenizer.ggml.merges")?;
        let mut joined = String::new();
        for (rank, v) in (0u32..).zip(merges) {
            let Value::String(line) = v else {
                return Err(TokenizerError::WrongType {
                    key: "tokenizer.ggml.merges",
                    expected: "an array of strings",
                });
            };
            // Split at the first space after the first character, like llama.cpp, so a
            // left side that is itself a space still parses.
            let Some(first_len) = line.chars().next().map(char::len_utf8) else {
                continue;
            };
            let Some(space) = line[first_len..].find(' ').map(|i| i + first_len) else {
                continue;
            };
            let (left, right) = (&line[..space], &line[space + 1..]);
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            // A merge whose sides or result are not tokens could never apply in id space;
            // llama.cpp would fall back to bytes for it, which real vocabularies never need.
            if let (Some(&l), Some(&r), Some(&merged)) = (
                piece_ids.get(left),
                piece_ids.get(right),
                piece_ids.get(joined.as_str()),
            ) {
                bpe.add_merge(l, r, Merge { rank, merged });
            }
        }

        let mut specials: Vec<Special> = (0u32..)
            .zip(pieces.iter().zip(&types))
            .filter(|(_, (piece, _))| !piece.is_empty())
            .filter_map(|(id, (_, &ty))| match ty {
                TokenType::Control | TokenType::Unknown => Some(Special { id, always: false }),
                TokenType::UserDefined => Some(Special { id, always: true }),
                _ => None,
            })
            .collect();
        specials.sort_by_key(|s| (std::cmp::Reverse(pieces[s.id as usize].len()), s.id));

        let special_id = |key: &'static str| -> Option<u32> {
            let id = as_integer(content.metadata.get(key)?)?;
            u32::try_from(id).ok().filter(|&id| (id as usize) < n)
        };
        let bos = special_id("tokenizer.ggml.bos_token_id");
        let eos = special_id("tokenizer.ggml.eos_token_id");
        let eom = special_id("tokenizer.ggml.eom_token_id");
        let eot = special_id("tokenizer.ggml.eot_token_id").or_else(|| {
            EOT_PIECES
                .iter()
                .find_map(|piece| piece_ids.get(*piece).copied())
        });
        let mut stop = Vec::new();
        let by_piece = TURN_END_PIECES
            .iter()
            .filter_map(|piece| piece_ids.get(*piece).copied());
        for id in [eos, eot, eom].into_iter().flatten().chain(by_piece) {
            if !stop.contains(&id) {
                stop.push(id);
            }
        }

        Ok(Self {
            pre,
            bpe,
            pieces,
            piece_ids,
            types,
            bytes,
            offsets,
            specials,
            bos,
            eos,
            eot,
            stop,
        })
    }

    /// Encodes text; never adds BOS. With `parse_special`, control tokens written out in the text
    /// (`<|im_start|>`) become those tokens; without, they are ordinary text. User-defined tokens
    /// (`token_type` 4) are always matched whole, as llama.cpp does. A byte the vocabulary has no
    /// token for is dropped, as llama.cpp drops it: SmolLM2 has none for 0x04, 0x06, 0x13, 0x14,
    /// 0x16, 0x1D, 0xF1 and 0xF2 (and for bytes UTF-8 never uses).
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut work = Work::default();
        let mut cache: FxMap<&str, (usize, usize)> = FxMap::default();
        let mut start = 0;
        for (at, end, id) in self.find_specials(text, parse_special) {
            self.encode_text(&text[start..at], &mut out, &mut work, &mut cache);
            out.push(id);
            start = end;
        }
        self.encode_text(&text[start..], &mut out, &mut work, &mut cache);
        out
    }

    /// Splits text into pre-tokenizer words, the units BPE runs on; for inspecting tokenization.
    /// Special tokens are not looked for.
    pub fn pre_tokenize<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut work = Work::default();
        self.pre.split(text, &mut work.chars, &mut work.ends);
        let mut start = 0;
        work.ends
            .iter()
            .map(|&end| {
                let word = &text[start..end];
                start = end;
                word
            })
            .collect()
    }

    /// `(start, end, id)` of the special tokens in `text`, in order, found as llama.cpp does:
    /// each special token in turn, longest first, splits the text left by the ones before it.
    fn find_specials(&self, text: &str, parse_special: bool) -> Vec<(usize, usize, u32)> {
        let bytes = text.as_bytes();
        let mut found: Vec<(usize, usize, u32)> = Vec::new();
        let mut taken: Vec<bool> = Vec::new();
        let active = self.specials.iter().filter(|s| parse_special || s.always);
        for special in active {
            let piece = self.pieces[special.id as usize].as_bytes();
            let Some(&first) = piece.first() else {
                continue;
            };
            let mut from = 0;
            while let Some(at) = find_bytes(bytes, piece, first, from) {
                let end = at + piece.len();
                if taken.is_empty() {
                    taken = vec![false; bytes.len()];
                }
                // Earlier tokens are no shorter, so one overlapping this match covers an end of it.
                if taken[at] || taken[end - 1] {
                    from = at + 1;
                    continue;
                }
                taken[at..end].iter_mut().for_each(|t| *t = true);
                found.push((at, end, special.id));
                from = end;
            }
        }
        found.sort_unstable();
        found
    }

    fn encode_text<'t>(
        &self,
        text: &'t str,
        out: &mut Vec<u32>,
        work: &mut Work,
        cache: &mut FxMap<&'t str, (usize, usize)>,
    ) {
        if text.is_empty() {
            return;
        }
        self.pre.split(text, &mut work.chars, &mut work.ends);
        let mut start = 0;
        for &end in &work.ends {
            let word = &text[start..end];
            start = end;
            // Source code repeats its words a lot; copying an earlier encoding beats merging again.
            if let Some(&(from, len)) = cache.get(word) {
                out.extend_from_within(from..from + len);
                continue;
            }
            let from = out.len();
            self.bpe
                .encode_word(word.as_bytes(), out, &mut work.scratch);
            cache.insert(word, (from, out.len() - from));
        }
    }

    /// Decodes ids to text. Special tokens come out as their text; bytes that do not form UTF-8
    /// (a multi-byte character cut in half) become U+FFFD. Ids outside the vocabulary are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            bytes.extend_from_slice(self.token_bytes(id));
        }
        match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// The raw bytes one token stands for; empty for ids outside the vocabulary.
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&start), Some(&end)) => &self.bytes[start..end],
            _ => &[],
        }
    }

    /// The id of a vocabulary piece, spelled exactly as in the GGUF (`"<|im_end|>"`, `"Ġthe"`).
    pub fn token_id(&self, piece: &str) -> Option<u32> {
        self.piece_ids.get(piece).copied()
    }

    /// The vocabulary piece of a token, exactly as the GGUF spells it.
    pub fn token_piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// `tokenizer.ggml.bos_token_id`. Whether to use it is `tokenizer.ggml.add_bos_token`'s call.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// `tokenizer.ggml.eot_token_id`, or else the first end-of-turn piece the vocabulary has.
    pub fn eot_id(&self) -> Option<u32> {
        self.eot
    }

    /// The tokens that end a chat turn: eos, eot, eom, and `<|im_end|>`, `<|endoftext|>` and
    /// their kin when the vocabulary has them. Eos first; no duplicates.
    pub fn stop_ids(&self) -> Vec<u32> {
        self.stop.clone()
    }

    /// Whether a token is anything but plain vocabulary text: control, user-defined, unknown or
    /// unused. False for ids outside the vocabulary.
    pub fn is_special(&self, id: u32) -> bool {
        self.types.get(id as usize).is_some_and(|t| t.is_literal())
    }
}

/// Finds `needle` in `haystack` at or after `from`; `first` is `needle[0]`.
fn find_bytes(haystack: &[u8], needle: &[u8], first: u8, from: usize) -> Option<usize> {
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut at = from;
    while at <= last_start {
        let next = haystack[at..=last_start].iter().position(|&b| b == first)?;
        at += next;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// Buffers reused across the pieces of one `encode` call.
#[derive(Default)]
struct Work {
    chars: Vec<Ch>,
    ends: Vec<usize>,
    scratch: Scratch,
}

/// Incremental detokenizer for streaming: push ids one at a time, get back only complete UTF-8
/// text. The pieces it returns, joined, equal [`Tokenizer::decode`] of all the ids.
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    pending: Vec<u8>,
}

impl<'a> StreamDecoder<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        Self {
            tokenizer,
            pending: Vec::new(),
        }
    }

    /// Adds one token; returns the text it completes, if any. A character split across tokens
    /// is held back until its last byte arrives.
    pub fn push(&mut self, id: u32) -> Option<String> {
        self.pending
            .extend_from_slice(self.tokenizer.token_bytes(id));
        let mut text = String::new();
        let mut done = 0;
        loop {
            match std::str::from_utf8(&self.pending[done..]) {
                Ok(s) => {
                    text.push_str(s);
                    done = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = done + e.valid_up_to();
                    text.push_str(&String::from_utf8_lossy(&self.pending[done..valid]));
                    match e.error_len() {
                        // An unfinished character at the end: wait for the next token.
                        None => {
                            done = valid;
                            break;
                        }
                        // Bytes no continuation can fix: replace them as `decode` would.
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            done = valid + bad;
                        }
                    }
                }
            }
        }
        self.pending.drain(..done);
        (!text.is_empty()).then_some(text)
    }

    /// Flushes what is still held back (an unfinished character becomes U+FFFD).
    pub fn finish(self) -> Option<String> {
        (!self.pending.is_empty()).then(|| String::from_utf8_lossy(&self.pending).into_owned())
    }
}
