//! Settings from `initializationOptions` and `workspace/didChangeConfiguration`: parsed leniently.
//!
//! A setting that is unknown or has an invalid value produces a warning (sent to the client as a
//! `window/logMessage`) and its default, never an error: a typo in an editor's configuration must
//! not leave the user without a server.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use gloss_explain::Level;
use serde_json::{Map, Value};

/// How long a hover waits for a fresh explanation before answering "Explaining…". Well under
/// Helix's 20 s request timeout, and Helix (25.07+) waits for every server before showing any hover.
pub const DEFAULT_HOVER_TIMEOUT: Duration = Duration::from_millis(8000);
/// Larger budgets would hold an editor's hover (and other servers' hovers with it) too long.
const MAX_HOVER_TIMEOUT_MS: u64 = 60_000;
/// A generous bound: past this, answers are essays and the model's context fills up.
const MAX_TOKENS_LIMIT: u64 = 4096;

/// Whether the server explains functions before anyone asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefetch {
    #[default]
    Off,
    /// Explain the functions of each opened document in the background.
    Open,
}

impl Prefetch {
    pub const ALL: [Prefetch; 2] = [Prefetch::Off, Prefetch::Open];

    pub fn identifier(self) -> &'static str {
        match self {
            Prefetch::Off => "off",
            Prefetch::Open => "open",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Prefetch::Off => "No prefetch",
            Prefetch::Open => "Prefetch the functions of open documents",
        }
    }
}

impl FromStr for Prefetch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.identifier() == s)
            .ok_or_else(|| format!("unknown prefetch mode `{s}` (expected off or open)"))
    }
}

/// Which of the server's log lines are also sent to the client's log (`window/logMessage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off,
    Error,
    #[default]
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Off,
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
    ];

    pub fn identifier(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            LogLevel::Off => "Nothing",
            LogLevel::Error => "Errors",
            LogLevel::Warn => "Warnings and errors",
            LogLevel::Info => "Information, warnings and errors",
            LogLevel::Debug => "Everything",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = if s == "warning" { "warn" } else { s };
        Self::ALL
            .into_iter()
            .find(|l| l.identifier() == s)
            .ok_or_else(|| {
                format!("unknown log level `{s}` (expected off, error, warn, info or debug)")
            })
    }
}

/// Every setting, with its default when absent or invalid.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// A catalog id or a GGUF path; `None` is the catalog's default model.
    pub model: Option<String>,
    pub level: Level,
    /// Overrides every explanation kind's own token bound.
    pub max_tokens: Option<usize>,
    pub hover_timeout: Duration,
    pub prefetch: Prefetch,
    /// The cache root (entries go to `<cacheDir>/explanations`); `None` is `$GLOSS_CACHE_DIR` or
    /// the user's cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Compute threads for the model; only honoured before the model first loads.
    pub threads: Option<usize>,
    pub log_level: LogLevel,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: None,
            level: Level::default(),
            max_tokens: None,
            hover_timeout: DEFAULT_HOVER_TIMEOUT,
            prefetch: Prefetch::default(),
            cache_dir: None,
            threads: None,
            log_level: LogLevel::default(),
        }
    }
}

/// The settings' keys, a closed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Model,
    Level,
    MaxTokens,
    HoverTimeoutMs,
    Prefetch,
    CacheDir,
    Threads,
    LogLevel,
}

impl Key {
    const ALL: [Key; 8] = [
        Key::Model,
        Key::Level,
        Key::MaxTokens,
        Key::HoverTimeoutMs,
        Key::Prefetch,
        Key::CacheDir,
        Key::Threads,
        Key::LogLevel,
    ];

    fn identifier(self) -> &'static str {
        match self {
            Key::Model => "model",
            Key::Level => "level",
            Key::MaxTokens => "maxTokens",
            Key::HoverTimeoutMs => "hoverTimeoutMs",
            Key::Prefetch => "prefetch",
            Key::CacheDir => "cacheDir",
            Key::Threads => "threads",
            Key::LogLevel => "logLevel",
        }
    }
}

/// A problem with the settings, reported to the user and otherwise ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning(pub String);

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gloss settings: {}", self.0)
    }
}

impl Settings {
    /// Reads settings from `value`: the object under a `gloss` key when there is one (the whole
    /// editor configuration, as VS Code sends it), else the top-level object. `null` and absent
    /// values mean "all defaults".
    pub fn parse(value: Option<&Value>) -> (Settings, Vec<Warning>) {
        let mut settings = Settings::default();
        let mut warnings = Vec::new();
        let object = match value {
            None | Some(Value::Null) => return (settings, warnings),
            Some(Value::Object(object)) => match object.get("gloss") {
                Some(Value::Object(inner)) => inner,
                Some(Value::Null) => return (settings, warnings),
                Some(other) => {
                    warnings.push(Warning(format!(
                        "`gloss` should be an object of settings, not {}; using the defaults",
                        describe(other)
                    )));
                    return (settings, warnings);
                }
                None => object,
            },
            Some(other) => {
                warnings.push(Warning(format!(
                    "settings should be an object, not {}; using the defaults",
                    describe(other)
                )));
                return (settings, warnings);
            }
        };
        settings.apply(object, &mut warnings);
        (settings, warnings)
    }

    fn apply(&mut self, object: &Map<String, Value>, warnings: &mut Vec<Warning>) {
        for (name, value) in object {
            let Some(key) = Key::ALL.into_iter().find(|key| key.identifier() == name) else {
                let known: Vec<&str> = Key::ALL.iter().map(|key| key.identifier()).collect();
                warnings.push(Warning(format!(
                    "unknown setting `{name}` ignored (known: {})",
                    known.join(", ")
                )));
                continue;
            };
            if value.is_null() {
                continue;
            }
            if let Err(problem) = self.set(key, value) {
                warnings.push(Warning(format!(
                    "invalid `{}`: {problem}; using the default",
                    key.identifier()
                )));
            }
        }
    }

    fn set(&mut self, key: Key, value: &Value) -> Result<(), String> {
        match key {
            Key::Model => self.model = Some(non_empty_string(value)?),
            Key::Level => self.level = string(value)?.parse()?,
            Key::MaxTokens => {
                self.max_tokens = Some(integer(value, 1, MAX_TOKENS_LIMIT)? as usize);
            }
            Key::HoverTimeoutMs => {
                self.hover_timeout =
                    Duration::from_millis(integer(value, 0, MAX_HOVER_TIMEOUT_MS)?);
            }
            Key::Prefetch => self.prefetch = string(value)?.parse()?,
            Key::CacheDir => self.cache_dir = Some(PathBuf::from(non_empty_string(value)?)),
            Key::Threads => self.threads = Some(integer(value, 1, 1024)? as usize),
            Key::LogLevel => self.log_level = string(value)?.parse()?,
        }
        Ok(())
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn string(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("expected a string, got {}", describe(value)))
}

fn non_empty_string(value: &Value) -> Result<String, String> {
    let text = string(value)?.trim();
    if text.is_empty() {
        return Err("expected a non-empty string".into());
    }
    Ok(text.to_owned())
}

fn integer(value: &Value, min: u64, max: u64) -> Result<u64, String> {
    // Editors' settings UIs sometimes send numbers as strings ("8000").
    let number = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from {min} to {max}, got {}",
            describe(value)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nothing_is_all_defaults() {
        for value in [
            None,
            Some(&Value::Null),
            Some(&json!({})),
            Some(&json!({"gloss": null})),
        ] {
            let (settings, warnings) = Settings::parse(value);
            assert_eq!(settings, Settings::default());
            assert!(warnings.is_empty());
        }
    }

    #[test]
    fn every_key_under_gloss_or_at_top_level() {
        let values = json!({
            "model": "smollm2-135m",
            "level": "expert",
            "maxTokens": 64,
            "hoverTimeoutMs": "1500",
            "prefetch": "open",
            "cacheDir": "/tmp/c",
            "threads": 2,
            "logLevel": "info",
        });
        let expected = Settings {
            model: Some("smollm2-135m".into()),
            level: Level::Expert,
            max_tokens: Some(64),
            hover_timeout: Duration::from_millis(1500),
            prefetch: Prefetch::Open,
            cache_dir: Some("/tmp/c".into()),
            threads: Some(2),
            log_level: LogLevel::Info,
        };
        for wrapped in [
            values.clone(),
            json!({ "gloss": values, "editor": {"x": 1} }),
        ] {
            let (settings, warnings) = Settings::parse(Some(&wrapped));
            assert_eq!(settings, expected);
            assert!(warnings.is_empty(), "{warnings:?}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_warn_and_default() {
        let (settings, warnings) = Settings::parse(Some(&json!({
            "levle": "expert",
            "level": "guru",
            "maxTokens": -5,
            "hoverTimeoutMs": 1e12,
            "prefetch": true,
            "threads": 0,
            "model": "",
            "logLevel": "warning",
        })));
        assert_eq!(
            settings,
            Settings {
                log_level: LogLevel::Warn,
                ..Settings::default()
            }
        );
        let text: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(text.len(), 7, "{text:#?}");
        assert!(text.iter().any(|w| w.contains("unknown setting `levle`")));
        assert!(text.iter().any(|w| w.contains("unknown level `guru`")));
    }

    #[test]
    fn non_objects_warn() {
        for value in [json!(3), json!("x"), json!({"gloss": [1]})] {
            let (settings, warnings) = Settings::parse(Some(&value));
            assert_eq!(settings, Settings::default());
            assert_eq!(warnings.len(), 1);
        }
    }
}
