//! `--plugin` and `inspect` given a file that is not a component: one line
//! that names the file and says what it is instead.

use crate::common::TempDir;
use crate::common::cli_run::Cli;

#[test]
fn a_file_that_is_not_a_component_is_named_in_one_line() {
    let dir = TempDir::new("not-components");
    let text = dir.write("notes.wasm", "just some text\n");
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, wat::parse_str("(module)").expect("a core module")).expect("write");
    for (file, says) in [
        (&text, "is not WebAssembly at all"),
        (
            &core,
            "is a core WebAssembly module, and the harness loads only components",
        ),
    ] {
        let path = file.to_str().expect("UTF-8 path");
        let name = file.file_name().and_then(|n| n.to_str()).expect("name");
        for run in [
            Cli::new()
                .plugin(file)
                .run(&["--base-url", "http://127.0.0.1:9/v1", "models", "list"]),
            Cli::new().run(&["inspect", path]),
        ] {
            run.code(2)
                .says(&format!("{name} is not a WebAssembly component"))
                .says(says);
            assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
            assert!(!run.stderr.contains("0x"), "no byte dump: {}", run.stderr);
        }
    }
}
