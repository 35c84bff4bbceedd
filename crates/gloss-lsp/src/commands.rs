//! The closed sets the server offers: its commands and its code-action kinds, and their arguments.
//!
//! Capabilities (`executeCommandProvider.commands`, `codeActionProvider.codeActionKinds`) are built
//! from these enums, so an action can never name a command the server does not execute.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types as lsp;

/// A command run through `workspace/executeCommand`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// The full explanation of the picked region, opened beside the code.
    Explain,
    /// The full explanation of exactly the selected code.
    ExplainSelection,
    /// Writes a doc comment where the region has none.
    AddDocComment,
    /// Rewrites the region's existing doc comment (offered only when there is one).
    ReplaceDocComment,
    /// Replaces the cached hover explanation with a new one.
    Regenerate,
    /// Panics inside the handler: only with [`crate::ServerOptions::test_commands`], to prove that
    /// a panic costs one request and not the server.
    TestPanic,
    /// Reports generations in flight and cached entries: only with
    /// [`crate::ServerOptions::test_commands`].
    TestStats,
}

impl Command {
    /// The commands editors may run (the test command is never advertised).
    pub const PUBLIC: [Command; 5] = [
        Command::Explain,
        Command::ExplainSelection,
        Command::AddDocComment,
        Command::ReplaceDocComment,
        Command::Regenerate,
    ];

    pub fn identifier(self) -> &'static str {
        match self {
            Command::Explain => "gloss.explain",
            Command::ExplainSelection => "gloss.explainSelection",
            Command::AddDocComment => "gloss.addDocComment",
            Command::ReplaceDocComment => "gloss.replaceDocComment",
            Command::Regenerate => "gloss.regenerate",
            Command::TestPanic => "gloss.test.panic",
            Command::TestStats => "gloss.test.stats",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Command::Explain => "Explain",
            Command::ExplainSelection => "Explain selection",
            Command::AddDocComment => "Add doc comment",
            Command::ReplaceDocComment => "Replace doc comment",
            Command::Regenerate => "Regenerate explanation",
            Command::TestPanic => "Panic (test)",
            Command::TestStats => "Statistics (test)",
        }
    }

    /// The code action's title for a region named `name` (if it has one).
    pub fn action_title(self, name: Option<&str>) -> String {
        match (self, name) {
            (Command::ExplainSelection, _) | (_, None) => self.title().to_owned(),
            (Command::Explain, Some(name)) => format!("Explain `{name}`"),
            (Command::AddDocComment, Some(name)) => format!("Add doc comment to `{name}`"),
            (Command::ReplaceDocComment, Some(name)) => format!("Replace doc comment of `{name}`"),
            (Command::Regenerate, Some(name)) => format!("Regenerate explanation of `{name}`"),
            (Command::TestPanic | Command::TestStats, Some(_)) => self.title().to_owned(),
        }
    }

    /// The title of the progress shown while it runs.
    pub fn progress_title(self) -> &'static str {
        match self {
            Command::Explain | Command::ExplainSelection => "gloss: explaining",
            Command::AddDocComment | Command::ReplaceDocComment => "gloss: writing a doc comment",
            Command::Regenerate => "gloss: regenerating",
            Command::TestPanic | Command::TestStats => "gloss: testing",
        }
    }

    pub fn kind(self) -> ActionKind {
        match self {
            Command::Explain | Command::ExplainSelection | Command::Regenerate => {
                ActionKind::Explain
            }
            Command::AddDocComment | Command::ReplaceDocComment => ActionKind::DocComment,
            Command::TestPanic | Command::TestStats => ActionKind::Explain,
        }
    }
}

impl FromStr for Command {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::PUBLIC
            .into_iter()
            .chain([Command::TestPanic, Command::TestStats])
            .find(|command| command.identifier() == s)
            .ok_or_else(|| format!("unknown command `{s}`"))
    }
}

/// The code-action kinds the server returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Explanations change nothing in the code. Not `source` (those act on a whole file) nor
    /// `quickfix`: a custom kind keeps them out of "fix all" and lets users filter them.
    Explain,
    /// Doc comments rewrite the code.
    DocComment,
}

impl ActionKind {
    pub const ALL: [ActionKind; 2] = [ActionKind::Explain, ActionKind::DocComment];

    pub fn identifier(self) -> &'static str {
        match self {
            ActionKind::Explain => "gloss.explain",
            ActionKind::DocComment => "refactor.rewrite.gloss.docComment",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ActionKind::Explain => "Explanations",
            ActionKind::DocComment => "Doc comments",
        }
    }

    pub fn lsp(self) -> lsp::CodeActionKind {
        lsp::CodeActionKind::new(self.identifier())
    }

    /// Whether a client's `only` filter lets this kind through: kinds are hierarchical, so `refactor`
    /// admits `refactor.rewrite.gloss.docComment`.
    pub fn admitted_by(self, only: Option<&[lsp::CodeActionKind]>) -> bool {
        let Some(only) = only else { return true };
        let mine = self.identifier();
        only.iter().any(|kind| {
            let kind = kind.as_str();
            kind.is_empty()
                || mine == kind
                || (mine.starts_with(kind) && mine.as_bytes().get(kind.len()) == Some(&b'.'))
        })
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.identifier() == s)
            .ok_or_else(|| format!("unknown code action kind `{s}`"))
    }
}

/// The one argument of every command: where, and in which version of the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandArgs {
    pub uri: lsp::Uri,
    /// In the negotiated position encoding; an empty range is a cursor.
    pub range: lsp::Range,
    /// The document's version when the action was offered: a doc comment is only written into
    /// that version.
    pub version: i32,
}

impl CommandArgs {
    pub fn to_lsp(&self, command: Command, name: Option<&str>) -> lsp::Command {
        lsp::Command {
            title: command.action_title(name),
            command: command.identifier().to_owned(),
            arguments: Some(vec![
                serde_json::to_value(self).expect("command arguments serialize"),
            ]),
        }
    }

    pub fn from_arguments(arguments: &[serde_json::Value]) -> anyhow::Result<Self> {
        let [argument] = arguments else {
            anyhow::bail!(
                "expected one argument {{uri, range, version}}, got {}",
                arguments.len()
            );
        };
        Ok(serde_json::from_value(argument.clone())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip() {
        for command in Command::PUBLIC {
            assert_eq!(command.identifier().parse::<Command>(), Ok(command));
        }
        for kind in ActionKind::ALL {
            assert_eq!(kind.identifier().parse::<ActionKind>(), Ok(kind));
        }
        assert!("gloss.nope".parse::<Command>().is_err());
    }

    #[test]
    fn only_filters_hierarchically() {
        let only = |kinds: &[&str]| -> Vec<lsp::CodeActionKind> {
            kinds
                .iter()
                .map(|k| lsp::CodeActionKind::from(k.to_string()))
                .collect()
        };
        let doc = ActionKind::DocComment;
        assert!(doc.admitted_by(None));
        assert!(doc.admitted_by(Some(&only(&["refactor"]))));
        assert!(doc.admitted_by(Some(&only(&["refactor.rewrite"]))));
        assert!(!doc.admitted_by(Some(&only(&["refactor.re"]))));
        assert!(!doc.admitted_by(Some(&only(&["quickfix"]))));
        assert!(!ActionKind::Explain.admitted_by(Some(&only(&["refactor"]))));
        assert!(ActionKind::Explain.admitted_by(Some(&only(&["gloss"]))));
    }
}
