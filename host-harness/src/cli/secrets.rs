//! Secrets this process has seen, scrubbed from anything it prints about
//! errors: the last line of defence for "the key never appears in output".

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret value. [`scrub`] leaves placeholders shorter than
/// [`vllm_harness::MIN_SECRET_LEN`] alone, as the library's `redact` does.
pub fn register(secret: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
    }
}

/// `text` with every registered secret replaced by `<redacted>`.
pub fn scrub(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    vllm_harness::redact(text, &secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed() {
        register("sk-cli-test-secret");
        register("EMPTY");
        assert_eq!(
            scrub("bad key sk-cli-test-secret (EMPTY)"),
            "bad key <redacted> (EMPTY)"
        );
    }
}
