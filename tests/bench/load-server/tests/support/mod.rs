//! Running the real `vllm-load-server` binary and talking to it over a
//! plain socket, with every wait and read bounded.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest any one socket read or write, or the server's start, may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Most bytes one reply may have in these tests.
const MAX_REPLY: usize = 64 * 1024 * 1024;
/// Most chunks one reply may have in these tests.
const MAX_CHUNKS: usize = 1_000_000;

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_vllm-load-server")
}

/// A server process, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts the server on a free port, waiting (bounded) for its first line.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(binary())
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vllm-load-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        let line = match rx.recv_timeout(IO_TIMEOUT) {
            Ok(Ok(line)) => line,
            other => {
                let _ = child.kill();
                panic!("no first line from the server: {other:?}");
            }
        };
        let port = line
            .trim_end()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self { child, port }
    }

    /// A new connection to the server.
    pub fn connect(&self) -> Conn {
        Conn::new(self.port)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    pub stream: TcpStream,
    /// Bytes read past the last reply.
    pending: Vec<u8>,
}

/// One reply, its body whole and, when chunked, chunk by chunk.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Vec<u8>>,
    pub body: Vec<u8>,
}

impl Conn {
    pub fn new(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("write timeout");
        Self {
            stream,
            pending: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Reply {
        self.send(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes());
        self.reply()
    }

    /// `POST /v1/chat/completions` with `body`, and its reply.
    pub fn chat(&mut self, body: &Value) -> Reply {
        self.send_chat(&body.to_string(), "");
        self.reply()
    }

    /// Sends a chat request with a raw body and extra header lines.
    pub fn send_chat(&mut self, body: &str, extra_headers: &str) {
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{extra_headers}content-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send(request.as_bytes());
    }

    /// Reads one whole reply.
    pub fn reply(&mut self) -> Reply {
        let head_end = loop {
            if let Some(at) = find(&self.pending, b"\r\n\r\n") {
                break at + 4;
            }
            assert!(self.pending.len() < 64 * 1024, "reply head too large");
            assert!(self.fill() > 0, "connection closed before a reply head");
        };
        let head = String::from_utf8(self.pending.drain(..head_end).collect()).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut reply = Reply {
            status,
            headers: headers.clone(),
            chunks: Vec::new(),
            body: Vec::new(),
        };
        if header("transfer-encoding").as_deref() == Some("chunked") {
            loop {
                assert!(reply.chunks.len() < MAX_CHUNKS, "too many chunks");
                let line = self.line();
                let size = usize::from_str_radix(&line, 16).expect("chunk size");
                if size == 0 {
                    assert_eq!(self.line(), "", "no trailers expected");
                    break;
                }
                assert!(reply.body.len() + size <= MAX_REPLY, "reply too large");
                let data = self.take(size);
                assert_eq!(self.take(2), b"\r\n", "chunk ends with CRLF");
                reply.body.extend_from_slice(&data);
                reply.chunks.push(data);
            }
        } else {
            let len: usize = header("content-length")
                .expect("content-length or chunked")
                .parse()
                .expect("numeric content-length");
            assert!(len <= MAX_REPLY, "reply too large");
            reply.body = self.take(len);
        }
        reply
    }

    /// Reads until the peer closes; true if it did (within the read timeout).
    pub fn closed_by_peer(&mut self) -> bool {
        let mut sink = [0; 4096];
        for _ in 0..1000 {
            match self.stream.read(&mut sink) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(at) = find(&self.pending, b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..at + 2).collect();
                return String::from_utf8_lossy(&line[..at]).into_owned();
            }
            assert!(self.pending.len() < 4096, "line too long");
            assert!(self.fill() > 0, "connection closed mid-reply");
        }
    }

    fn take(&mut self, len: usize) -> Vec<u8> {
        while self.pending.len() < len {
            assert!(self.fill() > 0, "connection closed mid-reply");
        }
        self.pending.drain(..len).collect()
    }

    pub fn fill(&mut self) -> usize {
        let mut buf = [0; 64 * 1024];
        let read = self
            .stream
            .read(&mut buf)
            .expect("read (bounded by the timeout)");
        self.pending.extend_from_slice(&buf[..read]);
        read
    }
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// The `data:` payloads of an SSE body, in order (`[DONE]` included).
    pub fn data(&self) -> Vec<String> {
        sse_data(&self.body)
    }
}

/// The `data:` payloads of SSE text.
pub fn sse_data(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).expect("UTF-8 SSE");
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "SSE ends an event"
    );
    text.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {event:?}"))
                .to_owned()
        })
        .collect()
}

/// A recording of vLLM 0.32.
pub fn fixture(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "fixtures",
        "vllm-0.32",
        name,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every key of a JSON text with its path (`choices.[].delta.content`), in
/// document order: two texts with equal lists have the same fields in the
/// same order.
pub fn key_paths(json: &str) -> Vec<String> {
    serde_json::from_str::<Value>(json).expect("valid JSON");
    let bytes = json.as_bytes();
    let mut paths = Vec::new();
    // (is an object, its current key)
    let mut stack: Vec<(bool, String)> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                stack.push((true, String::new()));
                expect_key = true;
            }
            b'[' => {
                stack.push((false, "[]".to_owned()));
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = matches!(stack.last(), Some((true, _))),
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key {
                    let key = String::from_utf8_lossy(&bytes[start..i]).into_owned();
                    let mut path: Vec<&str> = stack
                        .iter()
                        .take(stack.len().saturating_sub(1))
                        .map(|(_, k)| k.as_str())
                        .collect();
                    path.push(&key);
                    paths.push(path.join("."));
                    if let Some(top) = stack.last_mut() {
                        top.1 = key;
                    }
                    expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    paths
}

/// Runs the binary with `args` to its end (killed after `limit`).
pub fn run(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vllm-load-server");
    let start = Instant::now();
    while matches!(child.try_wait(), Ok(None)) {
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
