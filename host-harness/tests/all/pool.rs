//! A harness's limit on live stores (`HarnessOptions::max_live_stores`):
//! with every place held by an open stream, the next call waits and goes on
//! as soon as a stream ends; the instance the harness makes ahead never
//! keeps a place from a waiting call. The process's pool
//! (`VLLM_HARNESS_MAX_STORES`) is the same kind of limit, shared by every
//! harness; this one is set per harness, so it runs beside the other tests.

use std::num::NonZeroU32;
use std::time::Duration;

use vllm_harness::{ChatRequest, CompileCache, ConfigInput, Harness, HarnessOptions};
use vllm_tests::artifacts::plugin_wasm;
use vllm_tests::mock::shapes::ChunkFactory;
use vllm_tests::mock::{MockOptions, MockVllm, Reply};

use crate::common::shared_compile_cache;
use crate::common::streams::sse_bytes;

const SLOTS: usize = 3;
const LIMIT: NonZeroU32 = NonZeroU32::new(SLOTS as u32).expect("three is not zero");
const MODEL: &str = "mock-model";

#[test]
fn a_call_past_the_limit_waits_until_a_stream_ends() {
    let server = MockVllm::start_blocking(MockOptions::default());
    let f = ChunkFactory::new(MODEL);
    for _ in 0..SLOTS {
        // A word, then the stream stays open until dropped.
        server.push_reply(Reply::Stall {
            head: sse_bytes(&[f.role(), f.content("held")], false),
        });
    }
    let base_url = server.base_url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let harness = Harness::load(
            plugin_wasm(),
            HarnessOptions {
                cache: CompileCache::Dir(shared_compile_cache()),
                max_live_stores: Some(LIMIT),
                ..HarnessOptions::default()
            },
        )
        .expect("the plugin loads");
        let input = ConfigInput {
            provider_json: None,
            env: Vec::new(),
            auth_profile_key: None,
            base_url_override: Some(base_url),
        };
        let config = harness
            .resolve_config(input.clone())
            .await
            .expect("resolve-config");
        let mut streams = Vec::new();
        for n in 0..SLOTS {
            let mut stream = harness
                .stream(&config, ChatRequest::user_text(MODEL, "hi"))
                .await
                .unwrap_or_else(|e| panic!("stream {n}: {e}"));
            // Its first events prove the request is under way.
            let first = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .expect("the first events in time")
                .expect("no error");
            assert!(first.is_some(), "stream {n} has events");
            streams.push(stream);
        }

        let waiting = tokio::spawn({
            let harness = harness.clone();
            let input = input.clone();
            async move { harness.resolve_config(input).await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !waiting.is_finished(),
            "a call ran while every slot was held by a stream"
        );

        drop(streams.pop());
        let resolved = tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .expect("the waiting call got the slot the stream gave back")
            .expect("the call did not panic");
        assert!(resolved.is_ok(), "{resolved:?}");
        drop(streams);
        // With every slot free again, calls run at once.
        let again = tokio::time::timeout(Duration::from_secs(30), harness.resolve_config(input))
            .await
            .expect("in time");
        assert!(again.is_ok(), "{again:?}");
    });
}
