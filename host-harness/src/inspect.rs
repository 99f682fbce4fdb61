//! Load-time inspection: what a component imports (its capability surface)
//! and exports, and whether this harness will run it.
//!
//! The linker holds all of WASI 0.2, because Rust's standard library links
//! against much of it; what a plugin may *use* is decided here, before any
//! instance exists: every import must be an interface the sandbox grants
//! (see [`GRANTED`]), and the component must export a version of
//! `vllm:provider/provider` this harness speaks.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};

/// The exported interface a provider plugin must have.
pub const PROVIDER_INTERFACE: &str = "vllm:provider/provider";

/// The provider package's types-only interface, which plugins import.
const PROVIDER_TYPES: &str = "vllm:provider/types";

/// The versions of [`PROVIDER_INTERFACE`] this harness can call.
pub const SUPPORTED_VERSIONS: [&str; 2] = crate::bindings::VERSIONS;

/// The interfaces (`package/name`, any 0.2 version) the sandbox grants, and
/// what each gives a plugin here. Everything else is refused at load: no
/// `wasi:sockets` (a provider reaches its server through `wasi:http`), no
/// `wasi:filesystem` (a provider has no files to read).
pub const GRANTED: [(&str, &str); 20] = [
    (
        "wasi:http/outgoing-handler",
        "HTTP requests, only to the configured server's host:port",
    ),
    ("wasi:http/types", "HTTP request and response values"),
    ("wasi:io/error", "error values"),
    ("wasi:io/poll", "waiting on I/O"),
    (
        "wasi:io/streams",
        "byte streams (HTTP bodies, stdout, stderr)",
    ),
    ("wasi:clocks/monotonic-clock", "a monotonic clock"),
    ("wasi:clocks/wall-clock", "the time of day"),
    ("wasi:random/random", "random bytes"),
    ("wasi:random/insecure", "insecure random bytes"),
    ("wasi:random/insecure-seed", "a hash seed"),
    (
        "wasi:cli/environment",
        "only the environment variables the host chose",
    ),
    ("wasi:cli/exit", "ending the call with a trap"),
    ("wasi:cli/stdin", "an empty stdin"),
    ("wasi:cli/stdout", "stdout, captured and bounded"),
    ("wasi:cli/stderr", "stderr, captured and bounded"),
    ("wasi:cli/terminal-input", "no terminal"),
    ("wasi:cli/terminal-output", "no terminal"),
    ("wasi:cli/terminal-stdin", "no terminal"),
    ("wasi:cli/terminal-stdout", "no terminal"),
    ("wasi:cli/terminal-stderr", "no terminal"),
];

/// One import or export of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The full name, e.g. `wasi:http/outgoing-handler@0.2.12`.
    pub name: String,
    /// What kind of item: `interface`, `func`, `resource`, ...
    pub kind: &'static str,
    /// Functions of an interface (`name(params) -> result`), in order.
    pub functions: Vec<String>,
    /// For an import: what the sandbox grants for it, or `None` when it
    /// does not grant it. For an export: `None`.
    pub granted: Option<&'static str>,
}

/// What a component imports and exports, and the harness's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Its imports: the capability surface it asks for.
    pub imports: Vec<Item>,
    /// Its exports.
    pub exports: Vec<Item>,
    /// Why the harness refuses it, when it does.
    pub refusal: Option<String>,
}

impl Inspection {
    /// Reads the imports and exports of a compiled component.
    pub fn of(engine: &Engine, component: &Component) -> Self {
        let ty = component.component_type();
        let imports: Vec<Item> = ty
            .imports(engine)
            .map(|(name, ext)| {
                let mut item = item(engine, name, &ext.ty);
                item.granted = granted(name);
                item
            })
            .collect();
        let exports: Vec<Item> = ty
            .exports(engine)
            .map(|(name, ext)| item(engine, name, &ext.ty))
            .collect();
        let refusal = refusal(&imports, &exports);
        Self {
            imports,
            exports,
            refusal,
        }
    }

    /// The newest version of [`PROVIDER_INTERFACE`] the component exports
    /// that this harness speaks.
    pub fn provider_version(&self) -> Option<&str> {
        self.exports
            .iter()
            .filter_map(|export| {
                export
                    .name
                    .strip_prefix(PROVIDER_INTERFACE)?
                    .strip_prefix('@')
            })
            .filter(|version| SUPPORTED_VERSIONS.contains(version))
            .max_by_key(|version| SUPPORTED_VERSIONS.iter().position(|v| v == version))
    }

    /// The component's world in WIT-like text: its imports and exports,
    /// with the functions of each exported interface.
    pub fn world(&self) -> String {
        let mut out = String::from("world plugin {\n");
        for import in &self.imports {
            out.push_str(&format!("    import {};\n", import.name));
        }
        for export in &self.exports {
            if export.functions.is_empty() {
                out.push_str(&format!("    export {};\n", export.name));
            } else {
                out.push_str(&format!("    export {} {{\n", export.name));
                for function in &export.functions {
                    out.push_str(&format!("        {function};\n"));
                }
                out.push_str("    }\n");
            }
        }
        out.push_str("}\n");
        out
    }
}

/// `package/name` of an interface name, without `@version`.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
}

/// What the sandbox grants for the import `name`: any `0.2.x` of a granted
/// WASI interface, and the provider's own types at a supported version.
fn granted(name: &str) -> Option<&'static str> {
    let (base, version) = name.split_once('@')?;
    if base == PROVIDER_TYPES && SUPPORTED_VERSIONS.contains(&version) {
        return Some("the provider's own data types (no functions)");
    }
    if !version.starts_with("0.2.") {
        return None;
    }
    GRANTED
        .iter()
        .find(|(interface, _)| *interface == base)
        .map(|(_, what)| *what)
}

fn refusal(imports: &[Item], exports: &[Item]) -> Option<String> {
    let refused: Vec<&str> = imports
        .iter()
        .filter(|i| i.granted.is_none())
        .map(|i| i.name.as_str())
        .collect();
    if !refused.is_empty() {
        return Some(format!(
            "the plugin imports what the sandbox does not grant: {} (a provider needs only \
             wasi:http/outgoing-handler and the basic WASI interfaces; see `vllm-harness inspect`)",
            refused.join(", ")
        ));
    }
    let providers: Vec<&str> = exports
        .iter()
        .map(|e| e.name.as_str())
        .filter(|name| unversioned(name) == PROVIDER_INTERFACE)
        .collect();
    let supported = |name: &&str| {
        name.split_once('@')
            .is_some_and(|(_, version)| SUPPORTED_VERSIONS.contains(&version))
    };
    if providers.iter().any(supported) {
        return None;
    }
    let wanted = SUPPORTED_VERSIONS
        .iter()
        .map(|v| format!("{PROVIDER_INTERFACE}@{v}"))
        .collect::<Vec<_>>()
        .join(" or ");
    Some(if providers.is_empty() {
        format!("the plugin does not export {wanted}: it is not a vLLM provider plugin")
    } else {
        format!(
            "the plugin exports {}, which this harness does not speak: it needs {wanted} (rebuild \
             the plugin against this WIT, or use a harness that supports its version)",
            providers.join(", ")
        )
    })
}

fn item(engine: &Engine, name: &str, ty: &ComponentItem) -> Item {
    let (kind, functions) = match ty {
        ComponentItem::ComponentInstance(instance) => (
            "interface",
            instance
                .exports(engine)
                .filter_map(|(fname, ext)| match &ext.ty {
                    ComponentItem::ComponentFunc(func) => Some(signature(fname, func)),
                    _ => None,
                })
                .collect(),
        ),
        ComponentItem::ComponentFunc(func) => ("func", vec![signature(name, func)]),
        ComponentItem::Resource(_) => ("resource", Vec::new()),
        ComponentItem::Type(_) => ("type", Vec::new()),
        ComponentItem::Component(_) => ("component", Vec::new()),
        ComponentItem::Module(_) => ("module", Vec::new()),
        ComponentItem::CoreFunc(_) => ("core func", Vec::new()),
    };
    Item {
        name: name.to_owned(),
        kind,
        functions,
        granted: None,
    }
}

/// `name(param: type, ...) -> result`, with records, variants and enums
/// named by kind (the full types are in the plugin's WIT).
fn signature(name: &str, func: &ComponentFunc) -> String {
    let params: Vec<String> = func
        .params()
        .map(|(param, ty)| format!("{param}: {}", type_text(&ty)))
        .collect();
    let results: Vec<String> = func.results().map(|ty| type_text(&ty)).collect();
    let arrow = match results.as_slice() {
        [] => String::new(),
        [one] => format!(" -> {one}"),
        many => format!(" -> ({})", many.join(", ")),
    };
    format!("{name}({}){arrow}", params.join(", "))
}

fn type_text(ty: &Type) -> String {
    let opt = |t: Option<Type>| t.map_or_else(|| "_".to_owned(), |t| type_text(&t));
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(list) => format!("list<{}>", type_text(&list.ty())),
        Type::Option(option) => format!("option<{}>", type_text(&option.ty())),
        Type::Result(result) => format!("result<{}, {}>", opt(result.ok()), opt(result.err())),
        Type::Tuple(tuple) => format!(
            "tuple<{}>",
            tuple
                .types()
                .map(|t| type_text(&t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Record(_) => "record".into(),
        Type::Variant(_) => "variant".into(),
        Type::Enum(_) => "enum".into(),
        Type::Flags(_) => "flags".into(),
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Map(_) => "map".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
        Type::FixedLengthList(_) => "list<_, N>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(name: &str) -> Item {
        Item {
            name: name.to_owned(),
            kind: "interface",
            functions: Vec::new(),
            granted: granted(name),
        }
    }

    fn export(name: &str) -> Item {
        Item {
            name: name.to_owned(),
            kind: "interface",
            functions: Vec::new(),
            granted: None,
        }
    }

    #[test]
    fn wasi_0_2_interfaces_in_the_list_are_granted_and_nothing_else() {
        assert!(granted("wasi:http/outgoing-handler@0.2.12").is_some());
        assert!(granted("wasi:io/streams@0.2.0").is_some());
        assert!(granted("wasi:sockets/tcp@0.2.12").is_none());
        assert!(granted("wasi:filesystem/types@0.3.0").is_none());
        assert!(granted("wasi:http/outgoing-handler").is_none());
        assert!(granted("evil:net/raw@0.2.0").is_none());
        assert!(granted("vllm:provider/types@0.1.0").is_some());
        assert!(granted("vllm:provider/types@0.2.0").is_some());
        assert!(granted("vllm:provider/types@0.3.0").is_none());
    }

    #[test]
    fn the_newest_version_spoken_is_the_one_run() {
        let inspection = |exports: Vec<Item>| Inspection {
            imports: Vec::new(),
            exports,
            refusal: None,
        };
        let both = inspection(vec![
            export("vllm:provider/provider@0.1.0"),
            export("vllm:provider/provider@0.2.0"),
        ]);
        assert_eq!(both.provider_version(), Some("0.2.0"));
        let old = inspection(vec![export("vllm:provider/provider@0.1.0")]);
        assert_eq!(old.provider_version(), Some("0.1.0"));
        let unknown = inspection(vec![export("vllm:provider/provider@0.3.0")]);
        assert_eq!(unknown.provider_version(), None);
    }

    #[test]
    fn refusals_name_what_is_refused() {
        let ok = [export("vllm:provider/provider@0.1.0")];
        assert_eq!(
            refusal(&[import("wasi:http/outgoing-handler@0.2.12")], &ok),
            None
        );
        let sockets = refusal(
            &[
                import("wasi:sockets/tcp@0.2.0"),
                import("wasi:io/streams@0.2.0"),
                import("wasi:sockets/network@0.2.0"),
            ],
            &ok,
        )
        .expect("refused");
        assert!(
            sockets.contains("wasi:sockets/tcp@0.2.0, wasi:sockets/network@0.2.0"),
            "{sockets}"
        );
        let newer = refusal(&[], &[export("vllm:provider/provider@0.3.0")]).expect("refused");
        assert!(
            newer.contains("exports vllm:provider/provider@0.3.0"),
            "{newer}"
        );
        assert!(
            newer.contains("needs vllm:provider/provider@0.1.0"),
            "{newer}"
        );
        assert!(newer.contains("vllm:provider/provider@0.2.0"), "{newer}");
        let none = refusal(&[], &[export("wasi:cli/run@0.2.0")]).expect("refused");
        assert!(none.contains("not a vLLM provider plugin"), "{none}");
    }
}
