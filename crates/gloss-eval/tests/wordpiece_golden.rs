//! Our WordPiece tokenizer against the ids Hugging Face's `tokenizers` gives with the model's own
//! `tokenizer.json` (fixture made with tokenizers 0.23.3): an embedding is only comparable to the
//! reference model's when the ids match exactly.

use gloss_eval::ensure_files;
use gloss_eval::wordpiece::WordPiece;
use serde_json::Value;

#[test]
fn ids_match_the_reference_tokenizer() {
    let (_, vocab) = ensure_files(false).expect("the embedding model's files");
    let tokenizer =
        WordPiece::from_vocab(&std::fs::read_to_string(vocab).expect("vocab")).expect("vocab");
    let fixture: Value = serde_json::from_str(include_str!("fixtures/minilm-tokens.json")).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() > 30);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(tokenizer.encode(text, 512), expected, "text: {text:?}");
    }
}
