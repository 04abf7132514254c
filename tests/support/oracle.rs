//! Runs the interop oracles in tests/oracles: official libraries and independent code, in Python
//! (the `.venv` made by `make test`, or `TIM_TEST_PYTHON`) and Node (the repository's
//! `node_modules`). Each reads JSON on stdin and prints JSON on stdout.
//!
//! A missing venv, `node_modules` or library panics with one message saying to run `make test`,
//! so a fresh checkout gets that advice instead of a spawn error or a Python traceback.

// Each test target uses only some of these.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `tests/oracles/<script>` with the test Python.
pub fn python(script: &str, input: &Value) -> Value {
    run(&python_path(), script, input)
}

/// Runs `tests/oracles/<script>` with Node, which needs the repository's `node_modules`.
pub fn node(script: &str, input: &Value) -> Value {
    let modules = Path::new(ROOT).join("node_modules");
    if !modules.is_dir() {
        not_installed(&format!("no node_modules at {}", modules.display()));
    }
    run(Path::new("node"), script, input)
}

/// `TIM_TEST_PYTHON` (set by the Makefile) when given, else the venv's interpreter.
fn python_path() -> PathBuf {
    match std::env::var_os("TIM_TEST_PYTHON").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            find_program(&p).unwrap_or_else(|| {
                not_installed(&format!("TIM_TEST_PYTHON={} does not exist", p.display()))
            })
        }
        None => {
            let venv = Path::new(ROOT).join(".venv/bin/python");
            if !venv.exists() {
                not_installed(&format!("no Python venv at {}", venv.display()));
            }
            venv
        }
    }
}

/// A path is checked as given; a bare name is looked up on `PATH`.
fn find_program(p: &Path) -> Option<PathBuf> {
    if p.components().count() > 1 {
        return p.exists().then(|| p.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(p))
        .find(|c| c.is_file())
}

fn run(program: &Path, script: &str, input: &Value) -> Value {
    let path = format!("tests/oracles/{script}");
    let mut child = Command::new(program)
        .arg(&path)
        .current_dir(ROOT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| match e.kind() {
            ErrorKind::NotFound => not_installed(&format!("cannot find {}", program.display())),
            _ => panic!("cannot start {} {path}: {e}", program.display()),
        });
    // An oracle that dies on start closes stdin early; its stderr says more than the broken pipe.
    let wrote = child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes());
    let out = child.wait_with_output().expect("waiting for the oracle");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // ModuleNotFoundError (Python), "Cannot find module" (Node): installed only in part.
        if stderr.contains("ModuleNotFoundError") || stderr.contains("Cannot find module") {
            let why = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            not_installed(&format!("{path} cannot load its library: {}", why.trim()));
        }
        panic!(
            "{} {path} failed ({}):\n{stderr}",
            program.display(),
            out.status
        );
    }
    wrote.unwrap_or_else(|e| panic!("writing the input of {path}: {e}"));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{path} did not print JSON ({e}):\n{stderr}"))
}

fn not_installed(what: &str) -> ! {
    panic!(
        "interop oracle not installed: {what}.\n\
         Run `make test` from the repository root: it installs the oracles (the Python venv \
         `.venv` from tests/requirements.txt and `node_modules` from package-lock.json) before \
         running every test."
    )
}
