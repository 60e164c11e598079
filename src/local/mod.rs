//! The local task runner (issue 4).
