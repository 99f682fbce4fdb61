//! `--tools FILE.json`: an OpenAI-style `tools` array.
//!
//! `[{"type": "function", "function": {"name", "description", "parameters"}}]`.
//! Every entry is checked here so that a mistake is reported with the file
//! and the entry's index, not as a 400 from the server.

use std::path::Path;

use serde_json::Value;
use vllm_harness::Tool;

use super::fail::Failure;

/// Reads and validates a tools file.
pub fn load(path: &Path) -> Result<Vec<Tool>, Failure> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::usage(format!("cannot read tools file {name}: {err}")))?;
    parse(&text).map_err(|reason| Failure::usage(format!("tools file {name}: {reason}")))
}

/// Validates the text of a tools file; the error says where and what.
pub fn parse(text: &str) -> Result<Vec<Tool>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|err| format!("not valid JSON: {err}"))?;
    let Value::Array(entries) = value else {
        return Err(
            "expected a JSON array of tools: [{\"type\": \"function\", \"function\": {...}}]"
                .to_owned(),
        );
    };
    let mut tools: Vec<Tool> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let tool = parse_entry(entry).map_err(|reason| format!("tools[{index}]: {reason}"))?;
        if tools.iter().any(|t| t.name == tool.name) {
            return Err(format!(
                "tools[{index}]: a tool named `{}` is already defined",
                tool.name
            ));
        }
        tools.push(tool);
    }
    Ok(tools)
}

fn parse_entry(entry: &Value) -> Result<Tool, String> {
    let Value::Object(entry) = entry else {
        return Err("must be an object".to_owned());
    };
    match entry.get("type") {
        Some(Value::String(kind)) if kind == "function" => {}
        Some(_) => return Err("\"type\" must be \"function\"".to_owned()),
        None => return Err("missing \"type\": \"function\"".to_owned()),
    }
    let Some(Value::Object(function)) = entry.get("function") else {
        return Err("missing \"function\" object".to_owned());
    };
    let name = match function.get("name") {
        Some(Value::String(name)) if is_valid_name(name) => name.clone(),
        Some(Value::String(name)) => {
            return Err(format!(
                "function.name `{name}` must be 1-64 characters of a-z, A-Z, 0-9, _ or -"
            ));
        }
        _ => return Err("function.name must be a string".to_owned()),
    };
    let description = match function.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err("function.description must be a string".to_owned()),
    };
    let parameters_json = match function.get("parameters") {
        None | Some(Value::Null) => r#"{"type":"object","properties":{}}"#.to_owned(),
        Some(schema @ Value::Object(_)) => schema.to_string(),
        Some(_) => return Err("function.parameters must be a JSON Schema object".to_owned()),
    };
    Ok(Tool {
        name,
        description,
        parameters_json,
    })
}

fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_openai_tools() {
        let tools = parse(
            r#"[
              {"type": "function", "function": {"name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
              {"type": "function", "function": {"name": "now"}}
            ]"#,
        )
        .expect("valid");
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[0].name, "get_weather");
        assert_eq!(tools[0].description.as_deref(), Some("Weather for a city"));
        let schema: Value = serde_json::from_str(&tools[0].parameters_json).expect("schema");
        assert_eq!(schema["properties"]["city"]["type"], "string");
        assert_eq!(tools[1].description, None);
        assert_eq!(
            tools[1].parameters_json,
            r#"{"type":"object","properties":{}}"#
        );
    }

    #[test]
    fn errors_name_the_bad_entry() {
        let cases = [
            (r#"{"tools": []}"#, "expected a JSON array"),
            ("[1,", "not valid JSON"),
            (
                r#"[{"type":"function","function":{"name":"a"}}, 3]"#,
                "tools[1]: must be an object",
            ),
            (
                r#"[{"function":{"name":"a"}}]"#,
                "tools[0]: missing \"type\"",
            ),
            (
                r#"[{"type":"retrieval"}]"#,
                "tools[0]: \"type\" must be \"function\"",
            ),
            (r#"[{"type":"function"}]"#, "tools[0]: missing \"function\""),
            (
                r#"[{"type":"function","function":{}}]"#,
                "tools[0]: function.name must be",
            ),
            (
                r#"[{"type":"function","function":{"name":"has space"}}]"#,
                "tools[0]: function.name `has space`",
            ),
            (
                r#"[{"type":"function","function":{"name":"a","parameters":"{}"}}]"#,
                "tools[0]: function.parameters",
            ),
            (
                r#"[{"type":"function","function":{"name":"a","description":1}}]"#,
                "tools[0]: function.description",
            ),
            (
                r#"[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]"#,
                "tools[1]: a tool named `a`",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let err = load(Path::new("/nonexistent/tools.json")).expect_err("missing");
        assert_eq!(err.code, 2);
        assert!(
            err.message.contains("/nonexistent/tools.json"),
            "{}",
            err.message
        );
    }
}
