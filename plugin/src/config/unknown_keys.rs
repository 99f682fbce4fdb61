//! Keys the provider does not know, in the provider section or a model
//! entry: a typo (`bseUrl`, `contxtWindow`) would otherwise be ignored
//! without a word and the default used. Each costs a warning naming the key
//! and the nearest known one.

use serde_json::{Map, Value};

/// The provider section's keys: those this provider reads, and those
/// OpenClaw defines for every provider (which it ignores).
pub(super) const SECTION_KEYS: &[&str] = &[
    "api",
    "apiKey",
    "auth",
    "authHeader",
    "baseUrl",
    "headers",
    "injectNumCtxForOpenAICompat",
    "models",
    "timeoutSeconds",
];

/// A model entry's keys, likewise.
pub(super) const MODEL_KEYS: &[&str] = &[
    "api",
    "compat",
    "contextWindow",
    "cost",
    "headers",
    "id",
    "input",
    "maxTokens",
    "name",
    "params",
    "reasoning",
];

/// A warning for each key of `fields` not in `known`, at `path`.
pub(super) fn warnings(fields: &Map<String, Value>, known: &[&str], path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in fields.keys() {
        if known.contains(&key.as_str()) {
            continue;
        }
        let mut warning = format!(
            "{path}.{} is not a setting this provider knows, and is ignored",
            crate::quote::escaped(key)
        );
        match nearest(key, known) {
            Some(near) => {
                warning.push_str(": did you mean ");
                warning.push_str(near);
                warning.push('?');
            }
            None => {
                warning.push_str(" (known: ");
                for (i, name) in known.iter().enumerate() {
                    if i > 0 {
                        warning.push_str(", ");
                    }
                    warning.push_str(name);
                }
                warning.push(')');
            }
        }
        out.push(warning);
    }
    out
}

/// The known key closest to `key` by edit distance (ignoring ASCII case),
/// if it is close enough to be a typo of it.
fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let mut best: Option<(usize, &'k str)> = None;
    for candidate in known {
        let d = distance(key.as_bytes(), candidate.as_bytes());
        let close = d <= (candidate.len() / 3).max(2);
        if close && best.is_none_or(|(least, _)| d < least) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance over bytes, ignoring ASCII case (keys are ASCII).
fn distance(a: &[u8], b: &[u8]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn typos_name_the_nearest_known_key() {
        let fields = map(json!({"bseUrl": "x", "apiKey": "k", "timeoutSecs": 3, "zzz": 1}));
        let warned = warnings(&fields, SECTION_KEYS, "models.providers.vllm");
        assert_eq!(warned.len(), 3, "{warned:?}");
        assert!(warned.iter().any(
            |w| w.contains(".bseUrl is not a setting") && w.ends_with("did you mean baseUrl?")
        ));
        assert!(
            warned
                .iter()
                .any(|w| w.contains(".timeoutSecs") && w.ends_with("did you mean timeoutSeconds?"))
        );
        assert!(
            warned
                .iter()
                .any(|w| w.contains(".zzz") && w.contains("(known: api, apiKey"))
        );
        let model = map(json!({"id": "m", "contxtWindow": 4096, "MaxTokens": 5}));
        let warned = warnings(&model, MODEL_KEYS, "models.providers.vllm.models[0]");
        assert!(
            warned.iter().any(|w| w.contains("models[0].contxtWindow")
                && w.ends_with("did you mean contextWindow?"))
        );
        assert!(
            warned
                .iter()
                .any(|w| w.ends_with("did you mean maxTokens?"))
        );
        assert_eq!(distance(b"kitten", b"sitting"), 3);
        assert_eq!(distance(b"BASEURL", b"baseUrl"), 0);
    }
}
