// Shared code of the per-provider e2e tests (`provider-*.test.mjs`); builds on helpers.mjs.
//
// One Worker configuration switches on all twelve providers at once (each test file starts its
// own Worker with it through `suite(PROVIDER_SUITE)`), so every test also shows that the
// providers coexist. Deliveries are signed independently of the Worker's Rust code:
//   - Standard Webhooks family (Clerk, Stytch, Standard, Supabase, Auth0 Action): the official
//     `svix` / `standardwebhooks` npm packages (via helpers.mjs); Standard's `v1a` with node:crypto
//     Ed25519;
//   - WorkOS, ZITADEL, Logto: node:crypto HMAC-SHA256, written from the documented scheme;
//   - Firebase, Kinde: RS256 JWTs from the `jose` package, keys served as a JWKS by a node:http
//     server on 127.0.0.1;
//   - Supabase DB, Auth0 streams, Okta: the shared secret in the documented header.
// Expected UserIDs are literal, or computed here with node:crypto SHA-256 from the documented rule.

import { createHash, createHmac, generateKeyPairSync, randomBytes, randomUUID, sign as edSign } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  assert,
  assertError,
  fullBindings,
  hideSecrets,
  listenLocal,
  ROOT,
  standardHeaders,
  svixHeaders,
  WEBHOOK_SECRET,
  withTimeout,
} from "./helpers.mjs";

// ---------------------------------------------------------------------------------------------
// Secrets and settings (fresh per run; registered with the leak check)
// ---------------------------------------------------------------------------------------------

const whsec = () => `whsec_${randomBytes(32).toString("base64")}`;
const token = (n = 24) => randomBytes(n).toString("base64url");

/** Every provider's secrets, plus a well-formed wrong one of each kind. */
export const S = {
  clerk: WEBHOOK_SECRET,
  stytch: whsec(),
  standard: whsec(),
  supabase: [whsec(), whsec()],
  supabaseDb: token(),
  auth0Token: token(),
  auth0User: "e2e-stream",
  auth0Password: token(),
  auth0Action: whsec(),
  workos: token(),
  logto: token(),
  okta: token(),
  zitadel: token(),
  adminToken: token(),
  // Well-formed but not configured anywhere.
  otherWhsec: whsec(),
  otherToken: token(),
};

/** Ed25519 key pair for Standard Webhooks `v1a` (public key configured as whpk_). */
const ed = generateKeyPairSync("ed25519");
const edOther = generateKeyPairSync("ed25519");
const rawPublic = (kp) => Buffer.from(kp.publicKey.export({ format: "jwk" }).x, "base64url");
export const STANDARD_PUBLIC_KEY = `whpk_${rawPublic(ed).toString("base64")}`;

hideSecrets(
  S.stytch, S.standard, ...S.supabase, S.supabaseDb, S.auth0Token, S.auth0Password, S.auth0Action,
  S.workos, S.logto, S.okta, S.zitadel, S.adminToken, S.otherWhsec, S.otherToken,
  ed.privateKey.export({ format: "jwk" }).d,
);

export const FIREBASE_PROJECT = "project_id";
/** The exact `aud` of the documented beforeCreate sample: this endpoint's URL as Firebase sees it. */
export const FIREBASE_AUDIENCE = "https://us-east1-project_id.cloudfunctions.net/beforeCreate";
export const KINDE_DOMAIN = "tim-e2e.kinde.com";

/** Distinct per-provider prefixes on two providers (collision prevention). */
export const PREFIX = { okta: "okta_", zitadel: "zit_" };

/**
 * Bindings with every provider configured, against `emulator`, keys served by `jwks`
 * (`overrides`: extra or replaced bindings; `undefined` removes one).
 */
export function allProviderBindings(emulator, jwks, overrides = {}) {
  return fullBindings(emulator, {
    TIM_ADMIN_TOKEN: S.adminToken,
    CLERK_WEBHOOK_SECRET: S.clerk,
    STYTCH_WEBHOOK_SECRET: S.stytch,
    STANDARD_WEBHOOK_SECRET: S.standard,
    STANDARD_WEBHOOK_PUBLIC_KEY: STANDARD_PUBLIC_KEY,
    SUPABASE_HOOK_SECRET: S.supabase.map((s) => `v1,${s}`).join("|"),
    SUPABASE_DB_WEBHOOK_SECRET: S.supabaseDb,
    AUTH0_WEBHOOK_TOKEN: S.auth0Token,
    AUTH0_WEBHOOK_BASIC: `${S.auth0User}:${S.auth0Password}`,
    AUTH0_ACTION_SECRET: S.auth0Action,
    FIREBASE_PROJECT_ID: FIREBASE_PROJECT,
    FIREBASE_AUDIENCE: FIREBASE_AUDIENCE,
    FIREBASE_JWKS_URL: jwks ? `${jwks.url}/firebase/jwks` : "http://127.0.0.1:9/firebase/jwks",
    WORKOS_WEBHOOK_SECRET: S.workos,
    LOGTO_SIGNING_KEY: S.logto,
    KINDE_DOMAIN: KINDE_DOMAIN,
    KINDE_JWKS_URL: jwks ? `${jwks.url}/kinde/jwks` : "http://127.0.0.1:9/kinde/jwks",
    OKTA_WEBHOOK_SECRET: S.okta,
    ZITADEL_SIGNING_KEY: S.zitadel,
    OKTA_USERID_PREFIX: PREFIX.okta,
    ZITADEL_USERID_PREFIX: PREFIX.zitadel,
    ...overrides,
  });
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/**
 * A documented payload: the shared fixture `tests/fixtures/<name>` when present, else the e2e
 * copy `tests/fixtures/e2e/<name>`. Returned as text (JSON lines stay text).
 */
export function fixtureText(name) {
  for (const p of [`${ROOT}tests/fixtures/${name}`, `${ROOT}tests/fixtures/e2e/${name}`]) {
    if (existsSync(p)) return readFileSync(p, "utf8");
  }
  throw new Error(`fixture ${name} not found in tests/fixtures/ or tests/fixtures/e2e/`);
}

/** A documented JSON payload, parsed (a fresh deep copy on every call). */
export function fixture(name) {
  return JSON.parse(fixtureText(name));
}

/**
 * A payload this suite CONSTRUCTED from the vendors' documented fields (`tests/fixtures/e2e/<name>`,
 * see its README), never the shared fixture of the same name: the tests pin its exact values.
 */
export function e2eFixtureText(name) {
  return readFileSync(`${ROOT}tests/fixtures/e2e/${name}`, "utf8");
}

/** `e2eFixtureText`, parsed. */
export function e2eFixture(name) {
  return JSON.parse(e2eFixtureText(name));
}

// ---------------------------------------------------------------------------------------------
// UserID expectations (the documented rule, computed independently of src/identity.rs)
// ---------------------------------------------------------------------------------------------

/** `prefix + "h" + the first (31 - prefix length) lowercase hex digits of SHA-256(id)`. */
export function hashedUserId(id, prefix = "") {
  const hex = createHash("sha256").update(id, "utf8").digest("hex");
  return `${prefix}h${hex.slice(0, 31 - prefix.length)}`;
}

/** A UUID without hyphens, lowercase. */
export const compactUuid = (uuid) => uuid.replaceAll("-", "").toLowerCase();

/** GET /userid?provider=&id= with the admin token. */
export async function lookupUserId(worker, provider, id, auth = `Bearer ${S.adminToken}`) {
  const q = new URLSearchParams({ provider, id });
  return worker.request(`/userid?${q}`, { headers: auth ? { authorization: auth } : {} });
}

/** Asserts that /userid maps `id` to `userId` with `mode`. */
export async function assertLookup(worker, provider, id, userId, mode) {
  const res = await lookupUserId(worker, provider, id);
  assert.equal(res.status, 200, `/userid ${provider} ${id}: ${res.text}`);
  assert.equal(res.json.user_id, userId, `/userid ${provider} ${id}: ${res.text}`);
  if (mode) assert.equal(res.json.mode, mode, `/userid ${provider} ${id}: ${res.text}`);
  assert.ok(Buffer.byteLength(userId) <= 32 && /^[A-Za-z0-9_-]+$/.test(userId), `test bug: ${userId}`);
}

// ---------------------------------------------------------------------------------------------
// Assertions over the emulator
// ---------------------------------------------------------------------------------------------

/** The emulator holds exactly these accounts (each imported once), in this order. */
export async function assertAccounts(emulator, expected) {
  const accounts = await emulator.accounts();
  assert.deepEqual(
    accounts,
    expected.map(({ UserID, Nick = null, FaceUrl = null, imports = 1 }) => ({ UserID, Nick, FaceUrl, imports })),
  );
}

/**
 * Sends with `send()` and asserts a refusal (`status`, one of `codes`) that reached nothing:
 * the emulator's call count and accounts are unchanged.
 */
export async function assertRefused(emulator, send, status, codes) {
  const before = await emulator.calls();
  const accountsBefore = await emulator.accounts();
  const res = await send();
  const list = [codes].flat();
  assert.equal(res.status, status, `expected ${status} ${list.join("|")}, got ${res.status}: ${res.text}`);
  assert.ok(res.json, `error body is not JSON: ${res.text}`);
  assert.ok(list.includes(res.json.error), `expected error ${list.join("|")}, got ${res.text}`);
  assertError(res, status, res.json.error);
  assert.equal((await emulator.calls()).total, before.total, `a refused delivery reached Tencent: ${res.text}`);
  assert.deepEqual(await emulator.accounts(), accountsBefore);
  return res;
}

/** Sends and asserts 200 with `body` (deep-equal) and no Tencent call. */
export async function assertNoCall(emulator, send, body) {
  const before = (await emulator.calls()).total;
  const res = await send();
  assert.equal(res.status, 200, res.text);
  if (body !== undefined) assert.deepEqual(res.json, body, res.text);
  assert.equal((await emulator.calls()).total, before, `Tencent was called: ${res.text}`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Signers: Standard Webhooks family
// ---------------------------------------------------------------------------------------------

export const nowS = () => Math.floor(Date.now() / 1000);
export const newId = (p = "msg") => `${p}_${randomBytes(10).toString("hex")}`;

export { standardHeaders, svixHeaders };

/** A Standard Webhooks `v1a` signature made with node:crypto Ed25519 (https://github.com/standard-webhooks/standard-webhooks/blob/HEAD/spec/standard-webhooks.md). */
export function v1aSignature(msgId, ts, body, privateKey = ed.privateKey) {
  return `v1a,${edSign(null, Buffer.from(`${msgId}.${ts}.${body}`), privateKey).toString("base64")}`;
}

/** webhook-* headers signed only with Ed25519 (`v1a`). */
export function ed25519Headers(body, { msgId = newId(), ts = nowS(), other = false } = {}) {
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(ts),
    "webhook-signature": v1aSignature(msgId, ts, body, other ? edOther.privateKey : ed.privateKey),
  };
}

/**
 * Supabase Auth hook headers: a fresh UUID `webhook-id` (new per attempt, like GoTrue), signed by
 * the official `standardwebhooks` library with the secret(s) after stripping `v1,`; with several
 * secrets the signatures are joined with ", " exactly as GoTrue does.
 */
export function supabaseHeaders(body, { secrets = [S.supabase[0]], msgId = randomUUID(), date = new Date() } = {}) {
  const sigs = secrets.map((s) => standardHeaders(body, { secret: s, msgId, date })["webhook-signature"]);
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(date.getTime() / 1000)),
    "webhook-signature": sigs.join(", "),
  };
}

// ---------------------------------------------------------------------------------------------
// Signers: HMAC schemes (node:crypto, from the documented schemes)
// ---------------------------------------------------------------------------------------------

const hmacHex = (key, text) => createHmac("sha256", Buffer.from(key, "utf8")).update(text, "utf8").digest("hex");

/** `WorkOS-Signature: t=<ms>, v1=<hex HMAC(secret, "t.body")>` (https://workos.com/docs/events/data-syncing/webhooks). */
export function workosHeaders(body, { secret = S.workos, tMs = Date.now() } = {}) {
  return { "WorkOS-Signature": `t=${tMs}, v1=${hmacHex(secret, `${tMs}.${body}`)}` };
}

/** `ZITADEL-Signature: t=<s>,v1=<hex>[,v1=<hex>]` (https://zitadel.com/docs/guides/integrate/actions/testing-request-signature); `before` adds other v1 entries first. */
export function zitadelHeaders(body, { secret = S.zitadel, t = nowS(), before = [] } = {}) {
  const v1s = [...before, hmacHex(secret, `${t}.${body}`)].map((h) => `v1=${h}`);
  return { "ZITADEL-Signature": [`t=${t}`, ...v1s].join(",") };
}

/** `logto-signature-sha-256: sha256=<hex HMAC(key, body)>` (https://docs.logto.io/developers/webhooks/webhooks-request). */
export function logtoHeaders(body, { secret = S.logto, prefix = true } = {}) {
  const hex = hmacHex(secret, body);
  return { "logto-signature-sha-256": prefix ? `sha256=${hex}` : hex };
}

// ---------------------------------------------------------------------------------------------
// JWT providers: RS256 keys, a JWKS server, and `jose` signing
// ---------------------------------------------------------------------------------------------

async function rsaKey(kid) {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const priv = await exportJWK(privateKey);
  hideSecrets(priv.d, priv.p, priv.q);
  return { kid, privateKey, jwk };
}

/**
 * A node:http server on 127.0.0.1 serving `GET /firebase/jwks` and `GET /kinde/jwks`
 * (`{"keys":[...]}`), counting requests per path. `keys.firebase`, `keys.kinde` are published;
 * `keys.rogue` is a key nobody publishes (same kid as the Firebase key, for forgeries).
 */
export async function startJwksServer() {
  const keys = {
    firebase: await rsaKey(`fb-${token(6)}`),
    kinde: await rsaKey(`kd-${token(6)}`),
  };
  keys.rogue = { ...(await rsaKey(keys.firebase.kid)), kid: keys.firebase.kid };
  keys.rogueKinde = { ...(await rsaKey(keys.kinde.kid)), kid: keys.kinde.kid };
  const hits = {};
  const published = { "/firebase/jwks": [keys.firebase.jwk], "/kinde/jwks": [keys.kinde.jwk] };
  const server = createServer((req, res) => {
    hits[req.url] = (hits[req.url] ?? 0) + 1;
    const list = published[req.url];
    if (req.method !== "GET" || !list) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
    res.end(JSON.stringify({ keys: list }));
  });
  const url = await listenLocal(server);
  return {
    url,
    keys,
    hits,
    async close() {
      server.closeAllConnections?.();
      await withTimeout(new Promise((r) => server.close(r)), 5_000, "JWKS server to close");
    },
  };
}

/** An RS256 JWT (jose) over `claims`, header `{alg, kid, typ}`. */
export async function signJwt(claims, key, { kid = key.kid, typ = "JWT" } = {}) {
  const header = { alg: "RS256", kid };
  if (typ) header.typ = typ;
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

/** An unsigned token (`alg: none`) over `claims`. */
export function unsignedJwt(claims, kid) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", kid, typ: "JWT" })}.${b64(claims)}.`;
}

/** The same token with one payload claim changed and the original signature kept. */
export function tamperJwt(jwt, change) {
  const [h, p, s] = jwt.split(".");
  const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  change(claims);
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
}

/** The documented beforeCreate claims, made current (iat now, exp in 10 min), with overrides. */
export function firebaseClaims({ uid, eventId = `evt-${randomUUID()}`, eventType = "beforeCreate", record = {}, claims = {} } = {}) {
  const c = fixture("firebase_before_create.json");
  const now = nowS();
  c.iss = `https://securetoken.google.com/${FIREBASE_PROJECT}`;
  c.aud = FIREBASE_AUDIENCE;
  c.iat = now;
  c.exp = now + 600;
  c.event_id = eventId;
  c.event_type = eventType;
  if (uid !== undefined) {
    c.sub = uid;
    c.user_record.uid = uid;
  }
  Object.assign(c.user_record, record);
  return Object.assign(c, claims);
}

/** `{"data":{"jwt":…}}` — the Firebase blocking-function request body. */
export const firebaseBody = (jwt) => JSON.stringify({ data: { jwt } });

/** The documented Kinde user.created claims with overrides of `data.user` and top-level claims. */
export function kindeClaims({ user = {}, claims = {} } = {}) {
  const c = fixture("kinde_user_created.json");
  // A real delivery's time: the Worker refuses tokens without `exp` older than Kinde's redelivery window.
  c.timestamp = new Date().toISOString();
  Object.assign(c.data.user, user);
  return Object.assign(c, claims);
}

/** Kinde request headers: the JWT body type and a `webhook-id`. */
export const kindeHeaders = (webhookId = newId("wh")) => ({
  "content-type": "application/jwt",
  "webhook-id": webhookId,
});

/**
 * The options every provider test file passes to the one suite fixture (`suite()` in fixture.mjs):
 * a JWKS server, started after the emulator as the service `s.jwks`, and Workers with all twelve
 * providers on against the emulator and that server (`allProviderBindings`). A file may add its
 * own `workers` (see provider-coexist.test.mjs).
 */
export const PROVIDER_SUITE = Object.freeze({
  services: { jwks: () => startJwksServer() },
  bindings: (s) => allProviderBindings(s.emulator, s.jwks),
});
