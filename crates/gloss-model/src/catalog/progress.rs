//! Progress reporting for pulls: an indicatif bar on a terminal, plain throttled lines otherwise.
//!
//! Everything goes to stderr, never stdout: stdout belongs to command output (and, for the language
//! server, to the protocol).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How a pull reports progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// An indicatif bar on stderr (indicatif draws nothing when stderr is not a terminal).
    Bar,
    /// Plain lines on stderr such as `pulling smollm2-135m: 40 MB / 98 MB`, a few seconds apart.
    Lines,
    /// Nothing at all.
    Quiet,
}

/// Formats a byte count with decimal units, as the progress lines do: `98 MB`, `1.12 GB`.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1_000;
    const MB: u64 = 1_000_000;
    const GB: u64 = 1_000_000_000;
    if bytes < KB {
        format!("{bytes} B")
    } else if bytes < MB {
        format!("{} kB", bytes / KB)
    } else if bytes < GB {
        format!("{} MB", bytes / MB)
    } else {
        // Two decimals keep the 1.5B model (1.11 GB) distinguishable from a rounded 1 GB.
        format!("{}.{:02} GB", bytes / GB, (bytes % GB) / (GB / 100))
    }
}

/// How often the plain-lines mode prints a byte count: often enough to show life in a CI log,
/// rarely enough not to flood it.
const LINE_INTERVAL: Duration = Duration::from_secs(2);

/// Reports one pull. Shared with the Hugging Face download thread, hence `Sync`.
pub(crate) struct Reporter {
    label: String,
    kind: Kind,
}

enum Kind {
    Bar(ProgressBar),
    Lines(Mutex<LineState>),
    Quiet,
}

struct LineState {
    total: u64,
    last_print: Option<Instant>,
    last_pos: Option<u64>,
}

impl Reporter {
    /// `label` names the operation in every line, e.g. `pulling smollm2-135m`.
    pub(crate) fn new(mode: Progress, label: impl Into<String>, total: u64) -> Reporter {
        let mode = match mode {
            Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
            Progress::Auto => Progress::Lines,
            other => other,
        };
        let label = label.into();
        let kind = match mode {
            Progress::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                // The template is a constant; should indicatif ever reject it the bar still works,
                // it just falls back to the default look.
                if let Ok(style) = ProgressStyle::with_template(
                    // `wide_msg` shrinks the message to the terminal's width so the bar never
                    // wraps onto a second line.
                    "{wide_msg} [{bar:25}] {decimal_bytes}/{decimal_total_bytes} \
                     {decimal_bytes_per_sec}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(label.clone());
                // Keeps the elapsed time and spinner moving while pip downloads a wheel and no
                // bytes reach us yet.
                bar.enable_steady_tick(Duration::from_millis(200));
                Kind::Bar(bar)
            }
            Progress::Lines => Kind::Lines(Mutex::new(LineState {
                total,
                last_print: None,
                last_pos: None,
            })),
            Progress::Quiet | Progress::Auto => Kind::Quiet,
        };
        Reporter { label, kind }
    }

    /// Announces a step (which source, which part); shown as the bar's message or as one line.
    pub(crate) fn stage(&self, what: &str) {
        match &self.kind {
            Kind::Bar(bar) => bar.set_message(format!("{}: {what}", self.label)),
            Kind::Lines(_) => self.line(&format!("{}: {what}", self.label)),
            Kind::Quiet => {}
        }
    }

    /// Prints a line that must stay visible (a source failed, the pull finished).
    pub(crate) fn note(&self, what: &str) {
        match &self.kind {
            Kind::Bar(bar) => bar.suspend(|| write_stderr(&format!("{}: {what}", self.label))),
            Kind::Lines(_) => self.line(&format!("{}: {what}", self.label)),
            Kind::Quiet => {}
        }
    }

    /// Bytes of the model file obtained so far.
    pub(crate) fn set_position(&self, pos: u64) {
        match &self.kind {
            Kind::Bar(bar) => bar.set_position(pos),
            Kind::Lines(state) => {
                let Ok(mut state) = state.lock() else {
                    return;
                };
                // "0 B / 98 MB" before a source has delivered anything says nothing.
                if pos == 0 {
                    return;
                }
                let now = Instant::now();
                let due = state
                    .last_print
                    .is_none_or(|last| now.duration_since(last) >= LINE_INTERVAL);
                let done = pos >= state.total && state.last_pos != Some(pos);
                if due || done {
                    state.last_print = Some(now);
                    state.last_pos = Some(pos);
                    let line = format!(
                        "{}: {} / {}",
                        self.label,
                        human_size(pos),
                        human_size(state.total)
                    );
                    drop(state);
                    self.line(&line);
                }
            }
            Kind::Quiet => {}
        }
    }

    fn line(&self, line: &str) {
        write_stderr(line);
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        // A failed pull must not leave a half-drawn bar under the error message.
        if let Kind::Bar(bar) = &self.kind {
            bar.finish_and_clear();
        }
    }
}

/// Writes one line to stderr; a closed stderr is no reason to fail a pull (eprintln! would panic).
fn write_stderr(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_the_progress_lines() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(40_000_000), "40 MB");
        assert_eq!(human_size(98_362_432), "98 MB");
        assert_eq!(human_size(1_117_320_768), "1.11 GB");
    }
}
