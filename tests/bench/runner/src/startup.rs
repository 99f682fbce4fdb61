//! Start-up and footprint of the component: cold and warm starts in this
//! process and as fresh `vllm-harness` processes, and the peak RSS of one
//! streaming `chat`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vllm_harness::{CompileCache, ConfigInput, Harness, HarnessOptions};

use crate::child::{self, Program};
use crate::peers::RUN_LIMIT;
use crate::plan::{Plan, SINGLE};
use crate::results::ComponentFigures;
use crate::stats;

/// What start-up measurements need.
#[derive(Debug)]
pub struct Startup<'a> {
    /// The plugin.
    pub plugin: &'a Path,
    /// The load server's base URL.
    pub base_url: &'a str,
    /// The `vllm-harness` CLI.
    pub harness: &'a Path,
    /// A scratch directory for compile caches (removed by the caller).
    pub scratch: &'a Path,
    /// How many of each.
    pub plan: &'a Plan,
}

impl Startup<'_> {
    /// Every start-up figure; failures are recorded, not fatal.
    pub async fn measure(&self, progress: &dyn Fn(&str)) -> ComponentFigures {
        let mut figures = ComponentFigures {
            wasm_bytes: std::fs::metadata(self.plugin).map_or(0, |m| m.len()),
            ..ComponentFigures::default()
        };
        // Children first: a forked child's peak RSS counts the memory this
        // process had when it forked (see `child.rs`), and the in-process
        // loads below grow it.
        progress("component: fresh processes");
        let cold = self.processes(|run| self.scratch.join(format!("cold-{run}")));
        record(&mut figures.process_cold_us, &mut figures.failures, cold);
        let warm_dir = self.scratch.join("process-warm");
        let warm = self
            .processes(|_| warm_dir.clone())
            .and_then(|_| self.processes(|_| warm_dir.clone()));
        record(&mut figures.process_warm_us, &mut figures.failures, warm);

        progress("component: peak RSS of one streaming chat");
        match self.chat_rss(&warm_dir) {
            Ok(kib) => figures.chat_rss_kib = Some(kib),
            Err(why) => figures.failures.push(why),
        }

        progress("component: cold start in process");
        let cold = self
            .in_process(CompileCache::Off, self.plan.cold_runs)
            .await;
        record(&mut figures.cold_start_us, &mut figures.failures, cold);

        progress("component: warm start in process");
        let cache = CompileCache::Dir(self.scratch.join("warm"));
        // One load fills the cache; the measured ones hit it.
        let warm = match self.in_process(cache.clone(), 1).await {
            Ok(_) => self.in_process(cache.clone(), self.plan.warm_runs).await,
            Err(why) => Err(why),
        };
        record(&mut figures.warm_start_us, &mut figures.failures, warm);

        progress("component: instantiate and first call");
        let call = self.instantiate_and_call(cache).await;
        record(
            &mut figures.instantiate_call_us,
            &mut figures.failures,
            call,
        );
        figures
    }

    /// Median of `runs` loads of the plugin file (with `cache`), as a host
    /// makes them, plus a first call.
    async fn in_process(&self, cache: CompileCache, runs: u32) -> Result<u64, String> {
        let mut times = Vec::new();
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let harness = Harness::load(
                self.plugin,
                HarnessOptions {
                    cache: cache.clone(),
                    ..HarnessOptions::default()
                },
            )
            .map_err(|err| format!("loading the plugin failed: {err}"))?;
            self.first_call(&harness).await?;
            times.push(started.elapsed());
        }
        stats::median_us(&times).ok_or_else(|| "nothing measured".to_owned())
    }

    /// Median of store + instantiate + first call on a loaded harness.
    async fn instantiate_and_call(&self, cache: CompileCache) -> Result<u64, String> {
        let harness = Harness::load(
            self.plugin,
            HarnessOptions {
                cache,
                ..HarnessOptions::default()
            },
        )
        .map_err(|err| format!("loading the plugin failed: {err}"))?;
        let mut times = Vec::new();
        for _ in 0..self.plan.warm_runs.saturating_mul(10).max(1) {
            let started = Instant::now();
            self.first_call(&harness).await?;
            times.push(started.elapsed());
        }
        stats::median_us(&times).ok_or_else(|| "nothing measured".to_owned())
    }

    /// The first call a host makes: `resolve-config` (no network).
    async fn first_call(&self, harness: &Harness) -> Result<(), String> {
        harness
            .resolve_config(ConfigInput {
                provider_json: None,
                env: Vec::new(),
                auth_profile_key: None,
                base_url_override: Some(self.base_url.to_owned()),
            })
            .await
            .map(drop)
            .map_err(|err| format!("resolve-config failed: {err}"))
    }

    /// Median wall time of `vllm-harness models list` processes, the
    /// compile cache of run `i` in `cache_dir(i)`.
    fn processes(&self, cache_dir: impl Fn(u32) -> PathBuf) -> Result<u64, String> {
        let mut walls = Vec::new();
        for run in 0..self.plan.process_runs.max(1) {
            let measured = child::run(
                &self.harness_program(&cache_dir(run)),
                &self.global_args(["models", "list", "--json"]),
                RUN_LIMIT,
            )?;
            if !measured.success {
                return Err(measured.explain("`vllm-harness models list` failed"));
            }
            walls.push(measured.wall);
        }
        stats::median_us(&walls).ok_or_else(|| "nothing measured".to_owned())
    }

    /// Peak RSS of `vllm-harness chat` streaming a long reply.
    fn chat_rss(&self, cache_dir: &Path) -> Result<u64, String> {
        let tokens = self.plan.stream_tokens.to_string();
        let args = ["chat", "--model", SINGLE, "--max-tokens", &tokens, "hi"];
        let measured = child::run(
            &self.harness_program(cache_dir),
            &self.global_args(args),
            RUN_LIMIT,
        )?;
        if !measured.success {
            return Err(measured.explain("`vllm-harness chat` failed"));
        }
        Ok(measured.max_rss_kib)
    }

    fn harness_program(&self, cache_dir: &Path) -> Program {
        Program {
            program: self.harness.as_os_str().to_owned(),
            args: Vec::new(),
            env: vec![
                (
                    "VLLM_HARNESS_CACHE_DIR".into(),
                    cache_dir.as_os_str().to_owned(),
                ),
                // No config file of the user's may change what is measured.
                (
                    "OPENCLAW_CONFIG_PATH".into(),
                    self.scratch.join(crate::run::EMPTY_CONFIG).into(),
                ),
            ],
        }
    }

    fn global_args<'s>(&self, command: impl IntoIterator<Item = &'s str>) -> Vec<OsString> {
        let mut args: Vec<OsString> = command.into_iter().map(OsString::from).collect();
        args.extend([
            "--base-url".into(),
            self.base_url.into(),
            "--plugin".into(),
            self.plugin.as_os_str().to_owned(),
        ]);
        args
    }
}

fn record(slot: &mut Option<u64>, failures: &mut Vec<String>, result: Result<u64, String>) {
    match result {
        Ok(value) => *slot = Some(value),
        Err(why) => failures.push(format!("component: {why}")),
    }
}
