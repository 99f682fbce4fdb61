//! What the plugin read replies into before it had its own reader: the
//! serde-derived structs, kept for the tests that compare the reader with
//! them, with generators of the replies they read.

use super::tests::{Json, any_json, key, scalar, string_literal, valid_json};
use proptest::prelude::*;
use proptest::strategy::Union;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub(crate) struct UsageJson {
    #[serde(default)]
    pub(crate) prompt_tokens: u32,
    #[serde(default)]
    pub(crate) completion_tokens: u32,
    #[serde(default)]
    pub(crate) total_tokens: Option<u32>,
    #[serde(default)]
    pub(crate) prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PromptDetails {
    #[serde(default)]
    pub(crate) cached_tokens: Option<u32>,
}

impl UsageJson {
    pub(crate) fn ours(&self) -> crate::usage::UsageJson {
        crate::usage::UsageJson::from_fields(
            self.prompt_tokens,
            self.completion_tokens,
            self.total_tokens,
            self.prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens),
        )
    }
}

/// Both readers read `text` to the same value, or both refused it.
pub(crate) fn agree<T, A, B>(
    text: &str,
    ours: Result<T, A>,
    theirs: Result<T, B>,
) -> Result<(), TestCaseError>
where
    T: PartialEq + std::fmt::Debug,
    A: std::fmt::Debug,
    B: std::fmt::Debug,
{
    match (ours, theirs) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
        (Err(_), Err(_)) => {}
        (a, b) => prop_assert!(false, "{text:?}: ours {a:?}, serde {b:?}"),
    }
    Ok(())
}

/// The two properties a reader is held to against serde's derived code,
/// as two property tests with the given names: the text `$json` generates
/// is read as serde reads it (`$read`), and the same text broken by
/// [`mutated`](super::tests::mutated) is refused where serde refuses it
/// (`$refused`). `$same` checks one text, usually with [`agree`].
macro_rules! agrees_with_serde {
    (
        cases: $cases:expr,
        json: $json:expr,
        same: $same:expr,
        read: $read:ident,
        refused: $refused:ident $(,)?
    ) => {
        ::proptest::proptest! {
            #![proptest_config(::proptest::prelude::ProptestConfig::with_cases($cases))]

            #[test]
            fn $read(json in $json, space in $crate::json::tests::space()) {
                ($same)(&json.render(space))?;
            }

            #[test]
            fn $refused(
                json in $json,
                space in $crate::json::tests::space(),
                at in ::proptest::prelude::any::<usize>(),
                how in ::proptest::prelude::any::<u8>(),
            ) {
                ($same)(&$crate::json::tests::mutated(&json.render(space), at, how))?;
            }
        }
    };
}
pub(crate) use agrees_with_serde;

/// Tool call arguments as the plugin used them: text, `""` for none.
pub(crate) fn arguments_text(arguments: Option<Value>) -> String {
    match arguments {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text,
        Some(other) => super::text(&other),
    }
}

/// A member of an object: `name` (now and then escaped, or another key)
/// with a value of `value`.
pub(crate) fn member(
    name: &'static str,
    value: impl Strategy<Value = Json> + 'static,
) -> BoxedStrategy<(String, Json)> {
    (key(&[name]), value).boxed()
}

/// An object with any of these members, in any order, among unknown ones;
/// now and then one is repeated, or an unknown one is broken.
pub(crate) fn object(members: Vec<BoxedStrategy<(String, Json)>>) -> BoxedStrategy<Json> {
    let known: Vec<_> = members
        .iter()
        .cloned()
        .map(|m| prop::option::weighted(0.7, m))
        .collect();
    let repeated = prop::option::weighted(0.05, Union::new(members));
    let unknown = prop::collection::vec((key(&["id", "created", "logprobs"]), valid_json()), 0..3);
    let broken = prop::option::weighted(0.05, (key(&["id"]), any_json()));
    (known, repeated, unknown, broken)
        .prop_map(|(known, repeated, unknown, broken)| {
            known
                .into_iter()
                .flatten()
                .chain(unknown)
                .chain(repeated)
                .chain(broken)
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
        .prop_map(Json::Object)
        .boxed()
}

/// Where a struct goes: mostly one, now and then a scalar (`null`
/// included). Never a list: serde's derived structs read lists too.
pub(crate) fn a_struct(object: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop_oneof![16 => object, 1 => scalar()].boxed()
}

/// Where a list of structs goes: mostly one, now and then something else.
pub(crate) fn list_of(item: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop_oneof![
        16 => prop::collection::vec(item, 0..3).prop_map(Json::List),
        1 => scalar(),
        1 => Just(Json::Object(Vec::new())),
    ]
    .boxed()
}

/// Where text goes: mostly a string, or `null`, or something else.
pub(crate) fn text() -> BoxedStrategy<Json> {
    prop_oneof![
        12 => string_literal().prop_map(Json::Str),
        4 => Just(Json::Raw("null".into())),
        1 => any_json(),
    ]
    .boxed()
}

/// Where a count of tokens goes: in range, out of it, or not a count.
pub(crate) fn count() -> BoxedStrategy<Json> {
    prop_oneof![
        12 => (0u32..5000).prop_map(|n| Json::Raw(n.to_string())),
        1 => prop::sample::select(vec!["4294967295", "4294967296", "-1", "-0", "1.0", "1e2", "null", "\"7\""])
            .prop_map(|s| Json::Raw(s.into())),
    ]
    .boxed()
}

pub(crate) fn usage() -> BoxedStrategy<Json> {
    let details = a_struct(object(vec![member("cached_tokens", count())]));
    a_struct(object(vec![
        member("prompt_tokens", count()),
        member("completion_tokens", count()),
        member("total_tokens", count()),
        member("prompt_tokens_details", details),
    ]))
}

/// The top level of a reply, a chunk's or a completion's: the members both
/// carry, with `choices` of `choice`.
pub(crate) fn reply(choice: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    object(vec![
        member("id", text()),
        member("model", text()),
        member("choices", list_of(choice)),
        member("usage", usage()),
        member("error", anything()),
        member("object", text()),
    ])
}

/// A chunk's `delta` or a completion's `message`: the same members, with
/// `tool_calls` of `call`.
pub(crate) fn message(call: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    a_struct(object(vec![
        member("content", text()),
        member("reasoning", text()),
        member("reasoning_content", text()),
        member("tool_calls", list_of(call)),
    ]))
}

/// `function.arguments`: text mostly, or an object, or anything.
pub(crate) fn arguments() -> BoxedStrategy<Json> {
    prop_oneof![8 => text(), 2 => valid_json(), 1 => any_json()].boxed()
}

/// Anything, valid mostly.
pub(crate) fn anything() -> BoxedStrategy<Json> {
    prop_oneof![4 => valid_json(), 1 => any_json()].boxed()
}
