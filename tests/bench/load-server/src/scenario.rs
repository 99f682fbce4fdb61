//! The model id grammar, `<kind>[-w<N>][-d<US>]`: what a reply looks like is
//! chosen by nothing but the request's standard `model` field, so every
//! client can select it (`tests/bench/PROTOCOL.md`).

use std::time::Duration;

/// Events in a reply when the request names no `max_tokens`.
pub const DEFAULT_TOKENS: u32 = 16;
/// Most events one reply may have.
pub const MAX_TOKENS: u32 = 1_000_000;
/// Most events in one socket write (`-w`): about 25 MB of events, which
/// bounds the buffer one connection holds.
pub const MAX_PER_WRITE: u32 = 100_000;
/// Longest delay before a write (`-d`): one minute.
pub const MAX_DELAY_US: u64 = 60_000_000;

/// What every event of a reply carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `delta.content`.
    Text,
    /// `delta.reasoning` (vLLM's field with a reasoning parser).
    Reasoning,
    /// The arguments of one `get_weather` tool call.
    Tools,
}

impl Kind {
    /// `data:` chunks a stream sends before its first event: the role chunk,
    /// and for `tools` the chunk naming the call.
    pub fn preamble_chunks(self) -> u64 {
        match self {
            Self::Text | Self::Reasoning => 1,
            Self::Tools => 2,
        }
    }
}

/// A parsed model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// What the events carry.
    pub kind: Kind,
    /// Events per socket write, at least 1.
    pub per_write: u32,
    /// Delay before each write of events.
    pub delay: Duration,
}

impl Scenario {
    /// Parses `<kind>[-w<N>][-d<US>]` (each option at most once, in either
    /// order); `None` for anything else, which the server answers with
    /// vLLM's 404 for an unknown model.
    pub fn parse(id: &str) -> Option<Self> {
        let mut parts = id.split('-');
        let kind = match parts.next()? {
            "text" => Kind::Text,
            "reasoning" => Kind::Reasoning,
            "tools" => Kind::Tools,
            _ => return None,
        };
        let mut per_write = None;
        let mut delay_us = None;
        for part in parts {
            let (tag, digits) = part.split_at_checked(1)?;
            let value = number(digits)?;
            let slot = match tag {
                "w" => &mut per_write,
                "d" => &mut delay_us,
                _ => return None,
            };
            if slot.replace(value).is_some() {
                return None;
            }
        }
        let per_write = per_write.unwrap_or(1);
        let delay_us = delay_us.unwrap_or(0);
        if per_write == 0 || per_write > u64::from(MAX_PER_WRITE) || delay_us > MAX_DELAY_US {
            return None;
        }
        Some(Self {
            kind,
            per_write: u32::try_from(per_write).ok()?,
            delay: Duration::from_micros(delay_us),
        })
    }
}

/// Plain decimal digits, at most 10 of them (no sign, no spaces).
fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(id: &str) -> Option<(Kind, u32, u64)> {
        Scenario::parse(id).map(|s| {
            (
                s.kind,
                s.per_write,
                u64::try_from(s.delay.as_micros()).unwrap_or(u64::MAX),
            )
        })
    }

    #[test]
    fn kinds_and_options() {
        assert_eq!(parsed("text"), Some((Kind::Text, 1, 0)));
        assert_eq!(parsed("text-w64"), Some((Kind::Text, 64, 0)));
        assert_eq!(parsed("reasoning-d5000"), Some((Kind::Reasoning, 1, 5000)));
        assert_eq!(parsed("tools-w8-d250"), Some((Kind::Tools, 8, 250)));
        assert_eq!(parsed("tools-d250-w8"), Some((Kind::Tools, 8, 250)));
        assert_eq!(parsed("text-d0"), Some((Kind::Text, 1, 0)));
    }

    #[test]
    fn everything_else_is_unknown() {
        for id in [
            "",
            "nope",
            "Text",
            "text-",
            "text-w",
            "text-w0",
            "text-w+5",
            "text-w 5",
            "text-w100001",
            "text-d60000001",
            "text-w99999999999",
            "text-x5",
            "text-w1-w2",
            "text-d1-d1",
            "text--w1",
            "text-w1-",
            "text-é",
        ] {
            assert_eq!(parsed(id), None, "{id:?}");
        }
    }

    #[test]
    fn preamble() {
        assert_eq!(Kind::Text.preamble_chunks(), 1);
        assert_eq!(Kind::Tools.preamble_chunks(), 2);
    }
}
