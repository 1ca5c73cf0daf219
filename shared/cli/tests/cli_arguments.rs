//! The built `govsync` binary without a stack: usage errors exit 2, `--help` documents the exit codes,
//! `mapping validate` refuses a broken spec with exit 1 and names the row, `mapping show` prints the
//! effective spec.

use std::path::PathBuf;
use std::process::{Command, Output};

fn govsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govsync"))
        .args(args)
        // No stack: nothing here may need one.
        .env_remove("GOVSYNC_MOTO_URL")
        .env_remove("GOVSYNC_MAPPING_FILE")
        .output()
        .expect("the govsync binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("govsync-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("temp file");
    path
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let out = govsync(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for command in ["status", "reconcile", "dlq", "mapping", "webhook"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    for line in [
        "Exit codes:",
        "0  done",
        "1  error",
        "2  usage error",
        "3  drift",
    ] {
        assert!(help.contains(line), "{line:?} missing from:\n{help}");
    }
    assert!(
        !help.contains("replay-event"),
        "replaying events is the local runner's job:\n{help}"
    );
    let reconcile = text(&govsync(&["reconcile", "--help"]).stdout);
    assert!(reconcile.contains("--dry-run") && reconcile.contains("3  drift"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["no-such-command"][..],
        &["reconcile", "--dry-rnu"],
        &["dlq", "replay"],
        &["dlq", "list", "--limit", "0"],
        &["webhook", "sign", "body.json"],
        &["webhook", "sign", "--secret-env", "A", "--secret-file", "f"],
        &["mapping", "validate"],
        &[],
    ] {
        let out = govsync(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_plain_secret_argument_does_not_exist() {
    let out = govsync(&["webhook", "sign", "--secret", "s3cret", "-"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn mapping_validate_refuses_a_broken_file_with_exit_1_and_names_the_row() {
    let broken = temp_file(
        "broken.toml",
        "version = 1\n\n[[rows]]\ngovernance_status = \"Proposed\"\nstage = \"Proposal\"\nstage_status = \"Approved\"\napproval = \"Maybe\"\ndirection = \"to_registry\"\n",
    );
    let path = broken.to_str().expect("utf-8 path");
    let out = govsync(&["mapping", "validate", path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("row 1 (Proposed)"), "{stderr}");
    assert!(stderr.contains("\"Maybe\""), "{stderr}");

    let json = govsync(&["mapping", "validate", path, "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(value["valid"], false);
    assert!(value["error"].as_str().is_some_and(|e| e.contains("row 1")));

    let not_toml = temp_file("garbage.toml", "version = [\n");
    let out = govsync(&["mapping", "validate", not_toml.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not valid TOML"));

    let missing = govsync(&["mapping", "validate", "/nonexistent/spec.toml"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn mapping_validate_accepts_the_built_in_spec_and_show_prints_it() {
    let builtin = temp_file("default.toml", govsync_core::MappingSpec::builtin_toml());
    let out = govsync(&["mapping", "validate", builtin.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid mapping spec, 17 rows"));

    let show = govsync(&["mapping", "show", "--json"]);
    assert_eq!(show.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&show.stdout).expect("JSON");
    assert_eq!(value["source"], "built-in");
    assert_eq!(value["rows"].as_array().map(Vec::len), Some(17));

    let table = govsync(&["mapping", "show"]);
    assert!(text(&table.stdout).contains("governance status"));
}

#[test]
fn commands_that_need_the_functions_configuration_name_what_is_missing_and_exit_1() {
    for (args, missing) in [
        (&["status"][..], "GOVSYNC_REGISTRY_MAP"),
        (&["reconcile", "--dry-run"][..], "GOVSYNC_REGISTRY_MAP"),
    ] {
        // A deployment-like environment (no local stack) with nothing of govsync's configured; a region
        // and static credentials so the SDK asks no metadata service.
        let out = Command::new(env!("CARGO_BIN_EXE_govsync"))
            .args(args)
            .env_clear()
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "example")
            .output()
            .expect("the govsync binary runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(missing), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
        let with_map = Command::new(env!("CARGO_BIN_EXE_govsync"))
            .args(args)
            .env_clear()
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "example")
            .env(
                "GOVSYNC_REGISTRY_MAP",
                r#"[{"account":"111111111111","region":"eu-west-1","business_entity":"Retail"}]"#,
            )
            .output()
            .expect("the govsync binary runs");
        assert_eq!(with_map.status.code(), Some(1));
        assert!(text(&with_map.stderr).contains("GOVSYNC_GOVERNANCE_URL"));
    }
}
