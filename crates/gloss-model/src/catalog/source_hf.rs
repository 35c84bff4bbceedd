//! The Hugging Face source: one file of a model repository, fetched with the `hf-hub` crate's
//! blocking client into a work directory next to the store (the caller verifies and renames it).
//!
//! `local_dir` keeps hf-hub from also filling its own cache with a second copy of a large file;
//! hf-hub runs its async runtime on its own thread, so callers stay blocking.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hf_hub::HFClient;
use hf_hub::progress::{DownloadEvent, ProgressEvent, ProgressHandler};

use super::progress::Reporter;
use super::store::SourceConfig;

/// Downloads `repo`'s `file` at `revision` into `work_dir`; returns the downloaded file.
pub(crate) fn fetch(
    config: &SourceConfig,
    repo: &str,
    file: &str,
    revision: Option<&str>,
    work_dir: &Path,
    reporter: &Arc<Reporter>,
) -> Result<PathBuf, String> {
    reporter.stage(&format!("downloading {repo}/{file} from Hugging Face"));
    let mut builder = HFClient::builder();
    if let Some(endpoint) = &config.hf_endpoint {
        builder = builder.endpoint(endpoint.clone());
    }
    let client = builder
        .build_sync()
        .map_err(|err| format!("cannot set up the Hugging Face client: {}", chain(&err)))?;
    let (owner, name) = hf_hub::split_id(repo);
    client
        .model(owner, name)
        .download_file()
        .filename(file)
        .local_dir(work_dir.to_path_buf())
        .maybe_revision(revision.map(str::to_owned))
        .progress(hf_hub::progress::Progress::new(ForwardProgress(
            reporter.clone(),
        )))
        .send()
        .map_err(|err| chain(&err))
}

/// Forwards hf-hub's byte counts to our reporter.
struct ForwardProgress(Arc<Reporter>);

impl ProgressHandler for ForwardProgress {
    fn on_progress(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::Download(DownloadEvent::Progress { files }) => {
                // Only one file is in flight; its running count is the model's progress.
                if let Some(done) = files.iter().map(|file| file.bytes_completed).max() {
                    self.0.set_position(done);
                }
            }
            ProgressEvent::Download(DownloadEvent::AggregateProgress {
                bytes_completed, ..
            }) => self.0.set_position(*bytes_completed),
            _ => {}
        }
    }
}

/// An error with its causes: reqwest's own message ("error sending request") alone would hide
/// the useful part ("connection refused").
fn chain(err: &dyn Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
