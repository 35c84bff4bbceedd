//! Fault tests: the client against a scripted HTTP server that misbehaves on cue.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use gloss_remote::{
    CancelCheck, FinishReason, RemoteClient, RemoteError, RemoteEvent, TimeoutStage,
};
use support::*;

fn cancel_flag() -> (Arc<AtomicBool>, CancelCheck) {
    let flag = Arc::new(AtomicBool::new(false));
    let check = {
        let flag = flag.clone();
        Arc::new(move || flag.load(Ordering::SeqCst)) as CancelCheck
    };
    (flag, check)
}

#[test]
fn streams_text_and_sends_the_openai_request() {
    let server = TestServer::start(|_, _| stream_of(&["Hel", "lo", " wörld"]));
    let mut request = chat("hi");
    request.seed = Some(3);
    request.stop = vec!["END".into()];
    let got = run(config(&server.url()), request);
    assert!(got.started);
    assert_eq!(got.texts, ["Hel", "lo", " wörld"]);
    let finish = got.result.unwrap();
    assert_eq!(finish.reason, FinishReason::Stop);
    assert_eq!(finish.completion_tokens, 3);
    assert_eq!(finish.prompt_tokens, Some(7));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert_eq!(
        sent.header("authorization"),
        None,
        "no key configured, no header"
    );
    let body = sent.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][0]["content"], "hi");
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(body["seed"], 3);
    assert_eq!(body["stop"][0], "END");
}

#[test]
fn endpoint_with_v1_suffix_reaches_the_same_api() {
    let server = TestServer::start(|_, _| stream_of(&["ok"]));
    let got = run(config(&format!("{}/v1/", server.url())), chat("hi"));
    assert_eq!(got.text(), "ok");
    assert_eq!(server.requests()[0].path, "/v1/chat/completions");
}

#[test]
fn rate_limited_with_retry_after_then_success() {
    let server = TestServer::start(|i, _| match i {
        0 => vec![response(
            429,
            "Too Many Requests",
            &[("Retry-After", "1")],
            "slow down",
        )],
        _ => stream_of(&["after", " wait"]),
    });
    let start = Instant::now();
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "after wait");
    assert_eq!(server.request_count(), 2);
    // The backoff alone would be ~20 ms; the server asked for 1 s.
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn retry_after_longer_than_the_cap_fails_at_once_with_the_wait() {
    let server = TestServer::start(|_, _| {
        vec![response(
            429,
            "Too Many Requests",
            &[("Retry-After", "120")],
            "",
        )]
    });
    let start = Instant::now();
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(
        got.result,
        Err(RemoteError::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        })
    );
    assert!(got.result.unwrap_err().to_string().contains("120 s"));
    assert_eq!(server.request_count(), 1);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn rate_limited_on_every_attempt_reports_rate_limited() {
    let server = TestServer::start(|_, _| vec![response(429, "Too Many Requests", &[], "")]);
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(
        got.result,
        Err(RemoteError::RateLimited { retry_after: None })
    );
    assert_eq!(server.request_count(), 3, "max_attempts");
    assert!(!got.started);
}

#[test]
fn unavailable_twice_then_success() {
    let server = TestServer::start(|i, _| match i {
        0 => vec![response(
            503,
            "Service Unavailable",
            &[],
            r#"{"error":{"message":"Loading model"}}"#,
        )],
        1 => vec![response(
            503,
            "Service Unavailable",
            &[("Retry-After", "Thu, 01 Jan 1970 00:00:00 GMT")],
            "",
        )],
        _ => stream_of(&["third", " time"]),
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.texts, ["third", " time"], "text once, never duplicated");
    assert_eq!(server.request_count(), 3);
}

#[test]
fn bad_gateway_and_gateway_timeout_are_retried() {
    let server = TestServer::start(|i, _| match i {
        0 => vec![response(
            502,
            "Bad Gateway",
            &[],
            "<html>bad gateway</html>",
        )],
        1 => vec![response(504, "Gateway Timeout", &[], "")],
        _ => stream_of(&["ok"]),
    });
    assert_eq!(run(config(&server.url()), chat("hi")).text(), "ok");
    assert_eq!(server.request_count(), 3);
}

#[test]
fn unavailable_on_every_attempt_reports_the_last_status() {
    let server = TestServer::start(|_, _| {
        vec![response(
            503,
            "Service Unavailable",
            &[],
            r#"{"error":{"message":"Loading model"}}"#,
        )]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(
        got.result,
        Err(RemoteError::Http {
            status: 503,
            body_excerpt: "Loading model".into()
        })
    );
    assert_eq!(server.request_count(), 3);
}

#[test]
fn internal_server_error_is_reported_without_retry() {
    let server = TestServer::start(|_, _| {
        vec![response(
            500,
            "Internal Server Error",
            &[("Content-Type", "application/json")],
            r#"{"error":{"message":"boom","type":"server_error"}}"#,
        )]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(
        got.result,
        Err(RemoteError::Http {
            status: 500,
            body_excerpt: "boom".into()
        })
    );
    assert_eq!(server.request_count(), 1);
    assert!(!got.started);
}

#[test]
fn other_client_errors_are_not_retried() {
    let server = TestServer::start(|_, _| {
        vec![response(
            404,
            "Not Found",
            &[],
            r#"{"error":{"message":"model 'x' not found"}}"#,
        )]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(
        got.result,
        Err(RemoteError::Http {
            status: 404,
            body_excerpt: "model 'x' not found".into()
        })
    );
    assert_eq!(server.request_count(), 1);
}

#[test]
fn stream_cut_mid_answer_keeps_the_text_delivered() {
    // Body delimited by the connection: the server just closes.
    let server = TestServer::start(|_, _| {
        vec![
            sse_head(),
            raw(&delta("Hel")),
            raw(&delta("lo")),
            Step::Sleep(Duration::from_millis(50)),
        ]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "Hello");
    assert!(
        matches!(got.result, Err(RemoteError::StreamCut { .. })),
        "{:?}",
        got.result
    );
    assert_eq!(
        server.request_count(),
        1,
        "never retried once text was emitted"
    );
}

#[test]
fn chunked_stream_cut_mid_answer_is_stream_cut() {
    // Chunked body closed without its last chunk: the HTTP layer itself sees the cut.
    let server = TestServer::start(|_, _| {
        vec![
            sse_chunked_head(),
            chunked(delta("Hel").as_bytes()),
            chunked(delta("lo").as_bytes()),
        ]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "Hello");
    assert!(
        matches!(got.result, Err(RemoteError::StreamCut { .. })),
        "{:?}",
        got.result
    );
}

#[test]
fn chunked_stream_completes() {
    let server = TestServer::start(|_, _| {
        vec![
            sse_chunked_head(),
            chunked(delta("a").as_bytes()),
            chunked(finish("length").as_bytes()),
            chunked(DONE.as_bytes()),
            chunked_end(),
        ]
    });
    let got = run(config(&server.url()), chat("hi"));
    let finish = got.result.unwrap();
    assert_eq!(finish.reason, FinishReason::Length);
    assert_eq!(finish.completion_tokens, 1, "no usage: counted deltas");
    assert_eq!(finish.prompt_tokens, None);
}

#[test]
fn cut_after_finish_reason_is_a_complete_answer() {
    // The answer is complete once finish_reason came; a lost usage chunk or [DONE] does not matter.
    let server = TestServer::start(|_, _| {
        vec![
            sse_chunked_head(),
            chunked(delta("done").as_bytes()),
            chunked(finish("stop").as_bytes()),
        ]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.result.unwrap().reason, FinishReason::Stop);
}

#[test]
fn slow_stream_still_completes() {
    let server = TestServer::start(|_, _| {
        let mut steps = vec![sse_head()];
        for word in ["one ", "two ", "three ", "four ", "five"] {
            steps.push(Step::Sleep(Duration::from_millis(200)));
            steps.push(raw(&delta(word)));
        }
        steps.push(raw(&finish("stop")));
        steps.push(raw(&usage(3, 9)));
        steps.push(raw(DONE));
        steps
    });
    let mut config = config(&server.url());
    config.idle_timeout = Duration::from_secs(1);
    let start = Instant::now();
    let got = run(config, chat("hi"));
    assert_eq!(got.text(), "one two three four five");
    assert_eq!(
        got.result.unwrap().completion_tokens,
        9,
        "usage wins over counted deltas"
    );
    assert!(start.elapsed() >= Duration::from_millis(1000));
}

#[test]
fn idle_timeout_between_chunks() {
    let server = TestServer::start(|_, _| {
        vec![
            sse_head(),
            raw(&delta("first")),
            Step::Sleep(Duration::from_secs(3)),
        ]
    });
    let mut config = config(&server.url());
    config.idle_timeout = Duration::from_millis(300);
    let start = Instant::now();
    let got = run(config, chat("hi"));
    assert_eq!(got.text(), "first");
    assert_eq!(
        got.result,
        Err(RemoteError::Timeout {
            stage: TimeoutStage::BetweenChunks,
            after: Duration::from_millis(300)
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn response_timeout_when_no_headers_come() {
    let server = TestServer::start(|_, _| vec![Step::Sleep(Duration::from_secs(3))]);
    let mut config = config(&server.url());
    config.request_timeout = Duration::from_millis(300);
    let start = Instant::now();
    let got = run(config, chat("hi"));
    assert_eq!(
        got.result,
        Err(RemoteError::Timeout {
            stage: TimeoutStage::Response,
            after: Duration::from_millis(300)
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        server.request_count(),
        1,
        "a slow server is not asked twice"
    );
}

#[test]
fn malformed_json_in_a_data_line_is_a_protocol_error() {
    // Strict: skipping an unreadable chunk could silently drop part of the answer.
    let server = TestServer::start(|_, _| {
        vec![
            sse_head(),
            raw(&delta("ok ")),
            raw("data: {\"choices\": [{\"delta\": \n\n"),
            raw(&delta("never")),
        ]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "ok ");
    assert!(
        matches!(&got.result, Err(RemoteError::Protocol(m)) if m.contains("not valid JSON")),
        "{:?}",
        got.result
    );
}

#[test]
fn lenient_stream_variants_are_read() {
    // What real servers send besides the plain form: keep-alive comments, event names, no space
    // after `data:`, CRLF, role-only and usage-only chunks, unknown fields, empty data, no [DONE].
    let body = concat!(
        ": ping\r\n\r\n",
        "event: message\r\n",
        "data:{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}],\"x-extra\":1}\r\n\r\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"logprobs\":null}]}\r\n\r\n",
        "data:\r\n\r\n",
        "id: 5\r\nretry: 100\r\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\r\n",
        "data: \"finish_reason\":\"stop\"}]}\r\n\r\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\r\n\r\n",
    );
    let server = TestServer::start(move |_, _| vec![sse_head(), raw(body)]);
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "ab");
    let finish = got.result.unwrap();
    assert_eq!(
        (
            finish.reason,
            finish.completion_tokens,
            finish.prompt_tokens
        ),
        (FinishReason::Stop, 2, Some(4))
    );
}

#[test]
fn error_payload_in_the_stream_is_an_error() {
    let server = TestServer::start(|_, _| {
        vec![
            sse_head(),
            raw(&delta("par")),
            raw("data: {\"error\":{\"message\":\"out of memory\",\"code\":500}}\n\n"),
        ]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "par");
    assert_eq!(
        got.result,
        Err(RemoteError::Server {
            message: "out of memory".into()
        })
    );
}

#[test]
fn json_body_instead_of_a_stream_is_a_protocol_error() {
    let server = TestServer::start(|_, _| {
        vec![response(
            200,
            "OK",
            &[("Content-Type", "application/json")],
            r#"{"choices":[{"message":{"content":"hi"}}]}"#,
        )]
    });
    let got = run(config(&server.url()), chat("hi"));
    assert!(
        matches!(&got.result, Err(RemoteError::Protocol(m)) if m.contains("event stream")),
        "{:?}",
        got.result
    );
}

#[test]
fn cancel_mid_stream_finishes_quickly_and_closes_the_connection() {
    let server = TestServer::start(|_, _| {
        vec![
            sse_head(),
            Step::StreamUntilClosed {
                chunk: delta("tok ").into_bytes(),
                every: Duration::from_millis(30),
            },
        ]
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    let (flag, cancel) = cancel_flag();
    let rx = client.stream_chat(chat("hi"), cancel);
    let mut texts = 0;
    while texts < 3 {
        if let RemoteEvent::Text(_) = rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            texts += 1;
        }
    }
    flag.store(true, Ordering::SeqCst);
    let cancelled_at = Instant::now();
    let got = collect(&rx, Duration::from_secs(5));
    let finish = got.result.unwrap();
    assert_eq!(finish.reason, FinishReason::Cancelled);
    assert!(finish.completion_tokens >= 3);
    assert!(
        cancelled_at.elapsed() < Duration::from_millis(500),
        "{:?}",
        cancelled_at.elapsed()
    );
    // The server notices the client went away (its writes fail), so it can stop generating.
    let closed_at = server
        .disconnects
        .recv_timeout(Duration::from_secs(3))
        .expect("server never saw the connection close");
    assert!(closed_at.duration_since(cancelled_at) < Duration::from_secs(2));
}

#[test]
fn cancel_during_backoff_stops_at_once() {
    let server = TestServer::start(|_, _| {
        vec![response(
            503,
            "Service Unavailable",
            &[("Retry-After", "4")],
            "",
        )]
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    let (flag, cancel) = cancel_flag();
    let rx = client.stream_chat(chat("hi"), cancel);
    while server.request_count() == 0 {
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(100));
    flag.store(true, Ordering::SeqCst);
    let cancelled_at = Instant::now();
    let got = collect(&rx, Duration::from_secs(5));
    assert_eq!(got.result.unwrap().reason, FinishReason::Cancelled);
    assert!(
        cancelled_at.elapsed() < Duration::from_millis(500),
        "{:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(server.request_count(), 1);
}

#[test]
fn cancel_before_start_sends_nothing() {
    let server = TestServer::start(|_, _| stream_of(&["x"]));
    let client = RemoteClient::new(config(&server.url())).unwrap();
    let got = collect(
        &client.stream_chat(chat("hi"), Arc::new(|| true)),
        Duration::from_secs(5),
    );
    assert_eq!(got.result.unwrap().reason, FinishReason::Cancelled);
    assert!(!got.started);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(server.request_count(), 0);
}

#[test]
fn concurrency_limit_queues_requests_and_queued_ones_can_be_cancelled() {
    // Requests being answered right now, and the most at once, counted by the server between
    // reading a request and sending the end of its answer (after which the client frees its slot).
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start({
        let (in_flight, peak) = (in_flight.clone(), peak.clone());
        move |_, _| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let mut steps = stream_of(&["slow"]);
            let in_flight = in_flight.clone();
            steps.insert(1, Step::Sleep(Duration::from_millis(300)));
            steps.insert(
                2,
                Step::Run(Box::new(move || {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                })),
            );
            steps
        }
    });
    let mut config = config(&server.url());
    config.max_concurrent_requests = 2;
    let client = RemoteClient::new(config).unwrap();
    let streams: Vec<_> = (0..4)
        .map(|_| client.stream_chat(chat("hi"), never()))
        .collect();
    // A fifth request waits in the queue behind the four, and is cancelled there.
    let (flag, cancel) = cancel_flag();
    let queued = client.stream_chat(chat("hi"), cancel);
    thread::sleep(Duration::from_millis(100));
    flag.store(true, Ordering::SeqCst);
    let got = collect(&queued, Duration::from_secs(2));
    assert_eq!(got.result.unwrap().reason, FinishReason::Cancelled);
    assert!(!got.started);
    for rx in &streams {
        assert_eq!(collect(rx, Duration::from_secs(10)).text(), "slow");
    }
    assert_eq!(
        server.request_count(),
        4,
        "the cancelled request was never sent"
    );
    assert_eq!(peak.load(Ordering::SeqCst), 2, "two at a time, never more");
}

#[test]
fn connection_refused_is_unreachable_after_retries() {
    let port = closed_port();
    let mut config = config(&format!("http://127.0.0.1:{port}"));
    config.retry.base_delay = Duration::from_millis(100);
    config.retry.max_delay = Duration::from_millis(400);
    let start = Instant::now();
    let got = run(config, chat("hi"));
    let elapsed = start.elapsed();
    let Err(RemoteError::Unreachable { endpoint, detail }) = &got.result else {
        panic!("{:?}", got.result)
    };
    assert_eq!(endpoint, &format!("http://127.0.0.1:{port}"));
    assert!(detail.to_lowercase().contains("refused"), "{detail}");
    // Two backoffs of at least 50 ms and 100 ms (equal jitter: at least half of 100 and 200 ms).
    assert!(
        elapsed >= Duration::from_millis(150),
        "retried: {elapsed:?}"
    );
    assert!(
        got.result
            .unwrap_err()
            .to_string()
            .contains("Is the server running")
    );
}

#[test]
fn insecure_http_to_another_host_is_refused_at_construction() {
    let err = RemoteClient::new(config("http://192.0.2.10:8000")).unwrap_err();
    assert!(
        matches!(&err, RemoteError::Config(m) if m.contains("allow_insecure_http")),
        "{err}"
    );
    let mut allowed = config("http://192.0.2.10:8000");
    allowed.allow_insecure_http = true;
    let client = RemoteClient::new(allowed).unwrap();
    assert!(!client.is_loopback());
    assert!(RemoteClient::new(config("https://192.0.2.10:8000")).is_ok());
    let local = RemoteClient::new(config("http://localhost:8080/v1")).unwrap();
    assert!(local.is_loopback());
    assert_eq!(local.endpoint_display(), "http://localhost:8080");
}

#[test]
fn count_tokens_llama_server_form() {
    let server = TestServer::start(|_, r| {
        let body = r.json();
        assert_eq!(body["content"], "fn main() {}");
        vec![response(
            200,
            "OK",
            &[("Content-Type", "application/json")],
            r#"{"tokens":[1,2,3,4]}"#,
        )]
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    assert_eq!(client.count_tokens("fn main() {}").unwrap(), Some(4));
    assert_eq!(client.count_tokens("fn main() {}").unwrap(), Some(4));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.path == "/tokenize"));
}

#[test]
fn count_tokens_vllm_form_after_the_llama_form_is_refused() {
    let server = TestServer::start(|_, r| {
        let body = r.json();
        if body.get("prompt").is_some() {
            assert_eq!(body["model"], "test-model");
            vec![response(
                200,
                "OK",
                &[],
                r#"{"count":5,"max_model_len":4096,"tokens":[1,2,3,4,5]}"#,
            )]
        } else {
            vec![response(
                422,
                "Unprocessable Entity",
                &[],
                r#"{"detail":"prompt: field required"}"#,
            )]
        }
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    assert_eq!(client.count_tokens("x").unwrap(), Some(5));
    assert_eq!(client.count_tokens("x").unwrap(), Some(5));
    assert_eq!(
        server.request_count(),
        3,
        "the dialect is remembered after one probe"
    );
}

#[test]
fn count_tokens_unsupported_is_none_and_remembered() {
    let server =
        TestServer::start(|_, _| vec![response(404, "Not Found", &[], "404 page not found")]);
    let client = RemoteClient::new(config(&server.url())).unwrap();
    assert_eq!(client.count_tokens("x").unwrap(), None);
    assert_eq!(client.clone().count_tokens("y").unwrap(), None);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn count_tokens_server_errors_are_errors_and_not_remembered() {
    let server = TestServer::start(|i, _| match i {
        0 => vec![response(500, "Internal Server Error", &[], "oops")],
        _ => vec![response(200, "OK", &[], r#"{"tokens":[9]}"#)],
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    assert!(matches!(
        client.count_tokens("x"),
        Err(RemoteError::Http { status: 500, .. })
    ));
    assert_eq!(client.count_tokens("x").unwrap(), Some(1));
}

#[test]
fn check_health_uses_models_then_health() {
    let server = TestServer::start(|_, r| match r.path.as_str() {
        "/v1/models" => vec![response(
            200,
            "OK",
            &[],
            r#"{"data":[{"id":"test-model"}]}"#,
        )],
        _ => vec![response(500, "Internal Server Error", &[], "")],
    });
    RemoteClient::new(config(&server.url()))
        .unwrap()
        .check_health()
        .unwrap();

    let server = TestServer::start(|_, r| match r.path.as_str() {
        "/health" => vec![response(200, "OK", &[], r#"{"status":"ok"}"#)],
        _ => vec![response(404, "Not Found", &[], "")],
    });
    RemoteClient::new(config(&server.url()))
        .unwrap()
        .check_health()
        .unwrap();
    let paths: Vec<_> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/models", "/health"]);

    let down = RemoteClient::new(config(&format!("http://127.0.0.1:{}", closed_port()))).unwrap();
    assert!(matches!(
        down.check_health(),
        Err(RemoteError::Unreachable { .. })
    ));
}

#[test]
fn dropping_the_client_mid_stream_still_finishes_the_stream() {
    let server = TestServer::start(|_, _| {
        vec![
            sse_head(),
            Step::StreamUntilClosed {
                chunk: delta("tok ").into_bytes(),
                every: Duration::from_millis(30),
            },
        ]
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    let rx = client.stream_chat(chat("hi"), never());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        RemoteEvent::Started
    );
    drop(client);
    let got = collect_rest(&rx);
    assert_eq!(got.unwrap().reason, FinishReason::Cancelled);
    server
        .disconnects
        .recv_timeout(Duration::from_secs(3))
        .expect("connection closed");
}

fn collect_rest(
    rx: &crossbeam_channel::Receiver<RemoteEvent>,
) -> Result<gloss_remote::Finish, RemoteError> {
    loop {
        match rx.recv_timeout(Duration::from_secs(5)).expect("Finished") {
            RemoteEvent::Finished(result) => return result,
            RemoteEvent::Text(_) => {}
            RemoteEvent::Started => panic!("Started twice"),
        }
    }
}

#[test]
fn works_from_inside_another_runtime() {
    let server = TestServer::start(|_, r| match r.path.as_str() {
        "/tokenize" => vec![response(200, "OK", &[], r#"{"tokens":[1]}"#)],
        _ => stream_of(&["in", " runtime"]),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = RemoteClient::new(config(&server.url())).unwrap();
        assert_eq!(client.count_tokens("x").unwrap(), Some(1));
        let rx = client.stream_chat(chat("hi"), never());
        assert_eq!(collect(&rx, Duration::from_secs(5)).text(), "in runtime");
        // Dropping the last clone inside an async context must not panic.
        drop(client);
    });
}

#[test]
fn debug_output_shows_no_secrets() {
    let client = RemoteClient::new(config("http://127.0.0.1:9")).unwrap();
    let debug = format!("{client:?}");
    assert!(
        debug.contains("127.0.0.1:9") && debug.contains("test-model"),
        "{debug}"
    );
}

#[test]
fn connection_closed_before_any_response_is_retried() {
    // What a keep-alive connection closed by the server at the moment it is reused looks like:
    // the request is written, the connection ends, no status line comes. Nothing was generated,
    // so asking again is safe.
    let server = TestServer::start(|i, _| match i {
        0 => vec![],
        _ => stream_of(&["second", " try"]),
    });
    let got = run(config(&server.url()), chat("hi"));
    assert_eq!(got.text(), "second try", "{:?}", got.result);
    assert_eq!(server.request_count(), 2);
}

#[test]
fn blocking_calls_try_once_more_after_a_closed_connection() {
    let server = TestServer::start(|i, r| match (i, r.path.as_str()) {
        (0 | 2, _) => vec![],
        (_, "/tokenize") => vec![response(200, "OK", &[], r#"{"tokens":[1,2]}"#)],
        _ => vec![response(200, "OK", &[], r#"{"data":[]}"#)],
    });
    let client = RemoteClient::new(config(&server.url())).unwrap();
    assert_eq!(client.count_tokens("x").unwrap(), Some(2));
    client.check_health().unwrap();
    assert_eq!(server.request_count(), 4);
}
