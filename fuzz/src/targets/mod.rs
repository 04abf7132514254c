//! The fuzz targets. Each `run` takes any byte string; a panic (including a failed check) or a
//! hang is a finding.

pub mod identity;
pub mod jobs;
pub mod parsers;
pub mod pipeline;
pub mod tencent;
pub mod usersig;
pub mod webhooks;
