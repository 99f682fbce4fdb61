//! Fresh instances, made ahead of the calls that use them.
//!
//! Making a store and instantiating the plugin takes tens of microseconds,
//! which a call would otherwise wait for before its request goes out. So
//! when a call starts, the harness makes the next call's instance in the
//! background, where it runs while this call waits on the network; the next
//! call takes it ready-made. Every instance still serves exactly one call,
//! and a spare one may reach no network until its call says where.

use wasmtime::Store;

use crate::bindings::Plugin;
use crate::slots::Slot;
use crate::state::HostState;

/// A store with the plugin instantiated in it, not yet used.
pub(crate) struct Prepared {
    pub(crate) store: Store<HostState>,
    pub(crate) plugin: Plugin,
    /// Its place among the live stores.
    pub(crate) slot: Slot,
}

/// At most one prepared instance, and whether one is being made.
#[derive(Default)]
pub(crate) struct Spare {
    ready: Option<Prepared>,
    filling: bool,
}

impl Spare {
    /// The prepared instance, if there is one.
    pub(crate) fn take(&mut self) -> Option<Prepared> {
        self.ready.take()
    }

    /// Whether the caller should make one now: there is none and none is
    /// being made. The caller must then call [`Spare::filled`].
    pub(crate) fn begin_fill(&mut self) -> bool {
        if self.ready.is_some() || self.filling {
            return false;
        }
        self.filling = true;
        true
    }

    /// The outcome of a fill (`None`: it could not be made; the next call
    /// makes its own and reports why).
    pub(crate) fn filled(&mut self, prepared: Option<Prepared>) {
        self.filling = false;
        self.ready = prepared;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fill_at_a_time() {
        let mut spare = Spare::default();
        assert!(spare.take().is_none());
        assert!(spare.begin_fill());
        assert!(!spare.begin_fill(), "a second fill while one runs");
        spare.filled(None);
        assert!(spare.begin_fill(), "a failed fill may be tried again");
    }
}
