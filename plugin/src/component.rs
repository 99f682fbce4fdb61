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

    fn take_warnings() -> Vec<String> {
        WARNINGS.with_borrow_mut(std::mem::take)
    }

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
        let completion = Client::new(&WasiHttp, &config)?.complete(&request)?;
        // The calls say themselves which came from the reply's text.
        let recovered = completion.tool_calls.iter().filter(|c| c.from_text).count();
        warn(
            &crate::unparsed_calls::warning(recovered)
                .into_iter()
                .collect::<Vec<_>>(),
        );
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

/// The most warnings kept between two `take-warnings`: a host that never
/// takes them does not make the component grow.
const MAX_WARNINGS: usize = 64;

thread_local! {
    /// What the user should know but that did not stop a call, until the
    /// host takes it.
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `warnings` for the host's next `take-warnings`.
fn warn(warnings: &[String]) {
    WARNINGS.with_borrow_mut(|kept| {
        let room = MAX_WARNINGS.saturating_sub(kept.len());
        kept.extend(warnings.iter().take(room).cloned());
    });
}

crate::wit::export!(Provider with_types_in crate::wit);
