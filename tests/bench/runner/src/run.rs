//! `vllm-bench run`: the component through the harness against other
//! clients of the same server, in one run (`tests/bench/PROTOCOL.md`).
//!
//! Every client, the component included (`vllm-bench client`), runs as a
//! child process so that its RSS and CPU are its own; start-up figures are
//! measured in this process and as fresh `vllm-harness` processes.

use std::path::{Path, PathBuf};

use clap::Args;
use vllm_bench_protocol::Scenario;

use crate::child::{self, Program};
use crate::peers::{self, Peer, Shape};
use crate::plan::{BATCHED, Plan, SINGLE};
use crate::results::{RealVllm, Results};
use crate::{client, complete, machine, plot, report, rounds, startup, stats, targets};

/// The config file every measured `vllm-harness` process reads (`{}`), so
/// that no config of the user's changes what is measured.
pub const EMPTY_CONFIG: &str = "empty.json5";

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The load server's base URL, with `/v1` (tests/bench/run starts one)
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// The provider component
    #[arg(long, value_name = "FILE.wasm")]
    pub plugin: PathBuf,
    /// The `vllm-harness` CLI, whose fresh processes are measured
    #[arg(long, value_name = "FILE")]
    pub harness: PathBuf,
    /// Another client speaking tests/bench/PROTOCOL.md, e.g.
    /// `native=target/release/vllm-bench-native` (repeatable; split on spaces)
    #[arg(long = "peer", value_name = "NAME=COMMAND", value_parser = Peer::parse)]
    pub peers: Vec<Peer>,
    /// A raw client that shows the load server's own ceiling (runs `stream` only)
    #[arg(long, value_name = "COMMAND", value_parser = Program::parse)]
    pub ceiling: Option<Program>,
    /// The client ratios and targets are against
    #[arg(long, value_name = "NAME", default_value = "native")]
    pub baseline: String,
    /// A few requests of each kind instead of the full plan (seconds, not minutes)
    #[arg(long)]
    pub quick: bool,
    /// Also measure the component and the baseline against this real vLLM server
    #[arg(long, value_name = "URL", requires = "vllm_model")]
    pub vllm_url: Option<String>,
    /// The real server's model
    #[arg(long, value_name = "ID", requires = "vllm_url")]
    pub vllm_model: Option<String>,
    /// A line for the machine section, e.g. a peer's version (repeatable)
    #[arg(long, value_name = "TEXT")]
    pub about: Vec<String>,
    /// Write every figure as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the tables as Markdown
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the plot of events/s and RSS against concurrency
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<PathBuf>,
}

/// What `run --help` adds.
pub const HELP: &str = "\
Runs, on the server at --base-url (a load server shaped like vLLM,
tests/bench/load-server), the component through the harness and every
--peer as separate processes: non-streamed latency, time to first token,
events/s of long streams, a fresh process, and 1/10/100/1000 concurrent
streams (events/s, peak RSS, CPU); then the component's cold and warm
start, in process and as fresh `vllm-harness` processes, the peak RSS of
one `vllm-harness chat`, and the plugin's size. Prints Markdown tables with
ratios against --baseline and each target met or missed.
`tests/bench/run` builds and starts everything and rewrites BENCHMARKS.md.

Exit codes: 0 when every measurement ran and every figure is there
(targets missed do not fail it); 1 when a client failed, miscounted events
or a figure is missing; 2 usage error.";

/// The name of the component among the clients.
const COMPONENT: &str = client::CLIENT;

/// Runs the benchmark, prints the tables and writes the files asked for.
pub async fn run(args: &RunArgs) -> anyhow::Result<()> {
    let base_url = args.base_url.clone();
    let plugin = existing(&args.plugin, "--plugin")?;
    let harness = existing(&args.harness, "--harness")?;
    let exe = std::env::current_exe()
        .map_err(|err| anyhow::anyhow!("cannot find this executable: {err}"))?;
    let names: Vec<&str> = args.peers.iter().map(|p| p.name.as_str()).collect();
    if names.contains(&COMPONENT) {
        anyhow::bail!("the peer name `{COMPONENT}` is the component's own");
    }
    let scratch = Scratch::new()?;
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    // A thousand concurrent streams need more than the usual 1024 files.
    let most_streams = plan.concurrency.iter().copied().max().map_or(0, u64::from);
    if let Some(limit) = child::raise_open_files_limit()
        && most_streams > limit
    {
        eprintln!(
            "bench: warning: at most {limit} open files: the largest concurrency level may fail"
        );
    }
    let progress = |what: &str| eprintln!("bench: {what}");

    let mut results = Results {
        machine: machine::describe(&args.about),
        quick: args.quick,
        ..Results::default()
    };
    if let Some(raw) = &args.ceiling {
        progress("load server ceiling");
        let (rates, failures) = peers::ceiling(raw, &base_url, &plan, &[BATCHED, SINGLE]);
        results.ceiling = rates;
        results.component.failures.extend(failures);
    }
    let component = component_peer(&exe, &plugin, scratch.path());
    let clients: Vec<&Peer> = order(&args.peers, &component, &args.baseline);
    results.clients =
        tokio::task::block_in_place(|| rounds::measure_all(&clients, &base_url, &plan, &progress));
    let startup = startup::Startup {
        plugin: &plugin,
        base_url: &base_url,
        harness: &harness,
        scratch: scratch.path(),
        plan: &plan,
    };
    let failures = std::mem::take(&mut results.component.failures);
    results.component = startup.measure(&progress).await;
    results.component.failures.splice(0..0, failures);
    if let (Some(url), Some(model)) = (&args.vllm_url, &args.vllm_model) {
        let baseline = args.peers.iter().find(|p| p.name == args.baseline);
        let peers: Vec<&Peer> = std::iter::once(&component).chain(baseline).collect();
        results.real_vllm = Some(tokio::task::block_in_place(|| {
            real_vllm(&peers, url, model, &plan, &progress)
        }));
    }
    results.targets = targets::judge(&results, COMPONENT, &args.baseline);

    let tables = report::markdown(&results, &plan, &args.baseline);
    crate::print(&tables)?;
    write(args.markdown.as_deref(), &tables)?;
    write(
        args.json.as_deref(),
        &format!("{}\n", serde_json::to_string_pretty(&results)?),
    )?;
    write(args.svg.as_deref(), &plot::svg(&results))?;
    let clients: Vec<&str> = clients.iter().map(|peer| peer.name.as_str()).collect();
    let missing = complete::missing(
        &results,
        &plan,
        complete::Expected {
            clients: &clients,
            ceiling: args.ceiling.is_some(),
            ceiling_models: &[BATCHED, SINGLE],
        },
    );
    for line in &missing {
        eprintln!("bench: missing figure: {line}");
    }
    let failed = missing.len()
        + results
            .clients
            .iter()
            .map(|c| c.failures.len())
            .sum::<usize>()
        + results.component.failures.len()
        + results.real_vllm.as_ref().map_or(0, |r| r.failures.len());
    if failed > 0 {
        return Err(anyhow::anyhow!(
            "{failed} measurement(s) failed (listed under Failures above)"
        ));
    }
    Ok(())
}

/// The component as a peer: this executable's `client`.
fn component_peer(exe: &Path, plugin: &Path, scratch: &Path) -> Peer {
    Peer {
        name: COMPONENT.to_owned(),
        program: Program {
            program: exe.as_os_str().to_owned(),
            args: vec![
                "client".into(),
                "--plugin".into(),
                plugin.as_os_str().to_owned(),
            ],
            env: vec![(
                "VLLM_HARNESS_CACHE_DIR".into(),
                scratch.join("client-cache").into(),
            )],
        },
    }
}

/// The baseline first, then the component, then the others as given.
fn order<'a>(peers: &'a [Peer], component: &'a Peer, baseline: &str) -> Vec<&'a Peer> {
    let mut all: Vec<&Peer> = peers.iter().filter(|p| p.name == baseline).collect();
    all.push(component);
    all.extend(peers.iter().filter(|p| p.name != baseline));
    all
}

/// The line against a real vLLM server: TTFT and a stream's tokens/s.
fn real_vllm(
    peers: &[&Peer],
    url: &str,
    model: &str,
    plan: &Plan,
    progress: &dyn Fn(&str),
) -> RealVllm {
    let mut real = RealVllm {
        base_url: url.to_owned(),
        model: model.to_owned(),
        ..RealVllm::default()
    };
    for peer in peers {
        progress(&format!("{}: real vLLM", peer.name));
        let ttft = Shape {
            scenario: Scenario::Ttft,
            model,
            requests: plan.vllm_requests,
            concurrency: 1,
            tokens: plan.short_tokens,
            exact: false,
        };
        match peers::run_shape(&peer.program, url, ttft) {
            Ok((_, report)) => {
                if let Some(quantiles) = stats::quantiles(&report.latencies_us) {
                    real.ttft.push((peer.name.clone(), quantiles));
                }
            }
            Err(why) => real
                .failures
                .push(format!("{}, real vLLM TTFT: {why}", peer.name)),
        }
        let stream = Shape {
            scenario: Scenario::Stream,
            tokens: plan.vllm_tokens,
            requests: 1,
            ..ttft
        };
        match peers::run_shape(&peer.program, url, stream) {
            Ok((_, report)) => {
                if let Some(rate) = stats::per_second(report.events, report.elapsed_us) {
                    real.events_per_s.push((peer.name.clone(), rate));
                }
            }
            Err(why) => real
                .failures
                .push(format!("{}, real vLLM stream: {why}", peer.name)),
        }
    }
    real
}

/// `path` if it is a file, else a message naming `flag`.
fn existing(path: &Path, flag: &str) -> anyhow::Result<PathBuf> {
    if path.is_file() {
        Ok(path.to_owned())
    } else {
        anyhow::bail!("{flag} {}: no such file", path.display())
    }
}

fn write(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, text)
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
    }
    Ok(())
}

/// A scratch directory for compile caches and the empty config, removed
/// when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("vllm-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(EMPTY_CONFIG), "{}\n"))
            .map_err(|err| anyhow::anyhow!("cannot prepare {}: {err}", dir.display()))?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
