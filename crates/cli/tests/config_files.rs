//! The example config files of deploy/config/ pass the real parser and validator
//! (`rill <command> --config FILE --check-config`) and name every key the command
//! accepts; bad files are refused before anything is bound or written, with the file,
//! line, key and rule in the message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `rill ARGS` with no `RILL_*` variable of the test's own environment leaking in.
fn rill(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rill"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RILL_")) {
        command.env_remove(k);
    }
    command.args(args).envs(env.iter().copied());
    command.output().expect("run rill")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_example_file_is_valid_and_names_every_key() {
    for command in ["controller", "broker", "server"] {
        let file = repo().join(format!("deploy/config/{command}.properties"));
        let path = file.display().to_string();
        let out = rill(&[command, "--config", &path, "--check-config"], &[]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{path} is refused:\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("configuration is valid"), "{stdout}");
        let example = std::fs::read_to_string(&file).unwrap();
        // The report has one `key=value` (or `#key=`) line per key the command accepts.
        let keys: Vec<&str> = stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.trim_start_matches('#').split_once('='))
            .map(|(k, _)| k)
            .collect();
        assert!(keys.len() >= 8, "{command}: only {keys:?}");
        for key in keys {
            assert!(
                example
                    .lines()
                    .any(|l| l.trim_start_matches('#').starts_with(&format!("{key}="))),
                "{path} does not mention {key}"
            );
        }
        // Values set in the file are reported as coming from its lines.
        assert!(stdout.contains(&format!("{path}:")), "{stdout}");
    }
}

#[test]
fn unknown_keys_and_bad_values_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("broker.properties");
    std::fs::write(
        &file,
        format!(
            "# a typo and a value out of bounds\nbroker.id=1\ndata.dir={}\n\
             controller.quorum.bootstrap.servers=127.0.0.1:1\nbrokr.rack=r1\n\
             replica.lag.time.max.ms=0\n",
            data.display()
        ),
    )
    .unwrap();
    let path = file.display().to_string();
    // Not --check-config: the broker itself must refuse to start.
    let out = rill(
        &[
            "broker",
            "--config",
            &path,
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "none",
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{path}:5: unknown key `brokr.rack` (did you mean `broker.rack`?)"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{path}:6: replica.lag.time.max.ms=\"0\": must be at least 1"
        )),
        "{stderr}"
    );
    assert!(
        !data.exists(),
        "the data directory was created before the check"
    );

    let out = rill(
        &[
            "controller",
            "--check-config",
            "--node-id",
            "1",
            "--data-dir",
            "/x",
        ],
        &[
            ("RILL_VOTERS", "1@h:1"),
            ("RILL_METADATA_SNAPSHOT_ENTRIES", "0"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "environment RILL_METADATA_SNAPSHOT_ENTRIES: metadata.snapshot.entries=\"0\": must be at least 1"
        ),
        "{stderr}"
    );
    let out = rill(
        &[
            "broker",
            "--check-config",
            "--set",
            "replica.lag.time.max.ms=5",
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("broker.id is required: set --broker-id, RILL_BROKER_ID or broker.id"),
        "{stderr}"
    );
}

#[test]
fn flags_beat_environment_beat_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.properties");
    std::fs::write(
        &file,
        "node.id=1\ndata.dir=/from/file\ncontroller.quorum.voters=1@h:9093\nhttp.listen=none\nbroker.session.timeout.ms=7000\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let out = rill(
        &[
            "controller",
            "--config",
            &path,
            "--check-config",
            "--data-dir",
            "/from/flag",
        ],
        &[
            ("RILL_DATA_DIR", "/from/env"),
            ("RILL_HTTP_LISTEN", "127.0.0.1:0"),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("data.dir").contains("/from/flag") && line("data.dir").contains("flag --data-dir")
    );
    assert!(line("http.listen").contains("environment RILL_HTTP_LISTEN"));
    assert!(line("broker.session.timeout.ms").contains(&format!("{path}:5")));
    assert!(line("metadata.snapshot.entries").contains("# default"));
    // Unset, with a derived default: reported as derived.
    assert!(stdout.contains("#listen="), "{stdout}");
}
