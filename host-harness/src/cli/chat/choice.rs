//! What `chat` asks for: the model (`--model`, else the config's primary,
//! else the only one) and the tool choice (`--tool-choice`).

use vllm_harness::{Model, Tool, ToolChoice};

use crate::cli::fail::Failure;
use crate::cli::models::{id_of_arg, id_of_primary};

/// `auto`, `none`, `required`, or the name of one of the tools.
pub fn parse_tool_choice(choice: &str, tools: &[Tool]) -> Result<ToolChoice, Failure> {
    let needs_tools = |what: &str| {
        Failure::usage(format!(
            "--tool-choice {what} needs tools: pass --tools FILE.json"
        ))
    };
    match choice {
        "auto" => Ok(ToolChoice::Auto),
        "none" => Ok(ToolChoice::None),
        "required" if tools.is_empty() => Err(needs_tools("required")),
        "required" => Ok(ToolChoice::Required),
        name if tools.is_empty() => Err(needs_tools(name)),
        name if tools.iter().any(|t| t.name == name) => Ok(ToolChoice::Named(name.to_owned())),
        name => Err(Failure::usage(format!(
            "--tool-choice {name}: no such tool; the tools file defines {}",
            tools
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `--model`, else the config's primary model, else the only model.
pub fn choose_model(
    arg: Option<&str>,
    primary: Option<&str>,
    models: &[Model],
) -> Result<String, Failure> {
    if let Some(model) = arg {
        let id = id_of_arg(model.trim(), models);
        if id.is_empty() || id == "vllm/" {
            return Err(Failure::usage(format!(
                "--model {model:?} names no model: pass a model id or vllm/<id> (`models list` \
                 shows them)"
            )));
        }
        return Ok(id.to_owned());
    }
    if let Some(id) = primary.and_then(id_of_primary) {
        return Ok(id.to_owned());
    }
    match models {
        [only] => Ok(only.id.clone()),
        [] => Err(Failure::usage(
            "no model to use: pass --model ID (the provider has no models)",
        )),
        many => Err(Failure::usage(format!(
            "several models are available, pass --model with one of: {}",
            many.iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::models::tests::model;

    fn tool(name: &str) -> Tool {
        Tool {
            name: name.into(),
            description: None,
            parameters_json: "{}".into(),
        }
    }

    #[test]
    fn tool_choice_values() {
        let tools = [tool("get_weather")];
        assert_eq!(parse_tool_choice("auto", &[]).ok(), Some(ToolChoice::Auto));
        assert_eq!(parse_tool_choice("none", &[]).ok(), Some(ToolChoice::None));
        assert_eq!(
            parse_tool_choice("required", &tools).ok(),
            Some(ToolChoice::Required)
        );
        assert_eq!(
            parse_tool_choice("get_weather", &tools).ok(),
            Some(ToolChoice::Named("get_weather".into()))
        );
        let err = parse_tool_choice("other", &tools).expect_err("unknown tool");
        assert!(err.message.contains("get_weather"), "{}", err.message);
        assert!(parse_tool_choice("required", &[]).is_err());
        assert!(parse_tool_choice("get_weather", &[]).is_err());
    }

    #[test]
    fn model_choice_order() {
        let one = [model("m1")];
        let two = [model("a"), model("b")];
        assert_eq!(
            choose_model(Some("vllm/x"), Some("vllm/m1"), &one).ok(),
            Some("x".into())
        );
        assert_eq!(
            choose_model(None, Some("vllm/p"), &two).ok(),
            Some("p".into())
        );
        assert_eq!(
            choose_model(None, Some("openai/gpt"), &one).ok(),
            Some("m1".into())
        );
        assert_eq!(choose_model(None, None, &one).ok(), Some("m1".into()));
        let err = choose_model(None, None, &two).expect_err("ambiguous");
        assert_eq!(err.code, 2);
        assert!(err.message.contains("a, b"), "{}", err.message);
        assert!(choose_model(None, None, &[]).is_err());
    }
}
