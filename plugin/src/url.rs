//! The little URL handling a provider needs: `scheme://authority/path`.

/// A parsed `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `true` for `https`.
    pub https: bool,
    /// `host[:port]` as written (IPv6 literals keep their brackets).
    pub authority: String,
    /// The path and query, starting with `/` (just `/` when empty).
    pub path: String,
}

impl HttpUrl {
    /// Parse `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = strip_scheme(text, "http://") {
            (false, rest)
        } else if let Some(rest) = strip_scheme(text, "https://") {
            (true, rest)
        } else {
            return Err(format!(
                "\"{text}\" is not an http:// or https:// URL (expected e.g. http://127.0.0.1:8000/v1)"
            ));
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(index) => (&rest[..index], &rest[index..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("\"{text}\" has no host"));
        }
        if authority.contains('@') {
            return Err(format!(
                "\"{}\" carries credentials in the URL: put the key in apiKey instead",
                text.split('@').next_back().unwrap_or_default()
            ));
        }
        if path.contains('#') {
            return Err(format!(
                "\"{text}\" has a #fragment, which a base URL cannot have"
            ));
        }
        if let Some((_, port)) = split_port(authority)
            && port.parse::<u16>().is_err()
        {
            return Err(format!("\"{text}\" has an invalid port \"{port}\""));
        }
        let path = if path.is_empty() { "/" } else { path };
        Ok(Self {
            https,
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }

    /// `host:port`, with the scheme's default port filled in.
    pub fn host_port(&self) -> String {
        match split_port(&self.authority) {
            Some(_) => self.authority.clone(),
            None => format!("{}:{}", self.authority, if self.https { 443 } else { 80 }),
        }
    }
}

/// Split `host:port` into its parts; `None` when there is no port.
fn split_port(authority: &str) -> Option<(&str, &str)> {
    if authority.starts_with('[') {
        // [::1]:8000
        let end = authority.find(']')?;
        let rest = &authority[end + 1..];
        return rest
            .strip_prefix(':')
            .map(|port| (&authority[..=end], port));
    }
    authority.rsplit_once(':')
}

/// Normalise a base URL: trailing slashes go, so that `{base}/models` is right.
pub fn normalize_base(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let url = HttpUrl::parse(trimmed)?;
    if trimmed.contains('?') {
        return Err(format!(
            "\"{trimmed}\" has a ?query, which a base URL cannot have"
        ));
    }
    // Schemes are case-insensitive (RFC 3986 §3.1): `HTTP://` is written
    // the one way every later comparison expects.
    let scheme = if url.https { "https://" } else { "http://" };
    let rest = &trimmed[scheme.len()..];
    Ok(format!("{scheme}{}", rest.trim_end_matches('/')))
}

/// `text` after `scheme` (lowercase, with `://`), matched ignoring case.
fn strip_scheme<'t>(text: &'t str, scheme: &str) -> Option<&'t str> {
    let head = text.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &text[scheme.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_case_insensitive() {
        assert_eq!(
            normalize_base("HTTP://127.0.0.1:8000/v1/").as_deref(),
            Ok("http://127.0.0.1:8000/v1")
        );
        assert_eq!(
            normalize_base("Https://gpu.example/v1").as_deref(),
            Ok("https://gpu.example/v1")
        );
        assert!(HttpUrl::parse("HTTPS://example.com").expect("valid").https);
    }

    #[test]
    fn parses_and_fills_default_ports() {
        let url = HttpUrl::parse("http://127.0.0.1:8000/v1/models").expect("valid");
        assert_eq!(url.authority, "127.0.0.1:8000");
        assert_eq!(url.path, "/v1/models");
        assert_eq!(url.host_port(), "127.0.0.1:8000");
        assert_eq!(
            HttpUrl::parse("https://example.com")
                .expect("valid")
                .host_port(),
            "example.com:443"
        );
        assert_eq!(
            HttpUrl::parse("http://[::1]/v1")
                .expect("valid")
                .host_port(),
            "[::1]:80"
        );
        assert_eq!(
            HttpUrl::parse("http://[::1]:9000/v1")
                .expect("valid")
                .host_port(),
            "[::1]:9000"
        );
    }

    #[test]
    fn rejects_what_is_not_a_base_url() {
        for bad in [
            "127.0.0.1:8000/v1",
            "ftp://h/v1",
            "http:///v1",
            "http://h:notaport/v1",
            "http://user:pw@h/v1",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(normalize_base("http://h/v1?x=1").is_err());
    }

    #[test]
    fn credentials_are_not_echoed() {
        let error = HttpUrl::parse("http://user:secret@h/v1").expect_err("credentials");
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn normalises_trailing_slashes() {
        assert_eq!(
            normalize_base(" http://h:8000/v1/ ").as_deref(),
            Ok("http://h:8000/v1")
        );
        assert_eq!(
            normalize_base("http://h:8000//").as_deref(),
            Ok("http://h:8000")
        );
    }
}
