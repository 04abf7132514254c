#!/usr/bin/env node
// Sends one auth provider's documented signup webhook to a running tim-onboard, signed or
// authenticated exactly as that provider does it, with the secrets from .dev.vars.
//
//   node scripts/send-webhook.mjs <provider> [event] [--url <worker origin>] [--user <id>] [--vars <file>]
//   node scripts/send-webhook.mjs --help          (lists every provider and event)
//
// The body is the provider's documented payload from tests/fixtures/ (see the READMEs there for
// where each one comes from), with fresh event ids and timestamps on every send (so a repeat is
// not refused as a replay or answered as a duplicate) and a fresh user id unless --user is given.
// Signing uses independent libraries, never the Worker's code: `svix` (Clerk, Stytch),
// `standardwebhooks` (Standard Webhooks, Supabase Auth hooks, the Auth0 Action), `jose` (RS256
// tokens of Firebase and Kinde, signed with the demo key in scripts/dev-keys/) and node:crypto
// (the HMAC headers of WorkOS, Logto and ZITADEL). Shared-secret senders (Supabase Database
// Webhooks, Auth0 streams, Okta) send the configured secret in their documented header.
// Prints the request, the user id used, the HTTP status and body; exits 1 on a non-2xx answer,
// 2 on a usage or configuration error or when the Worker cannot be reached. Never prints a secret.
//
// Old form, still accepted: node scripts/send-webhook.mjs http://127.0.0.1:8787/webhooks/clerk [user_id]

import { createHmac, randomBytes, randomInt, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { importJWK, SignJWT } from "jose";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DEFAULT_ORIGIN = "http://127.0.0.1:8787";
const DEMO_PRIVATE_JWK = `${ROOT}scripts/dev-keys/demo-rsa-private.jwk.json`;

/** A mistake in the command line or in .dev.vars: reported without a stack trace, exit 2. */
class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Settings (.dev.vars, dotenv syntax as wrangler reads it)
// ---------------------------------------------------------------------------------------------

/** Parses dotenv text: KEY=value, optional quotes and `export`, `#` comments. */
export function parseDotenv(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!m) continue;
    let value = m[2];
    const q = value[0];
    if ((q === '"' || q === "'" || q === "`") && value.lastIndexOf(q) > 0) {
      value = value.slice(1, value.lastIndexOf(q));
      if (q === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    vars[m[1]] = value;
  }
  return vars;
}

/** Reads the settings file: --vars, else .dev.vars, else .dev.vars.example (with a note). */
function loadVars(path) {
  if (path) {
    if (!existsSync(path)) throw new UsageError(`settings file ${path} not found`);
    return { vars: parseDotenv(readFileSync(path, "utf8")), from: path };
  }
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const p = `${ROOT}${name}`;
    if (!existsSync(p)) continue;
    if (name !== ".dev.vars") {
      console.error(`note: no .dev.vars yet; using the demo values of ${name} (\`make dev\` copies it to .dev.vars)`);
    }
    return { vars: parseDotenv(readFileSync(p, "utf8")), from: name };
  }
  throw new UsageError("neither .dev.vars nor .dev.vars.example found in the repository root");
}

/** Which file the settings came from, for messages. */
let settingsFrom = "the settings file";

/** A setting's value, or a UsageError naming it (never showing any value). */
function need(vars, name, why = "") {
  const v = (vars[name] ?? "").trim();
  if (v) return v;
  const hint = settingsFrom === ".dev.vars" ? "; copy its line from .dev.vars.example, then restart `make dev`" : "";
  throw new UsageError(`${name} is not set in ${settingsFrom}${why ? ` (${why})` : ""}${hint}`);
}

/** Several secrets in one setting (rotation): split on whitespace and `|`. */
const list = (value) => value.split(/[\s|]+/).filter(Boolean);

// ---------------------------------------------------------------------------------------------
// Fresh identifiers, shaped like each provider's own
// ---------------------------------------------------------------------------------------------

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const pick = (alphabet, n) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("");
const base62 = (n) => pick(BASE62, n);
const hex = (n) => randomBytes(Math.ceil(n / 2)).toString("hex").slice(0, n);
const digits = (n) => String(randomInt(1, 10)) + pick("0123456789", n - 1);
/** A ULID: 10 characters of millisecond time, 16 random, Crockford base32. */
function ulid() {
  let t = Date.now();
  let time = "";
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + pick(CROCKFORD, 16);
}
const nowIso = () => new Date().toISOString();
const nowS = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Payloads (tests/fixtures; the e2e copy only where no shared fixture exists)
// ---------------------------------------------------------------------------------------------

function fixtureText(name) {
  for (const p of [`${ROOT}tests/fixtures/${name}`, `${ROOT}tests/fixtures/e2e/${name}`]) {
    if (existsSync(p)) return readFileSync(p, "utf8");
  }
  throw new UsageError(`fixture ${name} not found in tests/fixtures/`);
}
const fixture = (name) => JSON.parse(fixtureText(name));

// ---------------------------------------------------------------------------------------------
// Signers
// ---------------------------------------------------------------------------------------------

/** svix-* headers (Svix, as Clerk and Stytch send them), one signature per configured secret. */
function svixHeaders(secrets, body) {
  const id = `msg_${base62(27)}`;
  const date = new Date();
  return {
    "svix-id": id,
    "svix-timestamp": String(Math.floor(date.getTime() / 1000)),
    "svix-signature": secrets.map((s) => new SvixWebhook(s).sign(id, date, body)).join(" "),
  };
}

/** webhook-* headers signed by the `standardwebhooks` library; `joiner` separates signatures. */
function standardHeaders(secrets, body, { id = `msg_${base62(27)}`, joiner = " " } = {}) {
  const date = new Date();
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(date.getTime() / 1000)),
    "webhook-signature": secrets.map((s) => new StandardWebhook(s).sign(id, date, body)).join(joiner),
  };
}

const hmacHex = (key, text) => createHmac("sha256", Buffer.from(key, "utf8")).update(text, "utf8").digest("hex");

/** An RS256 JWT over `claims`, signed with the demo key of scripts/dev-keys/ (jose). */
async function demoJwt(claims) {
  if (!existsSync(DEMO_PRIVATE_JWK)) throw new UsageError("scripts/dev-keys/demo-rsa-private.jwk.json is missing");
  const jwk = JSON.parse(readFileSync(DEMO_PRIVATE_JWK, "utf8"));
  const key = await importJWK(jwk, "RS256");
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: jwk.kid, typ: "JWT" }).sign(key);
}

/** The Authorization value an Auth0 Event/Log Stream sends: the bearer token, else Basic. */
function auth0Authorization(vars) {
  const token = (vars.AUTH0_WEBHOOK_TOKEN ?? "").trim();
  if (token) return token.startsWith("Bearer ") ? token : `Bearer ${token}`;
  const basic = (vars.AUTH0_WEBHOOK_BASIC ?? "").trim();
  if (basic) return `Basic ${Buffer.from(basic, "utf8").toString("base64")}`;
  throw new UsageError(`neither AUTH0_WEBHOOK_TOKEN nor AUTH0_WEBHOOK_BASIC is set in ${settingsFrom} (Auth0 streams)`);
}

const json = (headers = {}) => ({ "content-type": "application/json", ...headers });

// ---------------------------------------------------------------------------------------------
// Providers and events. `build(ctx)` returns {method?, headers, body}; ctx = {vars, user}.
// The first event of each provider is its default, the signup.
// ---------------------------------------------------------------------------------------------

/** Clerk's documented user.created with a fresh user and `type`. */
function clerkBody(type, user) {
  const e = fixture("clerk_user_created.json");
  const now = Date.now();
  e.type = type;
  e.timestamp = now;
  Object.assign(e.data, { id: user, created_at: now, updated_at: now, last_sign_in_at: now });
  return JSON.stringify(e);
}

function stytchBody(action, user) {
  const e = fixture("stytch_user_create.json");
  e.action = action;
  e.event_id = `webhook-event-test-${randomUUID()}`;
  e.timestamp = nowIso();
  e.id = user;
  e.user.user_id = user;
  return JSON.stringify(e);
}

function standardBody(type, user) {
  const e = fixture("standard_user_created.json");
  e.type = type;
  e.timestamp = nowIso();
  e.data.id = user;
  return JSON.stringify(e);
}

function supabaseBody(hook, user) {
  const e = fixture("supabase_before_user_created.json");
  e.metadata.uuid = randomUUID();
  e.metadata.name = hook;
  e.metadata.time = nowIso();
  e.user.id = user;
  return JSON.stringify(e);
}

function supabaseDbBody(op, user) {
  const e = fixture("supabase_db_insert.json");
  const now = nowIso();
  Object.assign(e.record, { id: user, created_at: now, updated_at: now });
  e.type = op;
  e.old_record = op === "INSERT" ? null : { ...e.record };
  return JSON.stringify(e);
}

function supabaseDbHeaders(vars) {
  const secret = need(vars, "SUPABASE_DB_WEBHOOK_SECRET");
  const header = (vars.SUPABASE_DB_WEBHOOK_HEADER ?? "").trim().toLowerCase() || "x-webhook-secret";
  return json({ [header]: header === "authorization" ? `Bearer ${secret}` : secret });
}

function workosBody(event, user) {
  const e = fixture("workos_user_created.json");
  const now = nowIso();
  e.id = `event_${ulid()}`;
  e.event = event;
  e.created_at = now;
  Object.assign(e.data, { id: user, created_at: now, updated_at: now });
  return JSON.stringify(e);
}

function logtoBody(event, user) {
  const now = nowIso();
  if (event === "User.Created") {
    const e = fixture("e2e/logto_user_created.json");
    e.createdAt = now;
    e.data.id = user;
    return JSON.stringify(e);
  }
  const e = fixture("logto_post_register.json");
  e.event = event;
  e.createdAt = now;
  e.userId = user;
  e.user.id = user;
  return JSON.stringify(e);
}

function oktaBody(user) {
  const e = fixture("okta_user_lifecycle_create.json");
  const now = nowIso();
  e.eventId = randomUUID();
  e.eventTime = now;
  for (const ev of e.data.events) {
    ev.uuid = randomUUID();
    ev.published = now;
    for (const t of ev.target) if (t.type === "User") t.id = user;
  }
  return JSON.stringify(e);
}

function zitadelBody(eventType, user) {
  const e = fixture("zitadel_user_human_added.json");
  e.aggregateID = user;
  e.event_type = eventType;
  e.created_at = nowIso();
  // A self-registration is caused by the new user; an added user by an admin (the fixture's userID).
  if (eventType === "user.human.selfregistered") e.userID = user;
  return JSON.stringify(e);
}

function firebaseClaims(vars, eventType, user) {
  const c = fixture("firebase_before_create.json");
  const now = nowS();
  c.iss = `https://securetoken.google.com/${need(vars, "FIREBASE_PROJECT_ID")}`;
  c.aud = need(vars, "FIREBASE_AUDIENCE");
  c.iat = now;
  c.exp = now + 3600;
  c.event_id = base62(22);
  c.event_type = eventType;
  c.sub = user;
  c.user_record.uid = user;
  return c;
}

function kindeClaims(type, user) {
  const c = fixture("kinde_user_created.json");
  const now = nowIso();
  c.type = type;
  c.event_id = `event_${hex(32)}`;
  c.event_timestamp = now;
  c.timestamp = now;
  c.data.user.id = user;
  return c;
}

function auth0Body(event, user) {
  const now = nowIso();
  if (event === "ss") {
    // Log Streams, JSON lines: the fixture's Success Signup log (and its Failed Signup neighbour).
    return fixtureText("auth0_log_stream_ss.jsonl")
      .split("\n")
      .filter((l) => l.trim())
      .map((line) => {
        const log = JSON.parse(line);
        log.log_id = `900${now.replace(/\D/g, "").slice(0, 17)}${digits(30)}`;
        log.data.date = now;
        if (log.data.type === "ss") log.data.user_id = user;
        return JSON.stringify(log);
      })
      .join("\n");
  }
  if (event === "post-user-registration") {
    // The body our Post-User-Registration Action sends (README): {type, user: event.user}.
    const { type, user: u } = fixture("e2e/auth0_action_post_user_registration.json");
    Object.assign(u, { user_id: user, created_at: now, updated_at: now });
    return JSON.stringify({ type, user: u });
  }
  const e = fixture("auth0_event_stream_user_created.json");
  e.id = `evt_${base62(22)}`;
  e.time = now;
  const o = e.data.object;
  Object.assign(o, { user_id: user, created_at: now, updated_at: now });
  if (user.startsWith("auth0|")) o.identities[0].user_id = user.slice("auth0|".length);
  return JSON.stringify(e);
}

export const PROVIDERS = {
  clerk: {
    docs: "https://clerk.com/docs/guides/development/webhooks/overview",
    scheme: "Svix (svix-* headers), `svix` library",
    settings: ["CLERK_WEBHOOK_SECRET"],
    newUser: () => `user_${base62(27)}`,
    events: {
      "user.created": { signup: true, about: "a user signed up (imported)" },
      "user.updated": { about: "profile change (acknowledged as ignored)" },
    },
    build: ({ vars, user, event }) => {
      const body = clerkBody(event, user);
      return { headers: json(svixHeaders(list(need(vars, "CLERK_WEBHOOK_SECRET")), body)), body };
    },
  },
  stytch: {
    docs: "https://stytch.com/docs/workspace-management/webhooks",
    scheme: "Svix (svix-* headers), `svix` library",
    settings: ["STYTCH_WEBHOOK_SECRET"],
    newUser: () => `user-test-${randomUUID()}`,
    events: {
      "dashboard.user.create": { signup: true, about: "the catalog's verbatim example (imported)", action: "CREATE" },
      "dashboard.user.update": { about: "user update (ignored)", action: "UPDATE" },
    },
    build: ({ vars, user, spec }) => {
      const body = stytchBody(spec.action, user);
      return { headers: json(svixHeaders(list(need(vars, "STYTCH_WEBHOOK_SECRET")), body)), body };
    },
  },
  standard: {
    docs: "https://www.standardwebhooks.com/",
    scheme: "Standard Webhooks v1 (webhook-* headers), `standardwebhooks` library",
    settings: ["STANDARD_WEBHOOK_SECRET"],
    newUser: () => `usr_${base62(27)}`,
    events: {
      "user.created": { signup: true, about: "the spec's recommended shape, default paths (imported)" },
      "user.updated": { about: "another type (ignored unless in STANDARD_EVENT_TYPES)" },
    },
    build: ({ vars, user, event }) => {
      const secret = need(vars, "STANDARD_WEBHOOK_SECRET", "this script signs v1 (HMAC) only, not v1a");
      const body = standardBody(event, user);
      return { headers: json(standardHeaders(list(secret), body)), body };
    },
  },
  supabase: {
    docs: "https://supabase.com/docs/guides/auth/auth-hooks/before-user-created-hook",
    scheme: "Standard Webhooks v1 as Supabase Auth signs (fresh UUID webhook-id, signatures joined by \", \")",
    settings: ["SUPABASE_HOOK_SECRET"],
    newUser: () => randomUUID(),
    events: {
      "before-user-created": { signup: true, about: "the blocking Before User Created hook (imported, answers {})" },
      "after-user-created": { signup: true, about: "the After User Created hook (imported, answers {})" },
    },
    build: ({ vars, user, event }) => {
      const secrets = list(need(vars, "SUPABASE_HOOK_SECRET")).map((s) => s.replace(/^v1,/, ""));
      const body = supabaseBody(event, user);
      return { headers: json(standardHeaders(secrets, body, { id: randomUUID(), joiner: ", " })), body };
    },
  },
  "supabase-db": {
    docs: "https://supabase.com/docs/guides/database/webhooks",
    scheme: "shared secret in x-webhook-secret (or SUPABASE_DB_WEBHOOK_HEADER)",
    settings: ["SUPABASE_DB_WEBHOOK_SECRET"],
    newUser: () => randomUUID(),
    events: {
      INSERT: { signup: true, about: "a new auth.users row (imported)" },
      UPDATE: { about: "a changed auth.users row (ignored)" },
    },
    build: ({ vars, user, event }) => ({ headers: supabaseDbHeaders(vars), body: supabaseDbBody(event, user) }),
  },
  auth0: {
    docs: "https://auth0.com/docs/customize/events/create-an-event-stream",
    scheme: "Event/Log Streams: Authorization Bearer token (or Basic); Action: Standard Webhooks, `standardwebhooks` library",
    settings: ["AUTH0_WEBHOOK_TOKEN or AUTH0_WEBHOOK_BASIC", "AUTH0_ACTION_SECRET (post-user-registration)"],
    newUser: () => `auth0|${hex(24)}`,
    events: {
      "user.created": { signup: true, about: "Event Streams CloudEvent, the docs' test event (imported)" },
      ss: { signup: true, about: "Log Streams JSON lines: a Success Signup log and a Failed Signup log (processed)" },
      "post-user-registration": { signup: true, about: "the README's Post-User-Registration Action call (imported)" },
    },
    build: ({ vars, user, event }) => {
      const body = auth0Body(event, user);
      if (event === "post-user-registration") {
        const secrets = list(need(vars, "AUTH0_ACTION_SECRET"));
        return { headers: json(standardHeaders(secrets, body, { id: `msg_${randomUUID()}` })), body };
      }
      return { headers: json({ authorization: auth0Authorization(vars) }), body };
    },
  },
  firebase: {
    docs: "https://cloud.google.com/identity-platform/docs/blocking-functions",
    scheme: "RS256 JWT in {\"data\":{\"jwt\":…}}, `jose`, demo key of scripts/dev-keys/",
    settings: ["FIREBASE_PROJECT_ID", "FIREBASE_AUDIENCE", "FIREBASE_JWKS_URL (serving scripts/dev-keys/jwks.json)"],
    newUser: () => base62(28),
    events: {
      beforeCreate: { signup: true, about: "the blocking function's token (imported, answers {})" },
      beforeSignIn: { about: "a sign-in (ignored, answers {})" },
    },
    build: async ({ vars, user, event }) => {
      const jwt = await demoJwt(firebaseClaims(vars, event, user));
      return { headers: json(), body: JSON.stringify({ data: { jwt } }) };
    },
  },
  workos: {
    docs: "https://workos.com/docs/webhooks",
    scheme: "WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256>, node:crypto",
    settings: ["WORKOS_WEBHOOK_SECRET"],
    newUser: () => `user_${ulid()}`,
    events: {
      "user.created": { signup: true, about: "a user signed up (imported)" },
      "user.updated": { about: "profile change (ignored)" },
    },
    build: ({ vars, user, event }) => {
      const secret = need(vars, "WORKOS_WEBHOOK_SECRET");
      const body = workosBody(event, user);
      const t = Date.now();
      return { headers: json({ "WorkOS-Signature": `t=${t}, v1=${hmacHex(secret, `${t}.${body}`)}` }), body };
    },
  },
  logto: {
    docs: "https://docs.logto.io/developers/webhooks/webhooks-request",
    scheme: "logto-signature-sha-256: sha256=<hex HMAC-SHA256 of the body>, node:crypto",
    settings: ["LOGTO_SIGNING_KEY"],
    newUser: () => pick("abcdefghijklmnopqrstuvwxyz0123456789", 12),
    events: {
      PostRegister: { signup: true, about: "a user finished the registration UI (imported)" },
      "User.Created": { signup: true, about: "a user was created, e.g. by the Management API (imported)" },
    },
    build: ({ vars, user, event }) => {
      const key = need(vars, "LOGTO_SIGNING_KEY");
      const body = logtoBody(event, user);
      return { headers: json({ "logto-signature-sha-256": `sha256=${hmacHex(key, body)}` }), body };
    },
  },
  kinde: {
    docs: "https://docs.kinde.com/integrate/webhooks/add-manage-webhooks",
    scheme: "the body is an RS256 JWT (application/jwt), `jose`, demo key of scripts/dev-keys/",
    settings: ["KINDE_DOMAIN", "KINDE_JWKS_URL (serving scripts/dev-keys/jwks.json)"],
    newUser: () => `kp_${hex(32)}`,
    events: {
      "user.created": { signup: true, about: "the docs' decoded example (imported)" },
      "user.updated": { about: "profile change (ignored)" },
    },
    build: async ({ vars, user, event }) => {
      need(vars, "KINDE_DOMAIN");
      const body = await demoJwt(kindeClaims(event, user));
      return { headers: { "content-type": "application/jwt", "webhook-id": `whk_${ulid()}` }, body };
    },
  },
  okta: {
    docs: "https://developer.okta.com/docs/concepts/event-hooks/",
    scheme: "Authorization: <the shared secret> (as-is, no Bearer)",
    settings: ["OKTA_WEBHOOK_SECRET"],
    newUser: () => `00u${base62(17)}`,
    events: {
      "user.lifecycle.create": { signup: true, about: "an Event Hook batch: create (imported) + activate (ignored)" },
      verification: { about: "the one-time GET X-Okta-Verification-Challenge (echoed back)", noUser: true },
    },
    build: ({ vars, user, event }) => {
      const secret = need(vars, "OKTA_WEBHOOK_SECRET");
      if (event === "verification") {
        return { method: "GET", headers: { "x-okta-verification-challenge": base62(40) } };
      }
      return { headers: json({ authorization: secret }), body: oktaBody(user) };
    },
  },
  zitadel: {
    docs: "https://zitadel.com/docs/guides/integrate/actions/testing-request-signature",
    scheme: "ZITADEL-Signature: t=<s>,v1=<hex HMAC-SHA256>, node:crypto",
    settings: ["ZITADEL_SIGNING_KEY"],
    newUser: () => digits(18),
    events: {
      "user.human.added": { signup: true, about: "a user created by an admin or the API (imported)" },
      "user.human.selfregistered": { signup: true, about: "a user registered on the hosted login (imported)" },
    },
    build: ({ vars, user, event }) => {
      const key = need(vars, "ZITADEL_SIGNING_KEY");
      const body = zitadelBody(event, user);
      const t = nowS();
      return { headers: json({ "ZITADEL-Signature": `t=${t},v1=${hmacHex(key, `${t}.${body}`)}` }), body };
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function help() {
  const lines = [
    "Send an auth provider's documented signup webhook to a running tim-onboard.",
    "",
    "usage: node scripts/send-webhook.mjs <provider> [event] [options]",
    "",
    "options:",
    `  --url <origin>   the Worker's origin (default ${DEFAULT_ORIGIN}); the path is /webhooks/<provider>`,
    "  --user <id>      the provider's user id to send (default: a fresh one, printed)",
    "  --vars <file>    settings file with the secrets (default .dev.vars, else .dev.vars.example)",
    "  -h, --help       this list",
    "",
    "providers and events (the first event is the default):",
  ];
  for (const [name, p] of Object.entries(PROVIDERS)) {
    lines.push("", `  ${name}  ${p.scheme}`, `      settings: ${p.settings.join(", ")}`, `      docs: ${p.docs}`);
    for (const [event, e] of Object.entries(p.events)) lines.push(`      ${event.padEnd(26)} ${e.about}`);
  }
  lines.push(
    "",
    "Each send gets fresh event ids and timestamps and, without --user, a fresh user id, so every run",
    "creates a new account. See them with: curl http://127.0.0.1:8790/_emulator/accounts",
    "Exit status: 0 on a 2xx answer, 1 on any other status, 2 on a usage error or no connection.",
  );
  return lines.join("\n");
}

export function parseArgs(argv) {
  const opts = { positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "-h" || a === "--help") opts.help = true;
    else if (a === "--url") opts.url = value();
    else if (a === "--user") opts.user = value();
    else if (a === "--vars") opts.vars = value();
    else if (a.startsWith("--url=")) opts.url = a.slice(6);
    else if (a.startsWith("--user=")) opts.user = a.slice(7);
    else if (a.startsWith("--vars=")) opts.vars = a.slice(7);
    else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else opts.positional.push(a);
  }
  return opts;
}

/** Resolves provider, event and target URL from the parsed arguments. */
function target(opts) {
  let [first, second, ...rest] = opts.positional;
  let url;
  if (first && /^https?:\/\//.test(first)) {
    // Old form: <full webhook URL> [user id].
    const m = new URL(first).pathname.match(/\/webhooks\/([^/]+)\/?$/);
    if (!m) throw new UsageError(`cannot tell the provider from ${first} (expected …/webhooks/<provider>)`);
    url = first;
    [first, opts.user] = [m[1], opts.user ?? second];
    second = undefined;
  }
  if (!first) throw new UsageError("which provider? (--help lists them)");
  if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
  const provider = PROVIDERS[first];
  if (!provider) throw new UsageError(`unknown provider ${first}; one of: ${Object.keys(PROVIDERS).join(", ")}`);
  const events = Object.keys(provider.events);
  const event = second === undefined ? events[0] : events.find((e) => e.toLowerCase() === second.toLowerCase());
  if (!event) throw new UsageError(`unknown ${first} event ${second}; one of: ${events.join(", ")}`);
  if (!url) {
    const origin = (opts.url ?? DEFAULT_ORIGIN).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+/.test(origin)) throw new UsageError(`--url ${opts.url}: expected an origin such as ${DEFAULT_ORIGIN}`);
    url = `${origin}/webhooks/${first}`;
  }
  return { name: first, provider, event, spec: provider.events[event], url };
}

/** The Tencent UserID the Worker made of `user`: from the answer, else from GET /userid. */
async function tencentUserId(url, name, user, answer, vars) {
  if (typeof answer?.user_id === "string") return answer.user_id;
  const token = (vars.TIM_ADMIN_TOKEN ?? "").trim();
  if (!token) return null;
  try {
    const q = new URLSearchParams({ provider: name, id: user });
    const res = await fetch(`${new URL(url).origin}/userid?${q}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
    return res.ok ? ((await res.json()).user_id ?? null) : null;
  } catch {
    return null;
  }
}

async function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    console.log(help());
    return 0;
  }
  const t = target(opts);
  const { vars, from } = loadVars(opts.vars);
  settingsFrom = from;
  const user = t.spec.noUser ? null : (opts.user ?? t.provider.newUser());
  const req = await t.provider.build({ vars, user, event: t.event, spec: t.spec });
  const method = req.method ?? "POST";

  console.log(`${method} ${t.url}  (${t.name} ${t.event}; ${t.provider.scheme}; secrets from ${from})`);
  if (user !== null) console.log(`user id: ${user}${opts.user ? "" : "  (fresh; choose one with --user <id>)"}`);
  let res;
  try {
    res = await fetch(t.url, { method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(20_000) });
  } catch (e) {
    console.error(`could not reach ${t.url}: ${e.cause?.code ?? e.cause?.message ?? e.message} (is \`make dev\` running? --url sets the origin)`);
    return 2;
  }
  const text = await res.text();
  console.log(`${res.status} ${text}`);
  if (!res.ok) return 1;
  if (t.spec.signup && user !== null) {
    let answer = null;
    try {
      answer = JSON.parse(text);
    } catch {
      // {} or not JSON: fall back to /userid.
    }
    const mapped = await tencentUserId(t.url, t.name, user, answer, vars);
    if (mapped) console.log(`Tencent UserID: ${mapped}`);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      if (e instanceof UsageError) {
        console.error(`send-webhook: ${e.message}`);
        process.exitCode = 2;
      } else {
        console.error(e);
        process.exitCode = 2;
      }
    },
  );
}
