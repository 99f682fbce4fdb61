//! Runs one client of the benchmark as a child process and measures it
//! from the outside: wall time from spawn to exit, peak RSS and CPU time
//! (`wait4`'s resource usage, which counts the child alone).
//!
//! Linux counts into a process's peak RSS the memory it had before `exec`.
//! A child made with `vfork` (what `posix_spawn`, std's default, uses)
//! shares this process's memory until then, so its peak would include all
//! of the benchmark's own; a child made with `fork` starts from a copy of
//! this process's anonymous pages only, a few MiB. So children are forked.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use vllm_bench_protocol::Report;

/// The most of a child's stdout or stderr kept.
const MAX_OUTPUT: u64 = 1024 * 1024;
/// The stderr kept for an error message.
const STDERR_TAIL: usize = 600;

/// A program and the arguments that come before the protocol's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// What to run.
    pub program: OsString,
    /// Its first arguments.
    pub args: Vec<OsString>,
    /// Extra environment.
    pub env: Vec<(OsString, OsString)>,
}

impl Program {
    /// Parses `PROGRAM ARG...`, split on whitespace (no quoting).
    pub fn parse(command: &str) -> Result<Self, String> {
        let mut words = command.split_whitespace().map(OsString::from);
        let program = words
            .next()
            .ok_or_else(|| "the command is empty".to_owned())?;
        Ok(Self {
            program,
            args: words.collect(),
            env: Vec::new(),
        })
    }
}

/// What one run of a child gave.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Its stdout.
    pub stdout: String,
    /// Spawn to exit.
    pub wall: Duration,
    /// Peak resident set, in KiB.
    pub max_rss_kib: u64,
    /// User + system CPU time.
    pub cpu: Duration,
    /// Whether it exited with status 0.
    pub success: bool,
    /// How it ended, for messages: "exit status 1", "killed after 300 s", ...
    pub ending: String,
    /// The end of its stderr.
    pub stderr_tail: String,
}

impl Measured {
    /// The report the child printed, or why there is none.
    pub fn report(&self) -> Result<Report, String> {
        Report::parse(&self.stdout).map_err(|why| self.explain(&why))
    }

    /// `what` with how the child ended and its last words.
    pub fn explain(&self, what: &str) -> String {
        let tail = self.stderr_tail.trim();
        if tail.is_empty() {
            format!("{what} ({})", self.ending)
        } else {
            format!("{what} ({}); its stderr ends: {tail}", self.ending)
        }
    }
}

/// Runs `program` with `args` after its own, killing it after `limit`.
pub fn run(program: &Program, args: &[OsString], limit: Duration) -> Result<Measured, String> {
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .args(args)
        .envs(program.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills what it started too.
        .process_group(0);
    // SAFETY: the hook does nothing, so it is async-signal-safe; its only
    // effect is that std forks rather than spawning (see the module docs).
    unsafe {
        command.pre_exec(|| Ok(()));
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|err| {
        format!(
            "cannot run {}: {err}",
            std::path::Path::new(&program.program).display()
        )
    })?;
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| format!("child pid {} out of range", child.id()))?;
    let stdout = child.stdout.take().map(|out| drain(out, "stdout"));
    let stderr = child.stderr.take().map(|err| drain(err, "stderr"));

    let (done, watchdog_rx) = mpsc::channel::<()>();
    let watchdog = thread::Builder::new()
        .name("bench-watchdog".into())
        .spawn(move || {
            if watchdog_rx.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
                // SAFETY: `kill` has no memory effects; the child has not
                // been reaped (the waiting thread tells us when it has), so
                // its group id is still its own.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                true
            } else {
                false
            }
        })
        .map_err(|err| format!("cannot start a watchdog thread: {err}"))?;

    let waited = wait(pid);
    let wall = started.elapsed();
    let _ = done.send(());
    let killed = watchdog.join().unwrap_or(false);
    let (status, usage) = waited?;
    let stdout = stdout.map(join_output).unwrap_or_default();
    let stderr = stderr.map(join_output).unwrap_or_default();
    let success = !killed && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let ending = if killed {
        format!("killed after {} s", limit.as_secs())
    } else if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status}")
    };
    Ok(Measured {
        stdout,
        wall,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        success,
        ending,
        stderr_tail: tail(&stderr, STDERR_TAIL),
    })
}

/// Raises this process's limit on open files to its hard limit, so that
/// the clients it starts (which inherit it) can hold a thousand streams
/// where the usual soft limit is 1024. Returns the limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    // SAFETY: all-zero is a valid `rlimit`, and both calls only read or
    // write the struct they are given.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

/// Waits for `pid` and returns its status and resource usage.
fn wait(pid: libc::pid_t) -> Result<(i32, libc::rusage), String> {
    let mut status = 0;
    // SAFETY: all-zero is a valid `rusage` (plain integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid for writes for the call.
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if got == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("cannot wait for child {pid}: {err}"));
        }
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

/// Reads a pipe to its end on a thread, keeping at most [`MAX_OUTPUT`].
fn drain(pipe: impl Read + Send + 'static, name: &str) -> thread::JoinHandle<String> {
    let name = format!("bench-{name}");
    let reader = move || {
        let mut kept = Vec::new();
        let mut pipe = pipe;
        let _ = pipe.by_ref().take(MAX_OUTPUT).read_to_end(&mut kept);
        // Keep reading (and dropping) so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        String::from_utf8_lossy(&kept).into_owned()
    };
    match thread::Builder::new().name(name).spawn(reader) {
        Ok(handle) => handle,
        // Without a thread nothing is read: the child sees a closed pipe.
        Err(_) => thread::spawn(String::new),
    }
}

fn join_output(handle: thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> String {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Program {
        Program {
            program: "sh".into(),
            args: vec!["-c".into(), script.into(), "sh".into()],
            env: Vec::new(),
        }
    }

    #[test]
    fn measures_a_child_and_reads_its_report() {
        let program = sh(
            "echo '{\"client\":\"x\",\"scenario\":\"once\",\"latencies_us\":[],\
                          \"events\":3,\"elapsed_us\":1,\"errors\":0,\"error\":null}'",
        );
        let run = run(&program, &[], Duration::from_secs(30)).expect("runs");
        assert!(run.success, "{}", run.ending);
        assert!(run.max_rss_kib > 0);
        assert_eq!(run.report().expect("report").events, 3);
    }

    #[test]
    fn arguments_follow_the_program_s_own() {
        let program = sh("echo \"$@\"");
        let run = run(
            &program,
            &["once".into(), "--model".into()],
            Duration::from_secs(30),
        )
        .expect("runs");
        assert_eq!(run.stdout.trim(), "once --model");
    }

    #[test]
    fn a_failing_child_says_how_it_ended() {
        let run = run(&sh("echo oops >&2; exit 3"), &[], Duration::from_secs(30)).expect("runs");
        assert!(!run.success);
        let message = run.report().expect_err("no report");
        assert!(message.contains("exit status 3"), "{message}");
        assert!(message.contains("oops"), "{message}");
    }

    #[test]
    fn a_hung_child_is_killed_at_the_limit() {
        let started = Instant::now();
        let run = run(&sh("sleep 30"), &[], Duration::from_millis(200)).expect("runs");
        assert!(!run.success);
        assert!(run.ending.starts_with("killed after"), "{}", run.ending);
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn the_open_files_limit_is_at_least_what_it_was() {
        let before = raise_open_files_limit().expect("getrlimit");
        let after = raise_open_files_limit().expect("getrlimit");
        assert!(after >= before && before > 0);
    }

    #[test]
    fn a_missing_program_is_named() {
        let program = Program::parse("/nonexistent/client --flag").expect("parses");
        let err = run(&program, &[], Duration::from_secs(5)).expect_err("fails");
        assert!(err.contains("/nonexistent/client"), "{err}");
        assert!(Program::parse("   ").is_err());
    }
}
