//! Config values JSON5 allows but a setting cannot have: an error naming
//! the path, never a silent default.

use crate::common::cli_run::Cli;

#[test]
fn non_finite_numbers_in_the_config_are_errors_with_their_path() {
    let cli = Cli::new();
    for (field, written, path) in [
        (
            "timeoutSeconds: NaN",
            "NaN",
            "models.providers.vllm.timeoutSeconds",
        ),
        (
            "timeoutSeconds: Infinity",
            "Infinity",
            "models.providers.vllm.timeoutSeconds",
        ),
        (
            "timeoutSeconds: -Infinity",
            "-Infinity",
            "models.providers.vllm.timeoutSeconds",
        ),
        (
            "models: [{id: 'm', contextWindow: Infinity}]",
            "Infinity",
            "models.providers.vllm.models[0].contextWindow",
        ),
    ] {
        let config =
            super::section_file(&cli, &format!("baseUrl: 'http://127.0.0.1:9/v1', {field}"));
        let config = config.as_str();
        for command in [&["config"][..], &["models", "list"]] {
            let run = cli.run(&[&["--config", config][..], command].concat());
            run.code(2)
                .says(&format!("{path} is {written}"))
                .says("openclaw.json");
        }
    }
}

#[test]
fn unknown_keys_are_warned_about_with_the_nearest_known_one() {
    let cli = Cli::new();
    let config = super::section_file(
        &cli,
        "bseUrl: 'http://127.0.0.1:9/v1', models: [{id: 'm', contxtWindow: 4096}]",
    );
    let run = cli.run(&["--config", &config, "config"]);
    run.code(0)
        .says("warning: models.providers.vllm.bseUrl is not a setting this provider knows, and is ignored: did you mean baseUrl?")
        .says("warning: models.providers.vllm.models[0].contxtWindow is not a setting this provider knows, and is ignored: did you mean contextWindow?");
    // The known keys OpenClaw defines for every provider cost nothing.
    let config = super::section_file(
        &cli,
        "baseUrl: 'http://127.0.0.1:9/v1', auth: 'api-key', authHeader: true, \
         models: [{id: 'm', compat: {}, params: {}}]",
    );
    let run = cli.run(&["--config", &config, "config"]);
    run.code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}
