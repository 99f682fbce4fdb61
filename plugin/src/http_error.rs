//! wasi-http's error codes in words, for the messages that pass them on:
//! each code's WIT name and what its payload says. Written out rather than
//! `{:?}`, whose derived code (and the Unicode tables its string quoting
//! needs) would be a good part of the component.

use crate::wit::wasi::http::types::{ErrorCode, FieldSizePayload, HeaderError};

/// `code` as its WIT name, with the details of its payload:
/// `DNS-error (rcode NXDOMAIN)`, `HTTP-response-body-size (1024 bytes)`.
pub fn describe(code: &ErrorCode) -> String {
    let (name, detail) = name_and_detail(code);
    match detail {
        Some(detail) if !detail.is_empty() => format!("{name} ({detail})"),
        _ => name.to_owned(),
    }
}

/// A header the host refused, in its WIT name.
pub fn header_error(error: &HeaderError) -> &'static str {
    match error {
        HeaderError::InvalidSyntax => "invalid-syntax",
        HeaderError::Forbidden => "forbidden",
        HeaderError::Immutable => "immutable",
    }
}

fn bytes<T: std::fmt::Display>(size: Option<T>) -> Option<String> {
    size.map(|size| format!("{size} bytes"))
}

fn field(payload: Option<&FieldSizePayload>) -> Option<String> {
    let payload = payload?;
    let parts: Vec<String> = [
        payload
            .field_name
            .as_ref()
            .map(|name| format!("field {name}")),
        bytes(payload.field_size),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(parts.join(", "))
}

fn name_and_detail(code: &ErrorCode) -> (&'static str, Option<String>) {
    match code {
        ErrorCode::DnsTimeout => ("DNS-timeout", None),
        ErrorCode::DnsError(payload) => {
            let parts: Vec<String> = [
                payload.rcode.as_ref().map(|rcode| format!("rcode {rcode}")),
                payload.info_code.map(|info| format!("info code {info}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            ("DNS-error", Some(parts.join(", ")))
        }
        ErrorCode::DestinationNotFound => ("destination-not-found", None),
        ErrorCode::DestinationUnavailable => ("destination-unavailable", None),
        ErrorCode::DestinationIpProhibited => ("destination-IP-prohibited", None),
        ErrorCode::DestinationIpUnroutable => ("destination-IP-unroutable", None),
        ErrorCode::ConnectionRefused => ("connection-refused", None),
        ErrorCode::ConnectionTerminated => ("connection-terminated", None),
        ErrorCode::ConnectionTimeout => ("connection-timeout", None),
        ErrorCode::ConnectionReadTimeout => ("connection-read-timeout", None),
        ErrorCode::ConnectionWriteTimeout => ("connection-write-timeout", None),
        ErrorCode::ConnectionLimitReached => ("connection-limit-reached", None),
        ErrorCode::TlsProtocolError => ("TLS-protocol-error", None),
        ErrorCode::TlsCertificateError => ("TLS-certificate-error", None),
        ErrorCode::TlsAlertReceived(payload) => {
            let parts: Vec<String> = [
                payload.alert_id.map(|id| format!("alert {id}")),
                payload.alert_message.clone(),
            ]
            .into_iter()
            .flatten()
            .collect();
            ("TLS-alert-received", Some(parts.join(", ")))
        }
        ErrorCode::HttpRequestDenied => ("HTTP-request-denied", None),
        ErrorCode::HttpRequestLengthRequired => ("HTTP-request-length-required", None),
        ErrorCode::HttpRequestBodySize(size) => ("HTTP-request-body-size", bytes(*size)),
        ErrorCode::HttpRequestMethodInvalid => ("HTTP-request-method-invalid", None),
        ErrorCode::HttpRequestUriInvalid => ("HTTP-request-URI-invalid", None),
        ErrorCode::HttpRequestUriTooLong => ("HTTP-request-URI-too-long", None),
        ErrorCode::HttpRequestHeaderSectionSize(size) => {
            ("HTTP-request-header-section-size", bytes(*size))
        }
        ErrorCode::HttpRequestHeaderSize(payload) => {
            ("HTTP-request-header-size", field(payload.as_ref()))
        }
        ErrorCode::HttpRequestTrailerSectionSize(size) => {
            ("HTTP-request-trailer-section-size", bytes(*size))
        }
        ErrorCode::HttpRequestTrailerSize(payload) => {
            ("HTTP-request-trailer-size", field(Some(payload)))
        }
        ErrorCode::HttpResponseIncomplete => ("HTTP-response-incomplete", None),
        ErrorCode::HttpResponseHeaderSectionSize(size) => {
            ("HTTP-response-header-section-size", bytes(*size))
        }
        ErrorCode::HttpResponseHeaderSize(payload) => {
            ("HTTP-response-header-size", field(Some(payload)))
        }
        ErrorCode::HttpResponseBodySize(size) => ("HTTP-response-body-size", bytes(*size)),
        ErrorCode::HttpResponseTrailerSectionSize(size) => {
            ("HTTP-response-trailer-section-size", bytes(*size))
        }
        ErrorCode::HttpResponseTrailerSize(payload) => {
            ("HTTP-response-trailer-size", field(Some(payload)))
        }
        ErrorCode::HttpResponseTransferCoding(coding) => {
            ("HTTP-response-transfer-coding", coding.clone())
        }
        ErrorCode::HttpResponseContentCoding(coding) => {
            ("HTTP-response-content-coding", coding.clone())
        }
        ErrorCode::HttpResponseTimeout => ("HTTP-response-timeout", None),
        ErrorCode::HttpUpgradeFailed => ("HTTP-upgrade-failed", None),
        ErrorCode::HttpProtocolError => ("HTTP-protocol-error", None),
        ErrorCode::LoopDetected => ("loop-detected", None),
        ErrorCode::ConfigurationError => ("configuration-error", None),
        ErrorCode::InternalError(message) => ("internal-error", message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::wasi::http::types::{DnsErrorPayload, TlsAlertReceivedPayload};

    #[test]
    fn codes_read_as_their_wit_names_with_their_payloads() {
        assert_eq!(
            describe(&ErrorCode::ConnectionRefused),
            "connection-refused"
        );
        assert_eq!(
            describe(&ErrorCode::DnsError(DnsErrorPayload {
                rcode: Some("NXDOMAIN".into()),
                info_code: Some(3),
            })),
            "DNS-error (rcode NXDOMAIN, info code 3)"
        );
        assert_eq!(
            describe(&ErrorCode::DnsError(DnsErrorPayload {
                rcode: None,
                info_code: None,
            })),
            "DNS-error"
        );
        assert_eq!(
            describe(&ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: Some(42),
                alert_message: Some("bad certificate".into()),
            })),
            "TLS-alert-received (alert 42, bad certificate)"
        );
        assert_eq!(
            describe(&ErrorCode::HttpResponseBodySize(Some(1024))),
            "HTTP-response-body-size (1024 bytes)"
        );
        assert_eq!(
            describe(&ErrorCode::HttpRequestHeaderSize(Some(FieldSizePayload {
                field_name: Some("x-big".into()),
                field_size: Some(9000),
            }))),
            "HTTP-request-header-size (field x-big, 9000 bytes)"
        );
        assert_eq!(
            describe(&ErrorCode::InternalError(Some("boom".into()))),
            "internal-error (boom)"
        );
        assert_eq!(header_error(&HeaderError::Forbidden), "forbidden");
    }
}
