//! Short, stable names derived from longer ones: client tokens, `startedBy`, execution names.

use sha2::{Digest, Sha256};

/// The first `len` hex digits of SHA-256 over `parts` (each ended by a NUL byte).
pub(crate) fn hex_digest(parts: &[&str], len: usize) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..len.min(hex.len())].to_string()
}
