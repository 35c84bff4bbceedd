//! The languages gloss understands and how editors and file names refer to them.

use std::path::Path;

/// A language with a bundled tree-sitter grammar and query files.
///
/// Every lookup (`from_extension`, `from_path`, `from_lsp_id`) answers `None` for
/// anything unknown: an unsupported file is normal, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Python,
    Rust,
    JavaScript,
}

impl Language {
    /// Every supported language, in a stable order.
    pub const ALL: [Language; 3] = [Language::Python, Language::Rust, Language::JavaScript];

    /// Looks a file extension up, with or without the leading dot, ignoring ASCII case.
    pub fn from_extension(extension: &str) -> Option<Language> {
        let extension = extension.strip_prefix('.').unwrap_or(extension);
        let known: &[(&str, Language)] = &[
            ("py", Language::Python),
            ("pyi", Language::Python),
            ("pyw", Language::Python),
            ("rs", Language::Rust),
            ("js", Language::JavaScript),
            ("mjs", Language::JavaScript),
            ("cjs", Language::JavaScript),
            ("jsx", Language::JavaScript),
        ];
        known
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(extension))
            .map(|(_, language)| *language)
    }

    /// Looks a path up by its extension.
    pub fn from_path(path: impl AsRef<Path>) -> Option<Language> {
        let extension = path.as_ref().extension()?.to_str()?;
        Language::from_extension(extension)
    }

    /// Looks an LSP `languageId` up (`python`, `rust`, `javascript`, `javascriptreact`).
    pub fn from_lsp_id(language_id: &str) -> Option<Language> {
        match language_id {
            "python" => Some(Language::Python),
            "rust" => Some(Language::Rust),
            "javascript" | "javascriptreact" => Some(Language::JavaScript),
            _ => None,
        }
    }

    /// Stable lower-case identifier, also the LSP `languageId` and the query folder name.
    pub fn identifier(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::JavaScript => "javascript",
        }
    }

    /// Human-readable name for prompts and messages.
    pub fn title(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
            Language::JavaScript => "JavaScript",
        }
    }

    /// The token that starts a line comment, used to mark cuts in code shown to the model.
    pub fn line_comment(self) -> &'static str {
        match self {
            Language::Python => "#",
            Language::Rust | Language::JavaScript => "//",
        }
    }

    /// The tree-sitter grammar.
    pub fn tree_sitter_language(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Language::Python => 0,
            Language::Rust => 1,
            Language::JavaScript => 2,
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_cover_every_javascript_flavour() {
        for extension in ["js", ".mjs", "CJS", "jsx"] {
            assert_eq!(
                Language::from_extension(extension),
                Some(Language::JavaScript)
            );
        }
        assert_eq!(Language::from_extension("py"), Some(Language::Python));
        assert_eq!(Language::from_extension("rs"), Some(Language::Rust));
        assert_eq!(Language::from_extension("ts"), None);
        assert_eq!(Language::from_extension(""), None);
    }

    #[test]
    fn paths_use_the_extension() {
        assert_eq!(Language::from_path("src/main.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("a/b/app.Py"), Some(Language::Python));
        assert_eq!(Language::from_path("Makefile"), None);
        assert_eq!(Language::from_path(".py"), None);
    }

    #[test]
    fn lsp_ids_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::from_lsp_id(language.identifier()), Some(language));
        }
        assert_eq!(
            Language::from_lsp_id("javascriptreact"),
            Some(Language::JavaScript)
        );
        assert_eq!(Language::from_lsp_id("typescript"), None);
        assert_eq!(Language::JavaScript.title(), "JavaScript");
    }
}
