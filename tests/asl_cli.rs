//! `ecs-migrate asl run|validate|graph` through the built binary: exit codes and the single
//! JSON object on stdout.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
}

#[test]
fn help_lists_the_asl_commands() {
    let out = bin().args(["asl", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "validate", "graph"] {
        assert!(text.contains(cmd), "{text}");
    }
}
