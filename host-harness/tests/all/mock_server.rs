//! Tests of the mock vLLM server itself, through plain HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use vllm_tests::http_client::{HttpResponse, get, open, post_json, request};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply, Usage};

const CHAT: &str = "/v1/chat/completions";

async fn chat(server: &MockVllm, body: Value) -> HttpResponse {
    post_json(server.addr(), CHAT, &[], &body)
        .await
        .expect("chat request reaches the mock")
}

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi there"}]})
}

/// The `data:` payloads of a stream, parsed, with `[DONE]` checked last.
fn events(response: &HttpResponse) -> Vec<Value> {
    let mut data = response.sse_data();
    assert_eq!(
        data.pop().as_deref(),
        Some("[DONE]"),
        "stream ends with [DONE]: {}",
        response.text()
    );
    data.iter()
        .map(|d| serde_json::from_str(d).expect("every event but [DONE] is JSON"))
        .collect()
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    }})
}

#[tokio::test]
async fn models_list_base_and_lora_cards_like_vllm() {
    let server = MockVllm::start(MockOptions::with_models(vec![
        MockModel::lora("sql-lora", "qwen3-0.6b"),
        MockModel::base("qwen3-0.6b").with_max_model_len(4096),
    ]))
    .await;
    let response = get(server.addr(), "/v1/models", &[])
        .await
        .expect("GET /v1/models");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().expect("data is a list");
    assert_eq!(data.len(), 2);
    let base = &data[0];
    assert_eq!(base["id"], "qwen3-0.6b", "base models come first");
    assert_eq!(base["object"], "model");
    assert_eq!(base["owned_by"], "vllm");
    assert_eq!(base["root"], "/models/qwen3-0.6b");
    assert_eq!(base["parent"], Value::Null);
    assert_eq!(base["max_model_len"], 4096);
    assert!(base["created"].as_u64().is_some_and(|t| t > 1_600_000_000));
    let permission = &base["permission"][0];
    assert_eq!(permission["object"], "model_permission");
    assert!(
        permission["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("modelperm-"))
    );
    for (flag, value) in [
        ("allow_create_engine", false),
        ("allow_sampling", true),
        ("allow_logprobs", true),
        ("allow_search_indices", false),
        ("allow_view", true),
        ("allow_fine_tuning", false),
        ("is_blocking", false),
    ] {
        assert_eq!(permission[flag], value, "{flag}");
    }
    assert_eq!(permission["organization"], "*");
    assert_eq!(permission["group"], Value::Null);

    let lora = &data[1];
    assert_eq!(lora["id"], "sql-lora");
    assert_eq!(lora["parent"], "qwen3-0.6b");
    assert_eq!(lora["root"], "/adapters/sql-lora");
    // vLLM 0.32 dumps every field: the adapter's context length is null.
    assert_eq!(lora.get("max_model_len"), Some(&Value::Null));
}

#[tokio::test]
async fn api_key_guards_v1_routes_only() {
    let server = MockVllm::start(MockOptions {
        api_key: Some("sekret".into()),
        ..MockOptions::default()
    })
    .await;
    let addr = server.addr();
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "sekret")],
    ] {
        let response = get(addr, "/v1/models", &headers)
            .await
            .expect("GET /v1/models");
        assert_eq!(response.status, 401, "{headers:?}");
        assert_eq!(response.text(), r#"{"error":"Unauthorized"}"#);
    }
    let no_key = post_json(addr, CHAT, &[], &hello("mock-model"))
        .await
        .expect("chat");
    assert_eq!(no_key.status, 401);
    assert_eq!(no_key.text(), r#"{"error":"Unauthorized"}"#);

    let ok = get(addr, "/v1/models", &[("Authorization", "Bearer sekret")])
        .await
        .expect("models");
    assert_eq!(ok.status, 200);
    let lower = get(addr, "/v1/models", &[("authorization", "bearer sekret")])
        .await
        .expect("models");
    assert_eq!(lower.status, 200, "the scheme is case-insensitive");
    let chat_ok = post_json(
        addr,
        CHAT,
        &[("Authorization", "Bearer sekret")],
        &hello("mock-model"),
    )
    .await
    .expect("chat");
    assert_eq!(chat_ok.status, 200);

    let health = get(addr, "/health", &[]).await.expect("health");
    assert_eq!((health.status, health.body.len()), (200, 0));
    let version = get(addr, "/version", &[]).await.expect("version");
    assert_eq!(version.status, 200);
    assert_eq!(version.json(), json!({"version": "0.32.0"}));

    let seen = server.requests();
    assert_eq!(seen.len(), 9);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/v1/models");
    let chat_seen = &server.chat_requests()[1];
    assert_eq!(chat_seen.header("AUTHORIZATION"), Some("Bearer sekret"));
    assert!(
        chat_seen
            .headers
            .iter()
            .all(|(name, _)| *name == name.to_ascii_lowercase())
    );
    assert_eq!(chat_seen.json.as_ref(), Some(&hello("mock-model")));
}

#[tokio::test]
async fn unknown_model_is_a_404_not_found_error() {
    let server = MockVllm::start(MockOptions::default()).await;
    let response = chat(&server, hello("nope")).await;
    assert_eq!(response.status, 404);
    let error = &response.json()["error"];
    assert_eq!(error["type"], "NotFoundError");
    assert_eq!(error["code"], 404);
    assert_eq!(error["param"], "model");
    assert_eq!(
        error["message"],
        "The model `nope` does not exist. Valid aliases: mock-model."
    );
}

#[tokio::test]
async fn legacy_error_shape_is_flat() {
    let server = MockVllm::start(MockOptions {
        legacy_error_shape: true,
        ..MockOptions::default()
    })
    .await;
    let response = chat(&server, hello("nope")).await;
    assert_eq!(response.status, 404);
    assert_eq!(
        response.json(),
        json!({
            "object": "error",
            "message": "The model `nope` does not exist.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404
        })
    );
}

#[tokio::test]
async fn empty_tools_array_is_a_400() {
    let server = MockVllm::start(MockOptions::default()).await;
    let mut body = hello("mock-model");
    body["tools"] = json!([]);
    let response = chat(&server, body).await;
    assert_eq!(response.status, 400);
    let error = &response.json()["error"];
    assert_eq!(error["type"], "BadRequestError");
    assert_eq!(error["param"], "tools");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("`tools` must not be an empty array"))
    );
}

#[tokio::test]
async fn auto_tool_choice_needs_the_server_flags() {
    let message =
        "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set";
    let server = MockVllm::start(MockOptions::default()).await;
    let mut explicit = hello("mock-model");
    explicit["tools"] = json!([weather_tool()]);
    explicit["tool_choice"] = json!("auto");
    let mut implicit = hello("mock-model");
    implicit["tools"] = json!([weather_tool()]);
    for body in [explicit.clone(), implicit] {
        let response = chat(&server, body).await;
        assert_eq!(response.status, 400);
        assert_eq!(response.json()["error"]["message"], message);
        assert_eq!(response.json()["error"]["type"], "BadRequestError");
    }
    let mut none = explicit.clone();
    none["tool_choice"] = json!("none");
    assert_eq!(
        chat(&server, none).await.status,
        200,
        "tool_choice none needs no parser"
    );

    let flagged = MockVllm::start(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    })
    .await;
    let response = chat(&flagged, explicit).await;
    assert_eq!(response.status, 200);
    let choice = &response.json()["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert!(
        call["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-tool-"))
    );
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city": "test"}"#);
}

#[tokio::test]
async fn streamed_tool_call_deltas_assemble_by_index() {
    let server = MockVllm::start(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    })
    .await;
    let mut body = hello("mock-model");
    body["tools"] = json!([weather_tool()]);
    body["stream"] = json!(true);
    let events = events(&chat(&server, body).await);
    let deltas: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    let first = deltas.first().expect("at least one tool-call delta");
    assert_eq!(first["index"], 0);
    assert_eq!(first["type"], "function");
    assert_eq!(first["function"]["name"], "get_weather");
    assert!(
        first["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-tool-"))
    );
    assert!(
        deltas[1..]
            .iter()
            .all(|d| d.get("id").is_none() && d["index"] == 0)
    );
    let arguments: String = deltas
        .iter()
        .filter_map(|d| d["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"city": "test"}"#);
    let last = events.last().expect("events");
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn stream_options_without_stream_is_a_400() {
    let server = MockVllm::start(MockOptions::default()).await;
    let mut body = hello("mock-model");
    body["stream_options"] = json!({"include_usage": true});
    let response = chat(&server, body).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["param"], "stream_options");
}

/// One message of `words` words costs `words + 4` prompt tokens.
fn long_prompt(words: usize) -> Value {
    json!([{"role": "user", "content": vec!["word"; words].join(" ")}])
}

#[tokio::test]
async fn prompt_over_the_context_is_a_400_maximum_context_length() {
    let server = MockVllm::start(MockOptions::default()).await;
    let body = json!({"model": "mock-model", "messages": long_prompt(2996)});
    let response = chat(&server, body).await;
    assert_eq!(response.status, 400);
    let error = &response.json()["error"];
    assert_eq!(error["type"], "BadRequestError");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("maximum context length is 2048 tokens"),
        "{message}"
    );
    // vLLM tokenizes at most max_model_len + 1 tokens of a prompt.
    assert!(
        message.contains("your prompt contains at least 2049 input tokens"),
        "{message}"
    );

    // vLLM 0.32 clamps an output budget that does not fit instead of failing.
    let fits =
        json!({"model": "mock-model", "messages": long_prompt(996), "max_completion_tokens": 2000});
    let response = chat(&server, fits).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["usage"]["prompt_tokens"], 1000);
}

#[tokio::test]
async fn legacy_context_error_counts_the_completion_too() {
    let server = MockVllm::start(MockOptions {
        legacy_context_error: true,
        ..MockOptions::default()
    })
    .await;
    let body = json!({"model": "mock-model", "messages": long_prompt(996), "max_tokens": 2000});
    let response = chat(&server, body).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error"]["message"],
        "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens \
         (1000 in the messages, 2000 in the completion). Please reduce the length of the messages or completion."
    );
}

#[tokio::test]
async fn usage_chunk_comes_last_and_only_with_include_usage() {
    let server = MockVllm::start(MockOptions::default()).await;
    let mut body = hello("mock-model");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let response = chat(&server, body.clone()).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let with_usage = events(&response);
    let first = &with_usage[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(first["choices"][0]["finish_reason"], Value::Null);
    let usage_chunk = with_usage.last().expect("events");
    assert_eq!(usage_chunk["choices"], json!([]));
    let usage = &usage_chunk["usage"];
    assert_eq!(usage["prompt_tokens"], 6);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            6 + usage["completion_tokens"]
                .as_u64()
                .expect("completion_tokens")
        )
    );
    let finish = &with_usage[with_usage.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let text: String = with_usage
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello! You said: hi there");
    assert!(
        with_usage
            .iter()
            .all(|e| e["id"] == first["id"] && e["model"] == "mock-model")
    );

    body["stream_options"] = json!({"include_usage": false});
    let without = events(&chat(&server, body).await);
    assert!(without.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(
        without.last().expect("events")["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn non_streamed_reply_has_vllm_fields() {
    let server = MockVllm::start(MockOptions::default()).await;
    let body = chat(&server, hello("mock-model")).await.json();
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "mock-model");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Hello! You said: hi there");
    assert_eq!(choice["message"]["reasoning"], Value::Null);
    assert!(
        choice["message"].get("tool_calls").is_none(),
        "0.32 omits an empty tool_calls"
    );
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["stop_reason"], Value::Null);
    assert_eq!(choice["logprobs"], Value::Null);
    assert_eq!(body["usage"]["prompt_tokens"], 6);
    assert_eq!(
        body["usage"]["completion_tokens"], 6,
        "five words and the stop token"
    );
    assert_eq!(body["usage"]["total_tokens"], 12);
    assert_eq!(body["usage"]["prompt_tokens_details"], Value::Null);
    assert_eq!(body["prompt_logprobs"], Value::Null);
    assert_eq!(body["kv_transfer_params"], Value::Null);
}

#[tokio::test]
async fn max_completion_tokens_cuts_with_length() {
    let server = MockVllm::start(MockOptions::default()).await;
    let mut body = hello("mock-model");
    body["max_tokens"] = json!(100);
    body["max_completion_tokens"] = json!(2);
    let reply = chat(&server, body.clone()).await.json();
    assert_eq!(reply["choices"][0]["finish_reason"], "length");
    assert_eq!(reply["choices"][0]["message"]["content"], "Hello! You");
    assert_eq!(reply["usage"]["completion_tokens"], 2);

    body["stream"] = json!(true);
    let events = events(&chat(&server, body).await);
    let last = events.last().expect("events");
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    assert_eq!(last["choices"][0]["delta"]["content"], " You");
}

#[tokio::test]
async fn reasoning_parser_splits_think_text() {
    let models = vec![MockModel::base("qwen3-think")];
    let parsed = MockVllm::start(MockOptions {
        models: models.clone(),
        reasoning_parser: true,
        ..MockOptions::default()
    })
    .await;
    let message = chat(&parsed, hello("qwen3-think")).await.json()["choices"][0]["message"].clone();
    assert_eq!(message["reasoning"], "The user wrote 2 words.");
    assert_eq!(message["content"], "Hello! You said: hi there");

    let mut streamed = hello("qwen3-think");
    streamed["stream"] = json!(true);
    let events = events(&chat(&parsed, streamed).await);
    let reasoning: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["reasoning"].as_str())
        .collect();
    assert_eq!(reasoning, "The user wrote 2 words.");

    let raw = MockVllm::start(MockOptions::with_models(models.clone())).await;
    let message = chat(&raw, hello("qwen3-think")).await.json()["choices"][0]["message"].clone();
    assert_eq!(message["reasoning"], Value::Null);
    assert_eq!(
        message["content"],
        "<think>The user wrote 2 words.</think>Hello! You said: hi there"
    );

    let legacy = MockVllm::start(MockOptions {
        models,
        reasoning_parser: true,
        legacy_reasoning_field: true,
        ..MockOptions::default()
    })
    .await;
    let message = chat(&legacy, hello("qwen3-think")).await.json()["choices"][0]["message"].clone();
    assert_eq!(message["reasoning_content"], "The user wrote 2 words.");
    assert!(message.get("reasoning").is_none());
}

#[tokio::test]
async fn scripted_replies_are_used_in_order_then_generation_resumes() {
    let server = MockVllm::start(MockOptions::default()).await;
    server.push_reply(Reply::html(502, "<html>bad gateway</html>"));
    server.push_reply(Reply::empty(500));
    assert_eq!(server.pending_replies(), 2);
    let first = chat(&server, hello("nope")).await;
    assert_eq!(first.status, 502);
    assert_eq!(
        first.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let second = chat(&server, hello("mock-model")).await;
    assert_eq!((second.status, second.body.len()), (500, 0));
    assert_eq!(chat(&server, hello("mock-model")).await.status, 200);
    assert_eq!(server.pending_replies(), 0);
}

#[tokio::test]
async fn resent_arguments_builder_repeats_the_whole_string() {
    let server = MockVllm::start(MockOptions::default()).await;
    server.push_reply(Reply::tool_call_stream_resending_arguments(
        "mock-model",
        "get_weather",
        &[r#"{"city": "#, r#""Paris"}"#],
    ));
    let events = events(&chat(&server, hello("mock-model")).await);
    let fragments: Vec<&str> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .filter_map(|d| d["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        fragments,
        vec![r#"{"city": "#, r#""Paris"}"#, r#"{"city": "Paris"}"#]
    );
    let last = events.last().expect("events");
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn mid_stream_error_keeps_status_200_and_ends_with_done() {
    let server = MockVllm::start(MockOptions::default()).await;
    server.push_reply(Reply::mid_stream_error(
        "mock-model",
        &["Hel"],
        "engine died",
    ));
    let response = chat(&server, hello("mock-model")).await;
    assert_eq!(response.status, 200);
    let events = events(&response);
    let error = &events.last().expect("events")["error"];
    assert_eq!(error["message"], "engine died");
    assert_eq!(error["code"], 500);
    assert!(
        response
            .text()
            .contains(r#"data: {"error": {"message": "engine died""#)
    );
}

#[tokio::test]
async fn cut_stream_has_no_done_and_split_streams_parse_the_same() {
    let server = MockVllm::start(MockOptions {
        stream_split: Some(7),
        ..MockOptions::default()
    })
    .await;
    server.push_reply(Reply::cut_stream("mock-model", &["Hel", "lo"]));
    let cut = chat(&server, hello("mock-model")).await;
    assert_ne!(cut.sse_data().last().map(String::as_str), Some("[DONE]"));

    let mut body = hello("mock-model");
    body["stream"] = json!(true);
    let split = events(&chat(&server, body).await);
    let text: String = split
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello! You said: hi there");
}

#[tokio::test]
async fn client_closing_a_stream_counts_as_a_disconnect() {
    let server = MockVllm::start(MockOptions::default()).await;
    server.push_reply(Reply::Stall {
        head: b"data: {}\n\n".to_vec(),
    });
    let body = hello("mock-model").to_string();
    let mut stream = open(
        server.addr(),
        "POST",
        CHAT,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
    .expect("open a stream");
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // Read until the first event arrived; bounded by the mock's head size.
    for _ in 0..64 {
        let n = stream.read(&mut buf).await.expect("read the stream");
        head.extend_from_slice(&buf[..n]);
        if n == 0 || head.windows(8).any(|w| w == b"data: {}") {
            break;
        }
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 200"));
    assert_eq!(server.disconnects(), 0);
    drop(stream);
    assert!(
        server
            .wait_for_disconnects(1, Duration::from_secs(10))
            .await
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_like_fastapi() {
    let server = MockVllm::start(MockOptions::default()).await;
    let missing = get(server.addr(), "/v1/completions/nope", &[])
        .await
        .expect("GET");
    assert_eq!(missing.status, 404);
    // FastAPI's own body, not vLLM's error shape (recorded from 0.32).
    assert_eq!(missing.json(), json!({"detail": "Not Found"}));
    let wrong = get(server.addr(), CHAT, &[]).await.expect("GET chat");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.json(), json!({"detail": "Method Not Allowed"}));
    let bad_json = request(
        server.addr(),
        "POST",
        CHAT,
        &[("Content-Type", "application/json")],
        b"{nope",
    )
    .await
    .expect("POST");
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.json()["error"]["type"], "Bad Request");
    let message = bad_json.json()["error"]["message"].to_string();
    assert!(
        message.contains("Expecting property name enclosed in double quotes"),
        "Python's words, as vLLM quotes them: {message}"
    );

    server.push_reply(Reply::CloseConnection);
    let closed = post_json(server.addr(), CHAT, &[], &hello("mock-model")).await;
    assert!(
        closed.is_err(),
        "no response when the mock closes the connection: {closed:?}"
    );
}

#[tokio::test]
async fn scripted_text_stream_builder_matches_generated_shape() {
    let server = MockVllm::start(MockOptions::default()).await;
    let usage = Usage {
        prompt_tokens: 6,
        completion_tokens: 3,
        reasoning_tokens: None,
    };
    server.push_reply(Reply::text_stream("mock-model", &["Hi", "!"], Some(usage)));
    let scripted = events(&chat(&server, hello("mock-model")).await);
    let mut body = hello("mock-model");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let generated = events(&chat(&server, body).await);
    let keys = |e: &Value| -> Vec<String> {
        let mut keys: Vec<String> = e.as_object().expect("object").keys().cloned().collect();
        if let Some(choice) = e["choices"][0].as_object() {
            keys.extend(choice.keys().map(|k| format!("choices.{k}")));
        }
        keys
    };
    assert_eq!(keys(&scripted[0]), keys(&generated[0]), "first chunk");
    assert_eq!(keys(&scripted[1]), keys(&generated[1]), "token chunk");
    let n = scripted.len();
    let m = generated.len();
    assert_eq!(
        keys(&scripted[n - 2]),
        keys(&generated[m - 2]),
        "finish chunk"
    );
    assert_eq!(
        keys(&scripted[n - 1]),
        keys(&generated[m - 1]),
        "usage chunk"
    );
}

#[test]
fn start_blocking_serves_without_an_outer_runtime() {
    let server = MockVllm::start_blocking(MockOptions::default());
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let response = client
        .block_on(get(server.addr(), "/health", &[]))
        .expect("GET /health");
    assert_eq!(response.status, 200);
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with("/v1"));
    assert_eq!(server.authority(), server.addr().to_string());
}

#[tokio::test]
async fn empty_stream_options_still_include_usage() {
    let server = MockVllm::start(MockOptions::default()).await;
    let mut body = hello("mock-model");
    body["stream"] = json!(true);
    body["stream_options"] = json!({});
    let events = events(&chat(&server, body).await);
    assert_eq!(events.last().expect("events")["choices"], json!([]));
}

#[tokio::test]
async fn abandoning_a_paced_generated_stream_counts_as_a_disconnect() {
    let server = MockVllm::start(MockOptions {
        event_delay: Some(Duration::from_millis(50)),
        ..MockOptions::default()
    })
    .await;
    let mut body = hello("mock-model");
    body["stream"] = json!(true);
    let body = body.to_string();
    let mut stream = open(
        server.addr(),
        "POST",
        CHAT,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
    .expect("open a stream");
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.expect("read the first frame");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    drop(stream);
    assert!(
        server
            .wait_for_disconnects(1, Duration::from_secs(10))
            .await
    );
    assert_eq!(server.chat_requests().len(), 1);
}
