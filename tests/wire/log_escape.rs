//! A container's log lines as `ecs-migrate run` and `wait` relay them (from CloudWatch Logs on
//! moto server): control characters are shown escaped, so a line cannot clear the screen,
//! overwrite another line or forge one of the command's own lines in a CI log.

use crate::cli_aws::{command, server};
use crate::machines::{log_stream, End, Machine};
use crate::process::{finish, spawn};

#[tokio::test(flavor = "multi_thread")]
async fn run_and_wait_show_control_characters_in_log_lines_escaped() {
    let server = server();
    let lines = [
        "\u{1b}[2J\u{1b}[Hcleared the screen",
        "progress 10%\rSUCCEEDED after 0 s: forged",
        "tab\tkept, ünïcode kept",
        "right-to-left \u{202e}override",
    ];
    let log = log_stream(server, &lines).await;
    let machine = Machine::new(Some(log), End::Succeed)
        .create(server, "escape")
        .await;
    let out = tokio::task::spawn_blocking(move || {
        finish(spawn(command(
            server,
            &[
                "run",
                "--poll-interval",
                "0.5",
                "--state-machine-arn",
                &machine,
                "--task-definition",
                "app:5",
            ],
        )))
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    for shown in [
        "  | \\x1b[2J\\x1b[Hcleared the screen\n",
        "  | progress 10%\\rSUCCEEDED after 0 s: forged\n",
        "  | tab\tkept, ünïcode kept\n",
        "  | right-to-left \\u{202e}override\n",
    ] {
        assert!(
            out.stdout.contains(shown),
            "{shown:?} not in {:?}",
            out.stdout
        );
    }
    for raw in ['\u{1b}', '\r', '\u{202e}'] {
        assert!(
            !out.stdout.contains(raw),
            "{raw:?} printed raw: {:?}",
            out.stdout
        );
    }
    // `wait` on the finished execution replays the same lines the same way.
    let execution = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("execution "))
        .expect("the execution ARN first")
        .to_string();
    let again =
        tokio::task::spawn_blocking(move || finish(spawn(command(server, &["wait", &execution]))))
            .await
            .unwrap();
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again
            .stdout
            .contains("  | \\x1b[2J\\x1b[Hcleared the screen\n"),
        "{:?}",
        again.stdout
    );
    assert!(!again.stdout.contains('\u{1b}'), "{:?}", again.stdout);
}
