//! A pure, incremental parser for server-sent events (the WHATWG `text/event-stream` format).
//!
//! Bytes go in as they arrive, in chunks of any size; events come out when a blank line ends them.
//! It knows nothing of HTTP or JSON: [`crate::wire`] gives the events' data its meaning.
//!
//! Follows the spec where servers differ: lines end in LF, CRLF or CR (a CRLF may be split across
//! two chunks); `data:` with or without the space after the colon; several `data:` lines join with
//! `\n`; `:` starts a comment; `event:` names the event; `id:`, `retry:` and unknown fields are
//! ignored; a leading byte-order mark is dropped. One deliberate leniency: at the end of the stream
//! an event without its closing blank line is still delivered (the spec drops it), so a server that
//! ends with `data: [DONE]\n` and closes is not misread as a cut stream.

use std::mem;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (OpenAI streams send none; some servers send `error`).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// The stream broke the format in a way the parser will not absorb.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error(
        "an event-stream line or event is longer than {} bytes",
        MAX_EVENT_BYTES
    )]
    TooLong,
}

/// The longest line or event accepted. A chat-completions chunk is a few hundred bytes; this bound
/// only stops a server that never sends a newline from growing the buffer without end.
pub const MAX_EVENT_BYTES: usize = 4 << 20;

/// Incremental event-stream parser. Feed it with [`SseParser::push`], end it with
/// [`SseParser::finish`].
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF at the start of the next one belongs to it.
    skip_lf: bool,
    /// Past the first line (where a byte-order mark may sit).
    started: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `chunk` and appends every event it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut rest = chunk;
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            let was_cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if was_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            let line = mem::take(&mut self.line);
            self.process_line(&line, out)?;
            // Keep the allocation for the next line.
            self.line = line;
            self.line.clear();
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_EVENT_BYTES {
            return Err(SseError::TooLong);
        }
        Ok(())
    }

    /// Ends the stream: a last unterminated line is parsed and a pending event is delivered
    /// (see the module docs for why).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if !self.line.is_empty() {
            let line = mem::take(&mut self.line);
            self.process_line(&line, out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut line = line;
        if !self.started {
            self.started = true;
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
                if self.data.len() > MAX_EVENT_BYTES {
                    return Err(SseError::TooLong);
                }
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take();
        if mem::take(&mut self.has_data) {
            out.push(SseEvent {
                event,
                data: mem::take(&mut self.data),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk, &mut out).unwrap();
        }
        parser.finish(&mut out).unwrap();
        out
    }

    fn parse(input: &str) -> Vec<SseEvent> {
        parse_chunks(&[input.as_bytes()])
    }

    fn data(items: &[&str]) -> Vec<SseEvent> {
        items
            .iter()
            .map(|d| SseEvent {
                event: None,
                data: (*d).to_owned(),
            })
            .collect()
    }

    #[test]
    fn openai_style_stream() {
        let input = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        assert_eq!(parse(input), data(&["{\"a\":1}", "{\"b\":2}", "[DONE]"]));
    }

    #[test]
    fn data_without_space_after_colon() {
        assert_eq!(parse("data:{\"a\":1}\n\n"), data(&["{\"a\":1}"]));
        // Only one space is stripped.
        assert_eq!(parse("data:  x\n\n"), data(&[" x"]));
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        assert_eq!(
            parse("data: a\r\n\r\ndata: b\r\rdata: c\n\n"),
            data(&["a", "b", "c"])
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        // "data: a\r" | "\n" | "\r\n": the LF after a CR at the end of a chunk must not count as a
        // second (blank) line, which would dispatch early.
        let out = parse_chunks(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(out, data(&["a\nb"]));
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let input = ": keep-alive\n\nid: 7\nretry: 1000\nfoo: bar\nnocolon\ndata: x\n\n:\n\n";
        assert_eq!(parse(input), data(&["x"]));
    }

    #[test]
    fn event_field_names_the_event_and_resets() {
        let input = "event: error\ndata: {\"error\":\"boom\"}\n\ndata: next\n\n";
        assert_eq!(
            parse(input),
            vec![
                SseEvent {
                    event: Some("error".into()),
                    data: "{\"error\":\"boom\"}".into()
                },
                SseEvent {
                    event: None,
                    data: "next".into()
                },
            ]
        );
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert_eq!(parse("event: ping\n\ndata: x\n\n"), data(&["x"]));
    }

    #[test]
    fn multi_line_data_joins_with_newline() {
        assert_eq!(parse("data: {\"a\":\ndata: 1}\n\n"), data(&["{\"a\":\n1}"]));
        assert_eq!(parse("data\ndata\n\n"), data(&["\n"]));
    }

    #[test]
    fn empty_data_line_is_an_event_with_empty_data() {
        assert_eq!(parse("data:\n\n"), data(&[""]));
    }

    #[test]
    fn unterminated_last_event_is_delivered_at_end() {
        assert_eq!(parse("data: a\n\ndata: [DONE]"), data(&["a", "[DONE]"]));
        assert_eq!(parse("data: [DONE]\n"), data(&["[DONE]"]));
    }

    #[test]
    fn pending_data_is_not_dispatched_before_finish() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.push(b"data: a\n", &mut out).unwrap();
        assert!(out.is_empty());
        parser.push(b"\n", &mut out).unwrap();
        assert_eq!(out, data(&["a"]));
    }

    #[test]
    fn leading_bom_is_dropped() {
        assert_eq!(parse("\u{feff}data: a\n\n"), data(&["a"]));
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let text = "data: héllo 世界 🎉\n\n".as_bytes();
        for cut in 1..text.len() {
            let out = parse_chunks(&[&text[..cut], &text[cut..]]);
            assert_eq!(out, data(&["héllo 世界 🎉"]), "cut at {cut}");
        }
    }

    #[test]
    fn endless_line_is_refused() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let chunk = vec![b'x'; 1 << 20];
        let mut result = Ok(());
        for _ in 0..5 {
            result = parser.push(&chunk, &mut out);
        }
        assert_eq!(result, Err(SseError::TooLong));
    }

    /// Every way of cutting a stream into chunks must give the same events as the whole stream.
    #[test]
    fn random_chunk_splits_give_the_same_events() {
        let stream = concat!(
            "\u{feff}: comment\r\n",
            "event: message\r\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"héllo\"}}]}\r\n\r\n",
            "data:{\"x\":1}\n",
            "data: second line\n\n",
            "id: 1\rretry: 5\rdata: cr only\r\r",
            ": ping\n\n",
            "data: 世界 🎉\n\n",
            "data: [DONE]\n\n",
        )
        .as_bytes();
        let expected = parse_chunks(&[stream]);
        assert_eq!(expected.len(), 5);
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        for _ in 0..2000 {
            let mut chunks = Vec::new();
            let mut rest = stream;
            while !rest.is_empty() {
                // Mostly small pieces, so CRLF pairs and UTF-8 sequences get split often; empty
                // chunks too, which a body stream may yield.
                let take = rng.usize(0..=rest.len().min(12));
                chunks.push(&rest[..take]);
                rest = &rest[take..];
            }
            assert_eq!(parse_chunks(&chunks), expected, "chunks: {chunks:?}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes), expected);
    }
}
