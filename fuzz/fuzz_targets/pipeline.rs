//! Fuzz target `pipeline`: see `src/targets/pipeline.rs` for what it feeds and checks.
#![cfg_attr(feature = "libfuzzer", no_main)]
tim_onboard_fuzz::fuzz_main!(pipeline);
