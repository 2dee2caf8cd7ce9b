//! Runs the built `rill` executable the way a user would.

use std::process::Command;

fn rill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(args)
        .output()
        .expect("run rill")
}

#[test]
fn version_prints_the_crate_version() {
    let out = rill(&["--version"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim(), format!("rill {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_the_subcommands() {
    let out = rill(&["--help"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    for sub in ["controller", "broker", "server", "dev", "topic", "cluster"] {
        assert!(stdout.contains(sub), "--help lacks {sub}:\n{stdout}");
    }
}

#[test]
fn a_usage_error_exits_2_and_the_help_lists_the_exit_codes() {
    let out = rill(&["group", "--some-flag", "value"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    let out = rill(&["--help"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Exit codes:"), "{stdout}");
    assert!(stdout.contains("group"), "{stdout}");
}

#[test]
fn broker_settings_are_checked_before_anything_starts() {
    let base = [
        "broker",
        "--broker-id",
        "1",
        "--data-dir",
        "/nonexistent/x",
        "--controllers",
        "127.0.0.1:1",
    ];
    let out = rill(&[&base[..], &["--set", "replica.lag.time.max=5"]].concat());
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("replica.lag.time.max"), "{stderr}");
    let out = rill(&[&base[..], &["--set", "replica.lag.time.max.ms=0"]].concat());
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("must be at least 1"), "{stderr}");
    let out = rill(&[&base[..], &["--peer-address", "two=h:1"]].concat());
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("peer id"), "{stderr}");
    let out = rill(&["broker", "--data-dir", "/nonexistent/x"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--broker-id"), "{stderr}");
}

#[test]
fn controller_settings_are_checked_before_anything_starts() {
    let out = rill(&[
        "controller",
        "--node-id",
        "4",
        "--data-dir",
        "/nonexistent/x",
        "--voters",
        "1@127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("node.id 4 is not among the controller.quorum.voters"),
        "{stderr}"
    );
    let out = rill(&[
        "controller",
        "--node-id",
        "1",
        "--data-dir",
        "/tmp/x",
        "--voters",
        "1@nowhere",
    ]);
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("has no port")
    );
    let out = rill(&["controller"]);
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("node.id is required: set --node-id")
    );
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let out = rill(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
