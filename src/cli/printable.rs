//! Log lines as the terminal may show them. A migration's output (and a container's log in
//! CloudWatch) is untrusted text: an escape sequence could recolour, move the cursor or clear
//! the screen, a carriage return could overwrite the line with another, and bidirectional
//! overrides could reorder what is read. Such characters are shown escaped; printable text,
//! including every other non-ASCII character, and tabs are kept as they are.

use std::borrow::Cow;
use std::fmt::Write;

/// `line` with every control character (except tab) and bidirectional control shown as an
/// escape: `\r`, `\n`, `\x1b`, `\u{202e}`.
pub(crate) fn printable(line: &str) -> Cow<'_, str> {
    if !line.chars().any(needs_escape) {
        return Cow::Borrowed(line);
    }
    let mut text = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if !needs_escape(c) {
            text.push(c);
            continue;
        }
        match c {
            '\r' => text.push_str("\\r"),
            '\n' => text.push_str("\\n"),
            c if (c as u32) < 0x100 => {
                let _ = write!(text, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(text, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(text)
}

/// Several lines (a Cause that ends with the log's last lines): each line made printable, the
/// line breaks kept.
pub(crate) fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| printable(line.strip_suffix('\r').unwrap_or(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_control(c)
}

/// The Unicode bidirectional formatting characters (embeddings, overrides, isolates and
/// marks), which change the order text is displayed in.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_tabs_and_unicode_are_kept() {
        for line in [
            "INFO  [alembic] Running upgrade",
            "a\tb",
            "schéma → v2 ✓",
            "",
        ] {
            assert!(matches!(printable(line), Cow::Borrowed(_)), "{line:?}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("\x1b[2J\x1b[Hok"), "\\x1b[2J\\x1b[Hok");
        assert_eq!(printable("fake\rsucceeded"), "fake\\rsucceeded");
        assert_eq!(printable("a\nb\0c\x7f"), "a\\nb\\x00c\\x7f");
        // C1 controls (CSI as one character) and a right-to-left override.
        assert_eq!(printable("\u{9b}31m"), "\\x9b31m");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
    }

    #[test]
    fn several_lines_keep_their_breaks() {
        assert_eq!(
            printable_lines("exit 1\r\nlast \x1b[31mred\nend"),
            "exit 1\nlast \\x1b[31mred\nend"
        );
    }
}
