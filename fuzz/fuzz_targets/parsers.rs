//! Fuzz target `parsers`: see `src/targets/parsers.rs` for what it feeds and checks.
#![cfg_attr(feature = "libfuzzer", no_main)]
tim_onboard_fuzz::fuzz_main!(parsers);
