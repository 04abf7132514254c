//! The `tim-onboard` binary: see [`tim_onboard_cli::commands`].

fn main() {
    std::process::exit(tim_onboard_cli::commands::main(std::env::args_os()));
}
