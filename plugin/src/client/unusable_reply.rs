//! Replies the provider cannot use, said as what they are: a redirect
//! (never followed: it could lead the key anywhere) and a body compressed
//! though none was asked for (a proxy in between compresses), whether its
//! head says so or not.

use crate::quote::truncated;
use crate::url::HttpUrl;
use crate::wit::{ProviderError, ServerError};

/// Longest part of a `location` header repeated in a message.
const MAX_LOCATION_CHARS: usize = 300;

/// `Ok` when the head can be read on; otherwise the error that says why
/// not and what to do. `url` is the request's, `base_url` the config's.
pub(super) fn check(
    status: u16,
    location: Option<&str>,
    content_encoding: Option<&str>,
    url: &str,
    base_url: &str,
) -> Result<(), ProviderError> {
    if is_redirect(status) {
        return Err(redirect(status, location, url, base_url));
    }
    match content_encoding.map(str::trim) {
        None | Some("") => Ok(()),
        Some(encoding) if encoding.eq_ignore_ascii_case("identity") => Ok(()),
        Some(encoding) => Err(compressed(
            url,
            &format!(
                "content-encoding: {}",
                truncated(encoding, MAX_LOCATION_CHARS)
            ),
        )),
    }
}

/// How a gzip stream starts (RFC 1952).
const GZIP_MAGIC: &[u8] = b"\x1F\x8B";

/// `Ok` unless `body` is gzip data though its head did not say so.
pub(super) fn check_body(body: &[u8], url: &str) -> Result<(), ProviderError> {
    if body.starts_with(GZIP_MAGIC) {
        return Err(compressed(
            url,
            "gzip data, though its head does not say so",
        ));
    }
    Ok(())
}

fn compressed(url: &str, how: &str) -> ProviderError {
    ProviderError::InvalidResponse(format!(
        "the reply from {url} is compressed ({how}), though the provider asked for no \
         compression: something between here and vLLM (a proxy or gateway) compresses it; turn \
         that off for the /v1 routes, or point baseUrl at vLLM itself"
    ))
}

fn redirect(status: u16, location: Option<&str>, url: &str, base_url: &str) -> ProviderError {
    let message = match location.map(str::trim).filter(|l| !l.is_empty()) {
        None => format!(
            "{url} answered with a redirect (HTTP {status}) without saying where to; redirects \
             are not followed: point baseUrl at the vLLM server's /v1 API itself"
        ),
        Some(location) => {
            let target = absolute(location, url);
            // The route asked for, relative to the base URL (`/models`).
            let route = url.strip_prefix(base_url).filter(|r| !r.is_empty());
            let suggestion = route
                .and_then(|route| target.strip_suffix(route))
                .filter(|base| base.starts_with("http://") || base.starts_with("https://"));
            let what_to_do = match suggestion {
                Some(base) => format!(
                    "if that is the vLLM server, set baseUrl to {}",
                    truncated(base, MAX_LOCATION_CHARS)
                ),
                None => "if it leads to the vLLM server, point baseUrl at that server's /v1 API"
                    .to_owned(),
            };
            format!(
                "{url} answered with a redirect (HTTP {status}) to {}; redirects are not \
                 followed (they could take the API key elsewhere): {what_to_do}",
                truncated(&target, MAX_LOCATION_CHARS)
            )
        }
    };
    ProviderError::Server(ServerError { status, message })
}

/// Whether `status` is a redirect (a 3xx other than 304 Not Modified).
pub(crate) fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status) && status != 304
}

/// `location` made absolute against `url` when it is a path.
fn absolute(location: &str, url: &str) -> String {
    if !location.starts_with('/') || location.starts_with("//") {
        return location.to_owned();
    }
    match HttpUrl::parse(url) {
        Ok(url) => {
            let scheme = if url.https { "https" } else { "http" };
            format!("{scheme}://{}{location}", url.authority)
        }
        Err(_) => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:8000/v1";
    const URL: &str = "http://127.0.0.1:8000/v1/models";

    fn message(result: Result<(), ProviderError>) -> String {
        match result {
            Err(ProviderError::Server(e)) => e.message,
            Err(ProviderError::InvalidResponse(m)) => m,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn a_redirect_names_its_target_and_the_base_url_to_use() {
        let m = message(check(
            302,
            Some("https://gpu-1:8443/v1/models"),
            None,
            URL,
            BASE,
        ));
        assert!(
            m.contains("redirect (HTTP 302) to https://gpu-1:8443/v1/models"),
            "{m}"
        );
        assert!(m.contains("not followed"), "{m}");
        assert!(m.contains("set baseUrl to https://gpu-1:8443/v1"), "{m}");
        let m = message(check(307, Some("/api/v1/models"), None, URL, BASE));
        assert!(m.contains("to http://127.0.0.1:8000/api/v1/models"), "{m}");
        assert!(
            m.contains("set baseUrl to http://127.0.0.1:8000/api/v1"),
            "{m}"
        );
        let m = message(check(
            301,
            Some("https://login.example/sso"),
            None,
            URL,
            BASE,
        ));
        assert!(m.contains("point baseUrl at that server"), "{m}");
        let m = message(check(308, None, None, URL, BASE));
        assert!(m.contains("without saying where"), "{m}");
    }

    #[test]
    fn a_compressed_body_is_named_and_identity_is_fine() {
        let m = message(check(200, None, Some("gzip"), URL, BASE));
        assert!(m.contains("compressed (content-encoding: gzip)"), "{m}");
        assert!(check(200, None, Some("identity"), URL, BASE).is_ok());
        assert!(check(200, None, None, URL, BASE).is_ok());
        assert!(check(304, None, None, URL, BASE).is_ok());
        let m = message(check_body(b"\x1F\x8B\x08\x00", URL));
        assert!(m.contains("compressed (gzip data"), "{m}");
        assert!(check_body(b"{}", URL).is_ok());
    }
}
