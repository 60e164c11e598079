//! What every part of the crate shares and that knows nothing of it: the step errors, the clock,
//! reading the files a user names.

pub mod clock;
pub mod digest;
pub mod echo;
pub mod error;
pub mod files;
pub mod sync;
