//! What every part of the crate shares and that knows nothing of it: the step errors, the clock,
//! reading the files a user names.

pub mod clock;
pub(crate) mod digest;
pub(crate) mod echo;
pub(crate) mod error;
pub(crate) mod files;
pub(crate) mod sync;
