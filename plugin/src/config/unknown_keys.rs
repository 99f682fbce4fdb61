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
    fields
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| {
            let shown = crate::quote::escaped(key);
            match nearest(key, known) {
                Some(near) => format!(
                    "{path}.{shown} is not a setting this provider knows, and is ignored: did you \
                     mean {near}?"
                ),
                None => format!(
                    "{path}.{shown} is not a setting this provider knows, and is ignored (known: \
                     {})",
                    known.join(", ")
                ),
            }
        })
        .collect()
}

/// The known key closest to `key` by edit distance (ignoring case), if it
/// is close enough to be a typo of it.
fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key = key.to_ascii_lowercase();
    known
        .iter()
        .map(|candidate| (distance(&key, &candidate.to_ascii_lowercase()), *candidate))
        .filter(|(d, candidate)| *d <= (candidate.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
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
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
