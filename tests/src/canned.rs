//! A loopback HTTP server that answers every request with bytes fixed in
//! advance, chosen by the request's path: for replies no HTTP library would
//! write (a redirect, a broken chunked body, a gzip body nobody asked for, a
//! head too large, a model list with bad cards), and for "the base URL names
//! the wrong port" ([`CannedServer::not_vllm`]: every request gets the HTML
//! 404 page a web server gives).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections served before the server stops by itself.
const MAX_CONNECTIONS: usize = 256;
/// The largest request head (and body) read from one connection.
const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// How long a connection may keep the server waiting for its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

const PAGE: &str = "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not \
                    Found</h1></center><hr><center>nginx</center></body></html>";

/// The running server; stopped when dropped.
#[derive(Debug)]
pub struct CannedServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// A whole HTTP/1.1 response with `content-length` and `connection: close`:
/// `status` is the status line's tail (`"200 OK"`), `headers` extra lines.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A 200 JSON response.
pub fn json(body: &str) -> Vec<u8> {
    response(
        "200 OK",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
}

impl CannedServer {
    /// Starts on a free port of 127.0.0.1, answering a request for a path in
    /// `routes` with its bytes, and any other with `fallback`.
    pub fn start(routes: Vec<(&str, Vec<u8>)>, fallback: Vec<u8>) -> Self {
        let routes: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
            routes
                .into_iter()
                .map(|(path, bytes)| (path.to_owned(), bytes))
                .collect(),
        );
        let fallback = Arc::new(fallback);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
            std::thread::spawn(move || {
                for _ in 0..MAX_CONNECTIONS {
                    let Ok((stream, _)) = listener.accept() else {
                        break;
                    };
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    // A client that misbehaves only ends its own connection.
                    if answer(stream, &routes, &fallback).is_ok() {
                        served.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        Self {
            addr,
            stop,
            served,
            thread: Some(thread),
        }
    }

    /// A web server that is not vLLM: the HTML 404 page for every request.
    pub fn not_vllm() -> Self {
        let page = response(
            "404 Not Found",
            &[("Server", "nginx"), ("Content-Type", "text/html")],
            PAGE.as_bytes(),
        );
        Self::start(Vec::new(), page)
    }

    /// `http://127.0.0.1:PORT/v1`, as a user would write a vLLM base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Requests answered so far.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head and `content-length` body) and writes the bytes
/// for its path.
fn answer(
    mut stream: TcpStream,
    routes: &[(String, Vec<u8>)],
    fallback: &[u8],
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&request, b"\r\n\r\n") {
            break end + 4;
        }
        if request.len() > MAX_REQUEST_BYTES {
            return Err(ErrorKind::InvalidData.into());
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        request.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let length = head
        .to_ascii_lowercase()
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST_BYTES);
    let mut body_read = request.len() - head_end;
    while body_read < length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        body_read += n;
    }
    let bytes = routes
        .iter()
        .find(|(route, _)| *route == path)
        .map_or(fallback, |(_, bytes)| bytes.as_slice());
    stream.write_all(bytes)?;
    stream.flush()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
