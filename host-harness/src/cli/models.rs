//! `models list`, and the model views `config` shares with it.

use serde::Serialize;
use vllm_harness::{Authority, InputKind, Model, ProviderConfig, ProviderMode};

use super::table;

/// Models are keyed `vllm/<id>` in OpenClaw.
pub const PROVIDER: &str = "vllm";

/// The `vllm/<id>` key of a model id.
pub fn key(id: &str) -> String {
    format!("{PROVIDER}/{id}")
}

/// The server id `agents.defaults.model.primary` names, when it names a
/// vLLM model: OpenClaw references are always `<provider>/<id>`.
pub fn id_of_primary(primary: &str) -> Option<&str> {
    primary
        .strip_prefix(PROVIDER)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| !id.is_empty())
}

/// The server id a `--model` argument names: `vllm/<id>` or a bare id
/// (which may itself contain `/`, like `Qwen/Qwen3-0.6B`). An argument that
/// is exactly the id of one of `models` names it as it is (a server may
/// serve `vllm/x`, which `vllm/vllm/x` names too), as the plugin reads it.
pub fn id_of_arg<'a>(model: &'a str, models: &[Model]) -> &'a str {
    if models.iter().any(|m| m.id == model) {
        return model;
    }
    id_of_primary(model).unwrap_or(model)
}

/// The context window as OpenClaw prints it: tokens / 1024, rounded, `k`.
pub fn format_ctx(tokens: u32) -> String {
    if tokens == 0 {
        return "-".to_owned();
    }
    format!("{}k", (f64::from(tokens) / 1024.0).round())
}

/// `text`, `text+image`, ...
pub fn input_label(input: &[InputKind]) -> String {
    if input.is_empty() {
        return "-".to_owned();
    }
    input
        .iter()
        .map(|k| input_name(*k))
        .collect::<Vec<_>>()
        .join("+")
}

fn input_name(kind: InputKind) -> &'static str {
    match kind {
        InputKind::Text => "text",
        InputKind::Image => "image",
    }
}

/// `explicit`, `discover` or `disabled`.
pub fn mode_name(mode: ProviderMode) -> &'static str {
    match mode {
        ProviderMode::Explicit => "explicit",
        ProviderMode::Discover => "discover",
        ProviderMode::Disabled => "disabled",
    }
}

/// Whether the base URL's host is this machine or a private network.
pub fn is_local(base_url: &str) -> bool {
    Authority::from_url(base_url).is_ok_and(|a| a.is_local())
}

/// The Tags column: `default`, `reasoning`, `configured`/`discovered`, `lora`.
pub fn tags(model: &Model, mode: ProviderMode, primary: Option<&str>) -> Vec<&'static str> {
    let mut tags = Vec::new();
    if primary.and_then(id_of_primary) == Some(model.id.as_str()) {
        tags.push("default");
    }
    if model.reasoning {
        tags.push("reasoning");
    }
    tags.push(match mode {
        ProviderMode::Explicit => "configured",
        ProviderMode::Discover | ProviderMode::Disabled => "discovered",
    });
    if model.parent.is_some() {
        tags.push("lora");
    }
    tags
}

/// One model as `--json` prints it, fields in this order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelJson<'a> {
    key: String,
    id: &'a str,
    name: &'a str,
    context_window: u32,
    max_tokens: u32,
    reasoning: bool,
    input: Vec<&'static str>,
    root: Option<&'a str>,
    parent: Option<&'a str>,
    /// The thinking levels `chat --thinking` controls for it; null when a
    /// level changes nothing on the wire.
    thinking: Option<ThinkingJson>,
}

/// A model's thinking profile as `--json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingJson {
    levels: Vec<&'static str>,
    default_level: &'static str,
}

impl<'a> ModelJson<'a> {
    /// The view of `model`.
    pub fn new(model: &'a Model) -> Self {
        Self {
            key: key(&model.id),
            id: &model.id,
            name: &model.name,
            context_window: model.context_window,
            max_tokens: model.max_tokens,
            reasoning: model.reasoning,
            input: model.input.iter().map(|k| input_name(*k)).collect(),
            root: model.root.as_deref(),
            parent: model.parent.as_deref(),
            thinking: model.thinking.as_ref().map(|profile| ThinkingJson {
                levels: profile
                    .levels
                    .iter()
                    .map(|l| super::thinking::name(*l))
                    .collect(),
                default_level: super::thinking::name(profile.default_level),
            }),
        }
    }

    /// All of `models`.
    pub fn all(models: &'a [Model]) -> Vec<Self> {
        models.iter().map(Self::new).collect()
    }
}

/// `models list --json`: `{"count": N, "models": [...]}`.
#[derive(Debug, Serialize)]
pub struct ListJson<'a> {
    count: usize,
    models: Vec<ModelJson<'a>>,
}

/// The `--json` text of a model list.
pub fn list_json(models: &[Model]) -> String {
    let list = ListJson {
        count: models.len(),
        models: ModelJson::all(models),
    };
    serde_json::to_string(&list).unwrap_or_default()
}

/// The human table: `Model  Input  Ctx  Local  Auth  Tags`.
pub fn list_table(models: &[Model], config: &ProviderConfig, primary: Option<&str>) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let local = yes_no(is_local(&config.base_url));
    let auth = yes_no(config.api_key.as_deref().is_some_and(|k| !k.is_empty()));
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            vec![
                key(&m.id),
                input_label(&m.input),
                format_ctx(m.context_window),
                local.clone(),
                auth.clone(),
                tags(m, config.mode, primary).join(","),
            ]
        })
        .collect();
    table::render(&["Model", "Input", "Ctx", "Local", "Auth", "Tags"], &rows)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vllm_harness::ModelCost;

    pub(crate) fn model(id: &str) -> Model {
        Model {
            id: id.into(),
            name: id.into(),
            reasoning: false,
            input: vec![InputKind::Text],
            cost: ModelCost {
                input: 0.0,
                output: 0.0,
                cache_read: 0.0,
                cache_write: 0.0,
            },
            context_window: 2048,
            max_tokens: 2048,
            root: None,
            parent: None,
            compat: vllm_harness::ModelCompat::none(),
            thinking: None,
        }
    }

    pub(crate) fn config(mode: ProviderMode, models: Vec<Model>) -> ProviderConfig {
        ProviderConfig {
            base_url: "http://127.0.0.1:8000/v1".into(),
            api_key: None,
            headers: vec![],
            timeout_ms: 60_000,
            mode,
            reason: "test".into(),
            models,
        }
    }

    #[test]
    fn ctx_like_openclaw() {
        assert_eq!(format_ctx(128_000), "125k");
        assert_eq!(format_ctx(131_072), "128k");
        assert_eq!(format_ctx(2048), "2k");
        assert_eq!(format_ctx(32_768), "32k");
        assert_eq!(format_ctx(1000), "1k");
        assert_eq!(format_ctx(0), "-");
    }

    #[test]
    fn input_labels() {
        assert_eq!(input_label(&[InputKind::Text]), "text");
        assert_eq!(
            input_label(&[InputKind::Text, InputKind::Image]),
            "text+image"
        );
        assert_eq!(input_label(&[]), "-");
    }

    #[test]
    fn model_refs() {
        assert_eq!(id_of_primary("vllm/m1"), Some("m1"));
        assert_eq!(
            id_of_primary("vllm/Qwen/Qwen3-0.6B"),
            Some("Qwen/Qwen3-0.6B")
        );
        assert_eq!(id_of_primary("openai/gpt-5"), None);
        assert_eq!(id_of_primary("vllm/"), None);
        assert_eq!(id_of_primary("vllmx/m"), None);
        assert_eq!(id_of_arg("vllm/m1", &[]), "m1");
        assert_eq!(id_of_arg("m1", &[]), "m1");
        assert_eq!(id_of_arg("Qwen/Qwen3-0.6B", &[]), "Qwen/Qwen3-0.6B");
        let served = [model("vllm/x")];
        assert_eq!(id_of_arg("vllm/x", &served), "vllm/x");
        assert_eq!(id_of_arg("vllm/vllm/x", &served), "vllm/x");
    }

    #[test]
    fn tag_rules() {
        let mut m = model("m1");
        assert_eq!(tags(&m, ProviderMode::Discover, None), ["discovered"]);
        m.reasoning = true;
        m.parent = Some("base".into());
        assert_eq!(
            tags(&m, ProviderMode::Explicit, Some("vllm/m1")),
            ["default", "reasoning", "configured", "lora"]
        );
        assert_eq!(
            tags(&m, ProviderMode::Explicit, Some("vllm/other")).first(),
            Some(&"reasoning")
        );
    }

    #[test]
    fn json_shape() {
        let mut m = model("m1");
        m.root = Some("/models/m1".into());
        let text = list_json(&[m]);
        assert_eq!(
            text,
            r#"{"count":1,"models":[{"key":"vllm/m1","id":"m1","name":"m1","contextWindow":2048,"maxTokens":2048,"reasoning":false,"input":["text"],"root":"/models/m1","parent":null,"thinking":null}]}"#
        );
        assert_eq!(list_json(&[]), r#"{"count":0,"models":[]}"#);
    }

    #[test]
    fn table_columns() {
        let mut cfg = config(ProviderMode::Discover, vec![]);
        cfg.api_key = Some("k".into());
        let out = list_table(&[model("m1")], &cfg, Some("vllm/m1"));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Model    Input  Ctx  Local  Auth  Tags");
        assert_eq!(
            lines[1],
            "vllm/m1  text   2k   yes    yes   default,discovered"
        );
        cfg.base_url = "https://api.example.com/v1".into();
        cfg.api_key = None;
        let out = list_table(&[model("m1")], &cfg, None);
        assert!(
            out.lines()
                .nth(1)
                .is_some_and(|l| l.contains("  no     no ")),
            "{out}"
        );
    }
}
