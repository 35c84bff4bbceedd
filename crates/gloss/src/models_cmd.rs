//! `gloss models …`: list the catalog, pull models into the per-user store, print where a model is
//! and verify pulled files against the manifest.
//!
//! Tables and paths go to stdout (this is a command-line tool, not the language server, and the
//! output is meant for people and scripts alike); progress and notes go to stderr.

use std::io::Write;

use anyhow::{Result, bail};
use clap::Subcommand;
use gloss_model::catalog::{
    Catalog, CatalogError, ModelEntry, ModelStore, Progress, PullOptions, VerifyOutcome, human_size,
};

/// The `gloss models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the models gloss knows: size, license, default/test, and where each is stored.
    List,
    /// Download a model into the per-user store (the default model when no id is given).
    Pull {
        /// Model id, as shown by `gloss models list`.
        id: Option<String>,
        /// Download again even if the file is already there (replaces a damaged file).
        #[arg(long)]
        force: bool,
    },
    /// Print the path of a pulled model file.
    Path {
        /// Model id, as shown by `gloss models list`.
        id: String,
    },
    /// Check pulled files byte for byte (size and sha256); all pulled models when no id is given.
    Verify {
        /// Model id, as shown by `gloss models list`.
        id: Option<String>,
    },
}

/// Runs one `gloss models` subcommand against the store the environment selects.
pub fn run(cmd: ModelsCommand) -> Result<()> {
    let catalog = Catalog::builtin();
    let store = ModelStore::from_env()?;
    match cmd {
        ModelsCommand::List => list(catalog, &store),
        ModelsCommand::Pull { id, force } => pull(catalog, &store, id.as_deref(), force),
        ModelsCommand::Path { id } => path(catalog, &store, &id),
        ModelsCommand::Verify { id } => verify(catalog, &store, id.as_deref()),
    }
}

fn list(catalog: &Catalog, store: &ModelStore) -> Result<()> {
    let header = ["ID", "SIZE", "LICENSE", "ROLE", "PATH"];
    let rows: Vec<[String; 5]> = catalog
        .entries()
        .iter()
        .map(|entry| {
            let role = if catalog.is_default(entry) {
                "default"
            } else if catalog.is_test(entry) {
                "test"
            } else {
                ""
            };
            let location = match store.cached(entry) {
                Some(path) => path.display().to_string(),
                None if store.path_for(entry).exists() => {
                    format!("incomplete (run `gloss models pull {}`)", entry.id)
                }
                None => "not pulled".to_owned(),
            };
            [
                entry.id.clone(),
                human_size(entry.size),
                entry.license.clone(),
                role.to_owned(),
                location,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = std::io::stdout().lock();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:>w1$}  {:<w2$}  {:<w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(
        out,
        "\nmodels directory: {} (set GLOSS_MODEL_DIR to change)",
        store.dir().display()
    )?;
    Ok(())
}

fn pull(catalog: &Catalog, store: &ModelStore, id: Option<&str>, force: bool) -> Result<()> {
    let entry = match id {
        Some(id) => catalog.get(id)?,
        None => catalog.default_entry(),
    };
    let path = match store.cached(entry) {
        Some(path) if !force => {
            note(&format!(
                "{} is already pulled; `gloss models verify {}` checks it, `--force` downloads it again",
                entry.id, entry.id
            ));
            path
        }
        _ => store.pull(
            entry,
            &PullOptions {
                progress: Progress::Auto,
            },
        )?,
    };
    writeln!(std::io::stdout().lock(), "{}", path.display())?;
    Ok(())
}

fn path(catalog: &Catalog, store: &ModelStore, id: &str) -> Result<()> {
    let entry = catalog.get(id)?;
    let Some(path) = store.cached(entry) else {
        return Err(CatalogError::NotPulled {
            id: entry.id.clone(),
            path: store.path_for(entry),
        }
        .into());
    };
    writeln!(std::io::stdout().lock(), "{}", path.display())?;
    Ok(())
}

fn verify(catalog: &Catalog, store: &ModelStore, id: Option<&str>) -> Result<()> {
    let entries: Vec<&ModelEntry> = match id {
        Some(id) => vec![catalog.get(id)?],
        None => catalog.entries().iter().collect(),
    };
    let mut out = std::io::stdout().lock();
    let mut checked = 0;
    let mut bad = Vec::new();
    for entry in entries {
        let outcome = store.verify(entry)?;
        if outcome == VerifyOutcome::Missing {
            if id.is_none() {
                // "All pulled models": one that was never pulled is not a failure.
                continue;
            }
            return Err(CatalogError::NotPulled {
                id: entry.id.clone(),
                path: store.path_for(entry),
            }
            .into());
        }
        checked += 1;
        let path = store.path_for(entry);
        writeln!(out, "{}: {outcome} ({})", entry.id, path.display())?;
        if !outcome.is_ok() {
            bad.push(entry.id.as_str());
        }
    }
    if checked == 0 {
        note("no models pulled yet; run `gloss models pull` to download the default model");
    }
    match bad.as_slice() {
        [] => Ok(()),
        [one] => bail!(
            "model `{one}` failed verification; run `gloss models pull --force {one}` to download it again"
        ),
        many => bail!(
            "{} models failed verification ({}); run `gloss models pull --force ID` for each to download them again",
            many.len(),
            many.join(", ")
        ),
    }
}

/// A note for the person at the terminal; a closed stderr is not worth failing over.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
