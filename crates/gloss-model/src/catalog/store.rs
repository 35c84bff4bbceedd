//! The per-user model store: which directory holds pulled models, where each file goes, checking
//! files against the catalog, and turning a `--model` spec (an id or a path) into a file.

use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::progress::{Progress, Reporter};
use super::pull::PullOptions;
use super::{Catalog, CatalogError, ModelEntry};

/// Read size for hashing: big reads keep a 1 GB file's sha256 bound by the CPU, not by syscalls.
pub(crate) const HASH_BUFFER: usize = 4 << 20;

/// The directory holding pulled models, plus the settings used to fetch them.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
    pub(crate) sources: SourceConfig,
}

/// How sources are reached. Read from the environment by default; tests set it per store so they
/// never mutate the environment of a multi-threaded test binary.
#[derive(Debug, Clone)]
pub(crate) struct SourceConfig {
    /// Interpreter that runs `-m pip` (`GLOSS_PYTHON`, default `python3`).
    pub(crate) python: OsString,
    /// Extra arguments appended to `pip download` (`GLOSS_PIP_ARGS`, split on whitespace).
    pub(crate) pip_args: Vec<String>,
    /// Hugging Face endpoint; `None` lets hf-hub use `HF_ENDPOINT` or huggingface.co.
    pub(crate) hf_endpoint: Option<String>,
}

impl SourceConfig {
    fn from_env() -> SourceConfig {
        SourceConfig {
            python: non_empty_env("GLOSS_PYTHON").unwrap_or_else(|| OsString::from("python3")),
            pip_args: non_empty_env("GLOSS_PIP_ARGS")
                .map(|args| {
                    args.to_string_lossy()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            hf_endpoint: None,
        }
    }
}

/// An environment variable that is set to something; an empty value counts as unset so that
/// `GLOSS_MODEL_DIR= gloss ...` restores the default rather than meaning the current directory.
fn non_empty_env(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|value| !value.is_empty())
}

/// Picks the store directory: `$GLOSS_MODEL_DIR`, else `$GLOSS_CACHE_DIR/models`, else
/// `<user cache dir>/gloss/models`.
fn store_dir(
    model_dir: Option<OsString>,
    cache_dir: Option<OsString>,
    user_cache: Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(dir) = model_dir {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = cache_dir {
        return Some(PathBuf::from(dir).join("models"));
    }
    user_cache.map(|dir| dir.join("gloss").join("models"))
}

/// What [`ModelStore::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// No file at the entry's path.
    Missing,
    /// The file has the pinned size and sha256.
    Ok,
    /// The file has another size (typically an interrupted copy); not hashed.
    WrongSize {
        /// The manifest's size.
        expected: u64,
        /// The file's size.
        actual: u64,
    },
    /// The file has the right size but other bytes.
    WrongSha {
        /// The manifest's sha256.
        expected: String,
        /// The file's sha256.
        actual: String,
    },
}

impl VerifyOutcome {
    /// Whether the file is present and intact.
    pub fn is_ok(&self) -> bool {
        matches!(self, VerifyOutcome::Ok)
    }
}

impl fmt::Display for VerifyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyOutcome::Missing => write!(f, "not pulled"),
            VerifyOutcome::Ok => write!(f, "ok"),
            VerifyOutcome::WrongSize { expected, actual } => {
                write!(f, "wrong size: {actual} bytes, expected {expected}")
            }
            VerifyOutcome::WrongSha { expected, actual } => {
                write!(f, "wrong sha256: {actual}, expected {expected}")
            }
        }
    }
}

/// A model file ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The catalog id, or the file stem for a file outside the catalog.
    pub id: String,
    /// The file to load.
    pub path: PathBuf,
    /// Lowercase hex sha256 of the file (the manifest's, for a cached catalog file).
    pub sha256: String,
    /// The catalog entry, for a catalog id or a local file with a catalog file's exact bytes.
    pub entry: Option<&'static ModelEntry>,
}

impl ModelStore {
    /// The store the environment selects: `$GLOSS_MODEL_DIR`, else `$GLOSS_CACHE_DIR/models`, else
    /// the user cache (`~/.cache/gloss/models` on Linux). Sources follow `GLOSS_PYTHON`,
    /// `GLOSS_PIP_ARGS` and hf-hub's own `HF_*` variables.
    pub fn from_env() -> Result<ModelStore, CatalogError> {
        let dir = store_dir(
            non_empty_env("GLOSS_MODEL_DIR"),
            non_empty_env("GLOSS_CACHE_DIR"),
            dirs::cache_dir(),
        )
        .ok_or(CatalogError::NoStoreDir)?;
        Ok(ModelStore::at(dir))
    }

    /// A store in `dir` (created on the first pull). Source settings still come from the
    /// environment; override them with the `with_*` methods.
    pub fn at(dir: impl Into<PathBuf>) -> ModelStore {
        ModelStore {
            dir: dir.into(),
            sources: SourceConfig::from_env(),
        }
    }

    /// Uses this interpreter for `-m pip` instead of `$GLOSS_PYTHON`/`python3`.
    pub fn with_python(mut self, python: impl Into<OsString>) -> ModelStore {
        self.sources.python = python.into();
        self
    }

    /// Appends these arguments to `pip download` instead of `$GLOSS_PIP_ARGS`
    /// (e.g. `--no-index --find-links DIR` to serve wheels from a directory).
    pub fn with_pip_args<I, S>(mut self, args: I) -> ModelStore
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sources.pip_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Talks to this Hugging Face endpoint instead of `$HF_ENDPOINT`/huggingface.co.
    pub fn with_hf_endpoint(mut self, endpoint: impl Into<String>) -> ModelStore {
        self.sources.hf_endpoint = Some(endpoint.into());
        self
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `entry`'s file lives once pulled.
    pub fn path_for(&self, entry: &ModelEntry) -> PathBuf {
        self.dir.join(&entry.file)
    }

    /// The pulled file if it is present with the pinned size. Cheap: the full sha256 check is
    /// [`ModelStore::verify`]. Files only ever get this name after their sha256 matched, so a
    /// right-sized file is trusted.
    pub fn cached(&self, entry: &ModelEntry) -> Option<PathBuf> {
        let path = self.path_for(entry);
        let meta = std::fs::metadata(&path).ok()?;
        (meta.is_file() && meta.len() == entry.size).then_some(path)
    }

    /// Checks the pulled file byte for byte: size first, then a streaming sha256.
    pub fn verify(&self, entry: &ModelEntry) -> Result<VerifyOutcome, CatalogError> {
        let path = self.path_for(entry);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(VerifyOutcome::Missing),
            Err(source) => return Err(CatalogError::Io { path, source }),
        };
        if !meta.is_file() || meta.len() != entry.size {
            return Ok(VerifyOutcome::WrongSize {
                expected: entry.size,
                actual: if meta.is_file() { meta.len() } else { 0 },
            });
        }
        let (_, actual) = sha256_file(&path, None).map_err(|source| CatalogError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(if actual == entry.sha256 {
            VerifyOutcome::Ok
        } else {
            VerifyOutcome::WrongSha {
                expected: entry.sha256.clone(),
                actual,
            }
        })
    }

    /// Resolves a `--model` spec against the built-in catalog: a catalog id, or a path to a local
    /// `.gguf` file. See [`ModelStore::resolve_entry`] for ids.
    ///
    /// A path is used as is; its sha256 is computed (and matched against the catalog, so a
    /// hand-downloaded catalog file is recognised). An unknown id that does not look like a path
    /// is an error listing the known ids.
    pub fn resolve(
        &self,
        spec: &str,
        offline: bool,
        progress: Progress,
    ) -> Result<ResolvedModel, CatalogError> {
        let catalog = Catalog::builtin();
        match catalog.get(spec) {
            Ok(entry) => self.resolve_entry(entry, offline, progress),
            Err(_) if looks_like_path(spec) => resolve_path(Path::new(spec), catalog, progress),
            Err(unknown) => Err(unknown),
        }
    }

    /// The entry's file: the cached one when present with the right size (its sha256 is taken from
    /// the manifest rather than recomputed on every start), else pulled unless `offline`.
    pub fn resolve_entry(
        &self,
        entry: &'static ModelEntry,
        offline: bool,
        progress: Progress,
    ) -> Result<ResolvedModel, CatalogError> {
        let path = match self.cached(entry) {
            Some(path) => path,
            None if offline => {
                return Err(CatalogError::NotPulled {
                    id: entry.id.clone(),
                    path: self.path_for(entry),
                });
            }
            None => self.pull(entry, &PullOptions { progress })?,
        };
        Ok(ResolvedModel {
            id: entry.id.clone(),
            path,
            sha256: entry.sha256.clone(),
            entry: Some(entry),
        })
    }
}

/// [`ModelStore::resolve`] on the store the environment selects ([`ModelStore::from_env`]).
pub fn resolve_model(
    spec: &str,
    offline: bool,
    progress: Progress,
) -> Result<ResolvedModel, CatalogError> {
    ModelStore::from_env()?.resolve(spec, offline, progress)
}

/// Whether an unknown spec was meant as a file rather than a mistyped id: then "file missing"
/// is the helpful error, not "unknown model".
fn looks_like_path(spec: &str) -> bool {
    spec.contains(['/', '\\'])
        || spec.to_ascii_lowercase().ends_with(".gguf")
        || Path::new(spec).exists()
}

fn resolve_path(
    path: &Path,
    catalog: &'static Catalog,
    progress: Progress,
) -> Result<ResolvedModel, CatalogError> {
    let io_error = |source| CatalogError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(CatalogError::ModelFileMissing(path.to_owned()));
        }
        Err(source) => return Err(io_error(source)),
    };
    if !meta.is_file() {
        return Err(CatalogError::NotGguf(path.to_owned()));
    }
    // Checking the magic first turns "wrong file" into a clear error before hashing gigabytes.
    let mut magic = [0u8; 4];
    let magic_ok = File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok()
        && &magic == b"GGUF";
    if !magic_ok {
        return Err(CatalogError::NotGguf(path.to_owned()));
    }
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let reporter = Reporter::new(progress, format!("hashing {name}"), meta.len());
    let (size, sha256) = sha256_file(path, Some(&reporter)).map_err(io_error)?;
    drop(reporter);
    let entry = catalog
        .find_by_sha256(&sha256)
        .filter(|entry| entry.size == size);
    let id = match entry {
        Some(entry) => entry.id.clone(),
        None => path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or(name),
    };
    Ok(ResolvedModel {
        id,
        path: path.to_owned(),
        sha256,
        entry,
    })
}

/// Streams a file through sha256; returns its length and lowercase hex digest.
pub(crate) fn sha256_file(path: &Path, reporter: Option<&Reporter>) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        if let Some(reporter) = reporter {
            reporter.set_position(total);
        }
    }
    Ok((total, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_dir_precedence() {
        let home = Some(PathBuf::from("/home/u/.cache"));
        assert_eq!(
            store_dir(Some("/m".into()), Some("/c".into()), home.clone()),
            Some(PathBuf::from("/m"))
        );
        assert_eq!(
            store_dir(None, Some("/c".into()), home.clone()),
            Some(PathBuf::from("/c/models"))
        );
        assert_eq!(
            store_dir(None, None, home),
            Some(PathBuf::from("/home/u/.cache/gloss/models"))
        );
        assert_eq!(store_dir(None, None, None), None);
    }

    #[test]
    fn paths_and_ids_are_told_apart() {
        assert!(looks_like_path("./model.gguf"));
        assert!(looks_like_path("model.GGUF"));
        assert!(looks_like_path("dir/model"));
        assert!(!looks_like_path("qwen2.5-coder-7b"));
    }
}
