//! A guard in front of tower-lsp's transport: undecodable messages are answered here, so they cannot
//! end the session.
//!
//! tower-lsp-server 0.23 reads with tokio-util's `FramedRead`, which ends the stream after the first
//! frame its codec rejects (a body that is not UTF-8, not JSON, or not a JSON-RPC message): one bad
//! frame from a client or a proxy would stop the server. The guard reads the client's frames
//! itself, passes on the good ones unchanged, and answers a bad one with a JSON-RPC error
//! (`-32700` parse error, `-32600` invalid request) with the message's id when it has one, else
//! `null`, as JSON-RPC 2.0 asks. The server's own output is passed through frame by frame, and the
//! guard's answers are put between whole frames.
//!
//! It also answers requests whose method starts with `$/`: tower-lsp drops every such message
//! unheard, as LSP allows for notifications, but a request must still get `MethodNotFound`, or its
//! client waits forever. No `$/` method of LSP 3.17 is a request, so none reaches tower-lsp.
//!
//! A large `didChange` loses the changes that a later whole-text replacement in it overwrites
//! before tower-lsp sees it: tower-lsp's frame buffer grows to the largest frame and keeps that
//! room for the rest of the session.

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// A header block longer than this is garbage, not a header: it is dropped and answered.
const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Bounds the memory one frame may take. Far above any real message (a 5 MB file opened whole).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Room the frame buffer keeps between frames: a few of the usual small messages.
const KEPT_BUFFER_BYTES: usize = 256 * 1024;

/// A `didChange` body from this size on is decoded to drop the changes a later whole-text
/// replacement overwrites. A client that sends a 5 MiB file whole several times in one message
/// (the protocol fuzz does) grew tower-lsp's buffer, which never shrinks, to tens of MiB;
/// smaller bodies pass untouched, as re-encoding them would cost more than their room.
const LARGE_CHANGE_BYTES: usize = 1 << 20;

/// What becomes of a frame from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Passed on to tower-lsp as it came.
    Pass,
    /// Passed on with this body instead, which means the same to the server.
    Rewritten(Vec<u8>),
    /// Answered here with this frame; tower-lsp never sees the message.
    Answer(Vec<u8>),
}

/// One step of reading frames from a byte stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete frame: the header block and the body.
    Message { whole: Vec<u8>, body_start: usize },
    /// Bytes that were not a valid header, dropped.
    Garbage(String),
}

/// Splits a byte stream into frames.
#[derive(Default)]
pub struct FrameReader {
    buffer: Vec<u8>,
}

impl FrameReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let Some(end) = find(&self.buffer, b"\r\n\r\n") else {
            if self.buffer.len() > MAX_HEADER_BYTES {
                self.buffer.clear();
                return Some(Frame::Garbage("a header block without an end".into()));
            }
            return None;
        };
        let body_start = end + 4;
        let header = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
        let length = header.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        });
        let Some(length) = length.filter(|length| *length <= MAX_BODY_BYTES) else {
            self.buffer.drain(..body_start);
            return Some(Frame::Garbage(format!(
                "no valid Content-Length in the header {header:?}"
            )));
        };
        if self.buffer.len() < body_start + length {
            return None;
        }
        let whole: Vec<u8> = self.buffer.drain(..body_start + length).collect();
        // A multi-megabyte frame (a large file opened) must not keep its room for good.
        if self.buffer.capacity() > KEPT_BUFFER_BYTES && self.buffer.len() <= KEPT_BUFFER_BYTES {
            self.buffer.shrink_to(KEPT_BUFFER_BYTES);
        }
        Some(Frame::Message { whole, body_start })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Whether `body` goes to tower-lsp (as it is or rewritten) or is answered here: tower-lsp would
/// end the session on a message it cannot decode, and leave a `$/` request unanswered.
pub fn route(body: &[u8]) -> Route {
    let Ok(text) = std::str::from_utf8(body) else {
        return Route::Answer(error_frame(
            Value::Null,
            -32700,
            "Parse error: the message is not UTF-8",
        ));
    };
    // Decoded straight from the text: a `didOpen` of a large file is not copied into a `Value`
    // first.
    if let Ok(request) = serde_json::from_str::<Request>(text) {
        if let Some(id) = request.id()
            && request.method().starts_with("$/")
        {
            return Route::Answer(error_frame(
                serde_json::to_value(id).unwrap_or(Value::Null),
                -32601,
                &format!("Method not found: {}", request.method()),
            ));
        }
        if body.len() >= LARGE_CHANGE_BYTES && request.method() == "textDocument/didChange" {
            return without_overwritten_changes(request).map_or(Route::Pass, Route::Rewritten);
        }
        return Route::Pass;
    }
    if serde_json::from_str::<Response>(text).is_ok() {
        return Route::Pass;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            return Route::Answer(error_frame(
                Value::Null,
                -32700,
                &format!("Parse error: {error}"),
            ));
        }
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    Route::Answer(error_frame(
        id,
        -32600,
        "Invalid request: not a JSON-RPC 2.0 message",
    ))
}

/// The body of a `didChange` that starts at its last whole-text replacement (a change without a
/// `range`); `None` when no change comes before one, so there is nothing to drop.
fn without_overwritten_changes(request: Request) -> Option<Vec<u8>> {
    let (method, id, mut params) = request.into_parts();
    let changes = params.as_mut()?.get_mut("contentChanges")?.as_array_mut()?;
    let last_whole = changes
        .iter()
        .rposition(|change| change.get("range").is_none_or(Value::is_null))?;
    if last_whole == 0 {
        return None;
    }
    changes.drain(..last_whole);
    let mut rewritten = Request::build(method);
    if let Some(params) = params {
        rewritten = rewritten.params(params);
    }
    if let Some(id) = id {
        rewritten = rewritten.id(id);
    }
    serde_json::to_vec(&rewritten.finish()).ok()
}

fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

pub fn error_frame(id: Value, code: i64, message: &str) -> Vec<u8> {
    let body = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
        .to_string();
    frame_of(body.as_bytes())
}

/// Reads the client's frames: good ones go to `server`, answers to bad ones to `answers`. Returns
/// at the end of input (dropping `server`, which the server sees as the end of input).
pub async fn read_client<I, W>(mut input: I, mut server: W, answers: mpsc::UnboundedSender<Vec<u8>>)
where
    I: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameReader::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        frames.push(&chunk[..read]);
        while let Some(frame) = frames.next_frame() {
            match frame {
                Frame::Message { whole, body_start } => match route(&whole[body_start..]) {
                    Route::Pass => {
                        if server.write_all(&whole).await.is_err() {
                            return;
                        }
                    }
                    Route::Rewritten(body) => {
                        drop(whole);
                        if server.write_all(&frame_of(&body)).await.is_err() {
                            return;
                        }
                    }
                    Route::Answer(answer) => {
                        tracing::warn!(
                            "undecodable message from the client answered with an error"
                        );
                        let _ = answers.send(answer);
                    }
                },
                Frame::Garbage(reason) => {
                    tracing::warn!(%reason, "garbage from the client dropped");
                    let _ = answers.send(error_frame(
                        Value::Null,
                        -32700,
                        &format!("Parse error: {reason}"),
                    ));
                }
            }
        }
    }
}

/// Copies the server's frames to `output`, with the guard's answers between whole frames. Returns
/// when the server's output ends.
pub async fn write_client<R, O>(
    mut server: R,
    mut answers: mpsc::UnboundedReceiver<Vec<u8>>,
    output: O,
) where
    R: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let mut output = std::pin::pin!(output);
    let mut frames = FrameReader::default();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut answers_open = true;
    loop {
        tokio::select! {
            read = server.read(&mut chunk) => {
                let read = match read {
                    Ok(0) | Err(_) => break,
                    Ok(read) => read,
                };
                frames.push(&chunk[..read]);
                while let Some(Frame::Message { whole, .. }) = frames.next_frame() {
                    if output.write_all(&whole).await.is_err() {
                        return;
                    }
                }
                if output.flush().await.is_err() {
                    return;
                }
            }
            answer = answers.recv(), if answers_open => match answer {
                Some(answer) => {
                    if output.write_all(&answer).await.is_err() || output.flush().await.is_err() {
                        return;
                    }
                }
                None => answers_open = false,
            },
        }
    }
    let _ = output.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    /// The guard's answer to `body`, when it answers it itself.
    fn answered(body: &[u8]) -> Option<Vec<u8>> {
        match route(body) {
            Route::Answer(frame) => Some(frame),
            Route::Pass | Route::Rewritten(_) => None,
        }
    }

    /// The bodies of the frames `read_client` passes on to the server for `input`.
    async fn passed_on(input: &[u8]) -> Vec<Value> {
        let (answers, _unanswered) = mpsc::unbounded_channel();
        let mut server = Vec::new();
        read_client(input, &mut server, answers).await;
        let mut frames = FrameReader::default();
        frames.push(&server);
        std::iter::from_fn(|| match frames.next_frame()? {
            Frame::Message { whole, body_start } => {
                Some(serde_json::from_slice(&whole[body_start..]).expect("JSON"))
            }
            Frame::Garbage(reason) => panic!("{reason}"),
        })
        .collect()
    }

    #[tokio::test]
    async fn changes_before_a_whole_text_replacement_do_not_reach_the_server() {
        let whole_text = |fill: &str| json!({ "text": fill.repeat(LARGE_CHANGE_BYTES / 2) });
        let ranged = |text: &str| {
            json!({
                "range": { "start": { "line": 0, "character": 0 },
                           "end": { "line": 0, "character": 1 } },
                "text": text
            })
        };
        let did_change = |changes: Vec<Value>| {
            json!({
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": { "uri": "file:///huge.py", "version": 7 },
                    "contentChanges": changes
                }
            })
        };
        let large = did_change(vec![
            whole_text("a"),
            ranged("b"),
            whole_text("c"),
            ranged("d"),
        ]);
        // A small message is passed on as it came, overwritten changes and all.
        let small = did_change(vec![json!({ "text": "a" }), json!({ "text": "c" })]);
        let input = [frame(&large.to_string()), frame(&small.to_string())].concat();

        let passed = passed_on(&input).await;
        assert_eq!(passed.len(), 2);
        let kept = did_change(vec![whole_text("c"), ranged("d")]);
        assert!(passed[0] == kept, "{:.300}", passed[0].to_string());
        assert_eq!(passed[1], small);
    }

    #[test]
    fn frames_split_across_reads() {
        let mut reader = FrameReader::default();
        let bytes = [frame("{\"a\":1}"), frame("{}")].concat();
        for byte in &bytes[..bytes.len() - 1] {
            reader.push(&[*byte]);
        }
        assert!(matches!(reader.next_frame(), Some(Frame::Message { .. })));
        assert_eq!(reader.next_frame(), None);
        reader.push(&bytes[bytes.len() - 1..]);
        let Some(Frame::Message { whole, body_start }) = reader.next_frame() else {
            panic!("no second frame")
        };
        assert_eq!(&whole[body_start..], b"{}");
    }

    #[test]
    fn a_large_frame_does_not_keep_its_room() {
        let mut reader = FrameReader::default();
        let large = format!("{{\"text\":\"{}\"}}", "x".repeat(4 << 20));
        reader.push(&[frame(&large), frame("{}")].concat());
        assert!(matches!(reader.next_frame(), Some(Frame::Message { .. })));
        assert!(
            reader.buffer.capacity() <= KEPT_BUFFER_BYTES,
            "{} bytes kept",
            reader.buffer.capacity()
        );
        let Some(Frame::Message { whole, body_start }) = reader.next_frame() else {
            panic!("the frame after it was lost")
        };
        assert_eq!(&whole[body_start..], b"{}");
    }

    #[test]
    fn headers_are_case_insensitive_and_garbage_is_skipped() {
        let mut reader = FrameReader::default();
        reader.push(b"Nonsense\r\n\r\ncontent-length: 2\r\nContent-Type: x\r\n\r\n{}");
        assert!(matches!(reader.next_frame(), Some(Frame::Garbage(_))));
        assert!(matches!(reader.next_frame(), Some(Frame::Message { .. })));
    }

    #[test]
    fn only_json_rpc_messages_pass() {
        assert_eq!(answered(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#), None);
        assert_eq!(answered(br#"{"jsonrpc":"2.0","id":1,"result":null}"#), None);
        let answer = |body: &[u8]| {
            let frame = answered(body).expect("an error answer");
            let text = String::from_utf8(frame).unwrap();
            let body = text.split("\r\n\r\n").nth(1).unwrap().to_owned();
            serde_json::from_str::<Value>(&body).unwrap()
        };
        assert_eq!(answer(b"{\"jsonrpc\": ")["error"]["code"], -32700);
        assert_eq!(answer(b"\xff\xfe")["error"]["code"], -32700);
        let invalid = answer(br#"{"jsonrpc":"1.0","id":5,"method":"x"}"#);
        assert_eq!(invalid["error"]["code"], -32600);
        assert_eq!(invalid["id"], 5);
        assert_eq!(answer(b"[1, 2]")["id"], Value::Null);
    }

    #[test]
    fn dollar_requests_are_answered_and_dollar_notifications_pass() {
        let frame = answered(br#"{"jsonrpc":"2.0","id":"a7","method":"$/unknown","params":{}}"#)
            .expect("a `$/` request is answered by the guard");
        let text = String::from_utf8(frame).unwrap();
        let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["code"], -32601);
        assert_eq!(body["id"], "a7");
        assert_eq!(
            answered(br#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#),
            None
        );
        assert_eq!(
            answered(br#"{"jsonrpc":"2.0","id":3,"method":"x/y"}"#),
            None
        );
    }
}
