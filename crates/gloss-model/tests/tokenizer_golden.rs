//! The GGUF tokenizer against llama.cpp: its token ids for both catalog models (golden file),
//! round trips, special-token parsing, streamed detokenizing, and refusal of what it cannot run.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use candle_core::quantized::gguf_file::{Content, Value, VersionedMagic};
use gloss_model::tokenizer::{StreamDecoder, Tokenizer, TokenizerError};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/tokenizer-golden.json"
);

#[path = "../../../tests/support/models.rs"]
mod models;

struct Model {
    /// Catalog id, also the key in the golden file.
    id: &'static str,
}

const SMOLLM: Model = Model {
    id: models::SMOLLM2,
};
const QWEN: Model = Model {
    id: models::QWEN_05B,
};

fn load(model: &Model) -> Tokenizer {
    let path = models::model_path(model.id);
    let mut file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let content = Content::read(&mut file)
        .unwrap_or_else(|e| panic!("cannot read GGUF {}: {e}", path.display()));
    let started = Instant::now();
    let tokenizer = Tokenizer::from_gguf(&content)
        .unwrap_or_else(|e| panic!("no tokenizer from {}: {e}", path.display()));
    eprintln!("{}: tokenizer built in {:?}", model.id, started.elapsed());
    tokenizer
}

fn smollm() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| load(&SMOLLM))
}

fn qwen() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| load(&QWEN))
}

fn both() -> [(&'static str, &'static Tokenizer); 2] {
    [(SMOLLM.id, smollm()), (QWEN.id, qwen())]
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    parse_special: bool,
    ids: Vec<u32>,
}

fn golden() -> HashMap<String, Vec<Case>> {
    let json =
        std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| panic!("cannot read {FIXTURE}: {e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("bad {FIXTURE}: {e}"))
}

fn pieces(t: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&id| format!("{id}:{:?}", t.token_piece(id).unwrap_or("?")))
        .collect()
}

fn check_golden(model: &Model, t: &Tokenizer) {
    let golden = golden();
    let cases = golden
        .get(model.id)
        .unwrap_or_else(|| panic!("{FIXTURE} has no cases for {}", model.id));
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let ids = t.encode(&case.text, case.parse_special);
        if ids != case.ids {
            failures.push(format!(
                "{:?} (parse_special={}):\n  want {:?}\n  got  {:?}",
                case.text,
                case.parse_special,
                pieces(t, &case.ids),
                pieces(t, &ids)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ for {}:\n{}",
        failures.len(),
        cases.len(),
        model.id,
        failures.join("\n")
    );
}

#[test]
fn smollm_matches_llama_cpp() {
    check_golden(&SMOLLM, smollm());
}

#[test]
fn qwen_matches_llama_cpp() {
    check_golden(&QWEN, qwen());
}

const TRICKY: &[&str] = &[
    "",
    "fn main() {\r\n\tlet 名前 = \"你好，世界\";\r\n}\r\n",
    "emoji 🦀👩\u{200d}💻🇯🇵 and skin tones 👍🏽",
    "\t\t\tindented with tabs\n\n\n   trailing   \n",
    "mixed\r\rCR\n\rLF \u{3000}ideographic space\u{a0}nbsp",
    "combining e\u{301} vs é, Ångström, ﬁ ligature, ½ ² ٣",
    "控制字符\u{1}\u{7f} and a lone ' quote's 'Tis I'LL",
    "x = 1234567890 + 3.14159e-10  # numbers",
];

#[test]
fn decode_inverts_encode() {
    for (name, t) in both() {
        for text in TRICKY {
            for parse_special in [false, true] {
                let ids = t.encode(text, parse_special);
                assert_eq!(&t.decode(&ids), text, "{name} round trip of {text:?}");
            }
        }
        let chat = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
        assert_eq!(t.decode(&t.encode(chat, true)), chat, "{name}");
    }
}

#[test]
fn special_tokens_parse_only_when_asked() {
    for (name, t) in both() {
        let im_end = t.token_id("<|im_end|>").expect("ChatML vocabulary");
        assert!(t.is_special(im_end), "{name}");
        assert_eq!(t.encode("<|im_end|>", true), [im_end], "{name}");
        let plain = t.encode("<|im_end|>", false);
        assert!(plain.len() > 1, "{name}: {plain:?}");
        assert!(!plain.contains(&im_end), "{name}");
        assert!(plain.iter().all(|&id| !t.is_special(id)), "{name}");
        assert_eq!(t.decode(&plain), "<|im_end|>", "{name}");

        let ids = t.encode("a<|im_end|>b<|im_end|>", true);
        assert_eq!(ids.iter().filter(|&&id| id == im_end).count(), 2, "{name}");
    }
}

#[test]
fn stream_decoder_reassembles_split_characters() {
    for (name, t) in both() {
        let text = "crab 🦀, coder 👩\u{200d}💻, 你好";
        let ids = t.encode(text, false);
        // Some token must end inside a character, or this test would prove nothing.
        let splits_a_char = ids
            .iter()
            .any(|&id| std::str::from_utf8(t.token_bytes(id)).is_err());
        assert!(splits_a_char, "{name}: {}", pieces(t, &ids).join(" "));

        let mut decoder = StreamDecoder::new(t);
        let mut out = String::new();
        let mut held_back = 0;
        for &id in &ids {
            match decoder.push(id) {
                Some(piece) => {
                    assert!(!piece.contains('\u{FFFD}'), "{name}: {piece:?}");
                    out.push_str(&piece);
                }
                None => held_back += 1,
            }
        }
        assert!(held_back > 0, "{name}");
        assert_eq!(decoder.finish(), None, "{name}");
        assert_eq!(out, text, "{name}");
    }
}

#[test]
fn stream_decoder_matches_decode_on_broken_utf8() {
    let t = qwen();
    // " 🦀" is " \xF0" and then the rest of the crab; an extra " \xF0" in front can never
    // complete, and one at the end is cut off.
    let crab = t.encode(" 🦀", false);
    assert!(crab.len() > 1, "{crab:?}");
    assert!(
        std::str::from_utf8(t.token_bytes(crab[0])).is_err(),
        "{crab:?}"
    );
    let mut ids = vec![crab[0]];
    ids.extend(&crab);
    ids.push(crab[0]);
    let mut decoder = StreamDecoder::new(t);
    let mut out: String = ids.iter().filter_map(|&id| decoder.push(id)).collect();
    out.extend(decoder.finish());
    assert_eq!(out, t.decode(&ids));
    assert_eq!(out, " \u{FFFD} 🦀 \u{FFFD}");
}

#[test]
fn metadata_facts() {
    let s = smollm();
    assert_eq!(s.vocab_size(), 49152);
    assert_eq!(s.bos_id(), s.token_id("<|im_start|>"));
    assert_eq!(s.eos_id(), s.token_id("<|im_end|>"));
    assert_eq!(s.stop_ids(), [2, 0]);
    assert_eq!(s.token_bytes(s.token_id("Ġthe").expect("Ġthe")), b" the");
    // SmolLM2 has no token for byte 0x04: llama.cpp drops it, and so do we.
    assert_eq!(s.decode(&s.encode("a\u{4}b \u{4}", false)), "ab ");

    let q = qwen();
    assert_eq!(q.vocab_size(), 151936);
    assert_eq!(q.eos_id(), q.token_id("<|im_end|>"));
    assert_eq!(q.bos_id(), q.token_id("<|endoftext|>"));
    assert_eq!(q.stop_ids(), [151645, 151643]);
    // `<tool_call>` is user-defined: split out of text even with special parsing off.
    let tool_call = q.token_id("<tool_call>").expect("<tool_call>");
    assert_eq!(q.encode("<tool_call>", false), [tool_call]);
    assert!(q.is_special(tool_call));
    assert!(!q.is_special(q.token_id("Ġthe").expect("Ġthe")));
    assert_eq!(q.token_bytes(u32::MAX), b"");
    assert_eq!(q.decode(&[u32::MAX]), "");
}

/// A regex reference for the pre-tokenizers, with `fancy-regex` and the regexes llama.cpp lists.
fn reference_words<'t>(pre: &str, text: &'t str) -> Vec<&'t str> {
    const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const GPT2: &str =
        r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    fn split<'t>(re: &fancy_regex::Regex, text: &'t str, out: &mut Vec<&'t str>) {
        let mut last = 0;
        for m in re.find_iter(text) {
            let m = m.expect("regex ran");
            if m.start() > last {
                out.push(&text[last..m.start()]);
            }
            out.push(m.as_str());
            last = m.end();
        }
        if last < text.len() {
            out.push(&text[last..]);
        }
    }
    static REGEXES: OnceLock<[fancy_regex::Regex; 3]> = OnceLock::new();
    let [qwen2, digit, gpt2] = REGEXES.get_or_init(|| {
        [QWEN2, r"\p{N}", GPT2].map(|re| fancy_regex::Regex::new(re).expect("regex"))
    });
    let mut out = Vec::new();
    match pre {
        "qwen2" => split(qwen2, text, &mut out),
        "smollm" => {
            let mut pieces = Vec::new();
            split(digit, text, &mut pieces);
            for piece in pieces {
                split(gpt2, piece, &mut out);
            }
        }
        _ => unreachable!(),
    }
    out
}

#[test]
fn pre_tokenizers_agree_with_the_regexes() {
    // Characters each regex alternative cares about, including non-ASCII classes.
    const ALPHABET: &[&str] = &[
        "a", "Z", "é", "名", "7", "٣", "²", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u{3000}",
        "\u{a0}", "\u{b}", "'", "'s", "'T", "'re", "'LL", "(", "::", "-", "🦀", "\u{200d}",
        "\u{301}", "\u{1}", "\u{7f}",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    for (pre, t) in [("smollm", smollm()), ("qwen2", qwen())] {
        for _ in 0..3000 {
            let len = 1 + next(12);
            let text: String = (0..len).map(|_| ALPHABET[next(ALPHABET.len())]).collect();
            assert_eq!(
                t.pre_tokenize(&text),
                reference_words(pre, &text),
                "{pre}: {text:?}"
            );
        }
        for text in TRICKY {
            assert_eq!(
                t.pre_tokenize(text),
                reference_words(pre, text),
                "{pre}: {text:?}"
            );
        }
    }
}

/// About 10k lines of code-like text, with the variety of a real file.
fn large_source() -> String {
    let mut s = String::new();
    for i in 0..2_000 {
        s.push_str(&format!(
            "/// Returns the {i}th value, or `None` when the cache is cold.\r\n\
             pub fn value_{i}(cache: &mut HashMap<String, Vec<u8>>, key: &str) -> Option<usize> {{\n\
             \tlet entry = cache.get(key)?; // 名前 {i} 🦀\n\
             \x20   Some(entry.len() * {i} + 0x{i:x})\n}}\n"
        ));
    }
    s
}

#[test]
fn encodes_a_large_file_quickly() {
    let text = large_source();
    assert!(text.lines().count() >= 10_000);
    for (name, t) in both() {
        let started = Instant::now();
        let ids = t.encode(&text, false);
        let elapsed = started.elapsed();
        eprintln!(
            "{name}: {} bytes, {} lines -> {} tokens in {elapsed:?}",
            text.len(),
            text.lines().count(),
            ids.len()
        );
        assert_eq!(t.decode(&ids), text, "{name}");
        // Generous: catches a quadratic slip, not a slow machine.
        assert!(elapsed.as_secs_f64() < 5.0, "{name}: {elapsed:?}");
    }
}

#[test]
fn pathological_input_stays_linear() {
    let t = qwen();
    for text in [
        "=".repeat(200_000),
        "a".repeat(200_000),
        " ".repeat(200_000),
    ] {
        let started = Instant::now();
        let ids = t.encode(&text, true);
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(t.decode(&ids), text);
    }
}

fn content(entries: &[(&str, Value)]) -> Content {
    Content {
        magic: VersionedMagic::GgufV3,
        metadata: entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        tensor_infos: HashMap::new(),
        tensor_data_offset: 0,
    }
}

#[test]
fn refuses_what_it_cannot_run() {
    let spm = content(&[("tokenizer.ggml.model", Value::String("llama".into()))]);
    let err = Tokenizer::from_gguf(&spm).expect_err("SentencePiece is not supported");
    assert!(
        matches!(err, TokenizerError::Unsupported { ref model } if model == "llama"),
        "{err}"
    );

    let nothing = content(&[]);
    let err = Tokenizer::from_gguf(&nothing).expect_err("no metadata");
    assert!(
        matches!(err, TokenizerError::MissingMetadata("tokenizer.ggml.model")),
        "{err}"
    );

    let odd_pre = content(&[
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("klingon".into())),
    ]);
    let err = Tokenizer::from_gguf(&odd_pre).expect_err("unknown pre-tokenizer");
    assert!(err.to_string().contains("klingon"), "{err}");

    let no_bytes = content(&[
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("qwen2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(vec![Value::String("a".into())]),
        ),
        ("tokenizer.ggml.merges", Value::Array(vec![])),
    ]);
    let err = Tokenizer::from_gguf(&no_bytes).expect_err("vocabulary without byte tokens");
    assert!(matches!(err, TokenizerError::InvalidVocabulary(_)), "{err}");

    let wrong_type = content(&[
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("smollm".into())),
        ("tokenizer.ggml.tokens", Value::U32(3)),
    ]);
    let err = Tokenizer::from_gguf(&wrong_type).expect_err("tokens is not an array");
    assert!(matches!(err, TokenizerError::WrongType { .. }), "{err}");
}
