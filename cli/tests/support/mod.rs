//! Test support: the Tencent emulator as a child process on a free port, running the
//! `tim-onboard` binary in a scratch directory, and the Worker's own `GET /userid` answer.

#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub mod fake;

/// Tencent's public demo SDKAppID and key, which the emulator accepts by default.
pub const SDKAPPID: &str = "1400000000";
pub const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The emulator binary, built once if missing.
fn emulator_bin() -> PathBuf {
    let bin = workspace().join("target/release/tim-emulator");
    if !bin.exists() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "-p", "tim-emulator", "--release"])
            .current_dir(workspace())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot build tim-emulator");
    }
    bin
}

/// A running emulator; killed on drop.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
}

impl Emulator {
    /// Starts one on a free port with extra flags.
    pub fn start(flags: &[&str]) -> Emulator {
        let mut child = Command::new(emulator_bin())
            .args(["--listen", "127.0.0.1:0", "--seed", "7"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tim-emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listen line");
        let origin = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("an address")
            .to_owned();
        Emulator { child, origin }
    }

    /// GETs a control endpoint.
    pub fn get(&self, path: &str) -> Value {
        let mut r = ureq::get(&format!("{}{path}", self.origin))
            .call()
            .expect("emulator GET");
        serde_json::from_slice(&r.body_mut().read_to_vec().expect("body")).expect("json")
    }

    /// POSTs to a control endpoint.
    pub fn post(&self, path: &str, body: &Value) {
        let r = ureq::post(&format!("{}{path}", self.origin))
            .send(body.to_string())
            .expect("emulator POST");
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }

    /// Every account: UserID -> (Nick, FaceUrl, imports).
    pub fn accounts(&self) -> HashMap<String, (Option<String>, Option<String>, u64)> {
        self.get("/_emulator/accounts")["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| {
                (
                    a["UserID"].as_str().unwrap_or_default().to_owned(),
                    (
                        a["Nick"].as_str().map(str::to_owned),
                        a["FaceUrl"].as_str().map(str::to_owned),
                        a["imports"].as_u64().unwrap_or(0),
                    ),
                )
            })
            .collect()
    }

    /// Calls of one API so far.
    pub fn calls(&self, api: &str) -> u64 {
        self.get("/_emulator/stats")["calls"][api]
            .as_u64()
            .unwrap_or(0)
    }

    /// Rate-limit breaches of every API so far.
    pub fn breaches(&self) -> u64 {
        self.get("/_emulator/stats")["breaches"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static DIRS: AtomicU32 = AtomicU32::new(0);

/// A fresh scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tim-onboard-cli-{}-{}-{name}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The settings every test gives the CLI (besides its wrangler.toml) and the Worker.
pub fn tim_env(emu: &Emulator) -> Vec<(String, String)> {
    vec![
        ("TIM_SDKAPPID".into(), SDKAPPID.into()),
        ("TIM_SECRET_KEY".into(), KEY.into()),
        ("TIM_BASE_URL".into(), emu.origin.clone()),
    ]
}

/// A wrangler.toml with these `[vars]`.
pub fn wrangler(dir: &Path, vars: &[(&str, &str)]) -> PathBuf {
    let mut text = String::from(
        "name = \"test\"\n[vars]\nTIM_ADMIN = \"administrator\"\nTIM_REGION = \"auto\"\n",
    );
    for (k, v) in vars {
        text.push_str(&format!("{k} = \"{v}\"\n"));
    }
    let path = dir.join("wrangler.toml");
    std::fs::write(&path, text).expect("wrangler.toml");
    path
}

/// Runs `tim-onboard` in `dir` with only `env` (plus PATH) as its environment.
pub fn cli(dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tim-onboard"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run tim-onboard")
}

/// Stdout and stderr of a run, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The UserID the Worker's `GET /userid` answers for `id`, with these settings (the Worker's
/// router, run natively).
pub fn worker_userid(settings: &[(String, String)], provider: &str, id: &str) -> String {
    use tim_onboard::http::{Location, Request};
    use tim_onboard::region::EdgeLocation;
    let mut all: Vec<(String, String)> = settings.to_vec();
    all.push(("TIM_ADMIN_TOKEN".into(), "t".into()));
    let get = move |k: &str| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let query = format!("provider={provider}&id={}", query_encode(id));
    let headers: &[(&str, &str)] = &[("authorization", "Bearer t")];
    let req = Request {
        method: "GET",
        path: "/userid",
        query: &query,
        headers: &headers,
        body: Some(b""),
        location: Location::Known(EdgeLocation::default()),
    };
    let state = tim_onboard::state::IsolateState::default();
    let io = tim_onboard_cli::io::NativeIo::new(100);
    let resp = tim_onboard_cli::io::block_on(tim_onboard::routes::handle(&req, &get, &state, &io));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v: Value = serde_json::from_str(&resp.body).expect("json");
    v["user_id"].as_str().expect("user_id").to_owned()
}
