//! `ecs-migrate lock release --force` on an item it cannot read (issue 19 item 4): it deletes
//! it and says what it deleted; without --force it refuses. Against moto's DynamoDB, and on the
//! local lock files.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::cli_aws::command;
use crate::moto;
use crate::process::{finish, spawn};

#[tokio::test]
async fn release_force_deletes_an_item_it_cannot_read_and_says_what() {
    let server = moto::shared();
    let table = server.create_lock_table(&moto::unique("force")).await;
    let dynamodb = server.dynamodb().await;
    // Written by something else: `holder` is a number, `since` and the rest are missing.
    dynamodb
        .put_item()
        .table_name(&table)
        .item("scope", AttributeValue::S("app".into()))
        .item("holder", AttributeValue::N("7".into()))
        .send()
        .await
        .expect("dynamodb:PutItem");
    let release = |force: bool| {
        let mut args = vec!["lock", "release", "--table", &table, "--scope", "app"];
        if force {
            args.push("--force");
        }
        finish(spawn(command(server, &args)))
    };
    let refused = release(false);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("is not a lock item"), "{refused:?}");
    let forced = release(true);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(
        forced.stdout.contains("deleted the item of scope \"app\"")
            && forced
                .stdout
                .contains("attribute revision is missing; attributes holder, scope"),
        "{forced:?}"
    );
    let left = dynamodb
        .get_item()
        .table_name(&table)
        .key("scope", AttributeValue::S("app".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("dynamodb:GetItem");
    assert!(left.item().is_none(), "the item is still there");
}

#[tokio::test]
async fn release_force_deletes_a_local_lock_file_it_cannot_read() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(moto::unique("force-locks"));
    std::fs::create_dir_all(&dir).expect("the lock directory");
    let file = dir.join("app.json");
    std::fs::write(&file, b"{not json").expect("write the lock file");
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-migrate"));
    cli.args(["lock", "release", "--scope", "app", "--force", "--lock-dir"])
        .arg(&dir);
    let forced = finish(spawn(cli));
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(forced.stdout.contains("deleted lock file"), "{forced:?}");
    assert!(!file.exists(), "the lock file is still there");
    std::fs::remove_dir_all(&dir).ok();
}
