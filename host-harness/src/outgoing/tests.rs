//! The plain-HTTP sender against real sockets on 127.0.0.1.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A server of one connection: reads the request head, then runs `script`.
async fn serve_once<F, Fut>(script: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
            if stream.read(&mut byte).await.expect("read") == 0 {
                return;
            }
            head.push(byte[0]);
        }
        script(stream).await;
    });
    (format!("http://{addr}/v1/chat/completions"), task)
}

fn get(url: &str) -> http::Request<WasiBody> {
    http::Request::builder()
        .uri(url)
        .body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync())
        .expect("request")
}

fn options(between_frames_ms: u64) -> Option<RequestOptions> {
    Some(RequestOptions {
        connect_timeout: Some(Duration::from_secs(5)),
        first_byte_timeout: Some(Duration::from_secs(5)),
        between_bytes_timeout: Some(Duration::from_millis(between_frames_ms)),
    })
}

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                      transfer-encoding: chunked\r\n\r\n";

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads a body to its end: the frames' lengths, or the error.
async fn read_all(mut body: WasiBody) -> Result<Vec<usize>, HttpError> {
    let mut frames = Vec::new();
    for _ in 0..100_000 {
        match body.frame().await {
            Some(Ok(frame)) => frames.push(frame.data_ref().map_or(0, Bytes::len)),
            Some(Err(err)) => return Err(err),
            None => return Ok(frames),
        }
    }
    panic!("the body did not end");
}

#[tokio::test]
async fn chunks_that_wait_are_read_in_batches() {
    const EVENTS: usize = 2_000;
    let (url, server) = serve_once(|mut stream| async move {
        // Every event its own chunk and its own write, all before the
        // client reads: they wait in the socket together.
        stream.write_all(HEAD).await.expect("head");
        for i in 0..EVENTS {
            let event = format!("data: {{\"n\":{i}}}\n\n");
            stream
                .write_all(&chunk(event.as_bytes()))
                .await
                .expect("chunk");
        }
        stream.write_all(b"0\r\n\r\n").await.expect("end");
    })
    .await;
    let (response, _io) = send(get(&url), options(5_000), u64::MAX)
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    server.await.expect("server wrote everything");
    let frames = read_all(response.into_body()).await.expect("whole body");
    let expected: usize = (0..EVENTS)
        .map(|i| format!("data: {{\"n\":{i}}}\n\n").len())
        .sum();
    assert_eq!(frames.iter().sum::<usize>(), expected);
    assert!(
        frames.len() < EVENTS / 10,
        "{} frames for {EVENTS} chunks that had all arrived",
        frames.len()
    );
}

#[tokio::test]
async fn a_silent_server_times_out_between_frames() {
    let (url, _server) = serve_once(|mut stream| async move {
        stream.write_all(HEAD).await.expect("head");
        stream
            .write_all(&chunk(b"data: {}\n\n"))
            .await
            .expect("chunk");
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (response, _io) = send(get(&url), options(200), u64::MAX)
        .await
        .expect("response");
    let started = Instant::now();
    let result = read_all(response.into_body()).await;
    assert!(
        matches!(result, Err(HttpError::ConnectionReadTimeout)),
        "{result:?}"
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn a_steady_stream_is_not_a_silent_one() {
    // Each gap is shorter than the limit, the whole body longer.
    let (url, _server) = serve_once(|mut stream| async move {
        stream.write_all(HEAD).await.expect("head");
        for _ in 0..10 {
            stream
                .write_all(&chunk(b"data: {}\n\n"))
                .await
                .expect("chunk");
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        stream.write_all(b"0\r\n\r\n").await.expect("end");
    })
    .await;
    let (response, _io) = send(get(&url), options(300), u64::MAX)
        .await
        .expect("response");
    let frames = read_all(response.into_body()).await.expect("no timeout");
    assert_eq!(frames.iter().sum::<usize>(), 100);
}

#[tokio::test]
async fn no_head_in_time_is_a_read_timeout() {
    let (url, _server) = serve_once(|stream| async move {
        // Holds the connection open and says nothing.
        let _open = stream;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let mut options = options(5_000);
    if let Some(o) = options.as_mut() {
        o.first_byte_timeout = Some(Duration::from_millis(200));
    }
    let result = send(get(&url), options, u64::MAX).await;
    assert!(
        matches!(result, Err(HttpError::ConnectionReadTimeout)),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let result = send(get(&format!("http://{addr}/v1/models")), options(1_000), 10).await;
    match result {
        Err(HttpError::Connect(err)) => {
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{:?}", other.err()),
    }
}

#[tokio::test]
async fn a_connection_cut_mid_body_is_an_error_after_the_data() {
    let (url, _server) = serve_once(|mut stream| async move {
        stream.write_all(HEAD).await.expect("head");
        stream
            .write_all(&chunk(b"data: {}\n\n"))
            .await
            .expect("chunk");
        // Dropped here: no last chunk.
    })
    .await;
    let (response, _io) = send(get(&url), options(5_000), u64::MAX)
        .await
        .expect("response");
    let mut body = response.into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert_eq!(first.data_ref().map(Bytes::len), Some(10));
    let after = body.frame().await;
    assert!(matches!(after, Some(Err(HttpError::Hyper(_)))), "{after:?}");
}

#[tokio::test]
async fn the_body_limit_holds_on_the_plain_path() {
    let (url, _server) = serve_once(|mut stream| async move {
        stream.write_all(HEAD).await.expect("head");
        for _ in 0..10 {
            stream.write_all(&chunk(&[b'x'; 100])).await.expect("chunk");
        }
        stream.write_all(b"0\r\n\r\n").await.expect("end");
    })
    .await;
    let (response, _io) = send(get(&url), options(5_000), 450)
        .await
        .expect("response");
    let result = read_all(response.into_body()).await;
    assert!(
        matches!(result, Err(HttpError::HttpResponseBodySize(Some(450)))),
        "{result:?}"
    );
}

#[test]
fn huge_timeouts_are_capped() {
    let timeouts = Timeouts::of(Some(&RequestOptions {
        connect_timeout: Some(Duration::MAX),
        first_byte_timeout: None,
        between_bytes_timeout: Some(Duration::ZERO),
    }));
    assert_eq!(timeouts.connect, MAX_TIMEOUT);
    assert_eq!(timeouts.first_byte, DEFAULT_TIMEOUT);
    assert_eq!(timeouts.between_frames, Duration::from_nanos(1));
}
