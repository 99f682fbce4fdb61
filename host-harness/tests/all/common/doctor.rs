//! Reading `vllm-harness doctor --json` output.

use serde_json::Value;

/// `(name, status)` of every check, in order.
pub fn statuses(json: &Value) -> Vec<(String, String)> {
    json["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_owned(),
                c["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

/// The check called `name`.
pub fn check<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {json}"))
}
