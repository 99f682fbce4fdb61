//! Running the real `vllm-harness` binary as a user would: a cleared
//! environment, a temp HOME, a bounded wait.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use vllm_tests::artifacts::{harness_bin, plugin_wasm};

use super::{KEY, TempDir, shared_compile_cache};

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
    plugin: PathBuf,
    stdin: Option<String>,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            home: TempDir::new("cli-home"),
            env: Vec::new(),
            plugin: plugin_wasm(),
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
        self.plugin = path.to_owned();
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    /// A file in this run's home directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        self.home.write(name, text)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new(harness_bin());
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("VLLM_HARNESS_CACHE_DIR", shared_compile_cache())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--plugin")
            .arg(&self.plugin)
            .args(args)
            .current_dir(self.home.path())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start vllm-harness");
        let pid = child.id();
        if let (Some(text), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .expect("write the prompt to stdin");
        }
        let (done, outcome) = mpsc::channel();
        std::thread::spawn(move || done.send(child.wait_with_output()));
        let output = match outcome.recv_timeout(RUN_TIMEOUT) {
            Ok(output) => output.expect("wait for vllm-harness"),
            Err(_) => {
                // Stop the process this test started, by its id.
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                panic!("vllm-harness {args:?} did not finish within {RUN_TIMEOUT:?}");
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
