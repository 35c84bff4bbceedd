//! `editors/helix/languages.toml` stays exact: Helix cannot run in CI, so its configuration is
//! checked against Helix's documented rules and against the real binary and settings parser.
//!
//! - every server a language uses is defined in the file or is one of Helix's predefined servers;
//! - the gloss server runs `gloss` with arguments the built binary accepts;
//! - every key under `config` is a gloss setting with a valid value (no warnings from the parser the
//!   server itself uses);
//! - `only-features` / `except-features` name real Helix features;
//! - `timeout` (seconds) leaves room above `hoverTimeoutMs`;
//! - the languages are the ones gloss explains (Helix's names, whose language ids gloss knows), and
//!   each keeps its usual servers next to gloss.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use gloss_lsp::config::Settings;
use serde_json::Value as Json;
use toml::{Table, Value};

/// Helix's `LanguageServerFeature` names (helix-core/src/syntax/config.rs).
const HELIX_FEATURES: &[&str] = &[
    "format",
    "goto-definition",
    "goto-declaration",
    "goto-type-definition",
    "goto-reference",
    "goto-implementation",
    "signature-help",
    "hover",
    "document-highlight",
    "completion",
    "code-action",
    "workspace-command",
    "document-symbols",
    "workspace-symbols",
    "diagnostics",
    "rename-symbol",
    "inlay-hints",
];

/// Servers Helix predefines for the languages below (its own languages.toml), which a user's list
/// may name without defining them.
const HELIX_DEFAULT_SERVERS: &[&str] = &[
    "pylsp",
    "pyright",
    "basedpyright",
    "jedi",
    "ruff",
    "ty",
    "pyrefly",
    "pylyzer",
    "rust-analyzer",
    "typescript-language-server",
    "vscode-eslint-language-server",
    "gopls",
    "golangci-lint-lsp",
    "jdtls",
    "clangd",
    "ccls",
];

/// Helix's language names and the LSP language id Helix sends for each (its `language-id`, else
/// the name): gloss must know every one of them.
const HELIX_LANGUAGE_IDS: &[(&str, &str)] = &[
    ("python", "python"),
    ("rust", "rust"),
    ("javascript", "javascript"),
    ("jsx", "javascriptreact"),
    ("typescript", "typescript"),
    ("tsx", "typescriptreact"),
    ("go", "go"),
    ("java", "java"),
    ("c", "c"),
    ("cpp", "cpp"),
];

/// The servers each language must keep (Helix replaces its default list with the file's): at least
/// one of each group.
const USUAL_SERVERS: &[(&str, &[&[&str]])] = &[
    (
        "python",
        &[
            &["pylsp", "pyright", "basedpyright", "jedi", "ty", "pyrefly"],
            &["ruff"],
        ],
    ),
    ("rust", &[&["rust-analyzer"]]),
    ("javascript", &[&["typescript-language-server"]]),
    ("jsx", &[&["typescript-language-server"]]),
    ("typescript", &[&["typescript-language-server"]]),
    ("tsx", &[&["typescript-language-server"]]),
    ("go", &[&["gopls"]]),
    ("java", &[&["jdtls"]]),
    ("c", &[&["clangd", "ccls"]]),
    ("cpp", &[&["clangd", "ccls"]]),
];

/// Seconds Helix must wait beyond the hover budget (a hover answers "Explaining…" when its budget
/// runs out, so the request itself ends a little later).
const TIMEOUT_MARGIN_S: i64 = 2;

fn config_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../editors/helix/languages.toml")
}

fn load() -> Table {
    let path = config_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    text.parse::<Table>()
        .unwrap_or_else(|error| panic!("{} is not valid TOML: {error}", path.display()))
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::String(s.clone()),
        Value::Integer(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Datetime(d) => Json::String(d.to_string()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Table(table) => Json::Object(
            table
                .iter()
                .map(|(key, value)| (key.clone(), to_json(value)))
                .collect(),
        ),
    }
}

/// What the binary is asked to check: a server's command and arguments.
struct ServerCommand {
    command: String,
    args: Vec<String>,
}

/// Every problem with a Helix configuration, as readable lines (empty: all good). The gloss server's
/// command and arguments are returned for the caller to run.
fn check(doc: &Table) -> (Vec<String>, Option<ServerCommand>) {
    let mut problems = Vec::new();
    let servers = doc
        .get("language-server")
        .and_then(Value::as_table)
        .cloned()
        .unwrap_or_default();

    // The gloss server.
    let mut gloss_command = None;
    match servers.get("gloss").and_then(Value::as_table) {
        None => problems.push("no [language-server.gloss]".to_owned()),
        Some(gloss) => {
            let command = gloss.get("command").and_then(Value::as_str);
            if command != Some("gloss") {
                problems.push(format!(
                    "language-server.gloss.command is {command:?}, expected \"gloss\""
                ));
            }
            let args: Option<Vec<String>> = match gloss.get("args") {
                None => Some(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect(),
                Some(_) => None,
            };
            match args {
                None => problems.push("language-server.gloss.args must be strings".to_owned()),
                Some(args) => {
                    if args.first().map(String::as_str) != Some("lsp") {
                        problems.push(format!(
                            "language-server.gloss.args {args:?} must start with \"lsp\""
                        ));
                    }
                    gloss_command = command.map(|command| ServerCommand {
                        command: command.to_owned(),
                        args,
                    });
                }
            }

            // Settings: exactly what the server's own parser accepts, without warnings.
            let mut hover_timeout_ms = gloss_lsp::config::DEFAULT_HOVER_TIMEOUT.as_millis() as i64;
            match gloss.get("config") {
                None => {}
                Some(Value::Table(config)) => {
                    let json = to_json(&Value::Table(config.clone()));
                    let (settings, warnings) = Settings::parse(Some(&json));
                    for warning in warnings {
                        problems.push(format!("language-server.gloss.config: {warning}"));
                    }
                    hover_timeout_ms = settings.hover_timeout.as_millis() as i64;
                }
                Some(other) => problems.push(format!(
                    "language-server.gloss.config must be a table, not {}",
                    other.type_str()
                )),
            }

            // Helix's request timeout, in whole seconds (its default is 20).
            match gloss.get("timeout") {
                None => problems.push(
                    "language-server.gloss.timeout is missing: Helix's 20 s default is short for a local model"
                        .to_owned(),
                ),
                Some(Value::Integer(timeout)) => {
                    let needed = (hover_timeout_ms + 999) / 1000 + TIMEOUT_MARGIN_S;
                    if *timeout < needed {
                        problems.push(format!(
                            "language-server.gloss.timeout = {timeout} s is not above hoverTimeoutMs \
                             ({hover_timeout_ms} ms) + {TIMEOUT_MARGIN_S} s: set it to at least {needed}"
                        ));
                    }
                }
                Some(other) => problems.push(format!(
                    "language-server.gloss.timeout must be an integer (seconds), not {}",
                    other.type_str()
                )),
            }
        }
    }

    // Languages.
    let languages = match doc.get("language") {
        Some(Value::Array(languages)) => languages.clone(),
        _ => {
            problems.push("no [[language]] entries".to_owned());
            Vec::new()
        }
    };
    let mut names = BTreeSet::new();
    for language in &languages {
        let Some(language) = language.as_table() else {
            problems.push("a [[language]] entry is not a table".to_owned());
            continue;
        };
        let Some(name) = language.get("name").and_then(Value::as_str) else {
            problems.push("a [[language]] entry has no name".to_owned());
            continue;
        };
        if !names.insert(name.to_owned()) {
            problems.push(format!("language {name} is configured twice"));
        }
        let Some(list) = language.get("language-servers").and_then(Value::as_array) else {
            problems.push(format!("language {name} has no language-servers list"));
            continue;
        };
        let mut used = Vec::new();
        let mut has_gloss = false;
        for entry in list {
            let server = match entry {
                Value::String(server) => server.clone(),
                Value::Table(entry) => {
                    let Some(server) = entry.get("name").and_then(Value::as_str) else {
                        problems.push(format!("language {name}: a server entry has no name"));
                        continue;
                    };
                    for key in entry.keys() {
                        if !["name", "only-features", "except-features"].contains(&key.as_str()) {
                            problems.push(format!(
                                "language {name}, server {server}: unknown key `{key}`"
                            ));
                        }
                    }
                    if entry.contains_key("only-features") && entry.contains_key("except-features")
                    {
                        problems.push(format!(
                            "language {name}, server {server}: only-features and except-features together"
                        ));
                    }
                    for key in ["only-features", "except-features"] {
                        match entry.get(key) {
                            None => {}
                            Some(Value::Array(features)) => {
                                for feature in features {
                                    match feature.as_str() {
                                        Some(f) if HELIX_FEATURES.contains(&f) => {}
                                        _ => problems.push(format!(
                                            "language {name}, server {server}: {feature} in {key} \
                                             is not a Helix feature"
                                        )),
                                    }
                                }
                            }
                            Some(_) => problems.push(format!(
                                "language {name}, server {server}: {key} must be a list"
                            )),
                        }
                    }
                    if server == "gloss" {
                        let features: Vec<&str> = entry
                            .get("only-features")
                            .and_then(Value::as_array)
                            .map(|f| f.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        if entry.contains_key("only-features")
                            && !(features.contains(&"code-action")
                                && features.contains(&"workspace-command"))
                        {
                            problems.push(format!(
                                "language {name}: gloss needs code-action and workspace-command \
                                 (its actions run as commands)"
                            ));
                        }
                    }
                    server.to_owned()
                }
                other => {
                    problems.push(format!(
                        "language {name}: a server entry is a {}",
                        other.type_str()
                    ));
                    continue;
                }
            };
            if server == "gloss" {
                has_gloss = true;
            }
            if !servers.contains_key(&server) && !HELIX_DEFAULT_SERVERS.contains(&server.as_str()) {
                problems.push(format!(
                    "language {name}: server `{server}` is neither defined here nor predefined by Helix"
                ));
            }
            used.push(server);
        }
        if !has_gloss {
            problems.push(format!("language {name} does not use gloss"));
        }
        match USUAL_SERVERS.iter().find(|(language, _)| *language == name) {
            Some((_, groups)) => {
                for group in *groups {
                    if !group.iter().any(|server| used.iter().any(|u| u == server)) {
                        problems.push(format!(
                            "language {name} drops its usual servers: add one of {group:?} \
                             (language-servers replaces Helix's list)"
                        ));
                    }
                }
            }
            None => problems.push(format!(
                "language {name} is not one gloss is configured for"
            )),
        }
    }
    for (expected, _) in HELIX_LANGUAGE_IDS {
        if !names.contains(*expected) {
            problems.push(format!("no [[language]] for {expected}"));
        }
    }
    (problems, gloss_command)
}

#[test]
fn helix_languages_toml_is_valid() {
    let doc = load();
    let (problems, command) = check(&doc);
    assert!(
        problems.is_empty(),
        "{} has problems:\n  {}",
        config_path().display(),
        problems.join("\n  ")
    );

    // The arguments are accepted by the real binary: its parser rejects unknown flags and
    // subcommands, and `--help` exits 0 without starting the server.
    let command = command.expect("the gloss server's command");
    assert_eq!(command.command, "gloss");
    let output = Command::new(env!("CARGO_BIN_EXE_gloss"))
        .args(&command.args)
        .arg("--help")
        .output()
        .expect("run the gloss binary");
    assert!(
        output.status.success(),
        "`gloss {} --help` failed: {}",
        command.args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("language server"),
        "`gloss {} --help` is not the language server's help:\n{help}",
        command.args.join(" ")
    );
}

#[test]
fn every_helix_language_is_one_gloss_explains_and_every_gloss_language_is_configured() {
    for (name, language_id) in HELIX_LANGUAGE_IDS {
        assert!(
            gloss_syntax::Language::from_lsp_id(language_id).is_some(),
            "Helix sends `{language_id}` for {name}, which gloss does not know"
        );
    }
    for language in gloss_syntax::Language::ALL {
        assert!(
            HELIX_LANGUAGE_IDS
                .iter()
                .any(|(_, id)| gloss_syntax::Language::from_lsp_id(id) == Some(language)),
            "{language} has no Helix language in the configuration"
        );
    }
}

#[test]
fn the_binary_rejects_arguments_it_does_not_know() {
    // The check above is only meaningful if bad arguments fail.
    let output = Command::new(env!("CARGO_BIN_EXE_gloss"))
        .args(["lsp", "--no-such-flag", "--help"])
        .output()
        .expect("run the gloss binary");
    assert!(!output.status.success());
}

fn problems_of(text: &str) -> Vec<String> {
    check(&text.parse::<Table>().expect("valid TOML")).0
}

/// A good configuration for Python and Rust; [`good`] adds the other languages.
const GOOD_PYTHON_RUST: &str = r#"
[language-server.gloss]
command = "gloss"
args = ["lsp"]
timeout = 60
config = { model = "smollm2-135m", hoverTimeoutMs = 8000 }

[[language]]
name = "python"
language-servers = ["pylsp", "ruff", { name = "gloss", only-features = ["hover", "code-action", "workspace-command"] }]

[[language]]
name = "rust"
language-servers = ["rust-analyzer", "gloss"]
"#;

/// A good configuration: Python and Rust as written above, then every other language with its first
/// usual servers and gloss.
fn good() -> String {
    let mut text = GOOD_PYTHON_RUST.to_owned();
    for (name, groups) in USUAL_SERVERS {
        if ["python", "rust"].contains(name) {
            continue;
        }
        let servers: Vec<String> = groups
            .iter()
            .map(|group| format!("{:?}", group[0]))
            .collect();
        text.push_str(&format!(
            "\n[[language]]\nname = \"{name}\"\nlanguage-servers = [{}, \"gloss\"]\n",
            servers.join(", ")
        ));
    }
    text
}

#[test]
fn the_checker_accepts_a_good_configuration() {
    assert_eq!(problems_of(&good()), Vec::<String>::new());
}

#[test]
fn the_checker_flags_bad_configurations() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown setting",
            r#"config = { model = "smollm2-135m", hoverTimeoutMs = 8000 }"#,
            "unknown setting `modle`",
        ),
        (
            "invalid value",
            r#"config = { model = "smollm2-135m", hoverTimeoutMs = 8000 }"#,
            "invalid `level`",
        ),
        (
            "wrong command",
            r#"command = "gloss""#,
            "expected \"gloss\"",
        ),
        ("timeout", "timeout = 60", "is not above hoverTimeoutMs"),
        (
            "feature",
            r#""workspace-command"] }]"#,
            "is not a Helix feature",
        ),
        (
            "undefined server",
            r#"["pylsp", "ruff","#,
            "neither defined here",
        ),
        (
            "usual servers dropped",
            r#"["rust-analyzer", "gloss"]"#,
            "drops its usual servers",
        ),
    ];
    let replacements: &[&str] = &[
        r#"config = { modle = "smollm2-135m", hoverTimeoutMs = 8000 }"#,
        r#"config = { model = "smollm2-135m", level = "guru", hoverTimeoutMs = 8000 }"#,
        r#"command = "glos""#,
        "timeout = 9",
        r#""workspace-commands"] }]"#,
        r#"["pylsp", "ruff", "pylsp-typo","#,
        r#"["gloss"]"#,
    ];
    for ((label, from, expected), to) in cases.iter().zip(replacements) {
        let good = good();
        assert!(
            good.contains(from),
            "{label}: the good snippet has no {from:?}"
        );
        let bad = good.replacen(from, to, 1);
        let problems = problems_of(&bad);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{label}: expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
}

#[test]
fn the_checker_needs_both_languages_and_gloss_in_each() {
    let good = good();
    let only_python = good.split("[[language]]\nname = \"rust\"").next().unwrap();
    assert!(
        problems_of(only_python)
            .iter()
            .any(|p| p.contains("no [[language]] for rust"))
    );
    let without_cpp = good.split("[[language]]\nname = \"cpp\"").next().unwrap();
    assert!(
        problems_of(without_cpp)
            .iter()
            .any(|p| p.contains("no [[language]] for cpp"))
    );
    let without_gloss = good.replace(r#"["rust-analyzer", "gloss"]"#, r#"["rust-analyzer"]"#);
    assert!(
        problems_of(&without_gloss)
            .iter()
            .any(|p| p.contains("rust does not use gloss"))
    );
}
