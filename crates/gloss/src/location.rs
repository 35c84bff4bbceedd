//! Parsing `PATH:LINE[:COL]`, the way compilers print locations (both numbers 1-based).

use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    /// 1-based.
    pub line: u32,
    /// 1-based, counted in characters; `None` means the line's first non-blank character.
    pub column: Option<u32>,
}

impl std::str::FromStr for Location {
    type Err = String;

    /// Numbers are taken from the right, so a path that itself contains `:` still parses.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("`{text}` is not PATH:LINE or PATH:LINE:COL (e.g. src/app.py:12)");
        let positive = |s: &str| s.parse::<u32>().ok().filter(|n| *n > 0);
        let (rest, last) = text.rsplit_once(':').ok_or_else(usage)?;
        let last = positive(last).ok_or_else(usage)?;
        if let Some((path, line)) = rest.rsplit_once(':')
            && let Some(line) = positive(line)
            && !path.is_empty()
        {
            return Ok(Location {
                path: path.into(),
                line,
                column: Some(last),
            });
        }
        if rest.is_empty() {
            return Err(usage());
        }
        Ok(Location {
            path: rest.into(),
            line: last,
            column: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_only() {
        let loc: Location = "src/a.py:12".parse().unwrap();
        assert_eq!(loc.path, PathBuf::from("src/a.py"));
        assert_eq!((loc.line, loc.column), (12, None));
    }

    #[test]
    fn line_and_column() {
        let loc: Location = "a.rs:3:9".parse().unwrap();
        assert_eq!((loc.line, loc.column), (3, Some(9)));
    }

    #[test]
    fn path_with_colon() {
        let loc: Location = "dir:x/a.rs:3".parse().unwrap();
        assert_eq!(loc.path, PathBuf::from("dir:x/a.rs"));
        assert_eq!(loc.line, 3);
    }

    #[test]
    fn rejects_missing_or_zero_line() {
        assert!("a.py".parse::<Location>().is_err());
        assert!("a.py:0".parse::<Location>().is_err());
        assert!("a.py:x".parse::<Location>().is_err());
        assert!(":3".parse::<Location>().is_err());
    }
}
