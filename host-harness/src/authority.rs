//! Network authorities (`host:port`) as the sandbox compares them.
//!
//! The allow-list is one authority: the resolved base URL's. Two spellings of
//! the same place must compare equal (`HTTP://LocalHost/` and
//! `http://localhost:80`, `[::1]` and `[0:0:0:0:0:0:0:1]`), and a port left
//! out means the scheme's default.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host and a port, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authority {
    host: Host,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    /// A registered name, lower-cased, without a trailing dot.
    Name(String),
    /// An IP literal.
    Ip(IpAddr),
}

/// Why a URL has no authority the sandbox can allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// The text is not a URL at all.
    #[error("`{0}` is not a valid URL")]
    NotAUrl(String),
    /// The URL's scheme is not `http` or `https`.
    #[error("`{0}` does not start with http:// or https://")]
    UnsupportedScheme(String),
    /// The URL names no host.
    #[error("`{0}` names no host")]
    NoHost(String),
}

impl Authority {
    /// Parses the authority of an `http://` or `https://` URL. The port
    /// defaults to 80 or 443 by scheme; user info is ignored.
    pub fn from_url(url: &str) -> Result<Self, AuthorityError> {
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|_| AuthorityError::NotAUrl(url.to_owned()))?;
        Self::from_uri(&uri).map_err(|err| match err {
            AuthorityError::NotAUrl(_) => AuthorityError::NotAUrl(url.to_owned()),
            AuthorityError::UnsupportedScheme(_) => {
                AuthorityError::UnsupportedScheme(url.to_owned())
            }
            AuthorityError::NoHost(_) => AuthorityError::NoHost(url.to_owned()),
        })
    }

    /// The authority of an already parsed URI, as an outgoing request has it.
    pub fn from_uri(uri: &http::Uri) -> Result<Self, AuthorityError> {
        let default_port = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => 80,
            Some("https") => 443,
            _ => return Err(AuthorityError::UnsupportedScheme(uri.to_string())),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| AuthorityError::NoHost(uri.to_string()))?;
        let host =
            parse_host(authority.host()).ok_or_else(|| AuthorityError::NoHost(uri.to_string()))?;
        Ok(Self {
            host,
            port: authority.port_u16().unwrap_or(default_port),
        })
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the host is this machine or a private network: `localhost`
    /// (and `*.localhost`), loopback, private IPv4 ranges (10/8, 172.16/12,
    /// 192.168/16), link-local, IPv6 unique-local (fc00::/7) and the
    /// unspecified address.
    pub fn is_local(&self) -> bool {
        match &self.host {
            Host::Name(name) => name == "localhost" || name.ends_with(".localhost"),
            Host::Ip(IpAddr::V4(ip)) => is_local_v4(*ip),
            Host::Ip(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
                Some(v4) => is_local_v4(v4),
                None => is_local_v6(*ip),
            },
        }
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Name(name) => write!(f, "{name}:{}", self.port),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

fn parse_host(raw: &str) -> Option<Host> {
    if let Some(inner) = raw.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        // Zone ids (`%25eth0`) are not valid in http::Uri anyway.
        return inner
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| Host::Ip(IpAddr::V6(ip)));
    }
    if let Ok(ip) = raw.parse::<Ipv4Addr>() {
        return Some(Host::Ip(IpAddr::V4(ip)));
    }
    let name = raw.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() {
        None
    } else {
        Some(Host::Name(name))
    }
}

fn is_local_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
}

fn is_local_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link local, fe80::/10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(url: &str) -> Authority {
        match Authority::from_url(url) {
            Ok(a) => a,
            Err(err) => panic!("{url}: {err}"),
        }
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        assert_eq!(auth("http://example.com/v1"), auth("http://example.com:80"));
        assert_eq!(
            auth("https://example.com/v1"),
            auth("https://example.com:443/")
        );
        assert_ne!(
            auth("http://example.com/v1"),
            auth("https://example.com/v1")
        );
        assert_eq!(auth("https://example.com").port(), 443);
        assert_eq!(auth("http://example.com:8000/v1").port(), 8000);
    }

    #[test]
    fn host_case_trailing_dot_and_user_info_do_not_matter() {
        assert_eq!(
            auth("HTTP://LocalHost:8000/v1"),
            auth("http://localhost:8000")
        );
        assert_eq!(
            auth("http://localhost.:8000"),
            auth("http://localhost:8000")
        );
        assert_eq!(auth("http://user:pw@host:1/"), auth("http://host:1"));
    }

    #[test]
    fn different_hosts_or_ports_differ() {
        assert_ne!(auth("http://127.0.0.1:8000"), auth("http://127.0.0.1:8001"));
        assert_ne!(auth("http://127.0.0.1:8000"), auth("http://localhost:8000"));
        assert_ne!(auth("http://evil.com:8000"), auth("http://127.0.0.1:8000"));
    }

    #[test]
    fn ipv6_literals_compare_by_address() {
        assert_eq!(
            auth("http://[::1]:8000/v1"),
            auth("http://[0:0:0:0:0:0:0:1]:8000")
        );
        assert_eq!(auth("http://[::1]/").port(), 80);
        assert_eq!(auth("http://[::1]:8000").to_string(), "[::1]:8000");
        assert_ne!(auth("http://[::1]:8000"), auth("http://127.0.0.1:8000"));
    }

    #[test]
    fn display_is_host_colon_port() {
        assert_eq!(auth("http://127.0.0.1/v1").to_string(), "127.0.0.1:80");
        assert_eq!(
            auth("https://Api.Example.com/v1").to_string(),
            "api.example.com:443"
        );
    }

    #[test]
    fn rejects_what_is_not_an_http_url() {
        assert!(matches!(
            Authority::from_url("ftp://x/"),
            Err(AuthorityError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Authority::from_url("localhost:8000"),
            Err(AuthorityError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Authority::from_url("not a url"),
            Err(AuthorityError::NotAUrl(_))
        ));
        assert!(Authority::from_url("/v1/models").is_err());
    }

    #[test]
    fn local_hosts() {
        for url in [
            "http://localhost:8000",
            "http://LOCALHOST",
            "http://vllm.localhost",
            "http://127.0.0.1:8000",
            "http://127.8.9.1",
            "http://10.1.2.3",
            "http://172.16.0.1",
            "http://172.31.255.255",
            "http://192.168.1.50:9000",
            "http://169.254.1.1",
            "http://0.0.0.0:8000",
            "http://[::1]:8000",
            "http://[fd00::1]",
            "http://[fe80::1]",
            "http://[::ffff:192.168.0.1]",
        ] {
            assert!(auth(url).is_local(), "{url} should be local");
        }
        for url in [
            "https://api.example.com",
            "http://8.8.8.8",
            "http://172.32.0.1",
            "http://172.15.0.1",
            "http://192.169.0.1",
            "http://[2001:db8::1]",
            "http://[::ffff:8.8.8.8]",
            "http://localhost.example.com",
        ] {
            assert!(!auth(url).is_local(), "{url} should not be local");
        }
    }
}
