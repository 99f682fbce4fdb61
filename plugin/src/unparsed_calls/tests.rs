use super::*;
use crate::fixtures::request_with_tools;

fn request(tools: &[&str], choice: Option<ToolChoice>) -> ChatRequest {
    let mut request = request_with_tools(tools);
    request.tool_choice = choice;
    request
}

fn weather() -> Offered {
    Offered::by(&request(&["get_weather", "get_time"], None))
}

fn found(name: &str, arguments: &str) -> FoundCall {
    FoundCall {
        name: name.into(),
        arguments: arguments.into(),
    }
}

const PARIS: &str = r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#;

#[test]
fn hermes_blocks_to_offered_tools_become_calls() {
    let text = format!(
        "Let me look.\n<tool_call>\n{PARIS}\n</tool_call>\n<tool_call>{{\"name\": \"get_time\", \"arguments\": {{\"timezone\": \"UTC\"}}}}</tool_call>"
    );
    let recovered = recover(&text, &weather()).expect("recovered");
    assert_eq!(recovered.text, "Let me look.");
    assert_eq!(
        recovered.calls,
        [
            found("get_weather", r#"{"city":"Paris"}"#),
            found("get_time", r#"{"timezone":"UTC"}"#)
        ]
    );
}

#[test]
fn a_block_to_a_tool_not_offered_stays_text() {
    let other = r#"<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>"#;
    assert_eq!(recover(other, &weather()), None);
    let both = format!("{other}\n<tool_call>{PARIS}</tool_call>");
    let recovered = recover(&both, &weather()).expect("recovered");
    assert_eq!(recovered.text, other);
    assert_eq!(
        recovered.calls,
        [found("get_weather", r#"{"city":"Paris"}"#)]
    );
}

#[test]
fn nothing_is_recovered_without_tools_or_when_calls_are_forbidden() {
    let text = format!("<tool_call>{PARIS}</tool_call>");
    assert_eq!(recover(&text, &Offered::by(&request(&[], None))), None);
    let forbidden = Offered::by(&request(&["get_weather"], Some(ToolChoice::None)));
    assert_eq!(recover(&text, &forbidden), None);
    let named = Offered::by(&request(
        &["get_weather", "get_time"],
        Some(ToolChoice::Named("get_time".into())),
    ));
    assert_eq!(recover(&text, &named), None);
    let named = Offered::by(&request(
        &["get_weather", "get_time"],
        Some(ToolChoice::Named("get_weather".into())),
    ));
    assert!(recover(&text, &named).is_some());
}

#[test]
fn a_last_block_may_lack_its_closing_tag() {
    let recovered = recover(&format!("<tool_call>\n{PARIS}\n"), &weather()).expect("recovered");
    assert_eq!(recovered.calls.len(), 1);
    assert_eq!(recovered.text, "");
    // An unclosed block that is not a whole call stays text.
    let cut = r#"<tool_call>{"name": "get_weather", "argum"#;
    assert_eq!(recover(cut, &weather()), None);
}

#[test]
fn llama_json_replies_of_nothing_but_calls() {
    let text = r#" {"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_time", "parameters": {"timezone": "UTC"}} "#;
    let recovered = recover(text, &weather()).expect("recovered");
    assert_eq!(recovered.text, "");
    assert_eq!(
        recovered.calls,
        [
            found("get_weather", r#"{"city":"Paris"}"#),
            found("get_time", r#"{"timezone":"UTC"}"#)
        ]
    );
    let tagged = format!("<|python_tag|>{PARIS}");
    assert_eq!(
        recover(&tagged, &weather()).expect("recovered").calls.len(),
        1
    );
    // A JSON answer, a call followed by prose, or a call to another tool
    // is not this form.
    assert_eq!(recover(r#"{"city": "Paris"}"#, &weather()), None);
    assert_eq!(
        recover(&format!("{PARIS}\nThat is the call."), &weather()),
        None
    );
    assert_eq!(
        recover(r#"{"name": "rm_rf", "parameters": {}}"#, &weather()),
        None
    );
}

#[test]
fn mistral_tool_calls_lists() {
    let text = format!("Checking. [TOOL_CALLS][{PARIS}]");
    let recovered = recover(&text, &weather()).expect("recovered");
    assert_eq!(recovered.text, "Checking.");
    assert_eq!(
        recovered.calls,
        [found("get_weather", r#"{"city":"Paris"}"#)]
    );
    assert_eq!(
        recover(&format!("[TOOL_CALLS]{PARIS}"), &weather())
            .expect("recovered")
            .calls
            .len(),
        1
    );
    assert_eq!(
        recover(&format!("[TOOL_CALLS][{PARIS}] and more"), &weather()),
        None
    );
}

#[test]
fn arguments_must_be_an_object() {
    let as_string =
        r#"<tool_call>{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}</tool_call>"#;
    assert_eq!(
        recover(as_string, &weather()).expect("recovered").calls,
        [found("get_weather", r#"{"city": "Paris"}"#)]
    );
    let none = r#"<tool_call>{"name": "get_weather"}</tool_call>"#;
    assert_eq!(
        recover(none, &weather()).expect("recovered").calls,
        [found("get_weather", "{}")]
    );
    for bad in [r#""Paris""#, "[1]", r#""not json""#, "null"] {
        let text =
            format!(r#"<tool_call>{{"name": "get_weather", "arguments": {bad}}}</tool_call>"#);
        assert_eq!(recover(&text, &weather()), None, "{text}");
    }
}

#[test]
fn call_ids_follow_the_reply_id() {
    assert_eq!(call_id(Some("chatcmpl-7"), 2), "chatcmpl-7-call-2");
    assert_eq!(call_id(None, 0), "call_0");
    assert_eq!(call_id(Some(""), 1), "call_1");
    assert_eq!(call_id(Some(&"x".repeat(101)), 1), "call_1");
}

/// Runs `pieces` through the streaming filter: the text passed on and the
/// calls, in order.
fn streamed(pieces: &[&str], offered: &Offered) -> (String, Vec<FoundCall>) {
    let mut filter = Streaming::new(offered.clone());
    let (mut text, mut calls) = (String::new(), Vec::new());
    for piece in pieces {
        filter.push(piece, &mut text, &mut calls);
    }
    filter.finish(&mut text, &mut calls);
    (text, calls)
}

fn samples() -> Vec<String> {
    vec![
        "Hello! How can I help you today?".into(),
        "  Indented\n\nand two lines\n".into(),
        format!("<tool_call>\n{PARIS}\n</tool_call>"),
        format!("Let me look.\n<tool_call>\n{PARIS}\n</tool_call>\nDone."),
        format!("<tool_call>{PARIS}</tool_call>\n<tool_call>{PARIS}</tool_call>\n"),
        format!("<tool_call>\n{PARIS}\n"),
        r#"<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call> then text"#.into(),
        r#"<tool_call>{"name": "get_weather", "argum"#.into(),
        format!("{PARIS}"),
        format!("\n{PARIS};\n{PARIS}"),
        format!("<|python_tag|>{PARIS}"),
        format!("{PARIS}\nThat is the call."),
        r#"{"city": "Paris"} is JSON"#.into(),
        format!("Checking. [TOOL_CALLS][{PARIS}]"),
        "a < b and [x] of [TOOL".into(),
        "<tool_c".into(),
        "emoji ☀️ <tool_call> ünïcode".into(),
    ]
}

#[test]
fn streaming_gives_what_the_whole_reply_gives() {
    for text in samples() {
        let (streamed_text, calls) = streamed(&[&text], &weather());
        match recover(&text, &weather()) {
            Some(recovered) => {
                assert_eq!(streamed_text.trim(), recovered.text, "{text:?}");
                assert_eq!(calls, recovered.calls, "{text:?}");
            }
            None => {
                assert_eq!(streamed_text, text, "{text:?}");
                assert!(calls.is_empty(), "{text:?}");
            }
        }
    }
}

#[test]
fn streaming_does_not_depend_on_where_the_pieces_split() {
    for text in samples() {
        let whole = streamed(&[&text], &weather());
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|&at| text.is_char_boundary(at))
            .collect();
        for &a in &bounds {
            assert_eq!(
                streamed(&[&text[..a], &text[a..]], &weather()),
                whole,
                "{text:?} split at {a}"
            );
        }
        // Every character on its own, as a slow stream sends them.
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(
            streamed(&pieces, &weather()),
            whole,
            "{text:?} char by char"
        );
    }
}

#[test]
fn streaming_without_tools_passes_everything_on_at_once() {
    let offered = Offered::by(&request(&[], None));
    let mut filter = Streaming::new(offered);
    assert!(!filter.is_active());
    let (mut text, mut calls) = (String::new(), Vec::new());
    filter.push("<tool_call>", &mut text, &mut calls);
    assert_eq!(text, "<tool_call>");
}

#[test]
fn streaming_holds_back_only_what_may_be_a_call() {
    let mut filter = Streaming::new(weather());
    let (mut text, mut calls) = (String::new(), Vec::new());
    filter.push("Sure, one moment <tool_", &mut text, &mut calls);
    assert_eq!(text, "Sure, one moment");
    assert_eq!(filter.held(), " <tool_");
    filter.push("call>", &mut text, &mut calls);
    filter.push(PARIS, &mut text, &mut calls);
    assert!(calls.is_empty(), "the block is not closed yet");
    filter.push("</tool_call>", &mut text, &mut calls);
    assert_eq!(calls, [found("get_weather", r#"{"city":"Paris"}"#)]);
    assert_eq!(filter.recovered(), 1);
    filter.push(" and more", &mut text, &mut calls);
    assert_eq!(text, "Sure, one moment  and more");
}

#[test]
fn a_block_that_never_closes_is_text_past_the_limit() {
    let mut filter = Streaming::new(weather());
    let (mut text, mut calls) = (String::new(), Vec::new());
    filter.push(
        "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"",
        &mut text,
        &mut calls,
    );
    let filler = "x".repeat(4096);
    for _ in 0..=(streaming::MAX_HELD_BYTES / filler.len()) {
        filter.push(&filler, &mut text, &mut calls);
    }
    assert!(!filter.is_active());
    assert!(text.starts_with("<tool_call>{"));
    assert!(text.len() > streaming::MAX_HELD_BYTES);
    filter.push("</tool_call>", &mut text, &mut calls);
    filter.finish(&mut text, &mut calls);
    assert!(calls.is_empty());
    assert!(text.ends_with("x</tool_call>"));
}
