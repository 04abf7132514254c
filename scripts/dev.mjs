#!/usr/bin/env node
// `make dev` as one supervised unit: the local Tencent emulator plus `wrangler dev`.
//
//   node scripts/dev.mjs --emulator-port 8790 --dev-port 8787 [--check-ports]
//
// The Makefile builds first (incrementally), then runs this. It
//   - refuses to start, naming the port, when EMULATOR_PORT or DEV_PORT is already taken
//     (`--check-ports` does only that, so `make dev` fails before building anything);
//   - starts target/release/tim-emulator on 127.0.0.1:<emulator port> (with the demo JWKS of
//     scripts/dev-keys/ when the emulator supports --jwks) and waits for it to listen;
//   - starts `wrangler dev` on 127.0.0.1:<dev port>. wrangler reads .dev.vars itself; every value
//     there that points at the default emulator origin (http://127.0.0.1:8790) is passed again
//     with `--var NAME:VALUE` rewritten to the actual emulator port (--var wins over .dev.vars).
//     Only those URLs go on the command line, never a secret;
//   - prints the next steps once wrangler reports "Ready on";
//   - stops everything when either process exits, on SIGTERM/SIGINT/SIGHUP, and when its parent
//     (make) dies or gets one of those: GNU make passes on SIGTERM only, so the parent is polled
//     (see parentWatch). Each child runs in its own process group (wrangler's includes workerd
//     and any custom build), and the whole group is terminated, then killed, so nothing is left
//     holding a port. Children get no stdin: only this process answers the terminal's Ctrl-C;
//   - says that .dev.vars is read only at start, and again when it changes meanwhile.
//
// Only node built-ins are used, so the port check works before `npm ci`.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, unwatchFile, watchFile } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const EMULATOR_BIN = `${ROOT}target/release/tim-emulator`;
const WRANGLER_BIN = `${ROOT}node_modules/.bin/wrangler`;
const DEV_VARS = `${ROOT}.dev.vars`;
const DEV_VARS_EXAMPLE = `${ROOT}.dev.vars.example`;
const JWKS = "scripts/dev-keys/jwks.json";
const DEFAULT_EMULATOR_PORT = 8790;
const DEFAULT_DEV_PORT = 8787;
/** The emulator origin .dev.vars.example uses; values pointing at it follow EMULATOR_PORT. */
const DEFAULT_EMULATOR_ORIGIN = new RegExp(`\\bhttp://(127\\.0\\.0\\.1|localhost):${DEFAULT_EMULATOR_PORT}(?![0-9])`, "g");
const EMULATOR_START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const PARENT_POLL_MS = 250;

const log = (line) => process.stdout.write(`${line}\n`);
const fail = (line) => process.stderr.write(`make dev: ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { emulatorPort: DEFAULT_EMULATOR_PORT, devPort: DEFAULT_DEV_PORT, checkOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--emulator-port") opts.emulatorPort = port("EMULATOR_PORT", value());
    else if (flag === "--dev-port") opts.devPort = port("DEV_PORT", value());
    else if (flag === "--check-ports") opts.checkOnly = true;
    else usage(`unknown argument ${a}`);
  }
  if (opts.emulatorPort === opts.devPort) {
    usage(`EMULATOR_PORT and DEV_PORT are both ${opts.devPort}; they must differ`);
  }
  return opts;
}

function port(name, text) {
  const n = Number(text);
  if (!/^[0-9]+$/.test(String(text)) || n < 1 || n > 65535) usage(`${name}=${text ?? ""} is not a port number (1-65535)`);
  return n;
}

function usage(message) {
  fail(message);
  process.stderr.write("usage: node scripts/dev.mjs [--emulator-port N] [--dev-port N] [--check-ports]\n");
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/** null when 127.0.0.1:port can be listened on now, else the error code (EADDRINUSE, EACCES). */
function bindError(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (e) => resolve(e.code ?? String(e)));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

/** "pid 123, tim-emulator" for the process listening on `port` (Linux /proc), else null. */
function portHolder(port) {
  try {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    const inodes = new Set();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      if (!existsSync(table)) continue;
      for (const row of readFileSync(table, "utf8").split("\n").slice(1)) {
        const cols = row.trim().split(/\s+/);
        if (cols.length > 9 && cols[3] === "0A" && cols[1].endsWith(hex)) inodes.add(`socket:[${cols[9]}]`);
      }
    }
    if (inodes.size === 0) return null;
    for (const pid of readdirSync("/proc")) {
      if (!/^[0-9]+$/.test(pid)) continue;
      let fds;
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        if (inodes.has(target)) {
          let comm = "";
          try {
            comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
          } catch {
            // Gone meanwhile.
          }
          return `pid ${pid}${comm ? `, ${comm}` : ""}`;
        }
      }
    }
  } catch {
    // Not Linux, or /proc unreadable: the message simply names no process.
  }
  return null;
}

/** The first port after `from` that is free now and not in `avoid`. */
async function nextFreePort(from, avoid) {
  for (let p = from + 1; p < Math.min(from + 50, 65536); p++) {
    if (!avoid.includes(p) && (await bindError(p)) === null) return p;
  }
  return null;
}

/** Refuses (exit 1) when either port is taken, naming it, its variable and its holder. */
async function checkPorts({ emulatorPort, devPort }) {
  const wanted = [
    { name: "EMULATOR_PORT", what: "the Tencent emulator", port: emulatorPort },
    { name: "DEV_PORT", what: "the Worker (wrangler dev)", port: devPort },
  ];
  const problems = [];
  for (const w of wanted) {
    const err = await bindError(w.port);
    if (err !== null) problems.push({ ...w, err });
  }
  if (problems.length === 0) return;
  const fixes = [];
  for (const p of problems) {
    const holder = p.err === "EADDRINUSE" ? portHolder(p.port) : null;
    const why = p.err === "EADDRINUSE" ? "is already in use" : `cannot be used (${p.err})`;
    fail(`port ${p.port} on 127.0.0.1 (${p.name}, ${p.what}) ${why}${holder ? ` by ${holder}` : ""}.`);
    const alt = await nextFreePort(p.port, [emulatorPort, devPort]);
    if (alt !== null) fixes.push(`${p.name}=${alt}`);
  }
  process.stderr.write(
    "  Is another `make dev` running? Stop it" +
      (fixes.length ? `, or choose other ports: make dev ${fixes.join(" ")}\n` : ", or choose other ports.\n"),
  );
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// .dev.vars
// ---------------------------------------------------------------------------------------------

/** dotenv as wrangler reads it: KEY=value, optional `export`, quotes, `#` comments. */
function parseDotenv(text) {
  const vars = new Map();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/);
    if (!m) continue;
    let value = m[2];
    const q = value[0];
    if ((q === '"' || q === "'" || q === "`") && value.lastIndexOf(q) > 0) {
      value = value.slice(1, value.lastIndexOf(q));
      if (q === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    vars.set(m[1], value);
  }
  return vars;
}

/**
 * The values of .dev.vars that point at the default emulator origin, rewritten to the actual
 * emulator port, as [name, value] pairs for `--var`; plus the effective TIM_BASE_URL.
 */
function emulatorVars(emulatorPort) {
  const vars = existsSync(DEV_VARS) ? parseDotenv(readFileSync(DEV_VARS, "utf8")) : new Map();
  const overrides = [];
  for (const [name, value] of vars) {
    const rewritten = value.replace(DEFAULT_EMULATOR_ORIGIN, (_, host) => `http://${host}:${emulatorPort}`);
    if (rewritten !== value) overrides.push([name, rewritten]);
  }
  const missing = existsSync(DEV_VARS_EXAMPLE)
    ? [...parseDotenv(readFileSync(DEV_VARS_EXAMPLE, "utf8")).keys()].filter((k) => !vars.has(k))
    : [];
  const baseUrl = new Map([...vars, ...overrides]).get("TIM_BASE_URL");
  return { overrides, missing, baseUrl };
}

// ---------------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------------

/** True when the built emulator lists `flag` in its --help (older builds lack --jwks). */
function emulatorSupports(flag) {
  const r = spawnSync(EMULATOR_BIN, ["--help"], { encoding: "utf8", timeout: 5_000 });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.includes(flag);
}

/** Copies `stream` to `out` line by line, except the lines for which `onLine` returns false. */
function forwardLines(stream, out, onLine, prefix = "") {
  let buf = "";
  const emit = (line) => {
    if (onLine(line) !== false) out.write(prefix + line);
  };
  stream.setEncoding("utf8");
  stream.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      emit(buf.slice(0, i + 1));
      buf = buf.slice(i + 1);
    }
  });
  stream.on("end", () => {
    if (buf) emit(`${buf}\n`);
  });
}

/** The environment minus the outer make's state, so wrangler's `make build` is a top-level make. */
function withoutMakeState(env) {
  const { MAKEFLAGS, MFLAGS, MAKELEVEL, MAKEOVERRIDES, MAKE_TERMOUT, MAKE_TERMERR, ...rest } = env;
  return rest;
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

/** Signals every process of `child`'s group (the child leads its own group). */
function signalGroup(child, signal) {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/** Waits until `cond()` is true or `ms` pass; returns whether it became true. */
async function waitFor(cond, ms, step = 50) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(step);
  }
}

const FATAL_SIGNALS = [
  ["SIGHUP", 1],
  ["SIGINT", 2],
  ["SIGQUIT", 3],
  ["SIGTERM", 15],
];
const hasSignal = (mask, n) => ((mask >> BigInt(n - 1)) & 1n) === 1n;

/** The caught-signal mask of `pid` when it is make (Linux /proc), else null. */
function makeCaughtSignals(pid) {
  try {
    if (!/^g?make$/.test(readFileSync(`/proc/${pid}/comm`, "utf8").trim())) return null;
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^SigCgt:\s*([0-9a-f]+)$/m);
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
await checkPorts(opts);
if (opts.checkOnly) process.exit(0);

for (const [path, fix] of [
  [EMULATOR_BIN, "make emulator"],
  [WRANGLER_BIN, "make node-tools"],
]) {
  if (!existsSync(path)) {
    fail(`${path.slice(ROOT.length)} is missing (run \`${fix}\`, or simply \`make dev\`)`);
    process.exit(1);
  }
}

const { emulatorPort, devPort } = opts;
const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
const workerUrl = `http://127.0.0.1:${devPort}`;
const children = []; // [{ name, child, port }]
let stopping = false;
let ready = false;
let wrangler; // spawned once the emulator listens

/** Stops both process groups (TERM, then KILL) and exits with `code`. */
async function shutdown(reason, code) {
  // A second caller waits for the first one, which ends the process.
  if (stopping) return new Promise(() => {});
  stopping = true;
  clearInterval(parentWatch);
  unwatchFile(DEV_VARS);
  if (reason) fail(reason);
  await Promise.all(
    children.map(async ({ child, port }) => {
      signalGroup(child, "SIGTERM");
      await waitFor(async () => exited(child) && (await bindError(port)) === null, STOP_GRACE_MS);
      // Whatever is left of the group (workerd, a custom build in progress) goes now.
      signalGroup(child, "SIGKILL");
      await waitFor(async () => (await bindError(port)) === null, 2_000);
    }),
  );
  process.exit(code);
}

// The parent (make) may die without passing its signal on; the pid we are reparented to differs.
// GNU make also passes on SIGTERM only: on SIGINT, SIGHUP or SIGQUIT it assumes the whole process
// group got the signal and waits for its children, so a `kill -HUP <make>` would leave make and
// us waiting for each other. Its handler resets the signal to the default action first, which
// /proc shows: a fatal signal that make caught at the start and no longer catches means make got it.
const parentPid = process.ppid;
const parentCaught = makeCaughtSignals(parentPid);
const parentWatch = setInterval(() => {
  if (process.ppid !== parentPid) return void shutdown(`parent process ${parentPid} exited; stopping`, 1);
  if (parentCaught === null) return;
  const now = makeCaughtSignals(parentPid);
  const got = now === null ? undefined : FATAL_SIGNALS.find(([, n]) => hasSignal(parentCaught, n) && !hasSignal(now, n));
  if (got) void shutdown(`make got ${got[0]}: stopping the emulator and wrangler`, 128 + got[1]);
}, PARENT_POLL_MS);

for (const [signal, number] of [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGHUP", 1],
]) {
  process.on(signal, () => void shutdown(`${signal}: stopping the emulator and wrangler`, 128 + number));
}

// 1. The emulator, and wait until it listens.
const emulatorArgs = ["--listen", `127.0.0.1:${emulatorPort}`];
if (existsSync(`${ROOT}${JWKS}`) && emulatorSupports("--jwks")) emulatorArgs.push("--jwks", JWKS);
const emulator = spawn(EMULATOR_BIN, emulatorArgs, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
children.push({ name: "tim-emulator", child: emulator, port: emulatorPort });
let emulatorListening;
const emulatorUp = new Promise((resolve) => {
  emulatorListening = resolve;
});
let emulatorErr = "";
forwardLines(emulator.stdout, process.stdout, (line) => {
  if (/listening on http:\/\//.test(line)) emulatorListening(true);
}, "[emulator] ");
forwardLines(emulator.stderr, process.stderr, (line) => {
  emulatorErr += line;
}, "[emulator] ");
emulator.on("error", (e) => void shutdown(`cannot start ${EMULATOR_BIN.slice(ROOT.length)}: ${e.message}`, 1));
// 'close', not 'exit': its stderr (why it stopped) has been read by then.
emulator.on("close", (code, signal) => {
  emulatorListening(false);
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const why = emulatorErr.trim() ? ` (${emulatorErr.trim().split("\n").pop()})` : "";
  void shutdown(`tim-emulator ${how}${why}${wrangler ? "; stopping wrangler dev too" : ""}`, 1);
});
const started = await Promise.race([emulatorUp, sleep(EMULATOR_START_TIMEOUT_MS).then(() => null)]);
if (started === null) {
  await shutdown(`tim-emulator did not report listening on ${emulatorUrl} within ${EMULATOR_START_TIMEOUT_MS / 1000} s`, 1);
} else if (started === false || stopping) {
  await shutdown(); // already stopping (the close handler or a signal said why); it exits
}

// 2. wrangler dev, pointed at this emulator.
const { overrides, missing, baseUrl } = emulatorVars(emulatorPort);
const wranglerArgs = ["dev", "--ip", "127.0.0.1", "--port", String(devPort), "--show-interactive-dev-session=false"];
for (const [name, value] of overrides) wranglerArgs.push("--var", `${name}:${value}`);
if (overrides.length && emulatorPort !== DEFAULT_EMULATOR_PORT) {
  const names = overrides.map(([n]) => n);
  log(`make dev: EMULATOR_PORT=${emulatorPort}: ${names.join(", ")} (.dev.vars) ${names.length > 1 ? "point" : "points"} at ${emulatorUrl}`);
}
if (missing.length) {
  log(`make dev: note: .dev.vars lacks ${missing.join(", ")} (in .dev.vars.example); copy what you need`);
}
wrangler = spawn(WRANGLER_BIN, wranglerArgs, {
  cwd: ROOT,
  detached: true,
  // No stdin: in its own process group, wrangler must never read the terminal.
  stdio: ["ignore", "pipe", "pipe"],
  env: {
    ...withoutMakeState(process.env),
    WRANGLER_SEND_METRICS: "false",
    ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: process.env.FORCE_COLOR ?? "1" } : {}),
  },
});
children.push({ name: "wrangler", child: wrangler, port: devPort });
const onWranglerLine = (line) => {
  const plain = stripAnsi(line);
  if (ready) return true;
  // wrangler 4.86 runs the custom build again when its file watcher becomes ready, announcing a
  // change that did not happen; the build finds nothing to do and this is its one bundling, so
  // the announcement is dropped before "Ready on". (Later wranglers, which need Node 22, fixed it.)
  if (/^The file .* changed, restarting build\.\.\.$/.test(plain.trim())) return false;
  if (/Ready on http/.test(plain)) {
    ready = true;
    process.nextTick(printNextSteps); // after wrangler's own line
  }
  return true;
};
forwardLines(wrangler.stdout, process.stdout, onWranglerLine);
forwardLines(wrangler.stderr, process.stderr, onWranglerLine);
wrangler.on("error", (e) => void shutdown(`cannot start wrangler: ${e.message}`, 1));
wrangler.on("exit", (code, signal) => {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  void shutdown(`wrangler dev ${how}; stopping the emulator too`, code || 1);
});

// wrangler reads .dev.vars once, at start: say so when it changes.
watchFile(DEV_VARS, { interval: 1_000 }, (now, before) => {
  if (now.mtimeMs !== before.mtimeMs && !stopping) {
    log("make dev: .dev.vars changed; it is read only at start: stop (Ctrl-C) and run `make dev` again to apply it");
  }
});

function printNextSteps() {
  const send =
    devPort === DEFAULT_DEV_PORT ? "node scripts/send-webhook.mjs clerk" : `node scripts/send-webhook.mjs clerk --url ${workerUrl}`;
  const rule = "-".repeat(78);
  log(
    [
      "",
      rule,
      "tim-onboard is running. Ctrl-C stops the Worker and the emulator.",
      `  Worker     ${workerUrl}   (rebuilt and reloaded when src/ changes)`,
      `  emulator   ${emulatorUrl}   (the Worker's TIM_BASE_URL: ${baseUrl ?? "unset"})`,
      "Next steps:",
      `  send a signed signup:   ${send}   (--help lists every provider)`,
      `  see the accounts:       curl ${emulatorUrl}/_emulator/accounts`,
      "  change a setting:       edit .dev.vars, then restart `make dev` (it is read only at start)",
      rule,
      "",
    ].join("\n"),
  );
}
