//! `vllm-load-server ceiling`: the raw client. Plain TCP: it writes the
//! request bytes and reads the reply counting `data: {` event starts,
//! without parsing JSON, as fast as it can. Against the load server it shows
//! the server's own ceiling in events per second; it speaks the benchmark's
//! client protocol (`tests/bench/PROTOCOL.md`) for the streamed scenarios.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::scenario::{Kind, Scenario};

/// Longest the client waits for any one read or connect.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Size of the read buffer.
const BUFFER: usize = 256 * 1024;
/// Largest reply head.
const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 4096;

/// The client's arguments: the protocol's names.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which scenario of the protocol (the streamed ones).
    #[arg(value_enum, default_value_t = Mode::Stream)]
    scenario: Mode,
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:8000/v1` (plain HTTP).
    #[arg(long)]
    base_url: String,
    /// Model id, e.g. `text-w64`.
    #[arg(long)]
    model: String,
    /// Measured requests, one after another (`stream`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    requests: u32,
    /// Streams at once (`concurrent`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: u32,
    /// Events per request.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_tokens: u32,
}

/// The scenarios this client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// One warm-up, then `--requests` streams in sequence on one connection.
    Stream,
    /// One stream, nothing else.
    Once,
    /// `--concurrency` streams at once, one connection each.
    Concurrent,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::Once => "once",
            Self::Concurrent => "concurrent",
        }
    }
}

/// Runs the client, prints its one JSON line; exit 1 if any request failed.
pub fn run(args: &Args) -> ExitCode {
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(measure(args)));
    let report = match report {
        Ok(report) => report,
        Err(err) => Report {
            error: Some(format!("{err:#}")),
            errors: 1,
            ..Report::default()
        },
    };
    if let Some(error) = &report.error {
        eprintln!("vllm-load-server ceiling: {error}");
    }
    let line = serde_json::json!({
        "client": "raw",
        "scenario": args.scenario.name(),
        "latencies_us": report.latencies_us,
        "events": report.events,
        "elapsed_us": report.elapsed_us,
        "errors": report.errors,
        "error": report.error,
    });
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
        || report.errors > 0
    {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// What the client measured.
#[derive(Debug, Default)]
struct Report {
    latencies_us: Vec<u64>,
    events: u64,
    elapsed_us: u64,
    errors: u64,
    error: Option<String>,
}

impl Report {
    fn failed(&mut self, err: &anyhow::Error) {
        self.errors += 1;
        if self.error.is_none() {
            self.error = Some(format!("{err:#}"));
        }
    }
}

/// Runs the scenario.
async fn measure(args: &Args) -> anyhow::Result<Report> {
    let target = Arc::new(Target::new(&args.base_url, &args.model, args.max_tokens)?);
    let mut report = Report::default();
    match args.scenario {
        Mode::Stream | Mode::Once => {
            let mut client = Client::new(Arc::clone(&target));
            if args.scenario == Mode::Stream
                && let Err(err) = client.stream().await
            {
                report.failed(&err.context("warm-up"));
            }
            let measured = if args.scenario == Mode::Stream {
                args.requests
            } else {
                1
            };
            let first = Instant::now();
            for _ in 0..measured {
                let start = Instant::now();
                match client.stream().await {
                    Ok(events) => {
                        report.events += events;
                        if args.scenario == Mode::Stream {
                            report.latencies_us.push(micros(start.elapsed()));
                        }
                    }
                    Err(err) => report.failed(&err),
                }
            }
            report.elapsed_us = micros(first.elapsed());
        }
        Mode::Concurrent => {
            let first = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..args.concurrency {
                let mut client = Client::new(Arc::clone(&target));
                tasks.spawn(async move { client.stream().await });
            }
            while let Some(joined) = tasks.join_next().await {
                match joined.context("stream task") {
                    Ok(Ok(events)) => report.events += events,
                    Ok(Err(err)) | Err(err) => report.failed(&err),
                }
            }
            report.elapsed_us = micros(first.elapsed());
        }
    }
    Ok(report)
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// Where requests go and what they say.
#[derive(Debug)]
struct Target {
    /// `host:port`, to connect to and for the `Host` header.
    authority: String,
    /// The whole request, rendered once.
    request: Vec<u8>,
    /// `data:` chunks of a stream that are not events: the preamble, the
    /// finish chunk and the usage chunk.
    non_events: u64,
}

impl Target {
    fn new(base_url: &str, model: &str, max_tokens: u32) -> anyhow::Result<Self> {
        let rest = base_url
            .strip_prefix("http://")
            .with_context(|| format!("base URL {base_url:?} is not http://"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            bail!("base URL {base_url:?} has no host");
        }
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() {
            "/chat/completions".to_owned()
        } else {
            format!("/{path}/chat/completions")
        };
        let body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": max_tokens,
            "stream": true,
            "stream_options": {"include_usage": true},
        })
        .to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\naccept: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        // A model id the load server does not know (another server) is
        // assumed to stream like `text`.
        let kind = Scenario::parse(model).map_or(Kind::Text, |s| s.kind);
        Ok(Self {
            authority,
            request,
            non_events: kind.preamble_chunks() + 2,
        })
    }
}

/// One connection, kept alive across requests.
#[derive(Debug)]
struct Client {
    target: Arc<Target>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
}

impl Client {
    fn new(target: Arc<Target>) -> Self {
        Self {
            target,
            stream: None,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
        }
    }

    /// One streamed request: the events it carried.
    async fn stream(&mut self) -> anyhow::Result<u64> {
        let result = self.exchange().await;
        if result.is_err() {
            // Whatever is left of a failed reply is not reused.
            self.stream = None;
        }
        let scanner = result?;
        if scanner.done != 1 {
            bail!("the stream did not end with one `data: [DONE]`");
        }
        scanner
            .events
            .checked_sub(self.target.non_events)
            .context("the stream has fewer chunks than its role, finish and usage chunks")
    }

    /// Sends the request and reads the whole reply.
    async fn exchange(&mut self) -> anyhow::Result<Scanner> {
        if self.stream.is_none() {
            let connect = TcpStream::connect(self.target.authority.as_str());
            let stream = tokio::time::timeout(IO_TIMEOUT, connect)
                .await
                .context("connect timed out")?
                .with_context(|| format!("cannot connect to {}", self.target.authority))?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.start = 0;
            self.end = 0;
        }
        let stream = self.stream.as_mut().context("no connection")?;
        stream
            .write_all(&self.target.request)
            .await
            .context("sending")?;

        let head_len = loop {
            if let Some(at) = find(self.unread(), b"\r\n\r\n") {
                break at + 4;
            }
            if self.end - self.start >= MAX_HEAD {
                bail!("reply head larger than {MAX_HEAD} bytes");
            }
            self.fill().await?;
        };
        let head =
            String::from_utf8_lossy(self.unread().get(..head_len).unwrap_or_default()).into_owned();
        self.start += head_len;
        let head = ReplyHead::parse(&head)?;

        if head.status != 200 {
            // `stream` drops the connection after an error.
            let mut text = String::new();
            if let Some(len) = head.content_length.filter(|&len| len <= MAX_HEAD) {
                while self.end - self.start < len {
                    self.fill().await?;
                }
                text = String::from_utf8_lossy(self.unread().get(..len).unwrap_or_default())
                    .into_owned();
            }
            bail!("HTTP {}: {text}", head.status);
        }
        let mut scanner = Scanner::default();
        if head.chunked {
            self.chunked_body(&mut scanner).await?;
        } else if let Some(len) = head.content_length {
            self.body_bytes(len, &mut scanner).await?;
        } else {
            bail!("reply is neither chunked nor sized");
        }
        if head.close {
            self.stream = None;
        }
        Ok(scanner)
    }

    /// Decodes a chunked body, feeding its data to `scanner`.
    async fn chunked_body(&mut self, scanner: &mut Scanner) -> anyhow::Result<()> {
        loop {
            let line = self.line().await?;
            let hex = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(hex, 16)
                .with_context(|| format!("bad chunk size {hex:?}"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(());
            }
            self.body_bytes(size, scanner).await?;
            while self.end - self.start < 2 {
                self.fill().await?;
            }
            if self.unread().get(..2) != Some(b"\r\n") {
                bail!("chunk data not followed by CRLF");
            }
            self.start += 2;
        }
    }

    /// Feeds the next `len` bytes to `scanner`.
    async fn body_bytes(&mut self, mut len: usize, scanner: &mut Scanner) -> anyhow::Result<()> {
        while len > 0 {
            if self.start == self.end {
                self.fill().await?;
            }
            let take = len.min(self.end - self.start);
            scanner.feed(
                self.buf
                    .get(self.start..self.start + take)
                    .unwrap_or_default(),
            );
            self.start += take;
            len -= take;
        }
        Ok(())
    }

    /// The next CRLF-ended line (without the CRLF).
    async fn line(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(at) = find(self.unread(), b"\r\n") {
                let line = String::from_utf8_lossy(self.unread().get(..at).unwrap_or_default())
                    .into_owned();
                self.start += at + 2;
                return Ok(line);
            }
            if self.end - self.start > MAX_LINE {
                bail!("line longer than {MAX_LINE} bytes");
            }
            self.fill().await?;
        }
    }

    fn unread(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Reads more bytes after the unread ones.
    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let stream = self.stream.as_mut().context("no connection")?;
        let spare = self.buf.get_mut(self.end..).unwrap_or_default();
        if spare.is_empty() {
            bail!("reply line larger than the read buffer");
        }
        let read = tokio::time::timeout(IO_TIMEOUT, stream.read(spare))
            .await
            .context("read timed out")?
            .context("reading")?;
        if read == 0 {
            bail!("the server closed the connection mid-reply");
        }
        self.end += read;
        Ok(())
    }
}

/// The parts of a reply head the client uses.
#[derive(Debug)]
struct ReplyHead {
    status: u16,
    chunked: bool,
    content_length: Option<usize>,
    close: bool,
}

impl ReplyHead {
    fn parse(head: &str) -> anyhow::Result<Self> {
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("bad status line {status_line:?}"))?;
        let mut parsed = Self {
            status,
            chunked: false,
            content_length: None,
            close: status_line.starts_with("HTTP/1.0"),
        };
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                parsed.chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("content-length") {
                parsed.content_length = Some(value.parse().context("bad content-length")?);
            } else if name.eq_ignore_ascii_case("connection") {
                parsed.close = value.eq_ignore_ascii_case("close");
            }
        }
        Ok(parsed)
    }
}

/// Counts `data: {` (chunks) and `data: [` (`[DONE]`) starts in an SSE
/// byte stream fed in pieces of any size. A `data:` field starts a line, and
/// JSON holds no raw newline, so the scan jumps from newline to newline
/// (eight bytes at a time) and only looks closely after each.
#[derive(Debug)]
struct Scanner {
    /// Bytes of [`Self::PREFIX`] matched so far (the stream starts as if
    /// after a newline).
    matched: usize,
    events: u64,
    done: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            matched: 1,
            events: 0,
            done: 0,
        }
    }
}

impl Scanner {
    const PREFIX: &'static [u8] = b"\ndata: ";

    fn feed(&mut self, bytes: &[u8]) {
        let mut matched = self.matched;
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            if matched == 0 {
                match find_newline(bytes.get(at..).unwrap_or_default()) {
                    Some(offset) => {
                        at += offset + 1;
                        matched = 1;
                        continue;
                    }
                    None => break,
                }
            }
            if let Some(&want) = Self::PREFIX.get(matched) {
                matched = if byte == want {
                    matched + 1
                } else {
                    usize::from(byte == b'\n')
                };
            } else {
                match byte {
                    b'{' => self.events += 1,
                    b'[' => self.done += 1,
                    _ => {}
                }
                matched = usize::from(byte == b'\n');
            }
            at += 1;
        }
        self.matched = matched;
    }
}

/// Where the first `\n` of `bytes` is: eight bytes per step (a word with a
/// zero byte after XOR-ing newlines away has one).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight) ^ NEWLINES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        offset += 8;
    }
    bytes
        .get(offset..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map(|at| offset + at)
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_found_in_any_word() {
        for len in 0..40 {
            let mut text = vec![b'd'; len];
            assert_eq!(find_newline(&text), None);
            for at in 0..len {
                text[at] = b'\n';
                assert_eq!(find_newline(&text), Some(at), "{len} {at}");
                text[at] = 0xff;
            }
        }
    }

    #[test]
    fn scanner_counts_across_pieces() {
        let text = b"data: {\"a\":1}\n\ndata: {\"b\":\"data: {x\"}\n\nxdata: {}\n\n\ndata: {}\n\ndata: [DONE]\n\n";
        for size in [1, 2, 3, 7, text.len()] {
            let mut scanner = Scanner::default();
            for piece in text.chunks(size) {
                scanner.feed(piece);
            }
            assert_eq!((scanner.events, scanner.done), (3, 1), "pieces of {size}");
        }
    }

    #[test]
    fn targets() {
        let t = Target::new("http://127.0.0.1:9/v1/", "tools-w4", 7).expect("target");
        assert_eq!(t.authority, "127.0.0.1:9");
        assert!(
            t.request
                .starts_with(b"POST /v1/chat/completions HTTP/1.1\r\n")
        );
        assert_eq!(t.non_events, 4);
        let t = Target::new("http://localhost", "other", 7).expect("target");
        assert_eq!(t.authority, "localhost:80");
        assert_eq!(t.non_events, 3);
        assert!(Target::new("https://x/v1", "text", 1).is_err());
        assert!(Target::new("http:///v1", "text", 1).is_err());
    }
}
