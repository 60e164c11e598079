//! The local Amazon States Language engine (issue 3).
