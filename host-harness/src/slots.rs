//! Places for live plugin stores (calls and open streams together).
//!
//! Two limits hold: the process's pool of instance slots, shared by every
//! harness (`engine.rs`), and a harness's own limit
//! ([`crate::HarnessOptions::max_live_stores`]). A store takes a place
//! under both, its own limit first, so that a harness at its limit never
//! holds a pool slot another harness could use.

use std::num::NonZeroU32;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits one harness's stores live under.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    /// The process's pool; `None` when instances are not pooled.
    pool: Option<Arc<Semaphore>>,
    /// This harness's own limit; `None` when it has none.
    own: Option<Arc<Semaphore>>,
}

/// One store's place, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    _own: Option<OwnedSemaphorePermit>,
    _pool: Option<OwnedSemaphorePermit>,
}

/// No place is free now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoFreeSlot;

impl Slots {
    /// Places under the process's `pool` and at most `own` of this harness's.
    pub(crate) fn new(pool: Option<Arc<Semaphore>>, own: Option<NonZeroU32>) -> Self {
        Self {
            pool,
            own: own.map(|n| Arc::new(Semaphore::new(n.get() as usize))),
        }
    }

    /// A place for one store, waiting while none is free.
    pub(crate) async fn slot(&self) -> Slot {
        // The semaphores are never closed, so acquiring only waits.
        let own = match &self.own {
            Some(own) => Arc::clone(own).acquire_owned().await.ok(),
            None => None,
        };
        let pool = match &self.pool {
            Some(pool) => Arc::clone(pool).acquire_owned().await.ok(),
            None => None,
        };
        Slot {
            _own: own,
            _pool: pool,
        }
    }

    /// A place if one is free now.
    pub(crate) fn free_slot(&self) -> Result<Slot, NoFreeSlot> {
        let own = try_take(self.own.as_ref())?;
        let pool = try_take(self.pool.as_ref())?;
        Ok(Slot {
            _own: own,
            _pool: pool,
        })
    }

    /// Whether a place is free now.
    pub(crate) fn has_free_slot(&self) -> bool {
        [&self.own, &self.pool]
            .into_iter()
            .all(|limit| limit.as_ref().is_none_or(|s| s.available_permits() > 0))
    }
}

fn try_take(limit: Option<&Arc<Semaphore>>) -> Result<Option<OwnedSemaphorePermit>, NoFreeSlot> {
    match limit {
        None => Ok(None),
        Some(limit) => Arc::clone(limit)
            .try_acquire_owned()
            .map(Some)
            .map_err(|_| NoFreeSlot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_place_needs_both_limits() {
        let pool = Arc::new(Semaphore::new(3));
        let slots = Slots::new(Some(Arc::clone(&pool)), NonZeroU32::new(2));
        let first = slots.slot().await;
        let second = slots.free_slot().expect("a second place");
        assert!(!slots.has_free_slot(), "the harness's own limit is reached");
        assert!(slots.free_slot().is_err());
        assert_eq!(pool.available_permits(), 1, "the pool keeps its third slot");
        drop(first);
        assert!(slots.has_free_slot());
        drop(second);
        assert_eq!(pool.available_permits(), 3);
    }

    #[tokio::test]
    async fn without_limits_every_place_is_free() {
        let slots = Slots::new(None, None);
        let _held: Vec<Slot> = (0..5).map(|_| slots.free_slot().expect("free")).collect();
        assert!(slots.has_free_slot());
        let _more = slots.slot().await;
    }
}
