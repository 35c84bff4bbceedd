//! Explanation levels and kinds: the closed sets a user or an editor chooses from.

use std::fmt;
use std::str::FromStr;

/// How much the reader is assumed to know.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Level {
    /// Explains terms and idioms as well as the code.
    Beginner,
    #[default]
    Standard,
    /// Terse; mentions only what is not obvious.
    Expert,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Beginner, Level::Standard, Level::Expert];

    pub fn identifier(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Standard => "standard",
            Level::Expert => "expert",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|level| level.identifier() == s)
            .ok_or_else(|| format!("unknown level `{s}` (expected beginner, standard or expert)"))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.identifier())
    }
}

/// What the explanation is for: each has its own format and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExplanationKind {
    /// Short, for a hover: a summary and a few bullets.
    Hover,
    /// Long, for a document beside the code.
    Full,
    /// A doc comment in the language's convention, ready to insert.
    DocComment,
}

impl ExplanationKind {
    pub const ALL: [ExplanationKind; 3] = [
        ExplanationKind::Hover,
        ExplanationKind::Full,
        ExplanationKind::DocComment,
    ];

    pub fn identifier(self) -> &'static str {
        match self {
            ExplanationKind::Hover => "hover",
            ExplanationKind::Full => "full",
            ExplanationKind::DocComment => "doc-comment",
        }
    }

    /// A generous token bound for each kind: it stops a runaway answer, and the prompt asks for less.
    pub fn default_max_tokens(self) -> usize {
        match self {
            ExplanationKind::Hover => 160,
            ExplanationKind::Full => 512,
            ExplanationKind::DocComment => 200,
        }
    }
}

impl FromStr for ExplanationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.identifier() == s)
            .ok_or_else(|| format!("unknown kind `{s}` (expected hover, full or doc-comment)"))
    }
}
