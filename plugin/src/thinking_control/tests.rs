use super::*;
use crate::wit::KeyValue;
use serde_json::json;

fn compat(format: Option<ThinkingFormat>, efforts: &[&str], map: &[(&str, &str)]) -> ModelCompat {
    ModelCompat {
        thinking_format: format,
        supported_reasoning_efforts: efforts.iter().map(|e| (*e).to_owned()).collect(),
        reasoning_effort_map: map
            .iter()
            .map(|(level, effort)| KeyValue {
                name: (*level).into(),
                value: (*effort).into(),
            })
            .collect(),
        supports_reasoning_effort: None,
    }
}

fn model(id: &str, reasoning: bool, compat: ModelCompat) -> Model {
    let mut model = crate::fixtures::model(id, 4096, 1024);
    model.reasoning = reasoning;
    model.thinking = profile(id, reasoning, &compat);
    model.compat = compat;
    model
}

/// The body after `level` for `model`, starting from `body`.
fn patched(body: Value, id: &str, model: Option<&Model>, level: ThinkingLevel) -> Value {
    let Value::Object(mut body) = body else {
        panic!("an object");
    };
    apply(&mut body, id, model, level);
    Value::Object(body)
}

#[test]
fn qwen_chat_template_switches_enable_thinking_in_the_kwargs() {
    let qwen = model(
        "qwen3-8b",
        true,
        compat(Some(ThinkingFormat::QwenChatTemplate), &[], &[]),
    );
    let off = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::Off);
    assert_eq!(
        off,
        json!({"chat_template_kwargs": {"enable_thinking": false}})
    );
    let on = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::High);
    assert_eq!(
        on,
        json!({"chat_template_kwargs": {"enable_thinking": true}})
    );
    // What the request already set wins; the rest is kept.
    let given = json!({"chat_template_kwargs": {"enable_thinking": true, "custom": 1}});
    let kept = patched(given, &qwen.id, Some(&qwen), ThinkingLevel::Off);
    assert_eq!(
        kept,
        json!({"chat_template_kwargs": {"enable_thinking": true, "custom": 1}})
    );
}

#[test]
fn declared_efforts_go_inside_the_kwargs_or_beside_the_top_level_switch() {
    let efforts = compat(
        Some(ThinkingFormat::QwenChatTemplate),
        &["low", "high"],
        &[],
    );
    let qwen = model("qwen3.6", true, efforts);
    let high = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::High);
    assert_eq!(
        high,
        json!({"chat_template_kwargs": {"enable_thinking": true, "reasoning_effort": "high"}})
    );
    // medium is not declared: the nearest declared level below it.
    let medium = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::Medium);
    assert_eq!(medium["chat_template_kwargs"]["reasoning_effort"], "low");
    // minimal has none below: the nearest above.
    let minimal = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::Minimal);
    assert_eq!(minimal["chat_template_kwargs"]["reasoning_effort"], "low");
    let off = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::Off);
    assert_eq!(
        off,
        json!({"chat_template_kwargs": {"enable_thinking": false}})
    );

    let top = model(
        "qwen-top",
        true,
        compat(Some(ThinkingFormat::Qwen), &["high"], &[]),
    );
    let on = patched(json!({}), &top.id, Some(&top), ThinkingLevel::High);
    assert_eq!(
        on,
        json!({"enable_thinking": true, "reasoning_effort": "high"})
    );
    let off = patched(json!({}), &top.id, Some(&top), ThinkingLevel::Off);
    assert_eq!(off, json!({"enable_thinking": false}));
}

#[test]
fn the_effort_map_renames_a_level() {
    let mapped = compat(
        Some(ThinkingFormat::QwenChatTemplate),
        &["deep"],
        &[("max", "deep")],
    );
    let qwen = model("q", true, mapped);
    let max = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::Max);
    assert_eq!(max["chat_template_kwargs"]["reasoning_effort"], "deep");
    let profile = qwen.thinking.expect("controllable");
    assert_eq!(profile.levels, [ThinkingLevel::Off, ThinkingLevel::Max]);
    assert_eq!(profile.default_level, ThinkingLevel::Off);
    // Efforts turned off: a switch only.
    let mut none = compat(Some(ThinkingFormat::QwenChatTemplate), &["high"], &[]);
    none.supports_reasoning_effort = Some(false);
    let qwen = model("q", true, none);
    let high = patched(json!({}), &qwen.id, Some(&qwen), ThinkingLevel::High);
    assert_eq!(
        high,
        json!({"chat_template_kwargs": {"enable_thinking": true}})
    );
    assert_eq!(
        qwen.thinking.expect("binary").levels,
        [ThinkingLevel::Off, ThinkingLevel::Low]
    );
}

#[test]
fn deepseek_v4_gets_both_flags_and_an_effort_when_on() {
    for id in [
        "deepseek-v4",
        "DeepSeek-V4-Pro",
        "org/deepseek_v4-flash",
        "deepseekv4",
    ] {
        let on = patched(json!({}), id, None, ThinkingLevel::High);
        assert_eq!(
            on,
            json!({"chat_template_kwargs": {"thinking": true, "enable_thinking": true, "reasoning_effort": "high"}}),
            "{id}"
        );
        let off = patched(json!({}), id, None, ThinkingLevel::Off);
        assert_eq!(
            off,
            json!({"chat_template_kwargs": {"thinking": false, "enable_thinking": false}}),
            "{id}"
        );
    }
    for id in ["deepseek-v45", "deepseek-v3", "deepseek-r1"] {
        assert_eq!(
            patched(json!({}), id, None, ThinkingLevel::High),
            json!({}),
            "{id}"
        );
    }
    // `reasoning: false` in the config: nothing is sent.
    let plain = model("deepseek-v4", false, crate::config::no_compat());
    assert_eq!(
        patched(json!({}), "deepseek-v4", Some(&plain), ThinkingLevel::High),
        json!({})
    );
}

#[test]
fn nemotron_3_is_told_only_off() {
    for id in [
        "nvidia/nemotron-3-nano",
        "Nemotron-3",
        "nemotron-3_super-fp8",
    ] {
        let off = patched(json!({}), id, None, ThinkingLevel::Off);
        assert_eq!(
            off,
            json!({"chat_template_kwargs": {"enable_thinking": false, "force_nonempty_content": true}}),
            "{id}"
        );
        assert_eq!(
            patched(json!({}), id, None, ThinkingLevel::High),
            json!({}),
            "{id}"
        );
    }
    for id in ["nemotron-30", "xnemotron-3", "nemotron-3x"] {
        assert_eq!(
            patched(json!({}), id, None, ThinkingLevel::Off),
            json!({}),
            "{id}"
        );
    }
    let given = json!({"chat_template_kwargs": {"force_nonempty_content": false}});
    assert_eq!(
        patched(given, "nemotron-3", None, ThinkingLevel::Off),
        json!({"chat_template_kwargs": {"enable_thinking": false, "force_nonempty_content": false}})
    );
}

#[test]
fn other_models_get_nothing_and_no_profile() {
    let plain = model("llama-3", true, crate::config::no_compat());
    assert_eq!(
        patched(json!({"a": 1}), "llama-3", Some(&plain), ThinkingLevel::Off),
        json!({"a": 1})
    );
    assert_eq!(plain.thinking, None);
    let refused = model(
        "q",
        false,
        compat(Some(ThinkingFormat::QwenChatTemplate), &[], &[]),
    );
    assert_eq!(refused.thinking, None);
    assert_eq!(
        patched(json!({}), "q", Some(&refused), ThinkingLevel::Off),
        json!({})
    );
}

#[test]
fn level_names_are_openclaws() {
    let names: Vec<&str> = LEVELS.iter().map(|l| name(*l)).collect();
    assert_eq!(
        names,
        ["off", "minimal", "low", "medium", "high", "xhigh", "max"]
    );
}
