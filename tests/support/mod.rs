//! Shared by the integration tests that declare `mod support;`. Cargo builds `tests/*.rs` as test
//! targets, not files in subdirectories, so this is a module and not a test of its own.

pub mod oracle;
