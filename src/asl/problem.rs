//! A problem found in a definition, located by its JSON pointer
//! (`/States/X/Next: no such state "Y"`).

use std::fmt;

use serde::Serialize;

/// One thing wrong with a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// RFC 6901 JSON pointer into the definition (`""` is the whole definition).
    pub pointer: String,
    pub(crate) message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// A JSON pointer under construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ptr(String);

impl Ptr {
    pub(crate) fn root() -> Self {
        Self(String::new())
    }

    /// The pointer to `key` inside this one (`~` and `/` escaped as RFC 6901 says).
    pub(crate) fn key(&self, key: &str) -> Self {
        Self(format!(
            "{}/{}",
            self.0,
            key.replace('~', "~0").replace('/', "~1")
        ))
    }

    pub(crate) fn index(&self, i: usize) -> Self {
        Self(format!("{}/{i}", self.0))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Collects problems while a definition is checked.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<Problem>);

impl Problems {
    pub(crate) fn add(&mut self, ptr: &Ptr, message: impl Into<String>) {
        self.0.push(Problem {
            pointer: ptr.0.clone(),
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_and_display() {
        let p = Ptr::root().key("States").key("a/b~c").key("Next");
        assert_eq!(p.as_str(), "/States/a~1b~0c/Next");
        let problem = Problem {
            pointer: p.as_str().into(),
            message: "no such state \"Y\"".into(),
        };
        assert_eq!(
            problem.to_string(),
            "/States/a~1b~0c/Next: no such state \"Y\""
        );
        assert_eq!(
            Problem {
                pointer: String::new(),
                message: "x".into()
            }
            .to_string(),
            "/: x"
        );
    }
}
