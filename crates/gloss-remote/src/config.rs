//! What the user configures ([`RemoteConfig`]) and its validation into an [`Endpoint`]: the URLs
//! gloss calls, whether the host is this machine, and the insecure-http rule.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use reqwest::header::HeaderValue;
use url::{Host, Url};

use crate::error::RemoteError;
use crate::retry::RetryPolicy;

/// How to reach an OpenAI-compatible chat-completions server.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Base URL, e.g. `http://127.0.0.1:8080` or `https://host/v1` (a trailing `/v1` is optional).
    pub endpoint: String,
    /// The remote model name, sent as `"model"`.
    pub model: String,
    /// The NAME of an environment variable holding the API key, read once by
    /// [`crate::RemoteClient::new`]. The key itself never sits in the configuration, so printing
    /// a configuration cannot leak it.
    pub api_key_env: Option<String>,
    /// Plain `http://` to a host other than this machine sends prompts (source code) and the key
    /// in clear text; refused unless this is set.
    pub allow_insecure_http: bool,
    /// Chat streams in flight at once, across all clones of a client; more wait in a queue
    /// (still cancellable). Token counts and health checks are not queued.
    pub max_concurrent_requests: usize,
    /// Budget for connecting and for the response headers to arrive (time to first byte).
    /// Connecting alone gets at most 10 s of it; a host that does not answer by then is reported
    /// as unreachable.
    pub request_timeout: Duration,
    /// Longest silence between two chunks of a stream.
    pub idle_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            model: String::new(),
            api_key_env: None,
            allow_insecure_http: false,
            max_concurrent_requests: 4,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

impl RemoteConfig {
    /// A configuration with the defaults for everything but the endpoint and the model.
    pub fn new(endpoint: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            model: model.into(),
            ..Self::default()
        }
    }
}

/// A validated endpoint: where each API lives.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// The server root, without `/v1` and without a trailing slash.
    base: Url,
    loopback: bool,
}

impl Endpoint {
    /// Checks the URL, the scheme and the insecure-http rule.
    pub(crate) fn parse(endpoint: &str, allow_insecure_http: bool) -> Result<Self, RemoteError> {
        let trimmed = endpoint.trim();
        if trimmed.is_empty() {
            return Err(RemoteError::Config(
                "the endpoint is empty; set it to the server's URL, e.g. http://127.0.0.1:8080"
                    .into(),
            ));
        }
        let mut url = Url::parse(trimmed).map_err(|e| {
            RemoteError::Config(format!(
                "the endpoint `{trimmed}` is not a URL ({e}); write it like http://127.0.0.1:8080 or \
                 https://host/v1"
            ))
        })?;
        let scheme = url.scheme().to_owned();
        if scheme != "http" && scheme != "https" {
            return Err(RemoteError::Config(format!(
                "the endpoint must start with http:// or https://, not {scheme}://"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Credentials in the URL would end up in logs and messages.
            return Err(RemoteError::Config(
                "the endpoint contains credentials; remove them and put the API key in an \
                 environment variable named by api_key_env"
                    .into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(RemoteError::Config(
                "the endpoint must not have a query (?...) or fragment (#...)".into(),
            ));
        }
        let Some(host) = url.host() else {
            return Err(RemoteError::Config(format!(
                "the endpoint `{trimmed}` has no host"
            )));
        };
        let loopback = is_loopback_host(&host);
        if scheme == "http" && !loopback && !allow_insecure_http {
            return Err(RemoteError::Config(format!(
                "refusing plain http:// to {}, which is not this machine: prompts (your code) and \
                 the API key would cross the network unencrypted. Use https://, or set \
                 allow_insecure_http if the network is trusted",
                url.host_str().unwrap_or_default()
            )));
        }
        // Accept ".../v1", ".../v1/" and the bare root alike: the APIs are joined on below.
        let path = url.path().trim_end_matches('/');
        let path = path.strip_suffix("/v1").unwrap_or(path).to_owned();
        url.set_path(&path);
        Ok(Self {
            base: url,
            loopback,
        })
    }

    pub(crate) fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// `{base}/v1/chat/completions`.
    pub(crate) fn chat_completions(&self) -> Url {
        self.join("/v1/chat/completions")
    }

    /// `{base}/v1/models`.
    pub(crate) fn models(&self) -> Url {
        self.join("/v1/models")
    }

    /// `{base}/health` (llama-server, TGI, vLLM).
    pub(crate) fn health(&self) -> Url {
        self.join("/health")
    }

    /// `{base}/tokenize` (llama-server, vLLM).
    pub(crate) fn tokenize(&self) -> Url {
        self.join("/tokenize")
    }

    fn join(&self, api: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{api}", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// The base URL for messages (credentials are refused at parse time, so there are none).
    pub(crate) fn display(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback()
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4: Ipv4Addr| v4.is_loopback())
        }
    }
}

/// Reads the API key from the environment variable named by `api_key_env`.
pub(crate) fn read_api_key(api_key_env: Option<&str>) -> Result<Option<ApiKey>, RemoteError> {
    let Some(name) = api_key_env else {
        return Ok(None);
    };
    if name.is_empty() {
        return Err(RemoteError::Config(
            "api_key_env is empty; set it to the NAME of an environment variable holding the key"
                .into(),
        ));
    }
    let key = match std::env::var(name) {
        Ok(key) if !key.trim().is_empty() => key,
        Ok(_) => {
            return Err(RemoteError::Config(format!(
                "the environment variable `{name}` (named by api_key_env) is empty; set it to the \
                 API key"
            )));
        }
        Err(_) => {
            return Err(RemoteError::Config(format!(
                "the environment variable `{name}` (named by api_key_env) is not set (or not \
                 UTF-8); export it with the API key before starting gloss"
            )));
        }
    };
    ApiKey::new(key.trim()).map(Some).ok_or_else(|| {
        RemoteError::Config(format!(
            "the API key in `{name}` (named by api_key_env) contains characters an HTTP header \
             cannot carry; check for stray quotes or line breaks"
        ))
    })
}

/// An API key, kept as its ready `Authorization` header value, marked sensitive. Its `Debug`
/// never shows it.
#[derive(Clone)]
pub(crate) struct ApiKey(HeaderValue);

impl ApiKey {
    fn new(key: &str) -> Option<Self> {
        let mut value = HeaderValue::from_str(&format!("Bearer {key}")).ok()?;
        // Keeps the value out of reqwest's and http's own debug output.
        value.set_sensitive(true);
        Some(Self(value))
    }

    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Endpoint, RemoteError> {
        Endpoint::parse(url, false)
    }

    #[test]
    fn v1_suffix_is_optional() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8080/v1/",
        ] {
            let e = parse(url).unwrap();
            assert_eq!(
                e.chat_completions().as_str(),
                "http://127.0.0.1:8080/v1/chat/completions",
                "{url}"
            );
            assert_eq!(
                e.tokenize().as_str(),
                "http://127.0.0.1:8080/tokenize",
                "{url}"
            );
            assert_eq!(e.display(), "http://127.0.0.1:8080", "{url}");
        }
    }

    #[test]
    fn path_prefix_is_kept() {
        let e = parse("https://example.com/api/openai/v1").unwrap();
        assert_eq!(
            e.chat_completions().as_str(),
            "https://example.com/api/openai/v1/chat/completions"
        );
        assert_eq!(
            e.models().as_str(),
            "https://example.com/api/openai/v1/models"
        );
        assert_eq!(e.health().as_str(), "https://example.com/api/openai/health");
        assert!(!e.is_loopback());
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://localhost:1",
            "http://LOCALHOST.:1",
            "http://127.0.0.1",
            "http://127.9.8.7",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]",
            "http://api.localhost",
        ] {
            assert!(parse(url).unwrap().is_loopback(), "{url}");
        }
        for url in [
            "https://10.0.0.1",
            "https://localhost.example.com",
            "https://[::2]",
            "https://128.0.0.1",
        ] {
            assert!(!parse(url).unwrap().is_loopback(), "{url}");
        }
    }

    #[test]
    fn insecure_http_to_another_host_is_refused() {
        let err = parse("http://10.1.2.3:8000").unwrap_err();
        let RemoteError::Config(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("allow_insecure_http"), "{msg}");
        assert!(Endpoint::parse("http://10.1.2.3:8000", true).is_ok());
        assert!(parse("https://10.1.2.3:8000").is_ok());
    }

    #[test]
    fn bad_endpoints_are_config_errors() {
        for url in [
            "",
            "   ",
            "127.0.0.1:8080",
            "ftp://localhost",
            "http://user:pw@localhost:1",
            "http://localhost:1/?a=b",
            "not a url",
        ] {
            assert!(matches!(parse(url), Err(RemoteError::Config(_))), "{url:?}");
        }
    }

    #[test]
    fn credentials_never_shown() {
        let err = parse("http://user:hunter2@localhost:1").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn missing_api_key_env_is_a_config_error_naming_it() {
        let err = read_api_key(Some("GLOSS_REMOTE_TEST_SURELY_UNSET_VAR")).unwrap_err();
        assert!(
            err.to_string()
                .contains("GLOSS_REMOTE_TEST_SURELY_UNSET_VAR"),
            "{err}"
        );
        assert!(read_api_key(None).unwrap().is_none());
        assert!(read_api_key(Some("")).is_err());
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let key = ApiKey::new("sk-secret").unwrap();
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(key.header(), "Bearer sk-secret");
        assert!(key.header().is_sensitive());
        assert!(!format!("{:?}", key.header()).contains("sk-secret"));
        assert!(ApiKey::new("bad\nkey").is_none());
    }
}
