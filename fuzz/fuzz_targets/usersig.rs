//! Fuzz target `usersig`: see `src/targets/usersig.rs` for what it feeds and checks.
#![cfg_attr(feature = "libfuzzer", no_main)]
tim_onboard_fuzz::fuzz_main!(usersig);
