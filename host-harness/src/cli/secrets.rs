//! Secrets this process has seen, scrubbed from anything it prints about
//! errors: the last line of defence for "the key never appears in output".

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Shorter values are not scrubbed (they would garble every message).
const MIN_LEN: usize = 4;

/// Remembers a secret value.
pub fn register(secret: &str) {
    if secret.len() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
    }
}

/// `text` with every registered secret replaced by `<redacted>`.
pub fn scrub(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    secrets.iter().fold(text.to_owned(), |acc, s| {
        acc.replace(s.as_str(), "<redacted>")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed() {
        register("sk-cli-test-secret");
        register("abc");
        assert_eq!(
            scrub("bad key sk-cli-test-secret (abc)"),
            "bad key <redacted> (abc)"
        );
    }
}
