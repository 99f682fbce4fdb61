//! A wasmtime host for the vLLM provider component (`vllm:provider@0.1.0`).
//!
//! [`Harness::load`] compiles the component once (caching the compiled
//! artifact on disk), links WASI and `wasi:http`, and pre-instantiates it;
//! every call then runs in a fresh, sandboxed store:
//!
//! - outgoing HTTP only to the authority (`host:port`) of the resolved base
//!   URL, and none at all while resolving the configuration; anything else
//!   gets `HttpRequestDenied` ([`ProviderError::Denied`] to the caller);
//! - no filesystem, no sockets, no stdin, only the chosen environment
//!   variables; the plugin's stdout/stderr are kept (bounded) for reports;
//! - a memory cap (64 MiB by default), a CPU budget per call that counts
//!   only the plugin's own code, not time spent waiting on the network
//!   (10 s by default), and a cap on response body size.
//!
//! Errors keep apart what the user can fix from what broke:
//! [`CallError::Provider`] carries the plugin's [`ProviderError`] (the server
//! or the configuration said no; [`ProviderError::user_message`] says what
//! to do), [`CallError::Trap`] says the plugin crashed or hit a limit.
//! [`exit_code`] maps both onto the CLI's exit codes.
//!
//! ```no_run
//! use vllm_harness::{
//!     ChatRequest, ConfigInput, Harness, HarnessOptions, StreamEvent, env_from_process,
//! };
//!
//! # async fn demo() -> anyhow::Result<()> {
//! let harness = Harness::load(
//!     "target/wasm32-wasip2/release/vllm_provider.wasm",
//!     HarnessOptions::default(),
//! )?;
//! let mut config = harness
//!     .resolve_config(ConfigInput {
//!         provider_json: None,
//!         env: env_from_process(["VLLM_API_KEY"]),
//!         auth_profile_key: None,
//!         base_url_override: Some("http://127.0.0.1:8000/v1".into()),
//!     })
//!     .await?;
//! // Discovery fills in context windows, which the plugin uses to clamp
//! // max tokens.
//! config.models = harness.discover_models(&config).await?;
//!
//! let mut request = ChatRequest::user_text(&config.models[0].id, "Hello!");
//! request.sampling.max_tokens = Some(64);
//! let mut stream = harness.stream(&config, request).await?;
//! while let Some(events) = stream.next().await? {
//!     for event in events {
//!         if let StreamEvent::TextDelta(text) = event {
//!             print!("{text}");
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod authority;
mod bindings;
mod cache;
mod call;
mod capture;
mod engine;
mod env;
mod error;
mod footprint;
mod harness;
mod inspect;
mod limits;
mod outgoing;
mod provider_error;
mod redaction;
mod requests;
mod sandbox;
mod slots;
mod spare;
mod state;
mod stream;
mod warnings;

pub use authority::{Authority, AuthorityError};
pub use bindings::{
    AssistantMessage, ChatRequest, Check, CheckStatus, Completion, ConfigError, ConfigInput,
    ConnectionError, ContentPart, ContextLengthError, FinishReason, InputKind, JsonSchemaFormat,
    KeyValue, Message, Model, ModelCompat, ModelCost, ModelNotFoundError, ProviderConfig,
    ProviderError, ProviderMode, Sampling, ServerError, StreamEvent, StructuredOutput,
    ThinkingFormat, ThinkingLevel, ThinkingProfile, Tool, ToolCall, ToolCallDelta, ToolCallStart,
    ToolChoice, ToolResult, Usage,
};
pub use cache::{CompileCache, LoadInfo, MAX_ENTRIES as CACHE_MAX_ENTRIES};
pub use capture::CAPTURE_LIMIT;
pub use engine::{MAX_LIVE_STORES, STORES_VAR};
pub use env::{API_KEY_VAR, env_from_process};
pub use error::{CallError, LoadError, PluginTrap, exit_code};
pub use footprint::{MAX_RESULT_BYTES, MAX_RESULT_ITEMS};
pub use harness::{Harness, HarnessOptions};
pub use inspect::{GRANTED, Inspection, Item, PROVIDER_INTERFACE, SUPPORTED_VERSIONS};
pub use limits::EPOCH_TICK;
pub use redaction::{MIN_SECRET_LEN, is_secret_name, redact};
pub use stream::PluginStream;
pub use warnings::WARNING_PREFIX;
