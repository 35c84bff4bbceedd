//! Files beside an open document, read from disk as context: a callee defined in a sibling module is
//! described to the model by its signature and doc line, even when that file is not open.
//!
//! Unlike `didOpen` text, a file on disk can be anything: too big, unreadable, or not UTF-8. Each
//! such file is left out with one warning per version of the file (its size and modification time),
//! never an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use dashmap::DashMap;
use gloss_syntax::{Document, Language};

/// Enough siblings for the usual "helpers in the next file" case; each one is parsed, and the
/// context search walks them all on every explanation.
const MAX_FILES: usize = 8;
/// A sibling bigger than this is generated code or data, not a module worth describing.
const MAX_FILE_BYTES: u64 = 256 * 1024;

struct Cached {
    modified: SystemTime,
    len: u64,
    /// `None`: unreadable or not UTF-8 (already warned about).
    document: Option<Arc<Document>>,
}

#[derive(Default)]
pub struct Neighbors {
    files: DashMap<PathBuf, Cached>,
}

impl Neighbors {
    /// The documents beside `path` that a document in `language` can call into
    /// ([`Language::neighbor_language`]), except `path` itself and those `is_open` (their open
    /// text is newer). Blocking: call it off the async runtime. Returns warnings to log.
    pub fn around(
        &self,
        path: &Path,
        language: Language,
        is_open: impl Fn(&Path) -> bool,
    ) -> (Vec<Arc<Document>>, Vec<String>) {
        let mut warnings = Vec::new();
        let Some(dir) = path.parent() else {
            return (Vec::new(), warnings);
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return (Vec::new(), warnings);
        };
        let mut candidates: Vec<(PathBuf, Language)> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|candidate| candidate != path)
            .filter_map(|candidate| {
                let theirs = language.neighbor_language(&candidate)?;
                Some((candidate, theirs))
            })
            .collect();
        // Sorted, so the same directory gives the same context (and the same cache key) every time.
        candidates.sort();
        let mut documents = Vec::new();
        for (candidate, theirs) in candidates {
            if documents.len() == MAX_FILES {
                break;
            }
            if is_open(&candidate) {
                continue;
            }
            if let Some(document) = self.load(&candidate, theirs, &mut warnings) {
                documents.push(document);
            }
        }
        (documents, warnings)
    }

    fn load(
        &self,
        path: &Path,
        language: Language,
        warnings: &mut Vec<String>,
    ) -> Option<Arc<Document>> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            return None;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        // A `.h` file is read as C beside C sources and as C++ beside C++ ones.
        if let Some(cached) = self.files.get(path)
            && cached.modified == modified
            && cached.len == meta.len()
            && cached
                .document
                .as_ref()
                .is_none_or(|document| document.language() == language)
        {
            return cached.document.clone();
        }
        let document = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(Arc::new(Document::new(language, text, 0))),
                Err(error) => {
                    warnings.push(format!(
                        "{} is not valid UTF-8 (first bad byte at offset {}); left out of the context",
                        path.display(),
                        error.utf8_error().valid_up_to()
                    ));
                    None
                }
            },
            Err(error) => {
                warnings.push(format!(
                    "cannot read {} ({error}); left out of the context",
                    path.display()
                ));
                None
            }
        };
        self.files.insert(
            path.to_owned(),
            Cached {
                modified,
                len: meta.len(),
                document: document.clone(),
            },
        );
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_read_as_cpp_beside_cpp_and_as_c_beside_c() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cache.h"),
            "class Cache {\n public:\n  void Prune();\n};\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("cache.cc"), "void Cache::Prune() {}\n").unwrap();
        std::fs::write(dir.path().join("util.c"), "int util(void) { return 0; }\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not code\n").unwrap();
        let neighbors = Neighbors::default();
        let languages = |path: &str, language: Language| {
            let (documents, warnings) =
                neighbors.around(&dir.path().join(path), language, |_| false);
            assert!(warnings.is_empty(), "{warnings:?}");
            documents
                .iter()
                .map(|document| document.language())
                .collect::<Vec<_>>()
        };
        // Sorted by path: cache.h, then (for C) util.c.
        assert_eq!(languages("cache.cc", Language::Cpp), vec![Language::Cpp]);
        assert_eq!(
            languages("main.c", Language::C),
            vec![Language::C, Language::C]
        );
        // The cached C reading of the header is not served to a C++ document.
        assert_eq!(
            languages("other.cc", Language::Cpp),
            vec![Language::Cpp, Language::Cpp]
        );
    }
}
