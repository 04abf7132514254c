//! `tim-emulator`: serves the emulator in `lib.rs` over HTTP with tiny_http.
//!
//! Eight worker threads share the server and one locked [`State`]; each request is answered by
//! [`handle`] under the lock, and any injected latency is slept after the lock is released.
//! Requests are not logged, so the UserSig in the query string never reaches any output.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tim_emulator::{handle, parse_args, Command, State, MAX_BODY_BYTES};
use tiny_http::{Header, Request, Response, Server};

const WORKERS: usize = 8;

fn main() {
    let config = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help(text)) => {
            print!("{text}");
            return;
        }
        // clap prints the message and a usage hint to stderr and exits with status 2.
        Err(e) => e.exit(),
    };
    let server = match Server::http(config.listen.as_str()) {
        Ok(server) => Arc::new(server),
        Err(e) => {
            eprintln!("tim-emulator: cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    println!("tim-emulator listening on http://{}", server.server_addr());
    // A failed flush (closed stdout) must not stop the server.
    let _ = std::io::stdout().flush();

    let clock_seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 ^ u64::from(std::process::id()))
        .unwrap_or(0x5EED);
    let state = Arc::new(Mutex::new(State::new(config, clock_seed)));

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || loop {
                match server.recv() {
                    Ok(request) => serve(request, &state),
                    Err(e) => eprintln!("tim-emulator: accept failed: {e}"),
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn serve(mut request: Request, state: &Mutex<State>) {
    // Read one byte past the limit so that `handle` can tell an oversized body.
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    if request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .is_err()
    {
        let _ = request.respond(Response::empty(400));
        return;
    }
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let reply = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        handle(&mut state, &method, &url, &body, now_ms())
    };
    if reply.delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(reply.delay_ms));
    }
    let mut response = Response::from_data(reply.body).with_status_code(reply.status);
    if let Ok(header) = Header::from_bytes(&b"Content-Type"[..], reply.content_type.as_bytes()) {
        response = response.with_header(header);
    }
    // The client may have gone away (e.g. timed out during injected latency); nothing to do.
    let _ = request.respond(response);
}
