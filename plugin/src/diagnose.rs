//! `diagnose`: what is wrong between this provider and its server, one check
//! at a time, each failure with the fix a user should apply.
//!
//! The checks run in order and each needs the ones before it: an address
//! that does not answer skips everything else, a refused key skips the model
//! checks. Problems are returned as checks, never as an error, so that a host
//! can print every line.

use crate::client::Client;
use crate::request::server_model_id;
use crate::transport::Transport;
use crate::wit::{
    ChatRequest, Check, CheckStatus, FinishReason, Model, ModelNotFoundError, ProviderConfig,
    ProviderError, Tool, ToolChoice,
};

/// How many model ids the `models` line names before "and N more".
const MODELS_NAMED: usize = 8;

/// The check names, in the order they run.
pub const CHECKS: [&str; 7] = [
    "reachable",
    "health",
    "version",
    "auth",
    "models",
    "completion",
    "tools",
];

/// Runs every check against the server `config` points at; `model` picks
/// the model of the completion check (default: the first one listed).
pub fn diagnose<T: Transport>(
    transport: &T,
    config: &ProviderConfig,
    model: Option<&str>,
) -> Vec<Check> {
    let mut report = Report::default();
    let client = match Client::new(transport, config) {
        Ok(client) => client,
        Err(error) => {
            report.fail("reachable", error_text(&error), error);
            return report.skip_rest("the configuration is not usable");
        }
    };

    match client.get_root("/health") {
        Err(error) => {
            report.fail("reachable", error_text(&error), error);
            return report.skip_rest("the server did not answer");
        }
        Ok((status, _)) => {
            report.pass(
                "reachable",
                format!("{} answered over HTTP", client.authority()),
            );
            health(&mut report, &client, status);
        }
    }
    version(&mut report, &client);

    let found = match client.discover() {
        Ok(found) => {
            let detail = if client.sends_key() {
                "the server accepted the API key (or needs none)"
            } else {
                "the server needs no API key (none was sent)"
            };
            report.pass("auth", detail.to_owned());
            found
        }
        Err(error @ ProviderError::Auth(_)) => {
            report.fail("auth", error_text(&error), error);
            return report.skip_rest("the server refused the API key");
        }
        Err(error) => {
            report.skip("auth", "GET /models failed before the key could be judged");
            report.fail("models", error_text(&error), error);
            return report.skip_rest("the server did not list its models");
        }
    };
    let models = found.models;
    if models.is_empty() {
        let detail = match found.warnings.as_slice() {
            [] => "GET /models listed no models".to_owned(),
            warnings => format!(
                "GET /models listed no usable model: {}",
                warnings.join("; ")
            ),
        };
        report.fail_with(
            "models",
            detail,
            "start vLLM with a model (`vllm serve MODEL`)",
        );
        return report.skip_rest("the server lists no models");
    }
    if found.warnings.is_empty() {
        report.pass("models", describe_models(&models));
    } else {
        report.warn(
            "models",
            format!(
                "{}; but {}",
                describe_models(&models),
                found.warnings.join("; ")
            ),
            "a proxy or a patched server changed the model cards; check GET /v1/models, and set \
             contextWindow for the model in models.providers.vllm.models meanwhile",
        );
    }

    // Later requests clamp their output budget with the real context windows.
    let mut with_models = config.clone();
    with_models.models = models;
    let client = match Client::new(transport, &with_models) {
        Ok(client) => client,
        Err(error) => {
            report.fail("completion", error_text(&error), error);
            return report.skip_rest("the configuration is not usable");
        }
    };
    let first = with_models.models[0].id.clone();
    let chosen = match model.map(|m| server_model_id(m.trim(), &with_models.models)) {
        Some(wanted) if !with_models.models.iter().any(|m| m.id == wanted) => {
            let available: Vec<String> = with_models.models.iter().map(|m| m.id.clone()).collect();
            let error = ProviderError::ModelNotFound(ModelNotFoundError {
                model: wanted.to_owned(),
                available: available.clone(),
                message: format!("GET /models does not list `{wanted}`"),
            });
            report.fail(
                "completion",
                format!(
                    "the server does not serve `{wanted}`; it serves {}",
                    available.join(", ")
                ),
                error,
            );
            None
        }
        Some(wanted) => Some(wanted.to_owned()),
        None => Some(first.clone()),
    };
    if let Some(id) = &chosen {
        match client.complete(&one_token(id, false)) {
            Ok(done) => report.pass(
                "completion",
                format!(
                    "`{id}` answered a one-token request (finish: {}{})",
                    finish_name(&done.finish_reason),
                    done.usage
                        .map(|u| format!(", {} prompt tokens", u.input))
                        .unwrap_or_default()
                ),
            ),
            Err(error) => report.fail("completion", error_text(&error), error),
        }
    }

    let probe_model = chosen.unwrap_or(first);
    match client.complete(&one_token(&probe_model, true)) {
        Ok(_) => report.pass(
            "tools",
            "requests with tools are accepted: the server parses tool calls".to_owned(),
        ),
        Err(ProviderError::BadRequest(message)) if message.contains("tool") => report.warn(
            "tools",
            format!("agents cannot call tools: {message}"),
            "restart vLLM with --enable-auto-tool-choice --tool-call-parser PARSER (the parser \
             for your model's chat template, e.g. hermes)",
        ),
        Err(error) => {
            let fix = fix_for(&error);
            report.warn(
                "tools",
                format!("a request with tools failed: {}", error_text(&error)),
                &fix,
            );
        }
    }
    report.checks
}

/// The checks so far.
#[derive(Debug, Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn push(
        &mut self,
        name: &str,
        status: CheckStatus,
        detail: String,
        fix: Option<String>,
        error: Option<ProviderError>,
    ) {
        self.checks.push(Check {
            name: name.to_owned(),
            status,
            detail,
            fix,
            error,
        });
    }

    fn pass(&mut self, name: &str, detail: String) {
        self.push(name, CheckStatus::Pass, detail, None, None);
    }

    fn warn(&mut self, name: &str, detail: String, fix: &str) {
        self.push(name, CheckStatus::Warn, detail, Some(fix.to_owned()), None);
    }

    /// A failure caused by a request that failed.
    fn fail(&mut self, name: &str, detail: String, error: ProviderError) {
        let fix = fix_for(&error);
        self.push(name, CheckStatus::Fail, detail, Some(fix), Some(error));
    }

    /// A failure the check itself found.
    fn fail_with(&mut self, name: &str, detail: String, fix: &str) {
        self.push(name, CheckStatus::Fail, detail, Some(fix.to_owned()), None);
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.push(
            name,
            CheckStatus::Skip,
            format!("not run: {why}"),
            None,
            None,
        );
    }

    /// Skips every check not reported yet and returns the report.
    fn skip_rest(mut self, why: &str) -> Vec<Check> {
        for name in CHECKS {
            if !self.checks.iter().any(|c| c.name == name) {
                self.skip(name, why);
            }
        }
        self.checks
    }
}

fn health<T: Transport>(report: &mut Report, client: &Client<'_, T>, status: u16) {
    let url = format!("{}/health", client.root_url());
    match status {
        200..=299 => report.pass("health", format!("GET {url}: HTTP {status}")),
        404 => report.fail_with(
            "health",
            format!("GET {url} answered HTTP 404: this does not look like a vLLM server"),
            "check the port: baseUrl must point at vLLM's OpenAI server and end in /v1, e.g. \
             http://127.0.0.1:8000/v1",
        ),
        500..=599 => report.fail_with(
            "health",
            format!(
                "GET {url} answered HTTP {status}: the server is up but its engine is not ready \
                 or has failed"
            ),
            "wait for the model to finish loading, or read the vLLM server's log for the \
             engine's error and restart it",
        ),
        _ => report.fail_with(
            "health",
            format!("GET {url} answered HTTP {status}"),
            "check that baseUrl points at vLLM itself and that no proxy in between guards or \
             rewrites /health",
        ),
    }
}

fn version<T: Transport>(report: &mut Report, client: &Client<'_, T>) {
    const FIX: &str = "nothing to do if this is vLLM behind a proxy that hides /version; the \
                       provider itself needs only /v1";
    match client.get_root("/version") {
        Ok((200, body)) => {
            let version = crate::json::parse_value(&body)
                .ok()
                .and_then(|v| v.get("version")?.as_str().map(str::to_owned));
            match version {
                Some(version) => report.pass("version", format!("vLLM {version}")),
                None => report.warn(
                    "version",
                    "GET /version answered without a version: not vLLM?".to_owned(),
                    FIX,
                ),
            }
        }
        Ok((status, _)) => report.warn(
            "version",
            format!("GET /version answered HTTP {status}: not vLLM, or a proxy hides it"),
            FIX,
        ),
        Err(error) => report.warn(
            "version",
            format!("GET /version failed: {}", error_text(&error)),
            FIX,
        ),
    }
}

fn describe_models(models: &[Model]) -> String {
    let named: Vec<String> = models
        .iter()
        .take(MODELS_NAMED)
        .map(|m| format!("{} (context {})", m.id, m.context_window))
        .collect();
    let more = models.len().saturating_sub(MODELS_NAMED);
    let count = if models.len() == 1 {
        "1 model".to_owned()
    } else {
        format!("{} models", models.len())
    };
    if more > 0 {
        format!("{count}: {} and {more} more", named.join(", "))
    } else {
        format!("{count}: {}", named.join(", "))
    }
}

/// A request for one token at temperature 0, with a do-nothing tool when
/// `with_tool` is set.
fn one_token(model: &str, with_tool: bool) -> ChatRequest {
    let tools = if with_tool {
        vec![Tool {
            name: "doctor_probe".to_owned(),
            description: Some("Does nothing; sent only to see that tools are accepted.".into()),
            parameters_json: r#"{"type":"object","properties":{}}"#.to_owned(),
        }]
    } else {
        Vec::new()
    };
    let mut request = crate::request::user_text(model, "Hi");
    request.tool_choice = with_tool.then_some(ToolChoice::Auto);
    request.tools = tools;
    request.sampling.temperature = Some(0.0);
    request.sampling.max_tokens = Some(1);
    request
}

fn finish_name(reason: &FinishReason) -> String {
    match reason {
        FinishReason::Stop => "stop".to_owned(),
        FinishReason::Length => "length".to_owned(),
        FinishReason::ToolCalls => "tool calls".to_owned(),
        FinishReason::Abort => "abort".to_owned(),
        FinishReason::Other(other) => other.clone(),
    }
}

/// The error's own words (which already name what failed).
pub fn error_text(error: &ProviderError) -> String {
    match error {
        ProviderError::Connection(e) => e.message.clone(),
        ProviderError::ModelNotFound(e) if e.available.is_empty() => e.message.clone(),
        ProviderError::ModelNotFound(e) => {
            format!(
                "{}; the server serves {}",
                e.message,
                e.available.join(", ")
            )
        }
        ProviderError::ContextLengthExceeded(e) => e.message.clone(),
        ProviderError::Server(e) => format!("HTTP {}: {}", e.status, e.message),
        ProviderError::InvalidConfig(e) => format!("{}: {}", e.path, e.reason),
        ProviderError::Auth(message)
        | ProviderError::BadRequest(message)
        | ProviderError::Timeout(message)
        | ProviderError::InvalidResponse(message)
        | ProviderError::Denied(message) => message.clone(),
    }
}

/// What a user should do about an error.
pub fn fix_for(error: &ProviderError) -> String {
    match error {
        ProviderError::Connection(e) => format!(
            "start vLLM (`vllm serve MODEL --port PORT`), or point baseUrl / --base-url at the \
             host and port it listens on; nothing answers at {}",
            e.authority
        ),
        ProviderError::Auth(_) => "set VLLM_API_KEY (or models.providers.vllm.apiKey) to the \
                                   key the server was started with (`vllm serve --api-key`)"
            .to_owned(),
        ProviderError::ModelNotFound(e) => match e.available.first() {
            Some(id) => format!(
                "use a model the server serves (e.g. --model {id}), or serve `{}`",
                e.model
            ),
            None => format!("serve `{}` or ask for a model the server lists", e.model),
        },
        ProviderError::ContextLengthExceeded(_) => {
            "even a one-token request does not fit: restart vLLM with a larger --max-model-len"
                .to_owned()
        }
        ProviderError::BadRequest(_) => "the server rejected a minimal request: check that it is \
                                         vLLM's OpenAI server and compare its version with \
                                         /version"
            .to_owned(),
        ProviderError::Server(e) if e.status == 404 => {
            "baseUrl must be the /v1 API of vLLM's OpenAI server, e.g. http://127.0.0.1:8000/v1"
                .to_owned()
        }
        ProviderError::Server(e) if crate::client::is_redirect(e.status) => {
            "point baseUrl at the vLLM server's /v1 API itself: the address answered with a \
             redirect, which is not followed"
                .to_owned()
        }
        ProviderError::Server(_) => {
            "read the vLLM server's log: it failed while answering".to_owned()
        }
        ProviderError::Timeout(_) => "the server accepted the connection but did not answer in \
                                      time: check that this address is vLLM and that it is not \
                                      overloaded, or raise timeoutSeconds"
            .to_owned(),
        ProviderError::InvalidConfig(e) => format!("correct {} in the config", e.path),
        ProviderError::InvalidResponse(_) => "something between here and vLLM changes its \
                                              replies (a proxy?): point baseUrl at vLLM itself"
            .to_owned(),
        ProviderError::Denied(_) => {
            "allow the server's host:port in the host's sandbox policy".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::replay::{Canned, Replay};
    use crate::wit::ProviderMode;

    const MODELS: &str = r#"{"object":"list","data":[{"id":"tiny","max_model_len":2048}]}"#;
    const OK: &str = r#"{"model":"tiny","choices":[{"index":0,"message":{"content":"H"},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;

    fn config(key: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            base_url: "http://127.0.0.1:8000/v1".into(),
            api_key: key.map(str::to_owned),
            headers: Vec::new(),
            timeout_ms: 1000,
            mode: ProviderMode::Discover,
            reason: String::new(),
            models: Vec::new(),
        }
    }

    fn json(status: u16, body: &str) -> Canned {
        (status, "application/json", vec![body.as_bytes().to_vec()])
    }

    fn statuses(checks: &[Check]) -> Vec<(&str, CheckStatus)> {
        checks.iter().map(|c| (c.name.as_str(), c.status)).collect()
    }

    #[test]
    fn a_healthy_server_passes_every_check_in_order() {
        let replay = Replay::new(vec![
            (200, "text/plain", Vec::new()),
            json(200, r#"{"version":"0.32.0"}"#),
            json(200, MODELS),
            json(200, OK),
            json(200, OK),
        ]);
        let checks = diagnose(&replay, &config(Some("sk-1")), None);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, CHECKS);
        assert!(
            checks.iter().all(|c| c.status == CheckStatus::Pass),
            "{checks:?}"
        );
        assert_eq!(checks[2].detail, "vLLM 0.32.0");
        assert_eq!(checks[4].detail, "1 model: tiny (context 2048)");
        assert!(
            checks[5].detail.contains("one-token"),
            "{}",
            checks[5].detail
        );
        let seen = replay.seen.borrow();
        let urls: Vec<&str> = seen.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:8000/health",
                "http://127.0.0.1:8000/version",
                "http://127.0.0.1:8000/v1/models",
                "http://127.0.0.1:8000/v1/chat/completions",
                "http://127.0.0.1:8000/v1/chat/completions",
            ]
        );
        let completion: serde_json::Value =
            serde_json::from_slice(&seen[3].body).expect("json body");
        assert_eq!(completion["max_completion_tokens"], 1);
        assert_eq!(completion["model"], "tiny");
        let tools: serde_json::Value = serde_json::from_slice(&seen[4].body).expect("json body");
        assert_eq!(tools["tool_choice"], "auto");
    }

    #[test]
    fn a_refused_key_fails_auth_and_skips_the_model_checks() {
        let replay = Replay::new(vec![
            (200, "text/plain", Vec::new()),
            json(200, r#"{"version":"0.32.0"}"#),
            json(401, r#"{"error":"Unauthorized"}"#),
        ]);
        let checks = diagnose(&replay, &config(Some("sk-secret-1")), None);
        assert_eq!(
            statuses(&checks),
            [
                ("reachable", CheckStatus::Pass),
                ("health", CheckStatus::Pass),
                ("version", CheckStatus::Pass),
                ("auth", CheckStatus::Fail),
                ("models", CheckStatus::Skip),
                ("completion", CheckStatus::Skip),
                ("tools", CheckStatus::Skip),
            ]
        );
        assert!(matches!(checks[3].error, Some(ProviderError::Auth(_))));
        assert!(
            checks[3]
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("VLLM_API_KEY"))
        );
        assert!(
            checks
                .iter()
                .all(|c| !format!("{c:?}").contains("sk-secret-1"))
        );
    }

    #[test]
    fn an_unknown_model_fails_the_completion_and_names_the_served_ones() {
        let replay = Replay::new(vec![
            (200, "text/plain", Vec::new()),
            json(200, r#"{"version":"0.32.0"}"#),
            json(200, MODELS),
            json(200, OK),
        ]);
        let checks = diagnose(&replay, &config(None), Some("vllm/nope"));
        assert_eq!(
            checks[3].detail,
            "the server needs no API key (none was sent)"
        );
        assert_eq!(checks[5].status, CheckStatus::Fail);
        assert!(checks[5].detail.contains("`nope`"), "{}", checks[5].detail);
        assert!(checks[5].detail.contains("tiny"), "{}", checks[5].detail);
        match &checks[5].error {
            Some(ProviderError::ModelNotFound(e)) => assert_eq!(e.available, ["tiny"]),
            other => panic!("{other:?}"),
        }
        // The tool check still runs, with a model that exists.
        assert_eq!(checks[6].status, CheckStatus::Pass);
    }

    #[test]
    fn a_server_without_tool_parsing_is_a_warning_with_the_flags_to_add() {
        let refused = r#"{"error":{"message":"\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set","type":"BadRequestError","param":null,"code":400}}"#;
        let replay = Replay::new(vec![
            (200, "text/plain", Vec::new()),
            json(200, r#"{"version":"0.32.0"}"#),
            json(200, MODELS),
            json(200, OK),
            json(400, refused),
        ]);
        let checks = diagnose(&replay, &config(None), None);
        assert_eq!(checks[6].status, CheckStatus::Warn);
        assert!(
            checks[6]
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("--enable-auto-tool-choice"))
        );
        assert!(
            checks[..6].iter().all(|c| c.status == CheckStatus::Pass),
            "{checks:?}"
        );
    }

    #[test]
    fn not_vllm_fails_health_and_an_unhealthy_engine_says_so() {
        let replay = Replay::new(vec![
            (404, "text/html", vec![b"<title>nginx</title>".to_vec()]),
            (404, "text/html", Vec::new()),
            json(404, r#"{"detail":"Not Found"}"#),
        ]);
        let checks = diagnose(&replay, &config(None), None);
        assert_eq!(checks[1].status, CheckStatus::Fail);
        assert!(
            checks[1]
                .detail
                .contains("does not look like a vLLM server")
        );
        assert_eq!(checks[2].status, CheckStatus::Warn);
        assert_eq!(checks[3].status, CheckStatus::Skip);
        assert_eq!(checks[4].status, CheckStatus::Fail);
        assert!(checks[4].fix.as_deref().is_some_and(|f| f.contains("/v1")));

        let replay = Replay::new(vec![(503, "text/plain", Vec::new())]);
        let checks = diagnose(&replay, &config(None), None);
        assert_eq!(checks[1].status, CheckStatus::Fail);
        assert!(
            checks[1].detail.contains("HTTP 503"),
            "{}",
            checks[1].detail
        );
    }

    #[test]
    fn an_unusable_config_fails_first_and_skips_the_rest() {
        let mut cfg = config(None);
        cfg.base_url = "ftp://example".into();
        let checks = diagnose(&Replay::new(Vec::new()), &cfg, None);
        assert_eq!(checks.len(), CHECKS.len());
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert!(matches!(
            checks[0].error,
            Some(ProviderError::InvalidConfig(_))
        ));
        assert!(checks[1..].iter().all(|c| c.status == CheckStatus::Skip));
    }
}
