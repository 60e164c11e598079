//! Masking secrets in a migration's output before it is copied anywhere: the log tail that a
//! failure's Cause carries into the execution history (readable with
//! `states:GetExecutionHistory`, usually by more people than the log group), the Lambda log and
//! CI output, and `ecs-migrate local`'s terminal. What is masked: matches of a regular
//! expression (`LOG_TAIL_REDACT`, `--redact`) and, locally, the literal values given with
//! `--env`/`--env-file` or taken from this machine for a container's `secrets`.

use std::borrow::Cow;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a masked match is replaced with.
pub(crate) const MASK: &str = "[redacted]";

/// Literal values shorter than this are not masked: a value like `1` or `on` would mask every
/// occurrence of it in the output, and is no secret worth hiding.
pub(crate) const MIN_MASKED_VALUE_CHARS: usize = 4;

/// The patterns whose matches are masked; none by default.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redaction {
    /// One expression: the user's, then the literal values, as alternatives.
    regex: Option<Regex>,
}

impl Redaction {
    /// Masks matches of `pattern` (Rust `regex` syntax, as documented at
    /// docs.rs/regex/latest/regex/#syntax); an empty pattern masks nothing.
    pub(crate) fn pattern(pattern: &str) -> Result<Self, regex::Error> {
        if pattern.is_empty() {
            return Ok(Self::default());
        }
        Ok(Self {
            regex: Some(Regex::new(pattern)?),
        })
    }

    /// This redaction, also masking each of `values` (literally) that has at least
    /// [`MIN_MASKED_VALUE_CHARS`] characters; longer values first, so a value that contains
    /// another is masked whole.
    pub(crate) fn with_values<'a>(self, values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values: Vec<&str> = values
            .into_iter()
            .filter(|v| v.chars().count() >= MIN_MASKED_VALUE_CHARS)
            .collect();
        if values.is_empty() {
            return self;
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        let mut alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
        if let Some(regex) = &self.regex {
            alternatives.insert(0, format!("(?:{})", regex.as_str()));
        }
        // Escaped literals and an expression that compiled alone always compile together,
        // unless the whole exceeds the regex size limit; then the values are masked on
        // their own rather than not at all.
        match Regex::new(&alternatives.join("|")) {
            Ok(regex) => Self { regex: Some(regex) },
            Err(_) => {
                let literals: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
                Self {
                    regex: Regex::new(&literals.join("|")).ok().or(self.regex),
                }
            }
        }
    }

    /// Whether anything is masked at all.
    #[cfg(test)]
    pub(crate) fn is_active(&self) -> bool {
        self.regex.is_some()
    }

    /// `text` with every match replaced by [`MASK`].
    pub(crate) fn apply<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.regex {
            Some(regex) => regex.replace_all(text, MASK),
            None => Cow::Borrowed(text),
        }
    }

    /// The expression as written (empty when nothing is masked).
    pub(crate) fn as_str(&self) -> &str {
        self.regex.as_ref().map_or("", Regex::as_str)
    }
}

impl PartialEq for Redaction {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Redaction {}

impl Serialize for Redaction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Redaction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pattern = String::deserialize(deserializer)?;
        Self::pattern(&pattern).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_masked_and_nothing_else() {
        let redact = Redaction::pattern(r"password=\S+").unwrap();
        assert_eq!(
            redact.apply("connecting with password=hunter22 to db"),
            "connecting with [redacted] to db"
        );
        assert!(matches!(redact.apply("no secret here"), Cow::Borrowed(_)));
        assert!(!Redaction::pattern("").unwrap().is_active());
        assert!(Redaction::pattern("(unclosed").is_err());
    }

    #[test]
    fn literal_values_are_masked_longest_first_and_short_ones_kept() {
        let redact = Redaction::pattern("token-[0-9]+").unwrap().with_values([
            "s3cr3t",
            "s3cr3t-longer",
            "on",
            "a.b*c",
        ]);
        assert_eq!(
            redact.apply("s3cr3t-longer s3cr3t token-42 on a.b*c aXbbc"),
            "[redacted] [redacted] [redacted] on [redacted] aXbbc"
        );
        let values_only = Redaction::default().with_values(["pässwörd"]);
        assert_eq!(values_only.apply("x pässwörd y"), "x [redacted] y");
    }

    #[test]
    fn it_round_trips_as_its_expression() {
        let redact = Redaction::pattern("secret=[a-z]+").unwrap();
        let text = serde_json::to_string(&redact).unwrap();
        assert_eq!(text, "\"secret=[a-z]+\"");
        let back: Redaction = serde_json::from_str(&text).unwrap();
        assert_eq!(back, redact);
        assert_eq!(back.apply("secret=abc"), "[redacted]");
    }
}
