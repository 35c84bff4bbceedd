//! The API key: sent as a bearer token, never shown; a 401 names the environment variable.
//!
//! One test in its own binary, because it sets an environment variable: no other thread of this
//! process reads the environment meanwhile.

mod support;

use std::time::Duration;

use gloss_remote::{RemoteClient, RemoteError};
use support::*;

const VAR: &str = "GLOSS_REMOTE_TEST_API_KEY";
const KEY: &str = "sk-test-hunter2";

#[test]
fn api_key_is_sent_never_shown_and_401_names_the_variable() {
    // A named variable that is not set is a configuration error naming it.
    let mut unset = config("http://127.0.0.1:9");
    unset.api_key_env = Some(VAR.into());
    let err = RemoteClient::new(unset).unwrap_err();
    assert!(
        matches!(&err, RemoteError::Config(m) if m.contains(VAR)),
        "{err}"
    );

    // SAFETY: this binary's only test, and no other thread touches the environment.
    unsafe { std::env::set_var(VAR, KEY) };

    let server = TestServer::start(|i, _| match i {
        0 => stream_of(&["authorized"]),
        _ => vec![response(
            401,
            "Unauthorized",
            &[],
            r#"{"error":{"message":"invalid api key sk-test-hunter2"}}"#,
        )],
    });
    let mut with_key = config(&server.url());
    with_key.api_key_env = Some(VAR.into());
    let client = RemoteClient::new(with_key).unwrap();

    let got = collect(
        &client.stream_chat(chat("hi"), never()),
        Duration::from_secs(10),
    );
    assert_eq!(got.text(), "authorized");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-hunter2"));

    let got = collect(
        &client.stream_chat(chat("hi"), never()),
        Duration::from_secs(10),
    );
    let err = got.result.unwrap_err();
    assert_eq!(
        err,
        RemoteError::Auth {
            status: 401,
            api_key_env: Some(VAR.into())
        }
    );
    let message = err.to_string();
    assert!(message.contains(VAR), "{message}");
    assert!(!message.contains(KEY), "{message}");
    assert_eq!(server.request_count(), 2, "401 is not retried");

    // The tokenizer and health calls send the key too, and 401 there is Auth as well.
    assert!(matches!(
        client.count_tokens("x"),
        Err(RemoteError::Auth { status: 401, .. })
    ));
    assert!(matches!(
        client.check_health(),
        Err(RemoteError::Auth { status: 401, .. })
    ));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer sk-test-hunter2"))
    );

    let debug = format!("{client:?}");
    assert!(debug.contains(VAR), "{debug}");
    assert!(!debug.contains(KEY), "{debug}");
}
