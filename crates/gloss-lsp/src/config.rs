//! Settings from `initializationOptions` and `workspace/didChangeConfiguration`: parsed leniently.
//!
//! A setting that is unknown or has an invalid value produces a warning (sent to the client as a
//! `window/logMessage`) and its default, never an error: a typo in an editor's configuration must
//! not leave the user without a server.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use gloss_explain::{Backend, Level};
use serde_json::{Map, Value};

/// How long a hover waits for a fresh explanation before answering "Explaining…". Well under
/// Helix's 20 s request timeout, and Helix (25.07+) waits for every server before showing any hover.
pub const DEFAULT_HOVER_TIMEOUT: Duration = Duration::from_millis(8000);
/// Larger budgets would hold an editor's hover (and other servers' hovers with it) too long.
const MAX_HOVER_TIMEOUT_MS: u64 = 60_000;
/// A generous bound: past this, answers are essays and the model's context fills up.
const MAX_TOKENS_LIMIT: u64 = 4096;
/// Streams one editor keeps open to a model server. Four covers a hover, a command and prefetch
/// at once without one editor taking every slot of a server the team shares.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 4;

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
    /// Compute threads for the model; a change restarts the model with them.
    pub threads: Option<usize>,
    pub log_level: LogLevel,
    /// `local` (the in-process model, the default) or `openai` (a model server).
    pub backend: Backend,
    /// The model server's URL, for `backend = openai`.
    pub endpoint: Option<String>,
    /// The model name the server serves, for `backend = openai`.
    pub remote_model: Option<String>,
    /// The NAME of the environment variable that holds the server's API key (never the key).
    pub api_key_env: Option<String>,
    pub max_concurrent_requests: usize,
    /// Allows plain `http://` to a host other than this machine.
    pub allow_insecure_http: bool,
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
            backend: Backend::default(),
            endpoint: None,
            remote_model: None,
            api_key_env: None,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            allow_insecure_http: false,
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
    Backend,
    Endpoint,
    RemoteModel,
    ApiKeyEnv,
    MaxConcurrentRequests,
    AllowInsecureHttp,
}

impl Key {
    const ALL: [Key; 14] = [
        Key::Model,
        Key::Level,
        Key::MaxTokens,
        Key::HoverTimeoutMs,
        Key::Prefetch,
        Key::CacheDir,
        Key::Threads,
        Key::LogLevel,
        Key::Backend,
        Key::Endpoint,
        Key::RemoteModel,
        Key::ApiKeyEnv,
        Key::MaxConcurrentRequests,
        Key::AllowInsecureHttp,
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
            Key::Backend => "backend",
            Key::Endpoint => "endpoint",
            Key::RemoteModel => "remoteModel",
            Key::ApiKeyEnv => "apiKeyEnv",
            Key::MaxConcurrentRequests => "maxConcurrentRequests",
            Key::AllowInsecureHttp => "allowInsecureHttp",
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
        if let Err(problem) = settings.remote_settings_complete() {
            warnings.push(Warning(problem));
        }
        (settings, warnings)
    }

    /// With `backend = openai`, whether `endpoint` and `remoteModel` are set; if not, what to set
    /// (the warning, and what every hover shows).
    pub fn remote_settings_complete(&self) -> Result<(), String> {
        if self.backend != Backend::Openai {
            return Ok(());
        }
        let missing: Vec<&str> = [
            (
                self.endpoint.is_none(),
                "`endpoint` (the server's URL, e.g. http://127.0.0.1:8080)",
            ),
            (
                self.remote_model.is_none(),
                "`remoteModel` (a model the server serves, see its /v1/models)",
            ),
        ]
        .into_iter()
        .filter_map(|(missing, what)| missing.then_some(what))
        .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "`backend` is `openai` but {} not set: set {}, or set `backend` to `local` to use the \
             model inside gloss",
            if missing.len() == 1 {
                "it is"
            } else {
                "they are"
            },
            missing.join(" and ")
        ))
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
            Key::Backend => self.backend = string(value)?.parse()?,
            Key::Endpoint => self.endpoint = Some(non_empty_string(value)?),
            Key::RemoteModel => self.remote_model = Some(non_empty_string(value)?),
            Key::ApiKeyEnv => self.api_key_env = Some(non_empty_string(value)?),
            Key::MaxConcurrentRequests => {
                self.max_concurrent_requests = integer(value, 1, 256)? as usize;
            }
            Key::AllowInsecureHttp => self.allow_insecure_http = boolean(value)?,
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

fn boolean(value: &Value) -> Result<bool, String> {
    // Like numbers, some settings UIs send booleans as strings.
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.trim() == "true" => Ok(true),
        Value::String(s) if s.trim() == "false" => Ok(false),
        _ => Err(format!("expected true or false, got {}", describe(value))),
    }
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
            ..Settings::default()
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
    fn remote_settings() {
        let (settings, warnings) = Settings::parse(Some(&json!({
            "backend": "openai",
            "endpoint": "https://gpu.example.com/v1",
            "remoteModel": "qwen2.5-coder-7b",
            "apiKeyEnv": "GLOSS_API_KEY",
            "maxConcurrentRequests": "8",
            "allowInsecureHttp": true,
        })));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            settings,
            Settings {
                backend: Backend::Openai,
                endpoint: Some("https://gpu.example.com/v1".into()),
                remote_model: Some("qwen2.5-coder-7b".into()),
                api_key_env: Some("GLOSS_API_KEY".into()),
                max_concurrent_requests: 8,
                allow_insecure_http: true,
                ..Settings::default()
            }
        );
        // The default is local, with nothing remote configured.
        let defaults = Settings::default();
        assert_eq!(defaults.backend, Backend::Local);
        assert!(!defaults.allow_insecure_http);
        assert_eq!(
            defaults.max_concurrent_requests,
            DEFAULT_MAX_CONCURRENT_REQUESTS
        );
    }

    #[test]
    fn openai_without_endpoint_or_model_says_what_to_set() {
        let (settings, warnings) = Settings::parse(Some(&json!({"backend": "openai"})));
        assert_eq!(settings.backend, Backend::Openai);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let text = warnings[0].to_string();
        assert!(
            text.contains("`endpoint`") && text.contains("`remoteModel`"),
            "{text}"
        );
        let (_, warnings) = Settings::parse(Some(&json!({
            "backend": "openai", "endpoint": "http://127.0.0.1:8080"
        })));
        let text = warnings[0].to_string();
        assert!(
            !text.contains("`endpoint`") && text.contains("`remoteModel`"),
            "{text}"
        );
        // Remote settings without the backend are harmless: the local model is used.
        let (_, warnings) = Settings::parse(Some(&json!({"endpoint": "http://127.0.0.1:8080"})));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn bad_remote_values_warn_and_default() {
        let (settings, warnings) = Settings::parse(Some(&json!({
            "backend": "ollama",
            "maxConcurrentRequests": 0,
            "allowInsecureHttp": "yes",
            "endpoint": " ",
        })));
        assert_eq!(settings, Settings::default());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.to_string().contains("unknown backend `ollama`")),
            "{warnings:?}"
        );
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
