//! The cache of finished explanations: in memory and on disk, keyed by everything that shapes an answer.
//!
//! A key is the sha256 of a canonical, length-prefixed serialization of the model's sha256, the prompt
//! version, the level, the kind, the language, the normalized region text and its context. Greedy
//! decoding makes an answer a function of exactly these, so a hit is always the answer the model
//! would give again. Entries live in a `dashmap` and, when a directory is configured, one JSON file
//! each under `<root>/explanations/`, written to a temporary file and renamed so that a reader (this
//! process or another one) never sees half an entry. A file that does not parse, or that holds
//! another key, is ignored and rewritten on the next fill. The directory is kept under a size bound
//! by deleting the oldest files first.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::level::{ExplanationKind, Level};
use crate::request::PreparedExplanation;

/// Bumped when the file format changes: files of another format read as misses.
const FORMAT: u32 = 1;
/// The subdirectory of the cache root that holds entries (and the documents the server shows).
pub const SUBDIR: &str = "explanations";
/// Temporary files older than this were left by a crash and are removed during eviction.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// The identity of one explanation: a sha256, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `input`. Every field is written with a tag and its length, so no two different
    /// inputs serialize to the same bytes ("ab" + "c" differs from "a" + "bc").
    pub fn new(input: &KeyInput<'_>) -> CacheKey {
        let mut hasher = Sha256::new();
        let mut field = |tag: &str, value: &[u8]| {
            hasher.update((tag.len() as u64).to_le_bytes());
            hasher.update(tag.as_bytes());
            hasher.update((value.len() as u64).to_le_bytes());
            hasher.update(value);
        };
        field("format", &FORMAT.to_le_bytes());
        field("model", input.model_sha256.as_bytes());
        field("prompt", &input.prompt_version.to_le_bytes());
        field("level", input.level.identifier().as_bytes());
        field("kind", input.kind.identifier().as_bytes());
        field("language", input.language.as_bytes());
        field("region", normalize_code(input.region_text).as_bytes());
        for (label, value) in input.context {
            field(label, value.as_bytes());
        }
        CacheKey(hasher.finalize().into())
    }

    /// The key of a prepared explanation for the model with this sha256: the region and every part
    /// of the context that the prompt is built from.
    pub fn for_prepared(model_sha256: &str, prepared: &PreparedExplanation) -> CacheKey {
        let context = &prepared.context;
        let region = &prepared.region;
        let mut parts: Vec<(&str, String)> = vec![
            ("region-kind", region.kind.identifier().to_owned()),
            ("region-name", region.name.clone().unwrap_or_default()),
            ("code", normalize_code(&context.code)),
        ];
        if let Some(header) = &context.enclosing_header {
            parts.push(("enclosing", normalize_code(header)));
        }
        if let Some(signature) = &context.outer_signature {
            parts.push(("outer", normalize_code(signature)));
        }
        for import in &context.imports {
            parts.push(("import", normalize_code(import)));
        }
        for callee in &context.callees {
            parts.push(("callee", callee.name.clone()));
            parts.push(("callee-signature", normalize_code(&callee.signature)));
            parts.push((
                "callee-doc",
                callee
                    .doc_line
                    .clone()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            ));
        }
        if let Some(doc) = &context.doc_text {
            parts.push(("doc", normalize_code(doc)));
        }
        let borrowed: Vec<(&str, &str)> = parts
            .iter()
            .map(|(label, value)| (*label, value.as_str()))
            .collect();
        CacheKey::new(&KeyInput {
            model_sha256,
            prompt_version: crate::prompt::PROMPT_VERSION,
            level: prepared.level,
            kind: prepared.kind,
            language: context.language.identifier(),
            region_text: &region.text,
            context: &borrowed,
        })
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<CacheKey> {
        let bytes = hex::decode(text).ok()?;
        Some(CacheKey(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What a key is computed from.
pub struct KeyInput<'a> {
    pub model_sha256: &'a str,
    pub prompt_version: u32,
    pub level: Level,
    pub kind: ExplanationKind,
    pub language: &'a str,
    /// Normalized before hashing (see [`normalize_code`]).
    pub region_text: &'a str,
    /// The rest of the prompt's input as labelled parts, in a fixed order.
    pub context: &'a [(&'a str, &'a str)],
}

/// Code as the key sees it: line endings, trailing blanks, common indentation and surrounding blank
/// lines do not change what the code means, so they must not cost a cache miss.
pub fn normalize_code(text: &str) -> String {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.trim_end_matches(['\r', ' ', '\t']))
        .collect();
    let first = lines.iter().position(|line| !line.is_empty());
    let last = lines.iter().rposition(|line| !line.is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return String::new();
    };
    let lines = &lines[first..=last];
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // `indent` counts ASCII blanks, so slicing there is on a char boundary.
        out.push_str(line.get(indent..).unwrap_or(""));
    }
    out
}

/// One finished explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedExplanation {
    /// The explanation as the model wrote it, trimmed.
    pub text: String,
    /// The id of the model that wrote it, for the hover's footer.
    pub model_id: String,
    pub kind: String,
    pub generated_tokens: usize,
    /// Seconds since the Unix epoch.
    pub created_unix: u64,
}

impl CachedExplanation {
    pub fn new(
        text: impl Into<String>,
        model_id: impl Into<String>,
        kind: ExplanationKind,
        generated_tokens: usize,
    ) -> Self {
        Self {
            text: text.into(),
            model_id: model_id.into(),
            kind: kind.identifier().to_owned(),
            generated_tokens,
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

/// The file form of an entry: it names its own key, so a file copied or renamed by hand is not
/// mistaken for another entry.
#[derive(Serialize, Deserialize)]
struct EntryFile {
    format: u32,
    key: String,
    #[serde(flatten)]
    entry: CachedExplanation,
}

/// How big the cache may grow.
#[derive(Clone, Copy, Debug)]
pub struct CacheLimits {
    /// Entries kept in memory; the oldest go first beyond this.
    pub memory_entries: usize,
    /// Bytes of files in the directory; the oldest files go first beyond this.
    pub disk_bytes: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        // An entry is about 1 KB: 64 MB holds tens of thousands of explanations.
        Self {
            memory_entries: 4096,
            disk_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What a lookup found, for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    Memory,
    Disk,
}

/// The explanation cache. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct ExplanationCache {
    /// `<root>/explanations`, or `None` for a cache that lives in memory only.
    dir: Option<PathBuf>,
    memory: DashMap<CacheKey, (Arc<CachedExplanation>, u64)>,
    /// Insertion order, so eviction can find the oldest entry.
    sequence: AtomicU64,
    limits: CacheLimits,
    /// Bytes in `dir` as far as this process knows; `None` until first counted.
    disk_usage: Mutex<Option<u64>>,
}

impl ExplanationCache {
    /// The cache root the environment selects: `$GLOSS_CACHE_DIR`, else the user's cache directory
    /// (`~/.cache/gloss` on Linux).
    pub fn default_root() -> Option<PathBuf> {
        match std::env::var_os("GLOSS_CACHE_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => dirs::cache_dir().map(|dir| dir.join("gloss")),
        }
    }

    /// A cache whose files live under `<root>/explanations` (created on the first write).
    pub fn open(root: &Path, limits: CacheLimits) -> Self {
        Self::with_dir(Some(root.join(SUBDIR)), limits)
    }

    /// A cache that forgets everything when dropped.
    pub fn in_memory(limits: CacheLimits) -> Self {
        Self::with_dir(None, limits)
    }

    fn with_dir(dir: Option<PathBuf>, limits: CacheLimits) -> Self {
        Self {
            dir,
            memory: DashMap::new(),
            sequence: AtomicU64::new(0),
            limits,
            disk_usage: Mutex::new(None),
        }
    }

    /// `<root>/explanations`, when the cache has a directory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<CachedExplanation>> {
        self.lookup(key).map(|(entry, _)| entry)
    }

    /// Memory first, then disk; a disk hit is kept in memory for next time.
    pub fn lookup(&self, key: &CacheKey) -> Option<(Arc<CachedExplanation>, Hit)> {
        if let Some(found) = self.memory.get(key) {
            return Some((found.0.clone(), Hit::Memory));
        }
        let entry = Arc::new(self.read_file(key)?);
        self.remember(*key, entry.clone());
        Some((entry, Hit::Disk))
    }

    /// Stores an entry in memory and on disk. A disk failure is logged and otherwise ignored:
    /// the cache is an optimization, never a reason to fail an explanation.
    pub fn put(&self, key: CacheKey, entry: CachedExplanation) -> Arc<CachedExplanation> {
        let entry = Arc::new(entry);
        self.remember(key, entry.clone());
        if let Err(error) = self.write_file(&key, &entry) {
            tracing::warn!(%error, key = %key, "could not write an explanation to the disk cache");
        }
        entry
    }

    /// Forgets an entry everywhere (the "Regenerate" action replaces it afterwards).
    pub fn remove(&self, key: &CacheKey) {
        self.memory.remove(key);
        if let Some(path) = self.entry_path(key) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Entries currently in memory.
    pub fn memory_len(&self) -> usize {
        self.memory.len()
    }

    /// Writes a markdown document (a full explanation to show beside the code) into the cache
    /// directory, or the system's temporary directory for an in-memory cache, and returns its path.
    /// The name is `<name>-<first 12 hex digits of key>.md`: readable in an editor tab, unique per
    /// explanation, and rewritten in place when regenerated.
    pub fn write_document(
        &self,
        name: &str,
        key: &CacheKey,
        markdown: &str,
    ) -> std::io::Result<PathBuf> {
        let dir = match &self.dir {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join("gloss").join(SUBDIR),
        };
        std::fs::create_dir_all(&dir)?;
        let stem: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let stem = if stem.is_empty() {
            "explanation".to_owned()
        } else {
            stem
        };
        let path = dir.join(format!("{stem}-{}.md", &key.to_hex()[..12]));
        let written = write_atomically(&dir, &path, markdown.as_bytes())?;
        if self.dir.is_some() {
            self.account(written);
        }
        Ok(path)
    }

    fn remember(&self, key: CacheKey, entry: Arc<CachedExplanation>) {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        self.memory.insert(key, (entry, sequence));
        let limit = self.limits.memory_entries.max(1);
        if self.memory.len() > limit {
            // Evict down to 90% at once, so the O(n) scan runs once per many insertions.
            let target = limit - limit / 10;
            let mut by_age: Vec<(u64, CacheKey)> = self
                .memory
                .iter()
                .map(|item| (item.value().1, *item.key()))
                .collect();
            by_age.sort_unstable();
            let excess = by_age.len().saturating_sub(target);
            for (_, key) in by_age.into_iter().take(excess) {
                self.memory.remove(&key);
            }
        }
    }

    fn entry_path(&self, key: &CacheKey) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(format!("{}.json", key.to_hex())))
    }

    fn read_file(&self, key: &CacheKey) -> Option<CachedExplanation> {
        let path = self.entry_path(key)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "cannot read a cache entry");
                return None;
            }
        };
        match serde_json::from_slice::<EntryFile>(&bytes) {
            Ok(file) if file.format == FORMAT && file.key == key.to_hex() => Some(file.entry),
            Ok(_) | Err(_) => {
                // A torn write from an old version, a hand edit, a disk error: a miss, and the
                // next fill rewrites the file.
                tracing::warn!(path = %path.display(), "ignoring a corrupt cache entry");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    fn write_file(&self, key: &CacheKey, entry: &CachedExplanation) -> std::io::Result<()> {
        let (Some(dir), Some(path)) = (&self.dir, self.entry_path(key)) else {
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let file = EntryFile {
            format: FORMAT,
            key: key.to_hex(),
            entry: entry.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        let written = write_atomically(dir, &path, &bytes)?;
        self.account(written);
        Ok(())
    }

    /// Adds `bytes` to the known usage and evicts when over the bound.
    fn account(&self, bytes: u64) {
        let Some(dir) = &self.dir else { return };
        let mut usage = self.disk_usage.lock().unwrap_or_else(|p| p.into_inner());
        let current = match *usage {
            Some(known) => known + bytes,
            // The first write counts what earlier runs left (this file included).
            None => scan(dir).iter().map(|file| file.size).sum(),
        };
        *usage = Some(if current > self.limits.disk_bytes {
            evict(dir, self.limits.disk_bytes)
        } else {
            current
        });
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so the
/// file is either the old one or the whole new one. Returns the size written.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<u64> {
    let mut temp = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_data()?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(bytes.len() as u64)
}

struct FileInfo {
    path: PathBuf,
    size: u64,
    modified: SystemTime,
}

/// The files eviction may delete: entries, shown documents, and stale temporaries.
fn scan(dir: &Path) -> Vec<FileInfo> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    let mut files = Vec::new();
    for item in read.flatten() {
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        if name.starts_with(".tmp") {
            // Another writer's file in flight must survive; one left by a crash must not.
            if now.duration_since(modified).unwrap_or_default() > STALE_TEMP {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        if name.ends_with(".json") || name.ends_with(".md") {
            files.push(FileInfo {
                path,
                size: meta.len(),
                modified,
            });
        }
    }
    files
}

/// Deletes the oldest files until at most 90% of `limit` is used; returns the bytes left.
fn evict(dir: &Path, limit: u64) -> u64 {
    let mut files = scan(dir);
    files.sort_by(|a, b| {
        a.modified
            .cmp(&b.modified)
            .then_with(|| a.path.cmp(&b.path))
    });
    let mut total: u64 = files.iter().map(|file| file.size).sum();
    let target = limit - limit / 10;
    // The newest file is never deleted: it is the entry just written.
    let deletable = files.len().saturating_sub(1);
    for file in files.iter().take(deletable) {
        if total <= target {
            break;
        }
        if std::fs::remove_file(&file.path).is_ok() {
            total = total.saturating_sub(file.size);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> CacheKey {
        CacheKey::new(&KeyInput {
            model_sha256: "abc",
            prompt_version: 1,
            level: Level::Standard,
            kind: ExplanationKind::Hover,
            language: "python",
            region_text: text,
            context: &[("import", "import os")],
        })
    }

    fn entry(text: &str) -> CachedExplanation {
        CachedExplanation::new(text, "smollm2-135m", ExplanationKind::Hover, 3)
    }

    #[test]
    fn key_ignores_layout_but_not_code() {
        let a = key("def f(x):\n    return x\n");
        assert_eq!(a, key("\n    def f(x):  \r\n        return x\r\n\n"));
        assert_ne!(a, key("def f(x):\n    return x + 1\n"));
        assert_ne!(a, key("def f(x):\nreturn x\n"));
    }

    #[test]
    fn key_covers_every_field() {
        let base = KeyInput {
            model_sha256: "abc",
            prompt_version: 1,
            level: Level::Standard,
            kind: ExplanationKind::Hover,
            language: "python",
            region_text: "x",
            context: &[("import", "import os")],
        };
        let k = CacheKey::new(&base);
        let variants = [
            KeyInput {
                model_sha256: "abd",
                ..base
            },
            KeyInput {
                prompt_version: 2,
                ..base
            },
            KeyInput {
                level: Level::Expert,
                ..base
            },
            KeyInput {
                kind: ExplanationKind::Full,
                ..base
            },
            KeyInput {
                language: "rust",
                ..base
            },
            KeyInput {
                region_text: "y",
                ..base
            },
            KeyInput {
                context: &[("import", "import sys")],
                ..base
            },
            KeyInput {
                context: &[],
                ..base
            },
        ];
        for variant in &variants {
            assert_ne!(k, CacheKey::new(variant));
        }
        // Length prefixes keep field boundaries: moving bytes between fields changes the key.
        let a = CacheKey::new(&KeyInput {
            context: &[("a", "bc")],
            ..base
        });
        let b = CacheKey::new(&KeyInput {
            context: &[("ab", "c")],
            ..base
        });
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trip() {
        let k = key("x");
        assert_eq!(CacheKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(CacheKey::from_hex("zz"), None);
    }

    #[test]
    fn memory_cache_hits_and_bounds() {
        let cache = ExplanationCache::in_memory(CacheLimits {
            memory_entries: 10,
            disk_bytes: 0,
        });
        for i in 0..25 {
            cache.put(key(&i.to_string()), entry(&format!("e{i}")));
        }
        assert!(cache.memory_len() <= 10);
        // The newest survive, the oldest went first.
        assert_eq!(cache.get(&key("24")).unwrap().text, "e24");
        assert!(cache.get(&key("0")).is_none());
    }

    #[test]
    fn survives_a_restart() {
        let root = tempfile::tempdir().unwrap();
        let k = key("def f(): pass");
        {
            let cache = ExplanationCache::open(root.path(), CacheLimits::default());
            cache.put(k, entry("Does nothing."));
        }
        let cache = ExplanationCache::open(root.path(), CacheLimits::default());
        let (found, hit) = cache.lookup(&k).unwrap();
        assert_eq!(found.text, "Does nothing.");
        assert_eq!(hit, Hit::Disk);
        assert_eq!(cache.lookup(&k).unwrap().1, Hit::Memory);
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(root.path().join(SUBDIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![format!("{}.json", k.to_hex())]);
    }

    #[test]
    fn corrupt_entries_are_ignored_and_rewritten() {
        let root = tempfile::tempdir().unwrap();
        let k = key("x");
        let other = key("y");
        let dir = root.path().join(SUBDIR);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.json", k.to_hex()));
        for garbage in [
            b"{not json".to_vec(),
            vec![0xff, 0xfe, 0x00],
            Vec::new(),
            // Valid JSON naming another key: copied by hand, not ours.
            serde_json::to_vec(&EntryFile {
                format: FORMAT,
                key: other.to_hex(),
                entry: entry("wrong"),
            })
            .unwrap(),
        ] {
            std::fs::write(&path, garbage).unwrap();
            let cache = ExplanationCache::open(root.path(), CacheLimits::default());
            assert!(cache.get(&k).is_none());
            cache.put(k, entry("right"));
            let fresh = ExplanationCache::open(root.path(), CacheLimits::default());
            assert_eq!(fresh.get(&k).unwrap().text, "right");
        }
    }

    #[test]
    fn disk_is_bounded_oldest_first() {
        let root = tempfile::tempdir().unwrap();
        let limits = CacheLimits {
            memory_entries: 1000,
            disk_bytes: 4_000,
        };
        let cache = ExplanationCache::open(root.path(), limits);
        let filler = "x".repeat(600);
        for i in 0..20 {
            cache.put(key(&i.to_string()), entry(&format!("{i}{filler}")));
            // Modification times must differ for "oldest" to mean something on coarse clocks.
            std::thread::sleep(Duration::from_millis(15));
        }
        let dir = root.path().join(SUBDIR);
        let total: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 4_000, "{total} bytes on disk");
        let fresh = ExplanationCache::open(root.path(), limits);
        assert!(
            fresh.get(&key("19")).is_some(),
            "the newest entry was evicted"
        );
        assert!(fresh.get(&key("0")).is_none(), "the oldest entry survived");
    }

    #[test]
    fn documents_are_written_beside_entries() {
        let root = tempfile::tempdir().unwrap();
        let cache = ExplanationCache::open(root.path(), CacheLimits::default());
        let k = key("x");
        let path = cache.write_document("my fn/../x", &k, "# Hi\n").unwrap();
        assert!(path.starts_with(root.path().join(SUBDIR)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# Hi\n");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("my_fn____x-"), "{name}");
    }

    #[test]
    fn normalize_keeps_inner_indentation() {
        assert_eq!(normalize_code("  a\n    b\n"), "a\n  b");
        assert_eq!(normalize_code("\n\n"), "");
        assert_eq!(normalize_code("\tx\r\n\ty"), "x\ny");
    }
}
