//! The mock's deterministic stand-in for a tokenizer.
//!
//! A prompt costs, for each message, [`TOKENS_PER_MESSAGE`] plus one token
//! per whitespace-separated word of its text: string `content`, the `text`
//! of content parts, and the name and arguments of assistant tool calls.
//! Nothing else (tools, images, the chat template) is counted. Generated
//! text is one token per word (a word keeps its leading space).

use serde_json::Value;

/// What each message costs before its words (role and template markers).
pub const TOKENS_PER_MESSAGE: u32 = 4;

/// The number of whitespace-separated words in `text`.
pub fn words(text: &str) -> u32 {
    u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
}

/// The text of a message's `content`: a string, or its `text` parts joined
/// by spaces.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Prompt tokens of one message.
pub fn message_tokens(message: &Value) -> u32 {
    let mut n = TOKENS_PER_MESSAGE;
    if let Some(content) = message.get("content") {
        n = n.saturating_add(words(&content_text(content)));
    }
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
        for call in calls {
            let function = call.get("function");
            for key in ["name", "arguments"] {
                if let Some(text) = function.and_then(|f| f.get(key)).and_then(Value::as_str) {
                    n = n.saturating_add(words(text));
                }
            }
        }
    }
    n
}

/// Prompt tokens of a whole `messages` array.
pub fn prompt_tokens(messages: &[Value]) -> u32 {
    messages
        .iter()
        .map(message_tokens)
        .fold(0, u32::saturating_add)
}

/// Splits `text` into word tokens, each but the first keeping its leading
/// space: `"a b  c"` -> `["a", " b", "  c"]`.
pub fn split_tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut after_word = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        // A run of spaces after a word starts the next token.
        if space && after_word && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        after_word = !space;
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_words_plus_four_per_message() {
        let messages = vec![
            json!({"role": "system", "content": "be brief"}),
            json!({"role": "user", "content": [{"type": "text", "text": "hi there you"}]}),
        ];
        assert_eq!(prompt_tokens(&messages), 4 + 2 + 4 + 3);
    }

    #[test]
    fn split_keeps_leading_spaces() {
        assert_eq!(split_tokens("a b  c"), vec!["a", " b", "  c"]);
        assert_eq!(split_tokens("Hello!"), vec!["Hello!"]);
        assert_eq!(split_tokens(""), Vec::<String>::new());
    }
}
