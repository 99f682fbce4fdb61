//! The `GET /v1/models` body.

use serde::Serialize;

use super::{Null, next_hex_id, now_secs, to_json};
use crate::mock::MockModel;

#[derive(Serialize)]
struct Permission {
    id: String,
    object: &'static str,
    created: u64,
    allow_create_engine: bool,
    allow_sampling: bool,
    allow_logprobs: bool,
    allow_search_indices: bool,
    allow_view: bool,
    allow_fine_tuning: bool,
    organization: &'static str,
    group: Null,
    is_blocking: bool,
}

#[derive(Serialize)]
struct ModelCard<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
    root: &'a str,
    parent: Option<&'a str>,
    max_model_len: Option<u32>,
    permission: Vec<Permission>,
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelCard<'a>>,
}

/// The body of `GET /v1/models` for `models` (base models first, then
/// adapters, as given).
pub fn models_body(models: &[MockModel]) -> String {
    let created = now_secs();
    let data = models
        .iter()
        .map(|m| ModelCard {
            id: &m.id,
            object: "model",
            created,
            owned_by: "vllm",
            root: &m.root,
            parent: m.parent.as_deref(),
            max_model_len: m.max_model_len,
            permission: vec![Permission {
                id: format!("modelperm-{}", next_hex_id()),
                object: "model_permission",
                created,
                allow_create_engine: false,
                allow_sampling: true,
                allow_logprobs: true,
                allow_search_indices: false,
                allow_view: true,
                allow_fine_tuning: false,
                organization: "*",
                group: Null,
                is_blocking: false,
            }],
        })
        .collect();
    to_json(&ModelList {
        object: "list",
        data,
    })
}
