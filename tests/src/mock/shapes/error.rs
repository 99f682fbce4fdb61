//! Error bodies, in the current and the legacy shape, and the mid-stream error event.

use serde::Serialize;

use super::python::py_string;
use super::to_json;

#[derive(Serialize)]
struct ErrorInfo<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: u16,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: ErrorInfo<'a>,
}

#[derive(Serialize)]
struct LegacyErrorJson<'a> {
    object: &'static str,
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: u16,
}

/// An error body: `{"error":{"message","type","param","code"}}`, or with
/// `legacy` the flat `{"object":"error","message","type","param","code"}`.
pub fn error_body(
    legacy: bool,
    code: u16,
    kind: &str,
    message: &str,
    param: Option<&str>,
) -> String {
    if legacy {
        to_json(&LegacyErrorJson {
            object: "error",
            message,
            kind,
            param,
            code,
        })
    } else {
        to_json(&ErrorJson {
            error: ErrorInfo {
                message,
                kind,
                param,
                code,
            },
        })
    }
}

/// The `data:` payload vLLM sends when generation fails after the 200:
/// Python's `json.dumps` of the new error shape (note the spaces after `:`
/// and `,`), e.g. `{"error": {"message": "...", "type": "InternalServerError",
/// "param": null, "code": 500}}`.
pub fn stream_error_payload(code: u16, kind: &str, message: &str) -> String {
    format!(
        "{{\"error\": {{\"message\": {}, \"type\": {}, \"param\": null, \"code\": {code}}}}}",
        py_string(message),
        py_string(kind)
    )
}
