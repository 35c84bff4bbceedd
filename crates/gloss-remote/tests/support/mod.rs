//! A scripted HTTP/1.1 server for fault tests, on std threads and hand-written responses, so each
//! test says byte for byte what the "model server" does: statuses, headers, chunk timing, cuts.
//! Also helpers to build OpenAI stream chunks and to collect a stream's events.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use gloss_remote::{
    CancelCheck, Finish, RemoteClient, RemoteConfig, RemoteError, RemoteEvent, RetryPolicy,
};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }
}

/// What the server does for one request, in order; the connection is closed after the last step.
pub enum Step {
    Write(Vec<u8>),
    Sleep(Duration),
    /// Writes `chunk` every `every` until a write fails (the client went away), then reports the
    /// time on [`TestServer::disconnects`]. Gives up after 20 s.
    StreamUntilClosed {
        chunk: Vec<u8>,
        every: Duration,
    },
    /// Runs test code at this point of the response.
    Run(Box<dyn FnOnce() + Send>),
}

pub type Handler = dyn Fn(usize, &Recorded) -> Vec<Step> + Send + Sync;

pub struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// When a [`Step::StreamUntilClosed`] saw the client close the connection.
    pub disconnects: Receiver<Instant>,
}

impl TestServer {
    /// Starts a server on a free loopback port; `handler` gets the request's index (0, 1, ...)
    /// and the request.
    pub fn start(handler: impl Fn(usize, &Recorded) -> Vec<Step> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (disconnect_tx, disconnects) = crossbeam_channel::unbounded();
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let requests = requests.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let (handler, requests, tx) =
                        (handler.clone(), requests.clone(), disconnect_tx.clone());
                    thread::spawn(move || serve(stream, &*handler, &requests, &tx));
                }
            });
        }
        Self {
            addr,
            requests,
            disconnects,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(
    mut stream: TcpStream,
    handler: &Handler,
    requests: &Mutex<Vec<Recorded>>,
    disconnects: &Sender<Instant>,
) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let index = {
        let mut requests = requests.lock().unwrap();
        requests.push(request.clone());
        requests.len() - 1
    };
    for step in handler(index, &request) {
        match step {
            Step::Write(bytes) => {
                if stream
                    .write_all(&bytes)
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
            }
            Step::Sleep(d) => thread::sleep(d),
            Step::Run(f) => f(),
            Step::StreamUntilClosed { chunk, every } => {
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    if stream
                        .write_all(&chunk)
                        .and_then(|()| stream.flush())
                        .is_err()
                    {
                        let _ = disconnects.send(Instant::now());
                        return;
                    }
                    thread::sleep(every);
                }
                return;
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&byte[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

// ---- responses -------------------------------------------------------------------------------

/// Headers of an event stream whose body ends when the connection closes.
pub fn sse_head() -> Step {
    Step::Write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n".to_vec())
}

/// Headers of a chunked event stream (as llama-server and vLLM send).
pub fn sse_chunked_head() -> Step {
    Step::Write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec())
}

/// One HTTP chunk of a chunked body.
pub fn chunked(data: &[u8]) -> Step {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    Step::Write(out)
}

pub fn chunked_end() -> Step {
    Step::Write(b"0\r\n\r\n".to_vec())
}

pub fn raw(text: &str) -> Step {
    Step::Write(text.as_bytes().to_vec())
}

/// A complete response with a body and a Content-Length.
pub fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Step {
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    Step::Write(out.into_bytes())
}

pub fn delta(text: &str) -> String {
    let chunk = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}],
    });
    format!("data: {chunk}\n\n")
}

pub fn finish(reason: &str) -> String {
    let chunk =
        serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
    format!("data: {chunk}\n\n")
}

pub fn usage(prompt: usize, completion: usize) -> String {
    let chunk = serde_json::json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}});
    format!("data: {chunk}\n\n")
}

pub const DONE: &str = "data: [DONE]\n\n";

/// A whole successful streamed answer made of `pieces`.
pub fn stream_of(pieces: &[&str]) -> Vec<Step> {
    let mut body = String::new();
    for piece in pieces {
        body.push_str(&delta(piece));
    }
    body.push_str(&finish("stop"));
    body.push_str(&usage(7, pieces.len()));
    body.push_str(DONE);
    vec![sse_head(), raw(&body)]
}

// ---- client side -----------------------------------------------------------------------------

/// A configuration for `server` with fast retries, so fault tests run in milliseconds.
pub fn config(url: &str) -> RemoteConfig {
    RemoteConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(5),
        },
        request_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        ..RemoteConfig::new(url, "test-model")
    }
}

pub fn never() -> CancelCheck {
    Arc::new(|| false)
}

pub fn chat(text: &str) -> gloss_remote::ChatRequest {
    gloss_remote::ChatRequest::new(vec![gloss_remote::ChatMessage::user(text)], 32)
}

/// Everything a stream reported.
#[derive(Debug)]
pub struct Collected {
    pub started: bool,
    pub texts: Vec<String>,
    pub result: Result<Finish, RemoteError>,
}

impl Collected {
    pub fn text(&self) -> String {
        self.texts.concat()
    }
}

/// Reads a stream to its end, checking the event order: `Started` at most once and first, then
/// text, then exactly one `Finished`, after which the channel is closed.
pub fn collect(rx: &Receiver<RemoteEvent>, within: Duration) -> Collected {
    let deadline = Instant::now() + within;
    let mut started = false;
    let mut texts = Vec::new();
    loop {
        let event = rx
            .recv_deadline(deadline)
            .unwrap_or_else(|e| panic!("no Finished within {within:?}: {e}"));
        match event {
            RemoteEvent::Started => {
                assert!(
                    !started && texts.is_empty(),
                    "Started must come once, before any text"
                );
                started = true;
            }
            RemoteEvent::Text(text) => {
                assert!(started, "text before Started");
                texts.push(text);
            }
            RemoteEvent::Finished(result) => {
                // Finished is last: the sender is dropped right after it.
                match rx.recv_timeout(Duration::from_secs(2)) {
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {}
                    other => panic!("expected the channel to close after Finished, got {other:?}"),
                }
                return Collected {
                    started,
                    texts,
                    result,
                };
            }
        }
    }
}

/// Starts a stream on a new client for `config` and collects it.
pub fn run(config: RemoteConfig, request: gloss_remote::ChatRequest) -> Collected {
    let client = RemoteClient::new(config).unwrap();
    collect(
        &client.stream_chat(request, never()),
        Duration::from_secs(20),
    )
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
