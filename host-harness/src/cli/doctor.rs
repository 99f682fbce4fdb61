//! `doctor`: one line per check of the configuration and the server, each
//! failure with the fix to apply; exit 0 only when no check failed.
//!
//! The configuration is checked here (it is the harness's to read); every
//! check of the server is the plugin's `diagnose`, so that the requests are
//! made exactly as the provider makes them, through the sandbox.

use serde::Serialize;
use vllm_harness::{
    CallError, Check, CheckStatus, ProviderConfig, ProviderError, ProviderMode, exit_code,
};

use super::config_file;
use super::fail::{Failure, USAGE};
use super::models::{id_of_primary, mode_name};
use super::secrets::scrub;
use super::setup::{Plugin, Spinner, show_warnings};
use super::terminal;
use super::{DoctorArgs, GlobalArgs, print};

/// One line of the report, with the exit code a failure stands for.
#[derive(Debug)]
struct Line {
    check: Check,
    code: i32,
}

impl Line {
    fn config_failed(detail: String, fix: &str, code: i32) -> Self {
        Self {
            check: Check {
                name: "config".to_owned(),
                status: CheckStatus::Fail,
                detail,
                fix: Some(fix.to_owned()),
                error: None,
            },
            code,
        }
    }
}

/// Runs `doctor`.
pub async fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<()> {
    let lines = diagnose(global, args).await?;
    let text = if args.json {
        format!("{}\n", to_json(&lines))
    } else {
        to_text(&lines)
    };
    print(&scrub(&text))?;
    match lines.iter().find(|l| l.check.status == CheckStatus::Fail) {
        None => Ok(()),
        Some(first) => {
            let failed = lines
                .iter()
                .filter(|l| l.check.status == CheckStatus::Fail)
                .count();
            Err(Failure {
                code: first.code,
                message: format!(
                    "{failed} of {} checks failed (first: {}); the fixes are above",
                    lines.len(),
                    first.check.name
                ),
            }
            .into())
        }
    }
}

/// The config line, then the plugin's checks when the config is usable.
async fn diagnose(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<Vec<Line>> {
    const FIX_FILE: &str = "correct the config file (--config, $OPENCLAW_CONFIG_PATH or \
                            ~/.openclaw/openclaw.json); `vllm-harness config` shows the result";
    let file = match config_file::load(global.config.as_deref()) {
        Ok(file) => file,
        Err(failure) => return Ok(vec![Line::config_failed(failure.message, FIX_FILE, USAGE)]),
    };
    // Without a loadable plugin there is nothing to diagnose with: that is
    // an error of the command, not a check.
    let plugin = Plugin::load(global, &file)?;
    let config = match plugin.resolve(global, &file).await {
        Ok(config) => config,
        Err(CallError::Provider(error)) => {
            let code = exit_code(&CallError::Provider(error.clone()));
            let fix = match &error {
                ProviderError::InvalidConfig(e) if e.path.starts_with("--") => {
                    format!("correct the {} argument", e.path)
                }
                ProviderError::InvalidConfig(e) if !e.path.starts_with("models.") => {
                    format!("correct {} where it is set, then run doctor again", e.path)
                }
                _ => FIX_FILE.to_owned(),
            };
            return Ok(vec![Line::config_failed(error.user_message(), &fix, code)]);
        }
        Err(trap) => return Err(trap.into()),
    };
    if config.mode == ProviderMode::Disabled {
        return Ok(vec![Line::config_failed(
            format!("the vllm provider is disabled: {}", config.reason.trim()),
            "pass --base-url URL, set VLLM_API_KEY, or add models.providers.vllm to the config",
            USAGE,
        )]);
    }

    let mut lines = vec![Line {
        check: Check {
            name: "config".to_owned(),
            status: CheckStatus::Pass,
            detail: describe_config(&config),
            fix: None,
            error: None,
        },
        code: 0,
    }];
    // Which component runs these checks: the embedded one or a file.
    lines.push(Line {
        check: Check {
            name: "plugin".to_owned(),
            status: CheckStatus::Pass,
            detail: plugin.describe(),
            fix: None,
            error: None,
        },
        code: 0,
    });
    let model = args
        .model
        .as_deref()
        .map(str::trim)
        .or_else(|| file.primary_model.as_deref().and_then(id_of_primary));
    let spinner = (!args.json).then(|| Spinner::start("checking the server"));
    let checks = plugin.harness.diagnose(&config, model).await;
    drop(spinner);
    show_warnings(&plugin.harness);
    lines.extend(checks?.into_iter().map(|check| {
        let code = match (&check.status, &check.error) {
            (CheckStatus::Fail, Some(error)) => exit_code(&CallError::Provider(error.clone())),
            (CheckStatus::Fail, None) => 1,
            _ => 0,
        };
        Line { check, code }
    }));
    Ok(lines)
}

fn describe_config(config: &ProviderConfig) -> String {
    let key = if config.api_key.as_deref().is_some_and(|k| !k.is_empty()) {
        "API key set"
    } else {
        "no API key"
    };
    let models = match config.mode {
        ProviderMode::Explicit => format!("{} models configured", config.models.len()),
        _ => "models discovered from the server".to_owned(),
    };
    format!(
        "base URL {}, {key}, {} mode: {models}",
        config.base_url,
        mode_name(config.mode)
    )
}

fn status_name(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Warn => "warn",
        CheckStatus::Fail => "fail",
        CheckStatus::Skip => "skip",
    }
}

/// One line per check (`ok`, `warn`, `FAIL`, `skip`), a `fix:` line under
/// each failure and warning, and a summary.
fn to_text(lines: &[Line]) -> String {
    let mut out = String::new();
    for line in lines {
        let check = &line.check;
        let label = match check.status {
            CheckStatus::Pass => "ok",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skip => "skip",
        };
        out.push_str(&format!(
            "{label:<5} {:<11} {}\n",
            terminal::line(&check.name),
            terminal::line(&check.detail)
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("{:<17} fix: {}\n", "", terminal::line(fix)));
        }
    }
    let count = |status| lines.iter().filter(|l| l.check.status == status).count();
    let (failed, warned) = (count(CheckStatus::Fail), count(CheckStatus::Warn));
    let warnings = match warned {
        0 => String::new(),
        1 => " (1 warning)".to_owned(),
        n => format!(" ({n} warnings)"),
    };
    if failed == 0 {
        out.push_str(&format!("\nall {} checks passed{warnings}\n", lines.len()));
    } else {
        out.push_str(&format!(
            "\n{failed} of {} checks failed{warnings}\n",
            lines.len()
        ));
    }
    out
}

/// `--json`: `{"ok", "exitCode", "checks": [{"name", "status", "detail",
/// "fix", "error"}]}`; `fix` and `error` (the error's kind) may be null.
fn to_json(lines: &[Line]) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Report<'a> {
        ok: bool,
        exit_code: i32,
        checks: Vec<CheckJson<'a>>,
    }
    #[derive(Serialize)]
    struct CheckJson<'a> {
        name: &'a str,
        status: &'static str,
        detail: &'a str,
        fix: Option<&'a str>,
        error: Option<&'static str>,
    }
    let first_failure = lines.iter().find(|l| l.check.status == CheckStatus::Fail);
    let report = Report {
        ok: first_failure.is_none(),
        exit_code: first_failure.map_or(0, |l| l.code),
        checks: lines
            .iter()
            .map(|l| CheckJson {
                name: &l.check.name,
                status: status_name(l.check.status),
                detail: &l.check.detail,
                fix: l.check.fix.as_deref(),
                error: l.check.error.as_ref().map(|e| e.kind()),
            })
            .collect(),
    };
    serde_json::to_string(&report).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, status: CheckStatus, fix: Option<&str>, code: i32) -> Line {
        Line {
            check: Check {
                name: name.to_owned(),
                status,
                detail: format!("{name} detail"),
                fix: fix.map(str::to_owned),
                error: None,
            },
            code,
        }
    }

    #[test]
    fn text_has_a_line_per_check_and_a_fix_under_failures() {
        let lines = [
            line("config", CheckStatus::Pass, None, 0),
            line("auth", CheckStatus::Fail, Some("set VLLM_API_KEY"), 4),
            line("models", CheckStatus::Skip, None, 0),
            line("tools", CheckStatus::Warn, Some("add flags"), 0),
        ];
        let text = to_text(&lines);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "ok    config      config detail");
        assert_eq!(rows[1], "FAIL  auth        auth detail");
        assert_eq!(rows[2].trim(), "fix: set VLLM_API_KEY");
        assert_eq!(rows[3], "skip  models      models detail");
        assert_eq!(rows[4], "warn  tools       tools detail");
        assert!(
            text.ends_with("1 of 4 checks failed (1 warning)\n"),
            "{text}"
        );
    }

    #[test]
    fn json_carries_the_exit_code_of_the_first_failure() {
        let lines = [
            line("config", CheckStatus::Pass, None, 0),
            line("auth", CheckStatus::Fail, Some("set VLLM_API_KEY"), 4),
            line(
                "completion",
                CheckStatus::Fail,
                Some("use a served model"),
                5,
            ),
        ];
        let json: serde_json::Value = serde_json::from_str(&to_json(&lines)).expect("json");
        assert_eq!(json["ok"], false);
        assert_eq!(json["exitCode"], 4);
        assert_eq!(json["checks"][1]["status"], "fail");
        assert_eq!(json["checks"][0]["fix"], serde_json::Value::Null);
        let passing = [line("config", CheckStatus::Pass, None, 0)];
        let json: serde_json::Value = serde_json::from_str(&to_json(&passing)).expect("json");
        assert_eq!(json["ok"], true);
        assert_eq!(json["exitCode"], 0);
    }
}
