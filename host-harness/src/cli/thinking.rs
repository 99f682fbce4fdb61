//! Thinking levels by name, as `chat --thinking` takes them and
//! `models list --json` prints them (OpenClaw's names).

use vllm_harness::ThinkingLevel;

/// Every level, least thinking first, with its name.
const LEVELS: [(ThinkingLevel, &str); 7] = [
    (ThinkingLevel::Off, "off"),
    (ThinkingLevel::Minimal, "minimal"),
    (ThinkingLevel::Low, "low"),
    (ThinkingLevel::Medium, "medium"),
    (ThinkingLevel::High, "high"),
    (ThinkingLevel::Xhigh, "xhigh"),
    (ThinkingLevel::Max, "max"),
];

/// A level's name.
pub fn name(level: ThinkingLevel) -> &'static str {
    LEVELS
        .iter()
        .find(|(l, _)| *l == level)
        .map_or("off", |(_, name)| name)
}

/// `--thinking LEVEL`, any case.
pub fn parse(text: &str) -> Result<ThinkingLevel, String> {
    let wanted = text.trim().to_ascii_lowercase();
    LEVELS
        .iter()
        .find(|(_, name)| *name == wanted)
        .map(|(level, _)| *level)
        .ok_or_else(|| {
            let names: Vec<&str> = LEVELS.iter().map(|(_, name)| *name).collect();
            format!("expected one of {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (level, name_) in LEVELS {
            assert_eq!(parse(name_), Ok(level));
            assert_eq!(name(level), name_);
        }
        assert_eq!(parse(" HIGH "), Ok(ThinkingLevel::High));
        assert!(
            parse("on")
                .expect_err("not a level")
                .contains("off, minimal, low")
        );
    }
}
