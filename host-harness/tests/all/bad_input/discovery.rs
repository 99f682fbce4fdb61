//! Model lists with bad cards: every good card kept, a warning for each bad
//! one naming the card, the field and what was used instead.

use serde_json::json;
use vllm_tests::canned::{CannedServer, json as json_reply, response};

use crate::common::cli_run::Cli;

#[test]
fn bad_cards_cost_a_warning_each_and_the_rest_are_listed_once() {
    let list = json!({"object": "list", "data": [
        {"id": "good", "max_model_len": 4096},
        {"id": "neg", "max_model_len": -1},
        {"id": "str", "max_model_len": "abc"},
        {"id": "big", "max_model_len": 1e20},
        {"id": "zero", "max_model_len": 0},
        {"id": "huge", "max_model_len": 4_294_967_301_u64},
        {"id": "good", "max_model_len": 8},
        {"id": "vllm/x", "max_model_len": 2048},
        {"id": ""},
    ]});
    let server = CannedServer::start(
        vec![("/v1/models", json_reply(&list.to_string()))],
        response("404 Not Found", &[], b""),
    );
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list", "--json"]);
    run.code(0)
        .says("warning: GET ")
        .says("model `neg` (data[1]) has max_model_len -1, not a token count; its context window is taken as 128000")
        .says("model `str` (data[2]) has max_model_len \"abc\", not a number")
        .says("model `big` (data[3]) has max_model_len 1e+20")
        .says("model `zero` (data[4]) has max_model_len 0")
        .says("model `huge` (data[5]) has max_model_len 4294967301, more than a window can hold")
        .says("model `good` is listed again at data[6]; the card at data[0] is used")
        .says("model card data[8] is skipped: its `id` is empty");
    let json = run.json();
    let keys: Vec<&str> = json["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["key"].as_str().expect("key"))
        .collect();
    assert_eq!(
        keys,
        [
            "vllm/good",
            "vllm/neg",
            "vllm/str",
            "vllm/big",
            "vllm/zero",
            "vllm/huge",
            "vllm/vllm/x"
        ]
    );
    assert_eq!(json["models"][0]["contextWindow"], 4096);

    // Doctor shows the same as a warning of its models check.
    let doctor = Cli::new().run(&["--base-url", &server.base_url(), "doctor", "--json"]);
    let checks = doctor.json()["checks"].clone();
    let models = checks
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "models")
        .expect("a models check")
        .clone();
    assert_eq!(models["status"], "warn", "{models}");
    assert!(
        models["detail"]
            .as_str()
            .expect("detail")
            .contains("`neg` (data[1])"),
        "{models}"
    );
}

#[test]
fn a_served_id_that_starts_with_the_provider_prefix_can_be_requested() {
    let server =
        vllm_tests::mock::MockVllm::start_blocking(vllm_tests::mock::MockOptions::with_models(
            vec![vllm_tests::mock::MockModel::base("vllm/x")],
        ));
    for model in ["vllm/vllm/x", "vllm/x"] {
        let run = Cli::new().run(&[
            "--base-url",
            &server.base_url(),
            "chat",
            "--model",
            model,
            "hi",
        ]);
        run.code(0);
    }
    let sent: Vec<String> = server
        .chat_requests()
        .iter()
        .map(|r| {
            r.json.as_ref().expect("JSON")["model"]
                .as_str()
                .expect("model")
                .to_owned()
        })
        .collect();
    assert_eq!(sent, ["vllm/x", "vllm/x"]);
}
