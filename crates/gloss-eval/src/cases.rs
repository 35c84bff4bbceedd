//! The evaluation set: real functions with the doc text their authors wrote, one JSON object a line.

use std::path::Path;

use anyhow::{Context as _, bail};
use gloss_syntax::Language;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub id: String,
    /// `python` or `rust` (any language id gloss knows).
    pub lang: String,
    /// Where the function comes from, for the report.
    #[serde(default)]
    pub origin: String,
    pub name: String,
    /// The function with its doc text removed.
    pub code: String,
    /// The first sentence or two of the removed doc text.
    pub reference: String,
}

impl Case {
    pub fn language(&self) -> anyhow::Result<Language> {
        Language::from_lsp_id(&self.lang)
            .with_context(|| format!("case {}: unknown language `{}`", self.id, self.lang))
    }
}

pub fn read_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Case = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a case", path.display(), index + 1))?;
        case.language()?;
        cases.push(case);
    }
    if cases.is_empty() {
        bail!("{} holds no cases", path.display());
    }
    Ok(cases)
}
