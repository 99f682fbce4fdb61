//! Running the real `vllm-harness` binary as a user would: a cleared
//! environment, a temp HOME, a bounded wait.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use vllm_tests::artifacts::plugin_wasm;

use super::{KEY, TempDir, harness_bin, shared_compile_cache};

/// Longest a single CLI run may take before the test kills it.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// One run of the binary: how it ended and what it printed.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing everything printed when it is wrong.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "vllm-harness {:?} exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr says `needle`.
    pub fn says(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of {:?} lacks {needle:?}:\n{}",
            self.args,
            self.stderr
        );
        self
    }

    /// Asserts that the key appears in neither stream.
    pub fn keeps_the_key(&self) -> &Self {
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            assert!(
                !text.contains(KEY),
                "{name} of {:?} shows the API key:\n{text}",
                self.args
            );
        }
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout of {:?} is not JSON ({e}): {}",
                self.args, self.stdout
            )
        })
    }
}

/// A command line to run: a cleared environment with only PATH, HOME (an
/// empty temp dir), the compile cache and what the test adds.
pub struct Cli {
    /// The run's HOME, an empty temp dir.
    pub home: TempDir,
    env: Vec<(String, String)>,
    /// `--plugin`; none runs the binary's embedded plugin.
    plugin: Option<PathBuf>,
    /// The binary; none is cargo's build of `vllm-harness`.
    binary: Option<PathBuf>,
    stdin: Option<String>,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            home: TempDir::new("cli-home"),
            env: Vec::new(),
            plugin: Some(plugin_wasm()),
            binary: None,
            stdin: None,
        }
    }

    /// With `VLLM_API_KEY` set to [`KEY`].
    pub fn with_key() -> Self {
        Self::new().env("VLLM_API_KEY", KEY)
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn plugin(mut self, path: &Path) -> Self {
        self.plugin = Some(path.to_owned());
        self
    }

    /// Without `--plugin`: the binary runs its embedded plugin.
    pub fn embedded_plugin(mut self) -> Self {
        self.plugin = None;
        self
    }

    /// Runs this binary instead of cargo's build.
    pub fn binary(mut self, path: &Path) -> Self {
        self.binary = Some(path.to_owned());
        self
    }

    fn binary_path(&self) -> PathBuf {
        self.binary.clone().unwrap_or_else(harness_bin)
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    /// A file in this run's home directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        self.home.write(name, text)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.binary_path());
        self.prepare(&mut command);
        if let Some(plugin) = &self.plugin {
            command.arg("--plugin").arg(plugin);
        }
        command.args(args);
        command
    }

    /// The run's environment, directory and pipes.
    fn prepare(&self, command: &mut Command) {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("VLLM_HARNESS_CACHE_DIR", shared_compile_cache())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.home.path())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }

    /// Like [`Cli::run`] with stdout a terminal: the binary runs under
    /// `script(1)`, which gives it a pseudo-terminal; stderr is dropped (the
    /// run's `stderr` is empty) and the terminal's `\r\n` read back as `\n`.
    pub fn run_on_a_terminal(&self, args: &[&str]) -> Run {
        let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
        let mut line = quote(&self.binary_path().to_string_lossy());
        if let Some(plugin) = &self.plugin {
            line.push_str(&format!(" --plugin {}", quote(&plugin.to_string_lossy())));
        }
        for arg in args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        line.push_str(" 2>/dev/null");
        let mut command = Command::new("script");
        self.prepare(&mut command);
        command.args(["-qec", &line, "/dev/null"]);
        let mut run = self.wait(command, args, RUN_TIMEOUT);
        run.stdout = run.stdout.replace("\r\n", "\n");
        run
    }

    /// Starts the binary and returns at once, to watch its output and
    /// signal it while it runs (no stdin).
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut command = self.command(args);
        command.stdin(Stdio::null());
        let mut child = command.spawn().expect("start vllm-harness");
        let pid = child.id();
        let stdout = Arc::new(Mutex::new(String::new()));
        let (updated, updates) = mpsc::channel();
        let mut pipe = child.stdout.take().expect("stdout is piped");
        let sink = Arc::clone(&stdout);
        let stdout_reader = std::thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            // Ends at end of file (the process exited) or an error.
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&text);
                let _ = updated.send(());
            }
        });
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let stderr_reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        Running {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            child: Some(child),
            pid,
            stdout,
            updates,
            stdout_reader: Some(stdout_reader),
            stderr_reader: Some(stderr_reader),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_within(args, RUN_TIMEOUT)
    }

    /// Like [`Cli::run`], killing the process after `timeout`.
    pub fn run_within(&self, args: &[&str], timeout: Duration) -> Run {
        self.wait(self.command(args), args, timeout)
    }

    /// Runs `command` to its end, at most `timeout`.
    fn wait(&self, mut command: Command, args: &[&str], timeout: Duration) -> Run {
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", command.get_program()));
        let pid = child.id();
        if let (Some(text), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .expect("write the prompt to stdin");
        }
        let (done, outcome) = mpsc::channel();
        std::thread::spawn(move || done.send(child.wait_with_output()));
        let output = match outcome.recv_timeout(timeout) {
            Ok(output) => output.expect("wait for vllm-harness"),
            Err(_) => {
                // Stop the process this test started, by its id.
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                panic!("vllm-harness {args:?} did not finish within {timeout:?}");
            }
        };
        Run {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            code: output
                .status
                .code()
                .expect("exited, not killed by a signal"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A run of the binary still going: its stdout so far, a way to signal it,
/// and a bounded wait for its end. Killed (by its id) if dropped before.
pub struct Running {
    args: Vec<String>,
    child: Option<Child>,
    pid: u32,
    stdout: Arc<Mutex<String>>,
    /// One message per piece of stdout read.
    updates: mpsc::Receiver<()>,
    stdout_reader: Option<JoinHandle<()>>,
    stderr_reader: Option<JoinHandle<String>>,
}

impl Running {
    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until stdout contains `needle`, at most `timeout`; returns
    /// whether it did.
    pub fn wait_for_stdout(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stdout().contains(needle) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.updates.recv_timeout(left) {
                Ok(()) => {}
                Err(_) => return self.stdout().contains(needle),
            }
        }
    }

    /// Sends SIGINT (what Ctrl-C sends) with `kill -INT <pid>`.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .arg("-INT")
            .arg(self.pid.to_string())
            .status()
            .expect("run kill -INT");
        assert!(status.success(), "kill -INT {} failed: {status}", self.pid);
    }

    /// Waits for the process to end, at most `timeout` (then kills it and
    /// fails), and returns how it ended and everything it printed.
    pub fn finish(mut self, timeout: Duration) -> Run {
        let mut child = self.child.take().expect("finish is called once");
        let (done, outcome) = mpsc::channel();
        std::thread::spawn(move || done.send(child.wait()));
        let status: ExitStatus = match outcome.recv_timeout(timeout) {
            Ok(status) => status.expect("wait for vllm-harness"),
            Err(_) => {
                kill(self.pid);
                panic!(
                    "vllm-harness {:?} did not finish within {timeout:?}; stdout so far:\n{}",
                    self.args,
                    self.stdout()
                );
            }
        };
        // The pipes close with the process; the readers end with them.
        if let Some(reader) = self.stdout_reader.take() {
            reader.join().expect("the stdout reader does not panic");
        }
        let stderr = self
            .stderr_reader
            .take()
            .map(|reader| reader.join().expect("the stderr reader does not panic"))
            .unwrap_or_default();
        let code = status.code().unwrap_or_else(|| {
            panic!(
                "vllm-harness {:?} was ended by a signal ({status}) instead of exiting\n--- \
                 stderr\n{stderr}",
                self.args
            )
        });
        Run {
            args: self.args.clone(),
            code,
            stdout: self.stdout(),
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(self.pid);
            let _ = child.wait();
        }
    }
}

/// Stops a process this test started, by its id.
fn kill(pid: u32) {
    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
}
