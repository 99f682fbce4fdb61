//! The component's exports: each call hands the configuration to the logic
//! with the wasi-http transport.

use crate::client::{ActiveStream, Client};
use crate::config;
use crate::diagnose;
use crate::wasi_http::{WasiBody, WasiHttp};
use crate::wit::{
    ChatRequest, Check, Completion, CompletionStream, ConfigInput, Guest, GuestCompletionStream,
    Model, ProviderConfig, ProviderError, StreamEvent,
};
use std::cell::RefCell;

struct Provider;

/// The `completion-stream` resource.
struct StreamResource(RefCell<ActiveStream<WasiBody>>);

impl Guest for Provider {
    type CompletionStream = StreamResource;

    fn resolve_config(input: ConfigInput) -> Result<ProviderConfig, ProviderError> {
        let (config, warnings) = config::resolve_with_warnings(&input)?;
        warn(&warnings);
        Ok(config)
    }

    fn discover_models(config: ProviderConfig) -> Result<Vec<Model>, ProviderError> {
        let found = Client::new(&WasiHttp, &config)?.discover()?;
        warn(&found.warnings);
        Ok(found.models)
    }

    fn complete(config: ProviderConfig, request: ChatRequest) -> Result<Completion, ProviderError> {
        let (completion, warnings) =
            Client::new(&WasiHttp, &config)?.complete_with_warnings(&request)?;
        warn(&warnings);
        Ok(completion)
    }

    fn start_stream(
        config: ProviderConfig,
        request: ChatRequest,
    ) -> Result<CompletionStream, ProviderError> {
        let stream = Client::new(&WasiHttp, &config)?.start_stream(&request)?;
        Ok(CompletionStream::new(StreamResource(RefCell::new(stream))))
    }

    fn diagnose(config: ProviderConfig, model: Option<String>) -> Vec<Check> {
        diagnose::diagnose(&WasiHttp, &config, model.as_deref())
    }
}

impl GuestCompletionStream for StreamResource {
    fn next(&self) -> Result<Option<Vec<StreamEvent>>, ProviderError> {
        let mut stream = self.0.borrow_mut();
        let events = stream.next_events();
        warn(&stream.take_warnings());
        events
    }
}

/// Tells the host of what the user should know but that did not stop the
/// call: `vllm:provider@0.1.0` has no place for it in results, so each is
/// a line `warning: <text>` on stderr, which hosts capture and show. The
/// texts escape what servers sent; a line break would split one in two.
fn warn(warnings: &[String]) {
    use std::io::Write as _;
    let mut lines = String::new();
    for warning in warnings {
        lines.push_str("warning: ");
        lines.extend(
            warning
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
        lines.push('\n');
    }
    // A warning that cannot be written is lost; the call's result is not.
    let _ = std::io::stderr().write_all(lines.as_bytes());
}

crate::wit::export!(Provider with_types_in crate::wit);
