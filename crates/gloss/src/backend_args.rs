//! The flags that choose where explanations are generated, shared by `gloss explain` and
//! `gloss bench`: the local model (the default) or an OpenAI-compatible server.

use anyhow::bail;
use gloss_explain::Backend;
use gloss_explain::remote::{RemoteConfig, RemoteGenerator};

#[derive(clap::Args, Clone, Debug)]
pub struct BackendArgs {
    /// Where to generate: `local` (the model inside gloss, on this machine) or `openai` (an
    /// OpenAI-compatible server: vLLM, llama-server, TGI, Ollama, LM Studio).
    #[arg(long, default_value = "local")]
    pub backend: Backend,
    /// The server's URL for `--backend openai`, e.g. http://127.0.0.1:8080 or https://host/v1.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The model name the server serves (see its /v1/models), for `--backend openai`.
    #[arg(long)]
    pub remote_model: Option<String>,
    /// The NAME of the environment variable that holds the server's API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Allow plain http:// to a host that is not this machine (code crosses the network
    /// unencrypted).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

impl BackendArgs {
    /// The remote generator for `--backend openai`; `None` for the local model.
    pub fn remote(&self) -> anyhow::Result<Option<RemoteGenerator>> {
        match self.backend {
            Backend::Local => {
                if self.endpoint.is_some() || self.remote_model.is_some() {
                    bail!(
                        "--endpoint and --remote-model need --backend openai (the default backend \
                         is the local model)"
                    );
                }
                Ok(None)
            }
            Backend::Openai => {
                let (Some(endpoint), Some(model)) = (&self.endpoint, &self.remote_model) else {
                    bail!(
                        "--backend openai needs --endpoint URL (e.g. http://127.0.0.1:8080) and \
                         --remote-model NAME (a model the server serves)"
                    );
                };
                let config = RemoteConfig {
                    api_key_env: self.api_key_env.clone(),
                    allow_insecure_http: self.allow_insecure_http,
                    ..RemoteConfig::new(endpoint.clone(), model.clone())
                };
                let remote = RemoteGenerator::new(config)?;
                let target = remote.target();
                if !target.loopback {
                    eprintln!(
                        "gloss: sending the code to {} (model `{}`), which is not this machine",
                        target.endpoint, target.model
                    );
                }
                Ok(Some(remote))
            }
        }
    }
}
