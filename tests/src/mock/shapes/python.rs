//! JSON text as Python's `json.dumps` writes it, where vLLM uses it.

/// A JSON object of string values written as Python's `json.dumps` does
/// (`{"a": "b", "c": "d"}`), the way vLLM's hermes parser renders tool
/// arguments.
pub fn py_object(fields: &[(String, String)]) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {}", py_string(k), py_string(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// A JSON string literal with Python's default `ensure_ascii` escaping.
pub(crate) fn py_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
