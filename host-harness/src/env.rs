//! The environment the host chooses to show the plugin.

use crate::bindings::KeyValue;

/// The variable the provider reads its key from, exposed by default.
pub const API_KEY_VAR: &str = "VLLM_API_KEY";

/// The `env` list for [`crate::ConfigInput`]: the named variables that are
/// set in this process (and valid UTF-8), each once, in the order given.
/// Nothing else from the process environment reaches the plugin.
pub fn env_from_process<I, S>(names: I) -> Vec<KeyValue>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    env_from(names, |name| std::env::var(name).ok())
}

/// [`env_from_process`] over any lookup, for tests and embedders.
pub(crate) fn env_from<I, S>(names: I, lookup: impl Fn(&str) -> Option<String>) -> Vec<KeyValue>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<KeyValue> = Vec::new();
    for name in names {
        let name = name.as_ref();
        if name.is_empty() || out.iter().any(|kv| kv.name == name) {
            continue;
        }
        if let Some(value) = lookup(name) {
            out.push(KeyValue {
                name: name.to_owned(),
                value,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_and_set_variables_once_each() {
        let lookup = |name: &str| match name {
            "VLLM_API_KEY" => Some("k".to_owned()),
            "OTHER" => Some("o".to_owned()),
            _ => None,
        };
        let env = env_from(["VLLM_API_KEY", "UNSET", "VLLM_API_KEY", "OTHER"], lookup);
        let names: Vec<&str> = env.iter().map(|kv| kv.name.as_str()).collect();
        assert_eq!(names, ["VLLM_API_KEY", "OTHER"]);
        assert_eq!(env[0].value, "k");
    }
}
