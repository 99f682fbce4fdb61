//! `vllm-load-server`: a fast local OpenAI-compatible server shaped like
//! vLLM 0.32, whose replies are chosen by the model id, for the benchmark
//! (`tests/bench/PROTOCOL.md`); and `ceiling`, a raw client that shows how
//! many events per second the server itself can send.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use tokio::net::TcpSocket;

mod ceiling;
mod http;
mod pace;
mod reply;
mod scenario;
mod server;

/// Pending connections the listener queues (the kernel may cap it).
const BACKLOG: u32 = 4096;

/// Serve vLLM-shaped replies chosen by the model id
/// (`<kind>[-w<N>][-d<US>]`, see tests/bench/PROTOCOL.md).
#[derive(Debug, clap::Parser)]
#[command(name = "vllm-load-server", version)]
struct Cli {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on: loopback only.
    #[arg(long, default_value = "127.0.0.1", value_parser = ["127.0.0.1"])]
    host: String,
    /// Worker threads (1: everything on one thread, leaving the other cores
    /// to the client under test).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The raw client: stream from a server counting `data: {` starts,
    /// print the protocol's JSON line.
    Ceiling(ceiling::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Ceiling(args)) = &cli.command {
        return ceiling::run(args);
    }
    match serve(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vllm-load-server: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Listens on 127.0.0.1, says where on stdout, then serves until killed.
fn serve(cli: &Cli) -> anyhow::Result<()> {
    let runtime = if cli.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(cli.threads))
            .enable_all()
            .build()
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let socket = TcpSocket::new_v4().context("cannot make a socket")?;
        socket.set_reuseaddr(true).context("SO_REUSEADDR")?;
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, cli.port)))
            .with_context(|| format!("cannot bind 127.0.0.1:{}", cli.port))?;
        let listener = socket.listen(BACKLOG).context("cannot listen")?;
        let port = listener.local_addr().context("local address")?.port();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://127.0.0.1:{port}")
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        drop(stdout);
        server::serve(listener, Arc::new(server::Shared::new())).await;
        Ok(())
    })
}
