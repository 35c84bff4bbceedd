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
    /// The documents beside `path` in `language`, except `path` itself and those `is_open` (their
    /// open text is newer). Blocking: call it off the async runtime. Returns warnings to log.
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
        let mut candidates: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|candidate| candidate != path)
            .filter(|candidate| Language::from_path(candidate) == Some(language))
            .collect();
        // Sorted, so the same directory gives the same context (and the same cache key) every time.
        candidates.sort();
        let mut documents = Vec::new();
        for candidate in candidates {
            if documents.len() == MAX_FILES {
                break;
            }
            if is_open(&candidate) {
                continue;
            }
            if let Some(document) = self.load(&candidate, language, &mut warnings) {
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
        if let Some(cached) = self.files.get(path)
            && cached.modified == modified
            && cached.len == meta.len()
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
