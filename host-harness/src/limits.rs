//! Memory and CPU limits of one plugin store.
//!
//! Memory: a `StoreLimits` cap on linear memory that traps (rather than
//! letting `memory.grow` fail, which a Rust guest turns into an abort with no
//! useful message); the limiter records that it refused, so the trap can be
//! reported as "out of memory".
//!
//! CPU: the engine's epoch advances every [`EPOCH_TICK`]. A plain epoch
//! deadline measures wall-clock time, and most of a plugin call's wall-clock
//! time is spent blocked in host calls waiting on the network: a long but
//! healthy stream would be killed. So the store counts only the time the
//! plugin's own code runs: call hooks pause the count while the plugin is in
//! a host call (network waits included) and resume it on return, and the
//! epoch callback, which runs at most once per tick while guest code runs,
//! traps once one export call has used more than its CPU budget. A runaway
//! loop is therefore stopped within a tick of its budget, and a stream can
//! stay open as long as the server keeps it so.

use std::time::{Duration, Instant};

use wasmtime::{CallHook, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};

use crate::state::HostState;

/// How often the background ticker advances the engine's epoch.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A linear-memory cap that remembers whether it was hit.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    limits: StoreLimits,
    pub(crate) limit_bytes: usize,
    pub(crate) hit: bool,
}

impl MemoryCap {
    pub(crate) fn new(limit_bytes: usize) -> Self {
        Self {
            limits: StoreLimitsBuilder::new()
                .memory_size(limit_bytes)
                .trap_on_grow_failure(true)
                .build(),
            limit_bytes,
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.hit = true;
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// The CPU time the plugin's own code has used in the current export call.
#[derive(Debug)]
pub(crate) struct GuestClock {
    budget: Duration,
    used: Duration,
    running_since: Option<Instant>,
    pub(crate) exceeded: bool,
}

impl GuestClock {
    pub(crate) fn new(budget: Duration) -> Self {
        Self {
            budget,
            used: Duration::ZERO,
            running_since: None,
            exceeded: false,
        }
    }

    /// The CPU budget of one export call.
    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// Starts a fresh count for the next export call.
    pub(crate) fn start_call(&mut self) {
        self.used = Duration::ZERO;
        self.running_since = None;
    }

    /// Guest code starts or resumes running. Idempotent: host-to-guest
    /// re-entry (e.g. `cabi_realloc` during a host call) nests.
    fn resume(&mut self, now: Instant) {
        if self.running_since.is_none() {
            self.running_since = Some(now);
        }
    }

    /// Guest code stops running (returns, or calls the host).
    fn pause(&mut self, now: Instant) {
        if let Some(since) = self.running_since.take() {
            self.used += now.saturating_duration_since(since);
        }
    }

    fn used_at(&self, now: Instant) -> Duration {
        self.used
            + self
                .running_since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    fn over_budget(&mut self, now: Instant) -> bool {
        if self.used_at(now) > self.budget {
            self.exceeded = true;
        }
        self.exceeded
    }
}

/// Installs the memory limiter, the guest clock hooks and the epoch
/// callback on a fresh store.
pub(crate) fn install(store: &mut Store<HostState>) {
    store.limiter(|state| &mut state.memory);
    store.call_hook(|mut ctx, hook| {
        let clock = &mut ctx.data_mut().clock;
        let now = Instant::now();
        match hook {
            CallHook::CallingWasm | CallHook::ReturningFromHost => clock.resume(now),
            CallHook::ReturningFromWasm | CallHook::CallingHost => clock.pause(now),
        }
        Ok(())
    });
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        if ctx.data_mut().clock.over_budget(Instant::now()) {
            return Err(wasmtime::format_err!("the plugin used up its CPU budget"));
        }
        // Continue rather than yield: a guest that is not over budget runs
        // briefly between host calls, which already yield when they wait.
        Ok(UpdateDeadline::Continue(1))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_time_does_not_count() {
        let mut clock = GuestClock::new(Duration::from_millis(100));
        let t0 = Instant::now();
        clock.start_call();
        clock.resume(t0);
        clock.pause(t0 + Duration::from_millis(30)); // into a host call
        // An hour waiting on the network.
        let back = t0 + Duration::from_secs(3600);
        clock.resume(back);
        assert_eq!(clock.used_at(back), Duration::from_millis(30));
        assert!(!clock.over_budget(back + Duration::from_millis(60)));
        assert!(clock.over_budget(back + Duration::from_millis(80)));
        assert!(clock.exceeded);
    }

    #[test]
    fn nested_reentry_is_counted_once() {
        let mut clock = GuestClock::new(Duration::from_secs(1));
        let t0 = Instant::now();
        clock.resume(t0);
        clock.pause(t0 + Duration::from_millis(10)); // calling host
        clock.resume(t0 + Duration::from_millis(20)); // host calls realloc
        clock.pause(t0 + Duration::from_millis(25)); // realloc returns
        clock.resume(t0 + Duration::from_millis(40)); // host returns
        clock.resume(t0 + Duration::from_millis(45)); // duplicate resume is a no-op
        clock.pause(t0 + Duration::from_millis(50));
        assert_eq!(
            clock.used_at(t0 + Duration::from_secs(9)),
            Duration::from_millis(25)
        );
    }

    #[test]
    fn each_call_starts_from_zero() {
        let mut clock = GuestClock::new(Duration::from_millis(50));
        let t0 = Instant::now();
        clock.resume(t0);
        clock.pause(t0 + Duration::from_millis(40));
        clock.start_call();
        clock.resume(t0 + Duration::from_millis(100));
        assert!(!clock.over_budget(t0 + Duration::from_millis(140)));
    }

    #[test]
    fn memory_cap_records_refusal() {
        let mut cap = MemoryCap::new(1 << 20);
        assert!(matches!(cap.memory_growing(0, 1 << 19, None), Ok(true)));
        assert!(!cap.hit);
        assert!(cap.memory_growing(1 << 19, 2 << 20, None).is_err());
        assert!(cap.hit);
    }
}
