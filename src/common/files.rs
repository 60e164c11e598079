//! Reading a file the user names (a task definition, a state machine definition, an
//! environment file) as UTF-8 text within a size cap, so `--task-definition /dev/zero` is
//! refused instead of taking all memory, and a file saved in another encoding gets a message
//! that says where the first invalid byte is.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest task definition file read (far above what ECS registers, which leaves room for
/// DescribeTaskDefinition output with its tags).
pub(crate) const MAX_TASK_DEFINITION_BYTES: u64 = 1024 * 1024;
/// The largest state machine definition: Step Functions' own hard quota, 1 MB ("Maximum size
/// of state machine definition", docs.aws.amazon.com/step-functions/latest/dg/limits.html).
pub(crate) const MAX_STATE_MACHINE_DEFINITION_BYTES: u64 = 1024 * 1024;
/// The largest execution input: Step Functions' 256 KiB quota for a task or execution input
/// (docs.aws.amazon.com/step-functions/latest/dg/limits.html).
pub(crate) const MAX_EXECUTION_INPUT_BYTES: u64 = 256 * 1024;
/// The largest `asl run --input @FILE` read. The engine refuses an input over
/// [`MAX_EXECUTION_INPUT_BYTES`] as StartExecution does unless `--no-limits` is given; this only
/// keeps a file such as /dev/zero from being read whole.
pub(crate) const MAX_INPUT_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The largest `--env-file`.
pub(crate) const MAX_ENV_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {what} {}: {source}", path.display())]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {} is {}over the limit of {}; check the path", path.display(), describe_size(*size), bytes(*limit))]
    TooLarge {
        what: &'static str,
        path: PathBuf,
        /// The size when the file system knows it (not for a device or a pipe).
        size: Option<u64>,
        limit: u64,
    },
    #[error("{what} {} is not UTF-8 text: byte 0x{byte:02x} at line {line}, column {column} (offset {offset}) is invalid; save the file as UTF-8", path.display())]
    NotUtf8 {
        what: &'static str,
        path: PathBuf,
        byte: u8,
        offset: usize,
        line: usize,
        column: usize,
    },
}

fn bytes(count: u64) -> String {
    if count >= 1024 * 1024 && count.is_multiple_of(1024 * 1024) {
        format!("{} MiB ({count} bytes)", count / (1024 * 1024))
    } else {
        format!("{count} bytes")
    }
}

/// `2097153 bytes, ` or nothing when the size is unknown (reading stopped at the limit).
fn describe_size(size: Option<u64>) -> String {
    size.map(|size| format!("{}, ", bytes(size)))
        .unwrap_or_default()
}

/// Reads `path` (`what` names it in messages: "task definition file") as UTF-8, refusing it
/// when it is larger than `limit` bytes; never reads more than `limit + 1` bytes.
pub(crate) fn read_text(path: &Path, what: &'static str, limit: u64) -> Result<String, ReadError> {
    let unreadable = |source| ReadError::Unreadable {
        what,
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // A regular file's length is known; a device or a pipe says 0 and is read up to the cap.
    let known = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(size) = known.filter(|size| *size > limit) {
        return Err(ReadError::TooLarge {
            what,
            path: path.to_path_buf(),
            size: Some(size),
            limit,
        });
    }
    let mut content = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut content)
        .map_err(unreadable)?;
    if content.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            what,
            path: path.to_path_buf(),
            size: None,
            limit,
        });
    }
    String::from_utf8(content).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let content = e.as_bytes();
        let before = &content[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        // Columns count characters, which the valid prefix is made of.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        ReadError::NotUtf8 {
            what,
            path: path.to_path_buf(),
            byte: content[offset],
            offset,
            line,
            column,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, content: &[u8]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("ecs-migrate-files-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn text_within_the_limit_is_read() {
        let path = temp("ok", "{\"family\": \"é\"}".as_bytes());
        assert_eq!(
            read_text(&path, "task definition file", 100).unwrap(),
            "{\"family\": \"é\"}"
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_larger_file_is_refused_with_its_size_and_the_limit() {
        let path = temp("big", &vec![b' '; 2 * 1024 * 1024 + 1]);
        let err = read_text(&path, "task definition file", MAX_TASK_DEFINITION_BYTES).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "task definition file {} is 2097153 bytes, over the limit of 1 MiB (1048576 bytes); check the path",
                path.display()
            )
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn an_endless_device_is_read_only_up_to_the_limit() {
        let err = read_text(Path::new("/dev/zero"), "task definition file", 4096).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task definition file /dev/zero is over the limit of 4096 bytes; check the path"
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        // Latin-1 "é" (0xe9) on the second line, after "  \"ok\": \"caf".
        let path = temp("latin1", b"{\n  \"ok\": \"caf\xe9\"\n}");
        let err = read_text(&path, "task definition file", 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "task definition file {} is not UTF-8 text: byte 0xe9 at line 2, column 13 (offset 14) is invalid; save the file as UTF-8",
                path.display()
            )
        );
        let _ = std::fs::remove_file(path);
    }
}
