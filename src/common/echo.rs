//! Input echoed in a message (a Cause, a usage error): quoted, and cut to a bounded number of
//! characters (never bytes, so a multi-byte character is never split and the count said is the
//! one a reader sees), so a huge field cannot flood the execution history or a terminal.

/// The most characters of a value a message repeats.
pub(crate) const MAX_ECHOED_CHARS: usize = 120;

/// `value` quoted as `{:?}` shows it; a longer one cut to [`MAX_ECHOED_CHARS`] characters and
/// followed by its length: `"abc..."... (5000 characters)`.
pub(crate) fn echo(value: &str) -> String {
    let count = value.chars().count();
    if count <= MAX_ECHOED_CHARS {
        return format!("{value:?}");
    }
    let kept: String = value.chars().take(MAX_ECHOED_CHARS).collect();
    format!("{kept:?}... ({count} characters)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(echo("app:1"), "\"app:1\"");
        assert_eq!(
            echo(&"é".repeat(MAX_ECHOED_CHARS)),
            format!("{:?}", "é".repeat(120))
        );
    }

    #[test]
    fn long_values_are_cut_at_a_character_count_and_say_it() {
        let long = "é".repeat(500);
        let shown = echo(&long);
        assert_eq!(shown, format!("{:?}... (500 characters)", "é".repeat(120)));
    }
}
