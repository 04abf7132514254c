//! Writes every target's seeds (built from `tests/fixtures/`) into `<dir>/<target>/`, one file
//! per seed named by its SHA-256: `cargo run --example write_seeds -- fuzz/target/seeds`.
//! `make fuzz` (fuzz/run.sh) runs it before fuzzing, so the engines start from the fixtures.

use tim_onboard::crypto::{hex_encode, sha256};
use tim_onboard_fuzz::{seeds, TARGETS};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/target/seeds".into());
    for (name, _) in TARGETS {
        let out = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&out).expect("seed directory");
        let seeds = seeds::seeds(name);
        for s in &seeds {
            let file = out.join(format!("seed-{}", &hex_encode(&sha256(s))[..16]));
            std::fs::write(&file, s).expect("seed file");
        }
        println!("{name}: {} seeds in {}", seeds.len(), out.display());
    }
}
