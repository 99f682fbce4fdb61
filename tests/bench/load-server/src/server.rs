//! The load server: accepting connections, routing requests, and writing
//! replies (streamed ones event batch by event batch, on the scenario's
//! schedule).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::http::{self, Method, Persist, ReadError, Reader, Request};
use crate::pace::Pace;
use crate::reply::{self, PartsCache};
use crate::scenario::{DEFAULT_TOKENS, MAX_TOKENS, Scenario};

/// Most connections open at once; the next waits to be accepted.
const MAX_CONNECTIONS: usize = 16 * 1024;
/// Longest a connection may sit idle between requests, or take to send one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a client may leave a reply unread before it is dropped.
const WRITE_STALL: Duration = Duration::from_secs(60);
/// How long a refused request's unread body is drained before closing, so
/// that the client sees the refusal rather than a reset.
const LINGER: Duration = Duration::from_secs(1);
/// The model a request without `model` gets (vLLM's first served model).
const DEFAULT_MODEL: &str = "text";
const JSON: &str = "application/json";

/// What every connection shares.
#[derive(Debug)]
pub struct Shared {
    parts: PartsCache,
    models: Vec<u8>,
    slots: Arc<Semaphore>,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            parts: PartsCache::default(),
            models: reply::models(),
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

/// Accepts connections forever, one task each.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok(slot) = Arc::clone(&shared.slots).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    connection(stream, &shared).await;
                    drop(slot);
                });
            }
            Err(err) => {
                // Out of file descriptors, most likely: wait for some to close.
                eprintln!("vllm-load-server: accept: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves requests on one connection until it closes, fails or idles.
async fn connection(mut stream: TcpStream, shared: &Shared) {
    // Each write is one chunk on the wire, at once.
    if let Err(err) = stream.set_nodelay(true) {
        report(&err);
    }
    let mut reader = Reader::default();
    let mut out = Vec::new();
    loop {
        let request = match tokio::time::timeout(REQUEST_TIMEOUT, reader.next(&mut stream)).await {
            Err(_) | Ok(Ok(None)) => return,
            Ok(Ok(Some(request))) => request,
            Ok(Err(ReadError::Io(err))) => return report(&err),
            Ok(Err(ReadError::Reject { status, message })) => {
                out.clear();
                let body = reply::error(message, http::reason(status), None, status);
                http::full_response(&mut out, status, Some(JSON), &body, Persist::Close);
                if send(&mut stream, &out).await.is_ok() {
                    linger_close(stream).await;
                }
                return;
            }
        };
        match respond(&mut stream, &request, shared, &mut out).await {
            Ok(true) => {}
            Ok(false) => {
                if let Err(err) = stream.shutdown().await {
                    report(&err);
                }
                return;
            }
            Err(err) => return report(&err),
        }
    }
}

/// Answers one request; `Ok(true)` when the connection stays open.
async fn respond(
    stream: &mut TcpStream,
    request: &Request,
    shared: &Shared,
    out: &mut Vec<u8>,
) -> io::Result<bool> {
    let keep = request.keep_alive;
    let persist = Persist::for_request(request, keep);
    out.clear();
    let known = matches!(
        request.path.as_str(),
        "/v1/models" | "/health" | "/version" | "/v1/chat/completions"
    );
    match (request.method, request.path.as_str()) {
        (Method::Get, "/v1/models") => {
            http::full_response(out, 200, Some(JSON), &shared.models, persist);
        }
        (Method::Get, "/health") => http::full_response(out, 200, None, b"", persist),
        (Method::Get, "/version") => {
            http::full_response(out, 200, Some(JSON), &reply::version(), persist);
        }
        (Method::Post, "/v1/chat/completions") => {
            return chat(stream, request, shared, out).await;
        }
        _ if known => {
            let body = reply::detail("Method Not Allowed");
            http::full_response(out, 405, Some(JSON), &body, persist);
        }
        _ => http::full_response(out, 404, Some(JSON), &reply::detail("Not Found"), persist),
    }
    send(stream, out).await?;
    Ok(keep)
}

/// `POST /v1/chat/completions`.
async fn chat(
    stream: &mut TcpStream,
    request: &Request,
    shared: &Shared,
    out: &mut Vec<u8>,
) -> io::Result<bool> {
    let chat = match ChatRequest::parse(&request.body) {
        Ok(chat) => chat,
        Err((status, body)) => {
            let persist = Persist::for_request(request, request.keep_alive);
            http::full_response(out, status, Some(JSON), &body, persist);
            send(stream, out).await?;
            return Ok(request.keep_alive);
        }
    };
    if !chat.stream {
        let persist = Persist::for_request(request, request.keep_alive);
        let body = reply::completion(&chat.model, &chat.scenario, chat.total);
        http::full_response(out, 200, Some(JSON), &body, persist);
        send(stream, out).await?;
        return Ok(request.keep_alive);
    }
    // HTTP/1.0 has no chunks: the stream ends with the connection.
    let chunked = !request.http10;
    let keep = request.keep_alive && chunked;
    let persist = Persist::for_request(request, keep);
    let parts = shared.parts.get(&chat.model, chat.scenario.kind);

    http::stream_head(out, chunked, persist);
    frame(out, chunked, parts.preamble());
    send(stream, out).await?;

    let mut pace = Pace::new(chat.scenario.delay);
    let total = chat.total;
    let mut index = 0;
    while index < total {
        let end = index.saturating_add(chat.scenario.per_write).min(total);
        out.clear();
        let start = if chunked { http::begin_chunk(out) } else { 0 };
        for event in index..end {
            out.extend_from_slice(parts.event(event, total));
        }
        let begin = if chunked {
            http::end_chunk(out, start)
        } else {
            0
        };
        if let Some(pace) = pace.as_mut() {
            pace.wait().await;
        }
        send(stream, out.get(begin..).unwrap_or_default()).await?;
        index = end;
    }

    out.clear();
    frame(out, chunked, &parts.tail(total, chat.include_usage));
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    send(stream, out).await?;
    Ok(keep)
}

/// Appends `data` as a chunk, or as it is when the reply is not chunked.
fn frame(out: &mut Vec<u8>, chunked: bool, data: &[u8]) {
    if chunked {
        http::push_chunk(out, data);
    } else {
        out.extend_from_slice(data);
    }
}

/// What a chat request asks for.
#[derive(Debug)]
struct ChatRequest {
    model: String,
    scenario: Scenario,
    total: u32,
    stream: bool,
    include_usage: bool,
}

/// A refusal: status and vLLM-shaped body.
type Refusal = (u16, Vec<u8>);

impl ChatRequest {
    /// Reads the fields the server uses, refusing what vLLM would: in
    /// vLLM's order, types first, then the model, then the value ranges.
    fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let value: Value =
            serde_json::from_slice(body).map_err(|err| (400, reply::bad_json(&err.to_string())))?;
        let Value::Object(fields) = &value else {
            return Err((
                400,
                reply::invalid(
                    "body",
                    "model_attributes_type",
                    "Input should be a valid dictionary or object to extract fields from",
                    0,
                ),
            ));
        };
        let items = fields.len();
        let invalid = |field: &str, kind: &str, msg: &str| {
            (
                400,
                reply::invalid(&format!("body.{field}"), kind, msg, items),
            )
        };
        match fields.get("messages") {
            None => return Err(invalid("messages", "missing", "Field required")),
            Some(Value::Array(_)) => {}
            Some(_) => {
                return Err(invalid(
                    "messages",
                    "list_type",
                    "Input should be a valid list",
                ));
            }
        }
        let model = match fields.get("model") {
            None | Some(Value::Null) => DEFAULT_MODEL,
            Some(Value::String(model)) => model.as_str(),
            Some(_) => {
                return Err(invalid(
                    "model",
                    "string_type",
                    "Input should be a valid string",
                ));
            }
        };
        let stream = match fields.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(stream)) => *stream,
            Some(_) => {
                return Err(invalid(
                    "stream",
                    "bool_type",
                    "Input should be a valid boolean",
                ));
            }
        };
        let mut tokens = None;
        // vLLM takes `max_completion_tokens` over `max_tokens`.
        for field in ["max_tokens", "max_completion_tokens"] {
            match fields.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => tokens = Some((field, n)),
                Some(_) => {
                    return Err(invalid(
                        field,
                        "int_type",
                        "Input should be a valid integer",
                    ));
                }
            }
        }
        let include_usage = match fields.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(Value::Object(options)) => {
                options.get("include_usage") == Some(&Value::Bool(true))
            }
            Some(_) => {
                return Err(invalid(
                    "stream_options",
                    "model_type",
                    "Input should be a valid dictionary or instance of StreamOptions",
                ));
            }
        };
        if !stream && fields.get("stream_options").is_some_and(|o| !o.is_null()) {
            let message =
                "Stream options can only be defined when `stream=True`. (parameter=stream_options)";
            return Err((
                400,
                reply::error(message, "BadRequestError", Some("stream_options"), 400),
            ));
        }
        let Some(scenario) = Scenario::parse(model) else {
            return Err((404, reply::unknown_model(model)));
        };
        let total = match tokens {
            None => DEFAULT_TOKENS,
            Some((field, n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if (1..=MAX_TOKENS).contains(&n) => n,
                _ => return Err((400, reply::bad_max_tokens(field, &n.to_string()))),
            },
        };
        Ok(Self {
            model: model.to_owned(),
            scenario,
            total,
            stream,
            include_usage,
        })
    }
}

/// Writes `bytes` whole: straight away when the socket takes them, else
/// waiting at most [`WRITE_STALL`] for the client to read.
async fn send(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    let sent = match stream.try_write(bytes) {
        Ok(sent) => sent,
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => 0,
        Err(err) => return Err(err),
    };
    if let Some(rest) = bytes.get(sent..).filter(|rest| !rest.is_empty()) {
        tokio::time::timeout(WRITE_STALL, stream.write_all(rest))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
    } else {
        // `try_write` spends no scheduling budget: let other connections
        // run now and then.
        tokio::task::coop::consume_budget().await;
    }
    Ok(())
}

/// Closes after a refusal: stops writing, then drains (briefly, boundedly)
/// what the client still sends, so closing does not reset the connection
/// before the client has read the refusal.
async fn linger_close(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = vec![0; 16 * 1024];
    let drain = async {
        let mut drained = 0;
        while drained < 4 * http::MAX_BODY {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Tells stderr about a connection failure, unless it is the client going
/// away (which just ends that connection).
fn report(err: &io::Error) {
    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, TimedOut, UnexpectedEof};
    if !matches!(
        err.kind(),
        BrokenPipe | ConnectionAborted | ConnectionReset | TimedOut | UnexpectedEof
    ) {
        eprintln!("vllm-load-server: connection: {err}");
    }
}
