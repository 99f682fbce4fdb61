//! `${VAR}` substitution in config strings, as OpenClaw does it.
//!
//! Names are `[A-Z_][A-Z0-9_]*`; `$${...}` stands for a literal `${...}`; any
//! other `$` is kept as written. A missing or empty variable is an error,
//! never a silent empty string: an empty key would look like "no auth".

/// Why a string could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    /// `${NAME}` names a variable the host did not give or gave empty.
    Missing(String),
    /// `${` without a closing `}`.
    Unclosed,
}

/// Substitute every `${NAME}` in `text` with `lookup(NAME)`.
pub fn substitute(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, SubstError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find('$') {
        out.push_str(&rest[..index]);
        let after = &rest[index..];
        if let Some(literal) = after.strip_prefix("$${") {
            // `$${X}` is the literal `${X}`.
            let end = literal.find('}').ok_or(SubstError::Unclosed)?;
            out.push_str("${");
            out.push_str(&literal[..=end]);
            rest = &literal[end + 1..];
        } else if let Some(inner) = after.strip_prefix("${") {
            let end = inner.find('}').ok_or(SubstError::Unclosed)?;
            let name = &inner[..end];
            if is_var_name(name) {
                match lookup(name) {
                    Some(value) if !value.is_empty() => out.push_str(&value),
                    _ => return Err(SubstError::Missing(name.to_owned())),
                }
            } else {
                // Not a variable reference OpenClaw would expand: keep it.
                out.push_str("${");
                out.push_str(&inner[..=end]);
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `[A-Z_][A-Z0-9_]*`
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "VLLM_API_KEY" => Some("k-1".into()),
            "EMPTY" => Some(String::new()),
            "PORT_2" => Some("9000".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_names() {
        assert_eq!(substitute("${VLLM_API_KEY}", env), Ok("k-1".into()));
        assert_eq!(
            substitute("http://h:${PORT_2}/v1", env),
            Ok("http://h:9000/v1".into())
        );
        assert_eq!(substitute("plain", env), Ok("plain".into()));
        assert_eq!(substitute("cost $5", env), Ok("cost $5".into()));
    }

    #[test]
    fn double_dollar_is_literal() {
        assert_eq!(
            substitute("$${VLLM_API_KEY}", env),
            Ok("${VLLM_API_KEY}".into())
        );
        assert_eq!(
            substitute("a$${X}b${VLLM_API_KEY}", env),
            Ok("a${X}bk-1".into())
        );
    }

    #[test]
    fn missing_or_empty_is_an_error() {
        assert_eq!(
            substitute("${NOPE}", env),
            Err(SubstError::Missing("NOPE".into()))
        );
        assert_eq!(
            substitute("${EMPTY}", env),
            Err(SubstError::Missing("EMPTY".into()))
        );
        assert_eq!(substitute("${VLLM_API_KEY", env), Err(SubstError::Unclosed));
    }

    #[test]
    fn non_names_are_kept() {
        assert_eq!(substitute("${lower}", env), Ok("${lower}".into()));
        assert_eq!(substitute("${1X}", env), Ok("${1X}".into()));
        assert!(is_var_name("_A1"));
        assert!(!is_var_name(""));
    }
}
