//! A seeded LSP client that drives the real `gloss lsp` binary over stdio with thousands of mixed
//! messages and checks every answer against its own copy of the documents.
//!
//! What it sends: incremental edits (several per message, ranges that split characters outside
//! the BMP and sit on every kind of line ending), hovers and code actions at function names,
//! random and out-of-range positions, storms of cancelled hovers, unknown methods (`$/` ones
//! too), malformed frames, a huge document, closes and reopens.
//!
//! What it checks: every request is answered exactly once; a hover on a function's name in a
//! document without syntax errors always has that function's range, computed from an independent
//! tree-sitter parse of the client's own text; other hover ranges start and end on syntax node
//! boundaries of that text; no internal error is logged; memory stays bounded; `shutdown` and
//! `exit` end the process with 0.

pub mod generate;
pub mod oracle;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use generate::Rng;
use oracle::{ClientDocument, Encoding, Lang, Position, offset_of, position_of};

/// How long any one request may take to be answered before it counts as unanswered. Hovers here
/// answer within their 1 ms budget plus context gathering; code actions do not wait for the model.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Requests in flight at most: a client that pipelines, as editors do.
const MAX_IN_FLIGHT: usize = 24;
/// Failure messages kept for the report; counters keep counting past it.
const KEPT_FAILURES: usize = 25;
/// Resident memory is read this often for the peak (a read of `/proc` costs microseconds).
const PEAK_SAMPLE_EVERY: usize = 50;

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub messages: usize,
    pub encoding: Encoding,
    /// The size of the huge generated Python document; 0 for none.
    pub huge_bytes: usize,
    /// Resident memory is sampled after this many messages, and at the end.
    pub checkpoint_every: usize,
}

#[derive(Debug, Default)]
pub struct Verdict {
    pub seed: u64,
    pub encoding: &'static str,
    pub messages: usize,
    pub requests: usize,
    pub unanswered: usize,
    pub duplicates: usize,
    pub unexpected: usize,
    pub hover_checks: usize,
    pub wrong_ranges: usize,
    pub null_hovers: usize,
    pub other_failures: usize,
    pub internal_errors: usize,
    pub exit_code: Option<i32>,
    /// Resident memory (KiB) once the documents are open and the model loaded.
    pub rss_open_kib: u64,
    /// `(messages sent, KiB)` samples, each taken at rest: every answer in and resident memory
    /// steady for two seconds, as a server is between bursts of typing.
    pub rss_checkpoints: Vec<(usize, u64)>,
    /// The most resident memory seen (KiB), sampled every few messages while they flow.
    pub rss_peak_kib: u64,
    pub seconds: f64,
    pub failures: Vec<String>,
}

impl Verdict {
    pub fn rss_end_kib(&self) -> u64 {
        self.rss_checkpoints.last().map_or(0, |(_, kib)| *kib)
    }

    /// Growth in MiB from the documents' opening to the end.
    pub fn growth_mib(&self) -> f64 {
        (self.rss_end_kib() as f64 - self.rss_open_kib as f64) / 1024.0
    }

    /// Resident memory (KiB) at the first checkpoint taken once `messages` had been sent.
    fn rss_after(&self, messages: usize) -> Option<u64> {
        self.rss_checkpoints
            .iter()
            .find(|(sent, _)| *sent >= messages)
            .map(|(_, kib)| *kib)
    }

    /// Growth in MiB over the first 10,000 messages (the whole run when it is shorter): the
    /// session the 100 MiB bound is for.
    pub fn session_growth_mib(&self) -> f64 {
        let end = self.rss_after(10_000).unwrap_or(self.rss_end_kib());
        (end as f64 - self.rss_open_kib as f64) / 1024.0
    }

    /// Growth in MiB over the second 10,000 messages, when the run had them.
    pub fn second_ten_thousand_mib(&self) -> Option<f64> {
        Some((self.rss_after(20_000)? as f64 - self.rss_after(10_000)? as f64) / 1024.0)
    }

    /// Every request answered once and rightly, no internal error, a clean exit.
    pub fn protocol_passed(&self) -> bool {
        self.unanswered == 0
            && self.duplicates == 0
            && self.unexpected == 0
            && self.wrong_ranges == 0
            && self.null_hovers == 0
            && self.other_failures == 0
            && self.internal_errors == 0
            && self.exit_code == Some(0)
    }

    /// At most 100 MiB over a session of 10,000 messages, and under 20 MiB more for a second
    /// 10,000.
    pub fn memory_within_bounds(&self) -> bool {
        self.session_growth_mib() <= 100.0
            && self.second_ten_thousand_mib().is_none_or(|mib| mib < 20.0)
    }

    pub fn passed(&self) -> bool {
        self.protocol_passed() && self.memory_within_bounds()
    }

    /// The one-line summary the script prints.
    pub fn line(&self) -> String {
        let second = self
            .second_ten_thousand_mib()
            .map(|mib| {
                format!(
                    " first10k={:+.0}MiB second10k={mib:+.0}MiB",
                    self.session_growth_mib()
                )
            })
            .unwrap_or_default();
        format!(
            "seed={} encoding={} messages={} requests={} unanswered={} duplicates={} \
             unexpected={} hover_checks={} wrong_ranges={} null_hovers={} other_failures={} \
             internal_errors={} rss_open={:.0}MiB rss_end={:.0}MiB growth={:+.0}MiB{second} \
             rss_peak={:.0}MiB exit={} time={:.0}s: {}",
            self.seed,
            self.encoding,
            self.messages,
            self.requests,
            self.unanswered,
            self.duplicates,
            self.unexpected,
            self.hover_checks,
            self.wrong_ranges,
            self.null_hovers,
            self.other_failures,
            self.internal_errors,
            self.rss_open_kib as f64 / 1024.0,
            self.rss_end_kib() as f64 / 1024.0,
            self.growth_mib(),
            self.rss_peak_kib as f64 / 1024.0,
            self.exit_code
                .map_or_else(|| "none".to_owned(), |code| code.to_string()),
            self.seconds,
            match (self.protocol_passed(), self.memory_within_bounds()) {
                (true, true) => "PASS",
                (true, false) => "FAIL (memory)",
                (false, _) => "FAIL",
            },
        )
    }

    fn fail(&mut self, message: String) {
        if self.failures.len() < KEPT_FAILURES {
            self.failures.push(message);
        }
    }
}

/// What the answer to one request must be.
enum Expect {
    /// A hover; with a check when it points at a function's name in a valid document.
    Hover(Option<HoverCheck>, DocumentCopy),
    /// Any result, never an error (code actions, hovers out of range).
    AnyResult,
    /// A JSON-RPC error with this code.
    Error(i64),
    /// A JSON-RPC error of any code (parameters that do not deserialize).
    AnyError,
    /// `shutdown`: `null`.
    Null,
}

/// The text a hover was sent against, for checking the range of an answer it did not predict.
struct DocumentCopy(Option<(String, Lang)>);

struct HoverCheck {
    expected: (Position, Position),
    what: String,
    /// The region's last line as the client has it, for the report of a wrong range.
    last_line: String,
}

struct Pending {
    expect: Expect,
    cancelled: bool,
    sent: Instant,
}

struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    incoming: Receiver<Value>,
}

fn write_frame(stdin: &Mutex<ChildStdin>, body: &[u8]) {
    let mut stdin = stdin.lock().unwrap_or_else(|p| p.into_inner());
    // A broken pipe shows up as unanswered requests and the exit code, with the reason.
    let _ = write!(stdin, "Content-Length: {}\r\n\r\n", body.len());
    let _ = stdin.write_all(body);
    let _ = stdin.flush();
}

impl Server {
    fn start(binary: &Path, cache: &Path) -> Server {
        let stderr = std::fs::File::create(cache.join("server.log")).expect("log file");
        let mut child = Command::new(binary)
            .args(["lsp", "--stdio"])
            .env("GLOSS_LOG", "warn")
            .env("GLOSS_CACHE_DIR", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("cannot start gloss lsp");
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let stdout = child.stdout.take().expect("stdout");
        let (sender, incoming) = std::sync::mpsc::channel();
        let replies = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.unwrap_or(0)];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(message) = serde_json::from_slice::<Value>(&body) else {
                    let _ = sender.send(json!({ "client-error": "undecodable frame" }));
                    continue;
                };
                // The server's own requests (progress tokens, documents to show) get what an
                // editor answers.
                if message.get("method").is_some()
                    && let Some(id) = message.get("id")
                {
                    let answer = json!({ "jsonrpc": "2.0", "id": id, "result": null });
                    write_frame(&replies, answer.to_string().as_bytes());
                }
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Server {
            child,
            stdin,
            incoming,
        }
    }

    fn send(&self, message: &Value) {
        write_frame(&self.stdin, message.to_string().as_bytes());
    }

    fn send_raw(&self, frame: &[u8]) {
        let mut stdin = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
        let _ = stdin.write_all(frame);
        let _ = stdin.flush();
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// The driver: the server, the client's documents, and the bookkeeping of every request.
struct Session {
    server: Server,
    rng: Rng,
    encoding: Encoding,
    documents: Vec<ClientDocument>,
    /// Indices into `documents` the server has open.
    open: Vec<bool>,
    huge: Option<usize>,
    unknown_language_uri: String,
    dir: std::path::PathBuf,
    next_id: i64,
    pending: HashMap<String, Pending>,
    answered: HashSet<String>,
    null_id_answers_expected: usize,
    null_id_answers: usize,
    serial: usize,
    sent: usize,
    verdict: Verdict,
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

impl Session {
    fn request(&mut self, method: &str, params: Value, expect: Expect) -> Value {
        self.next_id += 1;
        let id = json!(self.next_id);
        self.send_request(id.clone(), method, params, expect);
        id
    }

    fn send_request(&mut self, id: Value, method: &str, params: Value, expect: Expect) {
        self.wait_for_room();
        self.pending.insert(
            id_key(&id),
            Pending {
                expect,
                cancelled: false,
                sent: Instant::now(),
            },
        );
        self.verdict.requests += 1;
        self.server.send(&json!({
            "jsonrpc": "2.0", "id": id, "method": method, "params": params,
        }));
        self.sent += 1;
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.server
            .send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
        self.sent += 1;
    }

    fn wait_for_room(&mut self) {
        while self.pending.len() >= MAX_IN_FLIGHT {
            if !self.receive(Some(ANSWER_TIMEOUT)) {
                return;
            }
        }
        self.receive(None);
    }

    /// Handles what has arrived; with `wait`, blocks up to that long for one message. False when
    /// nothing came in time (or the server is gone).
    fn receive(&mut self, wait: Option<Duration>) -> bool {
        let first = match wait {
            Some(timeout) => match self.server.incoming.recv_timeout(timeout) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    self.give_up_on_pending();
                    return false;
                }
            },
            None => None,
        };
        let mut messages: Vec<Value> = first.into_iter().collect();
        messages.extend(self.server.incoming.try_iter());
        for message in messages {
            self.handle(message);
        }
        true
    }

    fn give_up_on_pending(&mut self) {
        let now = Instant::now();
        let stale: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, pending)| now.duration_since(pending.sent) >= ANSWER_TIMEOUT)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            self.pending.remove(&id);
            self.verdict.unanswered += 1;
            self.verdict
                .fail(format!("request {id} was never answered"));
        }
    }

    fn handle(&mut self, message: Value) {
        if message.get("client-error").is_some() {
            self.verdict.other_failures += 1;
            self.verdict
                .fail("the server wrote a frame that is not JSON".into());
            return;
        }
        if let Some(method) = message.get("method").and_then(Value::as_str) {
            if method == "window/logMessage" || method == "window/showMessage" {
                let text = message["params"]["message"].as_str().unwrap_or_default();
                if text.contains("internal error") {
                    self.verdict.internal_errors += 1;
                    self.verdict.fail(format!("{method}: {text}"));
                }
            }
            return;
        }
        let Some(id) = message.get("id") else {
            self.verdict.unexpected += 1;
            self.verdict.fail(format!(
                "a message that is neither request nor answer: {message}"
            ));
            return;
        };
        if id.is_null() {
            self.null_id_answers += 1;
            return;
        }
        let key = id_key(id);
        let Some(pending) = self.pending.remove(&key) else {
            if self.answered.contains(&key) {
                self.verdict.duplicates += 1;
                self.verdict.fail(format!("request {key} answered twice"));
            } else {
                self.verdict.unexpected += 1;
                self.verdict
                    .fail(format!("an answer to no request: {message}"));
            }
            return;
        };
        self.answered.insert(key.clone());
        self.check(&key, pending, &message);
    }

    fn check(&mut self, id: &str, pending: Pending, message: &Value) {
        let error_code = message["error"]["code"].as_i64();
        if pending.cancelled && error_code == Some(-32800) {
            return;
        }
        match pending.expect {
            Expect::Null => {
                if message.get("result") != Some(&Value::Null) {
                    self.verdict.other_failures += 1;
                    self.verdict.fail(format!("shutdown answered {message}"));
                }
            }
            Expect::Error(code) => {
                if error_code != Some(code) {
                    self.verdict.other_failures += 1;
                    self.verdict.fail(format!(
                        "request {id}: expected error {code}, got {message}"
                    ));
                }
            }
            Expect::AnyError => {
                if error_code.is_none() {
                    self.verdict.other_failures += 1;
                    self.verdict
                        .fail(format!("request {id}: expected an error, got {message}"));
                }
            }
            Expect::AnyResult => {
                if message.get("result").is_none() {
                    self.verdict.other_failures += 1;
                    self.verdict
                        .fail(format!("request {id}: expected a result, got {message}"));
                }
            }
            Expect::Hover(check, copy) => self.check_hover(id, check, copy, message),
        }
    }

    fn check_hover(
        &mut self,
        id: &str,
        check: Option<HoverCheck>,
        copy: DocumentCopy,
        message: &Value,
    ) {
        let Some(result) = message.get("result") else {
            self.verdict.other_failures += 1;
            self.verdict
                .fail(format!("hover {id} answered with an error: {message}"));
            return;
        };
        let range = result.get("range").and_then(range_of);
        if let Some(check) = check {
            self.verdict.hover_checks += 1;
            if result.is_null() {
                self.verdict.null_hovers += 1;
                self.verdict
                    .fail(format!("hover {id} on {} answered null", check.what));
                return;
            }
            let text = result["contents"]["value"].as_str().unwrap_or_default();
            if text.trim().is_empty() {
                self.verdict.other_failures += 1;
                self.verdict
                    .fail(format!("hover {id} on {} has no text", check.what));
            }
            if range != Some(check.expected) {
                self.verdict.wrong_ranges += 1;
                self.verdict.fail(format!(
                    "hover {id} on {}: range {range:?}, expected {:?}; the region's last line: {:?}",
                    check.what, check.expected, check.last_line
                ));
            }
            return;
        }
        // Any other range must lie on syntax node boundaries of the text the hover was sent on.
        if let (Some((start, end)), DocumentCopy(Some((text, lang)))) = (range, copy) {
            let mut document = ClientDocument::new(String::new(), lang, text);
            if document.has_syntax_errors() {
                return;
            }
            self.verdict.hover_checks += 1;
            let start = offset_of(&document.text, start, self.encoding);
            let end = offset_of(&document.text, end, self.encoding);
            // A node may end between a CRLF's `\r` and `\n`; positions call that the line's end.
            let mut boundary = |at: usize, start: bool| {
                document.is_node_boundary(at, start)
                    || (document.text[at..].starts_with("\r\n")
                        && document.is_node_boundary(at + 1, start))
            };
            let (starts, ends) = (boundary(start, true), boundary(end, false));
            if !(starts && ends) {
                self.verdict.wrong_ranges += 1;
                let around = |at: usize| {
                    let text = &document.text;
                    let from = (0..=at.saturating_sub(12))
                        .rev()
                        .find(|i| text.is_char_boundary(*i));
                    let to = (at + 12..=text.len()).find(|i| text.is_char_boundary(*i));
                    let (from, to) = (from.unwrap_or(0), to.unwrap_or(text.len()));
                    format!("{:?}⟨here⟩{:?}", &text[from..at], &text[at..to])
                };
                self.verdict.fail(format!(
                    "hover {id}: range bytes {start}..{end} are not syntax node boundaries: \
                     start {}, end {}",
                    around(start),
                    around(end)
                ));
            }
        }
    }
}

fn range_of(range: &Value) -> Option<(Position, Position)> {
    let position = |value: &Value| {
        Some((
            u32::try_from(value["line"].as_u64()?).ok()?,
            u32::try_from(value["character"].as_u64()?).ok()?,
        ))
    };
    Some((position(&range["start"])?, position(&range["end"])?))
}

fn lsp_position(position: Position) -> Value {
    json!({ "line": position.0, "character": position.1 })
}

fn lsp_range(start: Position, end: Position) -> Value {
    json!({ "start": lsp_position(start), "end": lsp_position(end) })
}

/// Runs one seeded session against `binary` with `model`; never panics on the server's behavior,
/// which is all reported in the verdict.
pub fn run(config: &Config, binary: &Path, model: &Path) -> Verdict {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(binary, dir.path());
    let mut session = Session {
        server,
        rng: Rng::new(config.seed),
        encoding: config.encoding,
        documents: Vec::new(),
        open: Vec::new(),
        huge: None,
        unknown_language_uri: format!("file://{}/notes.cobol", dir.path().display()),
        dir: dir.path().to_owned(),
        next_id: 0,
        pending: HashMap::new(),
        answered: HashSet::new(),
        null_id_answers_expected: 0,
        null_id_answers: 0,
        serial: 0,
        sent: 0,
        verdict: Verdict {
            seed: config.seed,
            encoding: config.encoding.name(),
            messages: config.messages,
            ..Verdict::default()
        },
    };
    session.initialize(model);
    session.open_documents(config.huge_bytes);
    session.settle();
    session.verdict.rss_open_kib = session.server.rss_kib();
    while session.sent < config.messages {
        let before = session.sent;
        session.step();
        if before / PEAK_SAMPLE_EVERY != session.sent / PEAK_SAMPLE_EVERY {
            let rss = session.server.rss_kib();
            session.verdict.rss_peak_kib = session.verdict.rss_peak_kib.max(rss);
        }
        if before / config.checkpoint_every != session.sent / config.checkpoint_every {
            session.settle();
            let rss = session.server.rss_kib();
            session.verdict.rss_checkpoints.push((session.sent, rss));
        }
    }
    session.finish();
    session.verdict.seconds = started.elapsed().as_secs_f64();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    for line in log.lines().filter(|line| line.contains("panicked")) {
        session.verdict.internal_errors += 1;
        session.verdict.fail(format!("server log: {line}"));
    }
    session.verdict
}

impl Session {
    fn initialize(&mut self, model: &Path) {
        let id = self.request(
            "initialize",
            json!({
                "processId": null,
                "capabilities": { "general": { "positionEncodings": [self.encoding.name()] } },
                "initializationOptions": {
                    "model": model.to_str().expect("model path is UTF-8"),
                    "cacheDir": self.dir.join("cache").to_str().expect("UTF-8 path"),
                    "hoverTimeoutMs": 1,
                    "prefetch": "off",
                },
            }),
            Expect::AnyResult,
        );
        let key = id_key(&id);
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        // The answer is checked here too, for the negotiated encoding.
        while self.pending.contains_key(&key) && Instant::now() < deadline {
            match self.server.incoming.recv_timeout(Duration::from_secs(1)) {
                Ok(message) if message.get("id") == Some(&id) => {
                    let negotiated = message["result"]["capabilities"]["positionEncoding"]
                        .as_str()
                        .unwrap_or("utf-16")
                        .to_owned();
                    if negotiated != self.encoding.name() {
                        self.verdict.other_failures += 1;
                        self.verdict.fail(format!(
                            "asked for {}, the server chose {negotiated}",
                            self.encoding.name()
                        ));
                    }
                    self.handle(message);
                }
                Ok(message) => self.handle(message),
                Err(_) => {}
            }
        }
        self.notify("initialized", json!({}));
    }

    fn open_documents(&mut self, huge_bytes: usize) {
        for (index, lang) in [Lang::Python, Lang::Rust, Lang::Python, Lang::Rust]
            .into_iter()
            .enumerate()
        {
            let functions = 5 + self.rng.below(20);
            let text = generate::document(&mut self.rng, lang, functions, &mut self.serial);
            let extension = if lang == Lang::Python { "py" } else { "rs" };
            let uri = format!("file://{}/doc{index}.{extension}", self.dir.display());
            self.documents.push(ClientDocument::new(uri, lang, text));
            self.open.push(false);
            self.open_document(index);
        }
        if huge_bytes > 0 {
            let uri = format!("file://{}/generated.py", self.dir.display());
            let text = generate::huge_python(huge_bytes);
            self.documents
                .push(ClientDocument::new(uri, Lang::Python, text));
            self.open.push(false);
            self.huge = Some(self.documents.len() - 1);
            self.open_document(self.documents.len() - 1);
        }
        let uri = self.unknown_language_uri.clone();
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri, "languageId": "cobol", "version": 1,
                "text": "IDENTIFICATION DIVISION.\nPROGRAM-ID. HELLO.\n",
            }}),
        );
    }

    fn open_document(&mut self, index: usize) {
        let document = &mut self.documents[index];
        document.version = 1;
        let message = json!({ "textDocument": {
            "uri": document.uri, "languageId": document.lang.id(), "version": 1,
            "text": document.text,
        }});
        self.open[index] = true;
        self.notify("textDocument/didOpen", message);
    }

    /// Waits for every answer to arrive and resident memory to stay steady for two seconds: the
    /// model loaded, background generations done, freed memory handed back.
    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = 0;
        let mut steady_since = Instant::now();
        while Instant::now() < deadline {
            self.receive(None);
            let rss = self.server.rss_kib();
            if rss.abs_diff(last) > 1024 {
                last = rss;
                steady_since = Instant::now();
            } else if steady_since.elapsed() > Duration::from_secs(2) && self.pending.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=24 => self.edit(),
            25..=59 => self.hover(false),
            60..=67 => self.code_action(),
            68..=75 => self.hover_storm(),
            76..=79 => self.cancel_something(),
            80..=83 => self.unknown_method(),
            84..=87 => self.malformed_frame(),
            88..=90 => self.close_and_reopen(),
            91..=93 => self.replace_whole(),
            _ => self.hover(true),
        }
    }

    /// A small document, or now and then the huge one.
    fn some_document(&mut self) -> usize {
        let small = if self.huge.is_some() {
            self.documents.len() - 1
        } else {
            self.documents.len()
        };
        match self.huge {
            Some(huge) if self.rng.chance(3) => huge,
            _ => self.rng.below(small),
        }
    }

    fn edit(&mut self) {
        let index = self.some_document();
        if !self.open[index] {
            self.open_document(index);
            return;
        }
        let changes = 1 + self.rng.below(4);
        let mut content_changes = Vec::new();
        for _ in 0..changes {
            let (range, text) = self.one_change(index);
            self.documents[index].apply(range, &text, self.encoding);
            content_changes.push(match range {
                Some((start, end)) => json!({ "range": lsp_range(start, end), "text": text }),
                None => json!({ "text": text }),
            });
        }
        let document = &mut self.documents[index];
        document.version += 1;
        let message = json!({
            "textDocument": { "uri": document.uri, "version": document.version },
            "contentChanges": content_changes,
        });
        self.notify("textDocument/didChange", message);
    }

    /// One change against the client's current text: mostly ones that keep the code valid (a
    /// comment line, a rename, text inside a string, another line ending), some that break it.
    fn one_change(&mut self, index: usize) -> (Option<(Position, Position)>, String) {
        let encoding = self.encoding;
        let kind = self.rng.below(100);
        let document = &mut self.documents[index];
        let text = document.text.clone();
        let starts = oracle::line_starts(&text);
        let line = self.rng.below(starts.len());
        let at = |offset: usize| position_of(&text, offset, encoding);
        match kind {
            0..=24 => {
                let eol = line_ending_after(&text, &starts, line);
                let comment = generate::comment_line(&mut self.rng, document.lang, eol);
                let start = at(starts[line]);
                (Some((start, start)), comment)
            }
            25..=39 => {
                let functions = document.functions();
                if functions.is_empty() {
                    return (None, text);
                }
                let target = self.rng.pick(&functions);
                self.serial += 1;
                let name = generate::identifier(&mut self.rng, self.serial);
                (Some((at(target.name.start), at(target.name.end))), name)
            }
            40..=59 => match string_content(&text, &starts, line) {
                Some(content) => {
                    let (start, end) = self.split_range(&text, content);
                    (Some((start, end)), generate::wide(&mut self.rng))
                }
                None => (None, text),
            },
            60..=74 => {
                // Another line ending for one line; a `\r` before an empty `\n` line merges the
                // two into one `\r\n`, which the server's line table must notice.
                let next = starts.get(line + 1).copied();
                let end_of_content = text[starts[line]..next.unwrap_or(text.len())]
                    .trim_end_matches(['\n', '\r'])
                    .len()
                    + starts[line];
                match next {
                    Some(next) => {
                        let eol = *self.rng.pick(generate::LINE_ENDINGS);
                        (Some((at(end_of_content), at(next))), eol.to_owned())
                    }
                    None => (None, text),
                }
            }
            _ => {
                // Anything anywhere: junk in, a few characters out, positions past line ends.
                let units = self.rng.below(60) as u32;
                let start = (line as u32, units);
                let end = if self.rng.chance(50) {
                    start
                } else {
                    (
                        start.0 + self.rng.below(2) as u32,
                        self.rng.below(60) as u32,
                    )
                };
                let start_offset = offset_of(&text, start, encoding);
                let end_offset = offset_of(&text, end, encoding);
                let (start, end) = if start_offset <= end_offset {
                    (start, end)
                } else {
                    (end, start)
                };
                (Some((start, end)), generate::junk(&mut self.rng))
            }
        }
    }

    /// A range inside `content` whose ends sometimes fall inside a character of several units,
    /// which the server must snap to that character's start as the client does.
    fn split_range(&mut self, text: &str, content: std::ops::Range<usize>) -> (Position, Position) {
        let boundaries: Vec<usize> = text[content.clone()]
            .char_indices()
            .map(|(at, _)| content.start + at)
            .chain(std::iter::once(content.end))
            .collect();
        let a = *self.rng.pick(&boundaries);
        let b = *self.rng.pick(&boundaries);
        let (a, b) = (a.min(b), a.max(b));
        let mut position = |offset: usize| {
            let mut position = position_of(text, offset, self.encoding);
            let width = text[offset..]
                .chars()
                .next()
                .map_or(0, |c| match self.encoding {
                    Encoding::Utf8 => c.len_utf8(),
                    Encoding::Utf16 => c.len_utf16(),
                    Encoding::Utf32 => 1,
                });
            if offset < content.end && width > 1 && self.rng.chance(40) {
                position.1 += 1;
            }
            position
        };
        (position(a), position(b))
    }

    fn hover(&mut self, odd: bool) {
        self.send_hover(odd);
    }

    /// Sends a hover and returns its id.
    fn send_hover(&mut self, odd: bool) -> Value {
        if odd {
            return self.odd_hover();
        }
        let index = self.some_document();
        let (params, expect) = if self.open[index] {
            self.hover_in(index)
        } else {
            let uri = &self.documents[index].uri;
            (
                json!({ "textDocument": { "uri": uri }, "position": lsp_position((0, 0)) }),
                Expect::AnyResult,
            )
        };
        self.request("textDocument/hover", params, expect)
    }

    /// A hover in an open document: mostly on a function's name, where the answer is checked
    /// exactly, else anywhere.
    fn hover_in(&mut self, index: usize) -> (Value, Expect) {
        let encoding = self.encoding;
        let on_function = self.rng.chance(65);
        let document = &mut self.documents[index];
        let uri = document.uri.clone();
        let functions = if on_function {
            document.functions()
        } else {
            Vec::new()
        };
        if !functions.is_empty() {
            let target = self.rng.pick(&functions);
            let boundaries: Vec<usize> = document.text[target.name.clone()]
                .char_indices()
                .map(|(at, _)| target.name.start + at)
                .collect();
            let offset = *self.rng.pick(&boundaries);
            let position = position_of(&document.text, offset, encoding);
            let checkable = target.lines <= 50 && !document.has_syntax_errors();
            let check = checkable.then(|| HoverCheck {
                expected: (
                    position_of(&document.text, target.region.start, encoding),
                    position_of(&document.text, target.region.end, encoding),
                ),
                what: format!(
                    "`{}` at {position:?} in {}",
                    &document.text[target.name.clone()],
                    uri.rsplit('/').next().unwrap_or_default()
                ),
                last_line: {
                    let end = target.region.end;
                    let before = &document.text[..end];
                    let start = before.rfind(['\n', '\r']).map_or(0, |at| at + 1);
                    let after = document.text[end..].chars().take(3).collect::<String>();
                    format!("{}⟨end⟩{after}", &document.text[start..end])
                },
            });
            let params =
                json!({ "textDocument": { "uri": uri }, "position": lsp_position(position) });
            return (params, Expect::Hover(check, DocumentCopy(None)));
        }
        let lines = oracle::line_starts(&document.text).len();
        let position = (self.rng.below(lines) as u32, self.rng.below(80) as u32);
        // Small documents keep a copy for checking the answer's range; the huge one's is too big
        // to copy for every hover.
        let copy = if Some(index) == self.huge {
            DocumentCopy(None)
        } else {
            DocumentCopy(Some((document.text.clone(), document.lang)))
        };
        let params = json!({ "textDocument": { "uri": uri }, "position": lsp_position(position) });
        (params, Expect::Hover(None, copy))
    }

    /// Positions past the end, numbers LSP does not allow, unknown documents.
    fn odd_hover(&mut self) -> Value {
        let uri = self.documents[0].uri.clone();
        let (params, expect) = match self.rng.below(5) {
            0 => (
                json!({ "textDocument": { "uri": uri }, "position": lsp_position((1_000_000, 3)) }),
                Expect::AnyResult,
            ),
            1 => (
                json!({ "textDocument": { "uri": uri }, "position": lsp_position((0, u32::MAX)) }),
                Expect::AnyResult,
            ),
            2 => (
                json!({ "textDocument": { "uri": uri }, "position": { "line": -1, "character": 0 } }),
                Expect::AnyError,
            ),
            3 => (
                json!({ "textDocument": { "uri": self.unknown_language_uri }, "position": lsp_position((0, 2)) }),
                Expect::AnyResult,
            ),
            _ => (
                json!({ "textDocument": { "uri": "file:///never/opened.py" }, "position": lsp_position((0, 0)) }),
                Expect::AnyResult,
            ),
        };
        self.request("textDocument/hover", params, expect)
    }

    fn code_action(&mut self) {
        let index = self.some_document();
        let uri = self.documents[index].uri.clone();
        let start = (self.rng.below(200) as u32, self.rng.below(40) as u32);
        let end = (
            start.0 + self.rng.below(5) as u32,
            self.rng.below(40) as u32,
        );
        let params = json!({
            "textDocument": { "uri": uri },
            "range": lsp_range(start, end),
            "context": { "diagnostics": [] },
        });
        self.request("textDocument/codeAction", params, Expect::AnyResult);
    }

    /// Hovers that the client gives up on at once, as an editor does while the mouse moves.
    fn hover_storm(&mut self) {
        for _ in 0..2 + self.rng.below(6) {
            let id = self.send_hover(false);
            if self.rng.chance(80) {
                self.cancel(&id);
            }
        }
    }

    fn cancel(&mut self, id: &Value) {
        if let Some(pending) = self.pending.get_mut(&id_key(id)) {
            pending.cancelled = true;
        }
        self.notify("$/cancelRequest", json!({ "id": id }));
    }

    fn cancel_something(&mut self) {
        let id = match self.pending.keys().next() {
            Some(key) if self.rng.chance(70) => serde_json::from_str(key).unwrap_or(Value::Null),
            _ => json!(9_000_000 + self.rng.below(1000)),
        };
        self.cancel(&id);
    }

    fn unknown_method(&mut self) {
        match self.rng.below(5) {
            0 => {
                self.request("$/gloss.unknownRequest", json!({}), Expect::Error(-32601));
            }
            1 => {
                self.request(
                    "gloss/unknownRequest",
                    json!({ "x": 1 }),
                    Expect::Error(-32601),
                );
            }
            2 => {
                self.request("textDocument/completion", json!({
                    "textDocument": { "uri": self.documents[0].uri }, "position": lsp_position((0, 0)),
                }), Expect::AnyError);
            }
            3 => self.notify("$/gloss.unknownNotification", json!({ "a": [1, 2] })),
            _ => self.notify("gloss/unknownNotification", json!(null)),
        }
    }

    fn malformed_frame(&mut self) {
        match self.rng.below(4) {
            0 => {
                self.server
                    .send_raw(b"Content-Length: 11\r\n\r\n{\"jsonrpc\":");
                self.null_id_answers_expected += 1;
            }
            1 => {
                self.server
                    .send_raw(b"Content-Length: 4\r\n\r\n\xff\xfe\xc3\x28");
                self.null_id_answers_expected += 1;
            }
            2 => {
                self.server.send_raw(b"X-Nonsense: yes\r\n\r\n");
                self.null_id_answers_expected += 1;
            }
            _ => {
                self.next_id += 1;
                let id = format!("bad-{}", self.next_id);
                self.pending.insert(
                    id_key(&json!(id)),
                    Pending {
                        expect: Expect::Error(-32600),
                        cancelled: false,
                        sent: Instant::now(),
                    },
                );
                self.verdict.requests += 1;
                let body = json!({ "jsonrpc": "1.0", "id": id, "method": "textDocument/hover" });
                write_frame(&self.server.stdin, body.to_string().as_bytes());
            }
        }
        self.sent += 1;
    }

    fn close_and_reopen(&mut self) {
        let index = self.rng.below(self.documents.len());
        if Some(index) == self.huge {
            return self.hover(false);
        }
        let uri = self.documents[index].uri.clone();
        if self.open[index] {
            self.notify(
                "textDocument/didClose",
                json!({ "textDocument": { "uri": uri } }),
            );
            self.open[index] = false;
            // A hover on a closed document: nothing to explain, but still an answer.
            let params =
                json!({ "textDocument": { "uri": uri }, "position": lsp_position((1, 1)) });
            self.request("textDocument/hover", params, Expect::AnyResult);
        }
        let lang = self.documents[index].lang;
        let functions = 5 + self.rng.below(20);
        let text = generate::document(&mut self.rng, lang, functions, &mut self.serial);
        self.documents[index] = ClientDocument::new(uri, lang, text);
        self.open_document(index);
    }

    /// The whole text replaced by a fresh valid document: repairs what junk broke.
    fn replace_whole(&mut self) {
        let index = self.rng.below(self.documents.len());
        if Some(index) == self.huge || !self.open[index] {
            return self.edit();
        }
        let lang = self.documents[index].lang;
        let functions = 5 + self.rng.below(20);
        let text = generate::document(&mut self.rng, lang, functions, &mut self.serial);
        let document = &mut self.documents[index];
        document.apply(None, &text, self.encoding);
        document.version += 1;
        let message = json!({
            "textDocument": { "uri": document.uri, "version": document.version },
            "contentChanges": [{ "text": text }],
        });
        self.notify("textDocument/didChange", message);
    }

    fn finish(&mut self) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        while !self.pending.is_empty() && Instant::now() < deadline {
            self.receive(Some(Duration::from_secs(1)));
        }
        self.give_up_on_pending();
        for (id, _) in self.pending.drain() {
            self.verdict.unanswered += 1;
            if self.verdict.failures.len() < KEPT_FAILURES {
                self.verdict
                    .failures
                    .push(format!("request {id} was never answered"));
            }
        }
        self.settle();
        let rss = self.server.rss_kib();
        self.verdict.rss_checkpoints.push((self.sent, rss));
        let id = self.request("shutdown", Value::Null, Expect::Null);
        let key = id_key(&id);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.pending.contains_key(&key) && Instant::now() < deadline {
            self.receive(Some(Duration::from_secs(1)));
        }
        if self.pending.remove(&key).is_some() {
            self.verdict.unanswered += 1;
            self.verdict.fail("shutdown was never answered".into());
        }
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.server.child.try_wait() {
                Ok(Some(status)) => {
                    self.verdict.exit_code = status.code();
                    break;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.server.child.kill();
                    self.verdict
                        .fail("the server did not exit after `exit`".into());
                    break;
                }
            }
        }
        // Whatever is left in the pipe has arrived by now.
        self.receive(None);
        if self.null_id_answers != self.null_id_answers_expected {
            self.verdict.other_failures += 1;
            self.verdict.fail(format!(
                "{} malformed frames, {} answers with a null id",
                self.null_id_answers_expected, self.null_id_answers
            ));
        }
    }
}

/// The line ending that ends `line` (the document's last line borrows `\n`).
fn line_ending_after<'t>(text: &'t str, starts: &[usize], line: usize) -> &'t str {
    match starts.get(line + 1) {
        Some(next) => {
            let content = &text[starts[line]..*next];
            let trimmed = content.trim_end_matches(['\n', '\r']).len();
            &content[trimmed..]
        }
        None => "\n",
    }
}

/// The content of the first string literal `"…"` on `line`, as a byte range.
fn string_content(text: &str, starts: &[usize], line: usize) -> Option<std::ops::Range<usize>> {
    let end = starts.get(line + 1).copied().unwrap_or(text.len());
    let line_text = &text[starts[line]..end];
    let open = line_text.find('"')?;
    let close = line_text[open + 1..].find('"')? + open + 1;
    Some(starts[line] + open + 1..starts[line] + close)
}
