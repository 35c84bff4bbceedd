//! Data-driven picking tests: every case in `tests/fixtures/<language>/*.txt` (format in
//! `tests/fixtures/README.md`).

use std::path::{Path, PathBuf};

use gloss_syntax::{Document, Language, PickOptions, Region, pick_at, pick_selection};

#[derive(Debug)]
struct Case {
    origin: String,
    source: String,
    cursor: Cursor,
    options: PickOptions,
    expected: Option<Expected>,
    signature: Option<String>,
}

#[derive(Debug)]
enum Cursor {
    At(usize),
    Selection(std::ops::Range<usize>),
}

#[derive(Debug, PartialEq)]
struct Expected {
    kind: String,
    name: Option<String>,
    lines: (u32, u32),
}

fn parse_expectation(line: &str) -> Result<Option<Expected>, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        ["none"] => Ok(None),
        [kind, name, lines] => {
            let (start, end) = lines.split_once("..").ok_or("lines must read start..end")?;
            let number = |text: &str| text.parse::<u32>().map_err(|error| error.to_string());
            Ok(Some(Expected {
                kind: kind.to_string(),
                name: (*name != "-").then(|| name.to_string()),
                lines: (number(start)?, number(end)?),
            }))
        }
        _ => Err(format!("cannot read expectation {line:?}")),
    }
}

fn parse_cases(path: &Path) -> Vec<Case> {
    let content =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut cases = Vec::new();
    let mut lines = content.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let Some(header) = line.strip_prefix("=== ") else {
            // `#` lines between cases say where the code comes from.
            assert!(
                line.trim().is_empty() || line.starts_with('#'),
                "{}:{}: stray line {line:?}",
                path.display(),
                number + 1
            );
            continue;
        };
        let origin = format!("{}:{} ({})", path.display(), number + 1, header.trim());
        let mut options = PickOptions::default();
        let crlf = header.contains("{crlf}");
        if let Some(long) = header
            .split("{long=")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
        {
            options.long_function_lines = long
                .parse()
                .unwrap_or_else(|_| panic!("{origin}: bad long="));
        }
        let mut body = Vec::new();
        let expectation = loop {
            let Some((_, line)) = lines.next() else {
                panic!("{origin}: no --- expectation")
            };
            match line.strip_prefix("--- ") {
                Some(expectation) => break expectation,
                None => body.push(line),
            }
        };
        let expected =
            parse_expectation(expectation).unwrap_or_else(|error| panic!("{origin}: {error}"));
        let mut signature: Option<String> = None;
        while let Some((_, line)) = lines.peek() {
            if line.starts_with("=== ") || (line.trim().is_empty() && signature.is_none()) {
                break;
            }
            let (_, line) = lines.next().unwrap_or_default();
            if line.trim().is_empty() {
                break;
            }
            match line.strip_prefix("signature: ") {
                Some(first) => signature = Some(first.to_string()),
                None => match signature.as_mut() {
                    Some(known) => {
                        known.push('\n');
                        known.push_str(line);
                    }
                    None => panic!("{origin}: unexpected line after the expectation: {line:?}"),
                },
            }
        }
        let break_with = if crlf { "\r\n" } else { "\n" };
        let mut source = body.join(break_with);
        source.push_str(break_with);
        let markers: Vec<usize> = source.match_indices("$0").map(|(at, _)| at).collect();
        let cursor = match markers.as_slice() {
            [at] => Cursor::At(*at),
            [start, end] => Cursor::Selection(*start..*end - 2),
            _ => panic!(
                "{origin}: expected one or two $0 markers, found {}",
                markers.len()
            ),
        };
        source = source.replace("$0", "");
        cases.push(Case {
            origin,
            source,
            cursor,
            options,
            expected,
            signature,
        });
    }
    cases
}

fn fixture_files(language: Language) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(language.identifier());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "txt"))
        .collect();
    files.sort();
    files
}

fn describe(region: &Option<Region>) -> String {
    match region {
        None => "none".to_string(),
        Some(region) => format!(
            "{} {} {}..{}",
            region.kind.identifier(),
            region.name.as_deref().unwrap_or("-"),
            region.start_line,
            region.end_line
        ),
    }
}

fn run_language(language: Language, minimum: usize) {
    let cases: Vec<Case> = fixture_files(language)
        .iter()
        .flat_map(|path| parse_cases(path))
        .collect();
    assert!(
        cases.len() >= minimum,
        "{language}: only {} fixture cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let document = Document::new(language, case.source.clone(), 0);
        let region = match &case.cursor {
            Cursor::At(offset) => pick_at(&document, *offset, &case.options),
            Cursor::Selection(range) => pick_selection(&document, range.clone()),
        };
        let got = region.as_ref().map(|region| Expected {
            kind: region.kind.identifier().to_string(),
            name: region.name.clone(),
            lines: (region.start_line, region.end_line),
        });
        if got != case.expected {
            failures.push(format!("{}\n    got {}", case.origin, describe(&region)));
            continue;
        }
        if let (Some(expected), Some(region)) = (&case.signature, &region)
            && region.signature.as_deref() != Some(expected.as_str())
        {
            failures.push(format!(
                "{}\n    signature {:?}",
                case.origin, region.signature
            ));
        }
        if let Some(region) = &region {
            let text = &document.text()[region.byte_range.clone()];
            assert_eq!(text, region.text, "{}", case.origin);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn python_fixtures() {
    run_language(Language::Python, 30);
}

#[test]
fn rust_fixtures() {
    run_language(Language::Rust, 30);
}

#[test]
fn javascript_fixtures() {
    run_language(Language::JavaScript, 15);
}

#[test]
fn typescript_fixtures() {
    run_language(Language::TypeScript, 10);
}

#[test]
fn tsx_fixtures() {
    run_language(Language::Tsx, 4);
}

#[test]
fn go_fixtures() {
    run_language(Language::Go, 10);
}

#[test]
fn java_fixtures() {
    run_language(Language::Java, 10);
}

#[test]
fn c_fixtures() {
    run_language(Language::C, 10);
}

#[test]
fn cpp_fixtures() {
    run_language(Language::Cpp, 10);
}
