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
    TypeScript,
    /// TypeScript with JSX: a grammar of its own, since `<T>x` means a cast in `.ts` files
    /// and an element in `.tsx` files.
    Tsx,
    Go,
    Java,
    C,
    Cpp,
}

impl Language {
    /// Every supported language, in a stable order.
    pub const ALL: [Language; 9] = [
        Language::Python,
        Language::Rust,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
    ];

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
            ("ts", Language::TypeScript),
            ("mts", Language::TypeScript),
            ("cts", Language::TypeScript),
            ("tsx", Language::Tsx),
            ("go", Language::Go),
            ("java", Language::Java),
            ("c", Language::C),
            // A header could be either; C's grammar reads C headers exactly, and C++ editors
            // send `cpp` as the LSP language id, which wins over the extension.
            ("h", Language::C),
            ("cc", Language::Cpp),
            ("cpp", Language::Cpp),
            ("cxx", Language::Cpp),
            ("c++", Language::Cpp),
            ("hh", Language::Cpp),
            ("hpp", Language::Cpp),
            ("hxx", Language::Cpp),
            ("h++", Language::Cpp),
            ("ipp", Language::Cpp),
            ("tpp", Language::Cpp),
            ("inl", Language::Cpp),
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

    /// The language to read `path` in when it lies beside a document of this language, if the
    /// document can call what it defines: a file of the same language, TypeScript beside TSX
    /// (and back), and for C++ a `.h` header, which C++ projects name like C's.
    pub fn neighbor_language(self, path: impl AsRef<Path>) -> Option<Language> {
        let path = path.as_ref();
        let theirs = Language::from_path(path)?;
        let typescript = |language| matches!(language, Language::TypeScript | Language::Tsx);
        let header = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("h"));
        if theirs == self || (typescript(self) && typescript(theirs)) {
            Some(theirs)
        } else if self == Language::Cpp && header {
            Some(Language::Cpp)
        } else {
            None
        }
    }

    /// Looks an LSP `languageId` up (`python`, `rust`, `javascript`, `javascriptreact`,
    /// `typescript`, `typescriptreact`, `go`, `java`, `c`, `cpp`), or an [`identifier`].
    ///
    /// [`identifier`]: Language::identifier
    pub fn from_lsp_id(language_id: &str) -> Option<Language> {
        match language_id {
            "python" => Some(Language::Python),
            "rust" => Some(Language::Rust),
            "javascript" | "javascriptreact" => Some(Language::JavaScript),
            "typescript" => Some(Language::TypeScript),
            "typescriptreact" | "tsx" => Some(Language::Tsx),
            "go" => Some(Language::Go),
            "java" => Some(Language::Java),
            "c" => Some(Language::C),
            "cpp" => Some(Language::Cpp),
            _ => None,
        }
    }

    /// Stable lower-case identifier: the LSP `languageId` (but TSX's, `typescriptreact`), the
    /// markdown fence of code shown to the model, and the folder of the picking fixtures.
    pub fn identifier(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
        }
    }

    /// Human-readable name for prompts and messages.
    pub fn title(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
            Language::JavaScript => "JavaScript",
            Language::TypeScript => "TypeScript",
            Language::Tsx => "TSX",
            Language::Go => "Go",
            Language::Java => "Java",
            Language::C => "C",
            Language::Cpp => "C++",
        }
    }

    /// The token that starts a line comment, used to mark cuts in code shown to the model.
    pub fn line_comment(self) -> &'static str {
        match self {
            Language::Python => "#",
            Language::Rust
            | Language::JavaScript
            | Language::TypeScript
            | Language::Tsx
            | Language::Go
            | Language::Java
            | Language::C
            | Language::Cpp => "//",
        }
    }

    /// The tree-sitter grammar.
    pub fn tree_sitter_language(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }

    /// Position in [`Language::ALL`], for per-language tables.
    pub(crate) fn index(self) -> usize {
        self as usize
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
        assert_eq!(Language::from_extension("ts"), Some(Language::TypeScript));
        assert_eq!(Language::from_extension("tsx"), Some(Language::Tsx));
        assert_eq!(Language::from_extension("go"), Some(Language::Go));
        assert_eq!(Language::from_extension("java"), Some(Language::Java));
        assert_eq!(Language::from_extension("c"), Some(Language::C));
        assert_eq!(Language::from_extension("h"), Some(Language::C));
        for extension in ["cc", "cpp", "CXX", "c++", "hpp", "hh", "h++"] {
            assert_eq!(Language::from_extension(extension), Some(Language::Cpp));
        }
        assert_eq!(Language::from_extension("kt"), None);
        assert_eq!(Language::from_extension(""), None);
    }

    #[test]
    fn neighbors_are_read_in_the_language_that_calls_them() {
        assert_eq!(
            Language::Cpp.neighbor_language("src/cache.h"),
            Some(Language::Cpp)
        );
        assert_eq!(
            Language::Cpp.neighbor_language("src/cache.cc"),
            Some(Language::Cpp)
        );
        assert_eq!(Language::Cpp.neighbor_language("src/zmalloc.c"), None);
        assert_eq!(
            Language::C.neighbor_language("src/cache.h"),
            Some(Language::C)
        );
        assert_eq!(Language::C.neighbor_language("src/cache.hpp"), None);
        assert_eq!(
            Language::Tsx.neighbor_language("ui/utils.ts"),
            Some(Language::TypeScript)
        );
        assert_eq!(
            Language::TypeScript.neighbor_language("ui/button.tsx"),
            Some(Language::Tsx)
        );
        assert_eq!(Language::TypeScript.neighbor_language("ui/old.js"), None);
        assert_eq!(
            Language::Go.neighbor_language("sort.go"),
            Some(Language::Go)
        );
        assert_eq!(Language::Go.neighbor_language("README"), None);
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (position, language) in Language::ALL.into_iter().enumerate() {
            assert_eq!(language.index(), position);
        }
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
        assert_eq!(
            Language::from_lsp_id("typescriptreact"),
            Some(Language::Tsx)
        );
        assert_eq!(Language::from_lsp_id("cpp"), Some(Language::Cpp));
        assert_eq!(Language::from_lsp_id("kotlin"), None);
        assert_eq!(Language::JavaScript.title(), "JavaScript");
        assert_eq!(Language::Cpp.title(), "C++");
    }
}
