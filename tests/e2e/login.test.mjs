// Client login (`POST /login/<provider>`, docs/login.md) end to end: the built Worker on workerd,
// tim-emulator as Tencent, and every session token made by the independent `jose` library with
// keys generated here and published by a node:http JWKS server on 127.0.0.1 (each provider's
// `<P>_LOGIN_JWKS_URL`; OIDC also through `<issuer>/.well-known/openid-configuration`).
//
// For every route, with the provider's documented claim shape:
//   - 200 `{sdkAppId, userId, userSig, expiresAt}`;
//   - `userId` is what `GET /userid?provider=<webhook provider>&id=<user id>` answers (the webhook
//     path's mapping), and the literal the documented rule gives (OIDC: only the latter, with its
//     own OIDC_USERID_* settings);
//   - `userSig` is the one Tencent's official `tls-sig-api-v2` library makes for that UserID with
//     TIM_LOGIN_USERSIG_TTL at the UserSig's own TLS.time (decoded and compared field by field,
//     TLS.sig included), and the emulator's client login accepts it (a second, independent check);
//   - a user with no account is imported exactly once across two logins.
// Refusals (alg none, HS256 keyed with the public key, unknown kid, forged or tampered tokens,
// expired, nbf/iat in the future, wrong iss/aud, Clerk azp, Supabase anon, > 8 KiB, no header)
// are 401 with a stable code and message, reach no Tencent API (and the token-shape ones no JWKS
// either); an unconfigured provider is 404; CORS preflights and Vary: Origin.
//
// Login responses carry a UserSig by design: they are read straight from Miniflare and recorded
// for the leak check with the UserSig cut out, so the final leak check still covers every body,
// Worker log and emulator line (and every token sent: no token may reach a log).
import { describe, test, before } from "node:test";
import { createRequire } from "node:module";
import { createHash, createHmac, randomBytes, randomInt, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { networkInterfaces } from "node:os";
import { inflateSync } from "node:zlib";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { readFileSync } from "node:fs";
import {
  assert,
  assertError,
  assertNoLeaks,
  hideSecrets,
  listenLocal,
  observe,
  observedTexts,
  ROOT,
  SDKAPPID,
  TEST_TIMEOUT_MS,
  TIM_KEY,
  withTimeout,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const require = createRequire(import.meta.url);
const TLSSigAPIv2 = require("tls-sig-api-v2");

const opts = { timeout: TEST_TIMEOUT_MS };

// ---------------------------------------------------------------------------------------------
// The deployment under test (made-up tenants; only the JWKS URLs point at the local server)
// ---------------------------------------------------------------------------------------------

const TTL = 3600; // TIM_LOGIN_USERSIG_TTL: not the default, so a Worker ignoring it is caught
const APP_ORIGIN = "https://app.tim-e2e.example";
const OTHER_APP_ORIGIN = "http://127.0.0.1:5173";
const CLERK_API = "https://clerk.tim-e2e.example";
const SUPABASE_URL = "https://abcdefghijklmnopqrst.supabase.co";
const AUTH0_DOMAIN = "tim-e2e.eu.auth0.com";
const AUTH0_AUDIENCE = "https://api.tim-e2e.example/chat";
const FIREBASE_PROJECT = "tim-e2e-project";
const WORKOS_CLIENT = "client_01JTIME2EAAAAAAAAAAAAAAAAA";
const STYTCH_PROJECT = "project-test-6ad3d6c4-7c8d-4a43-9c3c-9b3c7a0e7f11";
const KINDE_DOMAIN = "tim-e2e.kinde.com";
const KINDE_AUDIENCE = "https://api.tim-e2e.example/kinde";
const LOGTO_ENDPOINT = "https://tim-e2e.logto.app";
const LOGTO_AUDIENCE = "https://api.tim-e2e.example/logto";
const OKTA_ISSUER = "https://tim-e2e.okta.com/oauth2/default";
const OKTA_AUDIENCE = "api://default";
const ZITADEL_ISSUER = "https://tim-e2e-x1y2z3.zitadel.cloud";
const ZITADEL_AUDIENCE = "289375834987453645";
const OIDC_ISSUER = "https://id.tim-e2e.example";
const OIDC_AUDIENCE = "tim-e2e-chat";
const DISC_AUDIENCE = "tim-e2e-discovered";
const PREFIX = { okta: "okta_", zitadel: "zit_", oidc: "oi_", disc: "od_" };

const ADMIN_TOKEN = randomBytes(24).toString("base64url");
const SUPABASE_JWT_SECRET = randomBytes(32).toString("base64");
hideSecrets(ADMIN_TOKEN, SUPABASE_JWT_SECRET);

/** The main Worker: every login provider on, keys from the local JWKS server. */
function loginBindings(idp) {
  const jwks = (p) => `${idp.url}/${p}/jwks`;
  return {
    TIM_ADMIN_TOKEN: ADMIN_TOKEN,
    TIM_LOGIN_USERSIG_TTL: String(TTL),
    TIM_ALLOWED_ORIGINS: `${APP_ORIGIN}, ${OTHER_APP_ORIGIN}`,
    CLERK_FRONTEND_API: CLERK_API,
    CLERK_AUTHORIZED_PARTIES: APP_ORIGIN,
    CLERK_LOGIN_JWKS_URL: jwks("clerk"),
    SUPABASE_URL,
    SUPABASE_JWT_SECRET,
    SUPABASE_LOGIN_JWKS_URL: jwks("supabase"),
    AUTH0_DOMAIN,
    AUTH0_AUDIENCE,
    AUTH0_LOGIN_JWKS_URL: jwks("auth0"),
    FIREBASE_PROJECT_ID: FIREBASE_PROJECT,
    FIREBASE_LOGIN_JWKS_URL: jwks("firebase"),
    WORKOS_CLIENT_ID: WORKOS_CLIENT,
    WORKOS_LOGIN_JWKS_URL: jwks("workos"),
    STYTCH_PROJECT_ID: STYTCH_PROJECT,
    STYTCH_LOGIN_JWKS_URL: jwks("stytch"),
    KINDE_DOMAIN,
    KINDE_AUDIENCE,
    KINDE_LOGIN_JWKS_URL: jwks("kinde"),
    LOGTO_ENDPOINT,
    LOGTO_AUDIENCE,
    LOGTO_LOGIN_JWKS_URL: jwks("logto"),
    OKTA_ISSUER,
    OKTA_AUDIENCE,
    OKTA_LOGIN_JWKS_URL: jwks("okta"),
    OKTA_USERID_PREFIX: PREFIX.okta,
    ZITADEL_ISSUER,
    ZITADEL_AUDIENCE,
    ZITADEL_LOGIN_JWKS_URL: jwks("zitadel"),
    ZITADEL_USERID_PREFIX: PREFIX.zitadel,
    OIDC_ISSUER,
    OIDC_AUDIENCE,
    OIDC_JWKS_URL: jwks("oidc"),
    OIDC_USERID_PREFIX: PREFIX.oidc,
  };
}

/** A second Worker: only generic OIDC, keys found through discovery, ES256, user id in `user_id`. */
function discoveryBindings(idp) {
  return {
    TIM_LOGIN_USERSIG_TTL: String(TTL),
    OIDC_ISSUER: `${idp.url}/disc`,
    OIDC_AUDIENCE: DISC_AUDIENCE,
    OIDC_ALGORITHMS: "ES256",
    OIDC_USER_CLAIM: "user_id",
    OIDC_USERID_PREFIX: PREFIX.disc,
    OIDC_USERID_MODE: "hash",
  };
}

// ---------------------------------------------------------------------------------------------
// The local identity provider: keys, JWKS documents, the OIDC discovery document
// ---------------------------------------------------------------------------------------------

const kidOf = (p) => `${p}-${randomBytes(6).toString("hex")}`;

/** A fresh key pair for `alg` (jose), its public JWK with kid/alg/use, its SPKI PEM. */
async function makeKey(alg, kid = kidOf(alg.toLowerCase())) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const priv = await exportJWK(privateKey);
  hideSecrets(priv.d, priv.p, priv.q, priv.dp, priv.dq);
  return { alg, kid, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) };
}

/**
 * A node:http server on 127.0.0.1: `GET /<name>/jwks` for every provider (its signing key plus a
 * second published key, as issuers rotate), `GET /disc/.well-known/openid-configuration` naming
 * `/disc/jwks`; requests counted per path in `hits`. `keys.<name>` signs; `keys.rogue*` are
 * unpublished keys (one reusing Clerk's kid, for forgeries).
 */
async function startIdp() {
  const algs = {
    clerk: "RS256", supabase: "ES256", auth0: "RS256", firebase: "RS256", workos: "RS256",
    stytch: "RS256", kinde: "RS256", logto: "ES384", okta: "RS256", zitadel: "EdDSA",
    oidc: "RS256", disc: "ES256",
  };
  const keys = {};
  const published = {};
  for (const [name, alg] of Object.entries(algs)) {
    keys[name] = await makeKey(alg, kidOf(name));
    keys[`${name}Next`] = await makeKey(alg, kidOf(`${name}-next`));
    published[`/${name}/jwks`] = [keys[name].jwk, keys[`${name}Next`].jwk];
  }
  // Supabase also publishes an RSA key (it allows RS256), for key-type confusion.
  keys.supabaseRsa = await makeKey("RS256", kidOf("supabase-rsa"));
  published["/supabase/jwks"].push(keys.supabaseRsa.jwk);
  keys.rogue = await makeKey("RS256", keys.clerk.kid);
  keys.rogueEs = await makeKey("ES256", keys.supabase.kid);
  keys.unpublished = await makeKey("RS256", kidOf("nobody"));
  const hits = {};
  let url;
  const server = createServer((req, res) => {
    hits[req.url] = (hits[req.url] ?? 0) + 1;
    if (req.method === "GET" && req.url === "/disc/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({
        issuer: `${url}/disc`,
        authorization_endpoint: `${url}/disc/authorize`,
        token_endpoint: `${url}/disc/token`,
        jwks_uri: `${url}/disc/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256"],
      }));
      return;
    }
    const list = published[req.url];
    if (req.method !== "GET" || !list) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
    res.end(JSON.stringify({ keys: list }));
  });
  url = await listenLocal(server);
  return {
    url,
    keys,
    hits,
    /** Total JWKS and discovery requests so far. */
    total: () => Object.values(hits).reduce((a, b) => a + b, 0),
    async close() {
      server.closeAllConnections?.();
      await withTimeout(new Promise((r) => server.close(r)), 5_000, "JWKS server to close");
    },
  };
}

const s = suite({
  services: { idp: () => startIdp() },
  workers: {
    main: (s) => s.bindings(loginBindings(s.idp)),
    disc: (s) => s.bindings(discoveryBindings(s.idp)),
  },
});

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/** Every token sent, for the leak check (no token may appear in a log or a response). */
const sentTokens = new Set();
const nowS = () => Math.floor(Date.now() / 1000);
const hex = (n) => randomBytes(n).toString("hex");
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const alnum = (n, set = ALNUM) => Array.from({ length: n }, () => set[randomInt(set.length)]).join("");
const b64url = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** A JWS over `claims` made by jose with `key` (header: alg, kid, typ JWT, plus `header`). */
async function sign(key, claims, header = {}) {
  const h = { alg: key.alg, kid: key.kid, typ: "JWT", ...header };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
  return new SignJWT(claims).setProtectedHeader(h).sign(key.privateKey);
}

/** A Supabase legacy HS256 token (jose, keyed with the project's JWT secret; no kid). */
const signHs256 = (claims, secret = SUPABASE_JWT_SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));

/** An `alg: none` token. */
const unsigned = (claims, kid) => `${b64url({ alg: "none", kid, typ: "JWT" })}.${b64url(claims)}.`;

/** HS256 over header.payload keyed with `secret` (text), the classic confusion attack. */
function hmacToken(header, claims, secret) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac("sha256", Buffer.from(secret)).update(input).digest("base64url")}`;
}

/** `jwt` with its payload replaced and its signature kept. */
function tamper(jwt, change) {
  const [h, p, sig] = jwt.split(".");
  const c = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  change(c);
  return `${h}.${b64url(c)}.${sig}`;
}

/** `jwt` with its header replaced and its signature kept. */
function reheader(jwt, change) {
  const [h, p, sig] = jwt.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
  change(header);
  return `${b64url(header)}.${p}.${sig}`;
}

// ---------------------------------------------------------------------------------------------
// UserID expectations (docs/configuration.md, computed here with node:crypto)
// ---------------------------------------------------------------------------------------------

/** `prefix + "h" + the first (31 - prefix length) hex digits of SHA-256(id)`. */
const hashedUserId = (id, prefix = "") =>
  `${prefix}h${createHash("sha256").update(id, "utf8").digest("hex").slice(0, 31 - prefix.length)}`;
const compactUuid = (u) => u.replaceAll("-", "").toLowerCase();

// ---------------------------------------------------------------------------------------------
// Every provider's documented session token
// ---------------------------------------------------------------------------------------------

/**
 * One login route with its documented claim shape. `user()` makes a fresh provider user id,
 * `claims(user, now)` the token's claims, `key()` the signing key (or `token` signs otherwise);
 * `webhook` is the provider whose /userid mapping must agree; `expect(user)` the literal UserID;
 * `profile` the Nick and FaceUrl the token's standard claims give.
 */
const CASES = [
  {
    name: "clerk",
    route: "clerk",
    webhook: "clerk",
    // Clerk user ids: `user_` + 27 base62 characters (32 bytes: verbatim).
    user: () => `user_${alnum(27)}`,
    expect: (u) => u,
    key: () => s.idp.keys.clerk,
    // Clerk's default session token (v2): no profile claims.
    claims: (sub, now) => ({
      azp: APP_ORIGIN, exp: now + 60, fea: "u:chat", fva: [0, -1], iat: now, iss: CLERK_API,
      nbf: now - 5, pla: "u:free_user", sid: `sess_${alnum(27)}`, sts: "active", sub, v: 2,
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "supabase (ES256, JWKS)",
    route: "supabase",
    webhook: "supabase",
    user: () => randomUUID(),
    expect: compactUuid,
    key: () => s.idp.keys.supabase,
    claims: (sub, now) => supabaseClaims(sub, now),
    profile: { Nick: "ada.lovelace", FaceUrl: null },
  },
  {
    name: "supabase (HS256, SUPABASE_JWT_SECRET)",
    route: "supabase",
    webhook: "supabase",
    user: () => randomUUID(),
    expect: compactUuid,
    token: (claims) => signHs256(claims),
    claims: (sub, now) => supabaseClaims(sub, now),
    profile: { Nick: "ada.lovelace", FaceUrl: null },
  },
  {
    name: "auth0",
    route: "auth0",
    webhook: "auth0",
    user: () => `auth0|${hex(12)}`,
    expect: (u) => u.slice("auth0|".length),
    key: () => s.idp.keys.auth0,
    // An access token for the API (aud: the API and /userinfo), as Auth0 issues it.
    claims: (sub, now) => ({
      iss: `https://${AUTH0_DOMAIN}/`, sub, aud: [AUTH0_AUDIENCE, `https://${AUTH0_DOMAIN}/userinfo`],
      iat: now, exp: now + 86_400, scope: "openid profile email", azp: alnum(32), jti: alnum(22),
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "firebase",
    route: "firebase",
    webhook: "firebase",
    user: () => alnum(28),
    expect: (u) => u,
    key: () => s.idp.keys.firebase,
    // A Firebase ID token (getIdToken()).
    claims: (sub, now) => ({
      name: "Grace Hopper", picture: "https://lh3.googleusercontent.com/a/grace-hopper",
      iss: `https://securetoken.google.com/${FIREBASE_PROJECT}`, aud: FIREBASE_PROJECT,
      auth_time: now - 30, user_id: sub, sub, iat: now, exp: now + 3600, email: "grace@example.com",
      email_verified: true,
      firebase: { identities: { "google.com": [hex(10)], email: ["grace@example.com"] }, sign_in_provider: "google.com" },
    }),
    profile: { Nick: "Grace Hopper", FaceUrl: "https://lh3.googleusercontent.com/a/grace-hopper" },
  },
  {
    name: "workos",
    route: "workos",
    webhook: "workos",
    // `user_` + a 26-character ULID (31 bytes: verbatim).
    user: () => `user_01${alnum(24, "0123456789ABCDEFGHJKMNPQRSTVWXYZ")}`,
    expect: (u) => u,
    key: () => s.idp.keys.workos,
    // An AuthKit access token.
    claims: (sub, now) => ({
      iss: `https://api.workos.com/user_management/${WORKOS_CLIENT}`, sub,
      sid: `session_01${alnum(24, "0123456789ABCDEFGHJKMNPQRSTVWXYZ")}`, jti: `01${alnum(24, "0123456789ABCDEFGHJKMNPQRSTVWXYZ")}`,
      org_id: `org_01${alnum(24, "0123456789ABCDEFGHJKMNPQRSTVWXYZ")}`, role: "member", permissions: [],
      exp: now + 300, iat: now,
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "stytch",
    route: "stytch",
    webhook: "stytch",
    user: () => `user-test-${randomUUID()}`,
    expect: (u) => compactUuid(u.slice("user-test-".length)),
    key: () => s.idp.keys.stytch,
    // A Stytch session JWT.
    claims: (sub, now) => ({
      aud: [STYTCH_PROJECT], exp: now + 300, iat: now, iss: `stytch.com/${STYTCH_PROJECT}`, nbf: now, sub,
      "https://stytch.com/session": {
        id: `session-test-${randomUUID()}`, started_at: new Date(now * 1000).toISOString(),
        last_accessed_at: new Date(now * 1000).toISOString(), expires_at: new Date((now + 3600) * 1000).toISOString(),
        attributes: { user_agent: "", ip_address: "" },
        authentication_factors: [{ type: "magic_link", delivery_method: "email", email_factor: { email_id: `email-test-${randomUUID()}`, email_address: "sam@example.com" } }],
      },
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "kinde",
    route: "kinde",
    webhook: "kinde",
    user: () => `kp_${hex(16)}`,
    expect: (u) => u.slice(3),
    key: () => s.idp.keys.kinde,
    // A Kinde access token for an API audience.
    claims: (sub, now) => ({
      aud: [KINDE_AUDIENCE], azp: hex(16), exp: now + 86_400, iat: now, iss: `https://${KINDE_DOMAIN}`,
      jti: randomUUID(), org_code: `org_${hex(6)}`, permissions: [], scp: ["openid", "profile", "email", "offline"], sub,
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "logto (ES384)",
    route: "logto",
    webhook: "logto",
    user: () => alnum(12, "abcdefghijklmnopqrstuvwxyz0123456789"),
    expect: (u) => u,
    key: () => s.idp.keys.logto,
    // A Logto access token for an API resource.
    claims: (sub, now) => ({
      jti: alnum(21), sub, iat: now, exp: now + 3600, scope: "", client_id: alnum(21, "abcdefghijklmnopqrstuvwxyz0123456789"),
      iss: `${LOGTO_ENDPOINT}/oidc`, aud: LOGTO_AUDIENCE,
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "okta (user id in uid)",
    route: "okta",
    webhook: "okta",
    user: () => `00u${alnum(17)}`,
    expect: (u) => `${PREFIX.okta}${u}`,
    key: () => s.idp.keys.okta,
    // An Okta access token: the login in `sub`, the user id in `uid`.
    claims: (uid, now) => ({
      ver: 1, jti: `AT.${alnum(43)}`, iss: OKTA_ISSUER, aud: OKTA_AUDIENCE, iat: now, exp: now + 3600,
      cid: `0oa${alnum(17)}`, uid, scp: ["openid", "profile", "email"], auth_time: now - 20, sub: "ada.okta@example.com",
    }),
    profile: { Nick: null, FaceUrl: null },
  },
  {
    name: "zitadel (EdDSA)",
    route: "zitadel",
    webhook: "zitadel",
    user: () => `${randomInt(1, 10)}${Array.from({ length: 17 }, () => randomInt(10)).join("")}`,
    expect: (u) => `${PREFIX.zitadel}${u}`,
    key: () => s.idp.keys.zitadel,
    // A ZITADEL JWT access token.
    claims: (sub, now) => ({
      aud: [ZITADEL_AUDIENCE, `${ZITADEL_AUDIENCE}1@tim-e2e`], client_id: `${ZITADEL_AUDIENCE}1@tim-e2e`,
      exp: now + 43_200, iat: now, iss: ZITADEL_ISSUER, jti: `${ZITADEL_AUDIENCE}${randomInt(1e6)}`, nbf: now, sub,
      name: "Zita Del", given_name: "Zita", family_name: "Del", picture: "https://tim-e2e-x1y2z3.zitadel.cloud/assets/zita.png",
    }),
    profile: { Nick: "Zita Del", FaceUrl: "https://tim-e2e-x1y2z3.zitadel.cloud/assets/zita.png" },
  },
  {
    name: "oidc (OIDC_JWKS_URL)",
    route: "oidc",
    user: () => randomUUID(),
    // "oi_" + a compact UUID is 35 bytes: auto falls back to hash.
    expect: (u) => hashedUserId(u, PREFIX.oidc),
    key: () => s.idp.keys.oidc,
    claims: (sub, now) => ({
      iss: OIDC_ISSUER, aud: OIDC_AUDIENCE, sub, iat: now, exp: now + 600, given_name: "Lin", family_name: "Wei",
      email: "lin@example.com", picture: "https://id.tim-e2e.example/lin.png",
    }),
    profile: { Nick: "Lin Wei", FaceUrl: "https://id.tim-e2e.example/lin.png" },
  },
  {
    name: "oidc (discovery, OIDC_USER_CLAIM=user_id, hash mode)",
    route: "oidc",
    worker: "disc",
    user: () => `emp-${hex(5)}`,
    expect: (u) => hashedUserId(u, PREFIX.disc),
    key: () => s.idp.keys.disc,
    claims: (userId, now) => ({
      iss: `${s.idp.url}/disc`, aud: [DISC_AUDIENCE], sub: `pairwise-${hex(16)}`, user_id: userId,
      iat: now, exp: now + 600, preferred_username: "mo.disc",
    }),
    profile: { Nick: "mo.disc", FaceUrl: null },
  },
];

function supabaseClaims(sub, now) {
  return {
    iss: `${SUPABASE_URL}/auth/v1`, sub, aud: "authenticated", exp: now + 3600, iat: now,
    email: "ada.lovelace@example.com", phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: { email: "ada.lovelace@example.com", email_verified: true, phone_verified: false, sub },
    role: "authenticated", aal: "aal1", amr: [{ method: "password", timestamp: now }],
    session_id: randomUUID(), is_anonymous: false,
  };
}

/** A signed token for `c` and `user` (claims overridden by `extra`; `undefined` removes one). */
async function tokenFor(c, user, extra = {}, header = {}) {
  const claims = { ...c.claims(user, nowS()), ...extra };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return c.token ? c.token(claims) : sign(c.key(), claims, header);
}

const byName = (name) => CASES.find((c) => c.name === name || c.name.startsWith(name));

// ---------------------------------------------------------------------------------------------
// Requests and checks
// ---------------------------------------------------------------------------------------------

/**
 * `POST /login/<route>` (or `method`) on a Worker, read straight from Miniflare: the body is
 * recorded for the leak check with the UserSig cut out. `token` becomes `Authorization: Bearer`;
 * `auth` (a string, or null for none) replaces that header.
 */
async function login(route, token, { worker = s.worker, origin, auth, method = "POST", headers = {} } = {}) {
  const h = { ...headers };
  const authorization = auth === undefined ? (token === undefined ? undefined : `Bearer ${token}`) : auth;
  if (authorization != null) h.authorization = authorization;
  if (origin) h.origin = origin;
  if (token) sentTokens.add(token);
  const what = `${method} /login/${route}`;
  const res = await withTimeout(worker.mf.dispatchFetch(`http://worker.test/login/${route}`, { method, headers: h }), 25_000, what);
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Left null.
  }
  const sig = json?.userSig;
  observe(`response to ${what}`, typeof sig === "string" && sig.length > 0 ? text.replace(sig, "<usersig>") : text);
  return { status: res.status, headers: res.headers, text, json };
}

/** Tencent's base64url variant ('+' '*', '/' '-', '=' '_') of zlib-compressed JSON, decoded. */
function decodeUserSig(sig) {
  const b64 = sig.replaceAll("*", "+").replaceAll("-", "/").replaceAll("_", "=");
  return JSON.parse(inflateSync(Buffer.from(b64, "base64")).toString("utf8"));
}

/**
 * Checks a login UserSig with Tencent's official generator: it is, field for field (TLS.sig
 * included), the document `tls-sig-api-v2` makes for `userId` and `ttl` at the UserSig's own
 * TLS.time, issued within [from, to]. Returns the decoded document.
 */
function assertOfficialUserSig(sig, userId, ttl, { from, to }) {
  const doc = decodeUserSig(sig);
  assert.equal(doc["TLS.identifier"], userId, JSON.stringify({ ...doc, "TLS.sig": "…" }));
  assert.equal(doc["TLS.sdkappid"], Number(SDKAPPID));
  assert.equal(doc["TLS.expire"], ttl, "the UserSig's lifetime is not TIM_LOGIN_USERSIG_TTL");
  assert.equal(doc["TLS.ver"], "2.0");
  assert.ok(!("TLS.userbuf" in doc), "a login UserSig carries no userbuf");
  assert.ok(doc["TLS.time"] >= from - 1 && doc["TLS.time"] <= to + 1, `TLS.time ${doc["TLS.time"]} not in [${from}, ${to}]`);
  const realNow = Date.now;
  let official;
  Date.now = () => doc["TLS.time"] * 1000;
  try {
    official = new TLSSigAPIv2.Api(Number(SDKAPPID), TIM_KEY).genUserSig(userId, ttl);
  } finally {
    Date.now = realNow;
  }
  assert.deepEqual(doc, decodeUserSig(official), "the UserSig is not the one tls-sig-api-v2 makes");
  return doc;
}

/** The emulator's client-login check (Tencent-shaped answer); the UserSig travels only in its query. */
async function emulatorLogin(userId, sig) {
  const q = new URLSearchParams({ user: userId, usersig: sig });
  const res = await withTimeout(fetch(`${s.emulator.url}/_emulator/login?${q}`, { method: "POST" }), 10_000, "emulator login");
  const text = await res.text();
  observe("emulator POST /_emulator/login", text);
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** GET /userid?provider=&id= on the main Worker (admin token). */
async function lookup(provider, id) {
  const res = await s.request(`/userid?${new URLSearchParams({ provider, id })}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200, `/userid ${provider} ${id}: ${res.text}`);
  return res.json.user_id;
}

/** Asserts a 200 login answer and its UserSig; returns the decoded UserSig. */
function assertLoggedIn(res, userId, window) {
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ["expiresAt", "sdkAppId", "userId", "userSig"]);
  assert.equal(res.json.sdkAppId, Number(SDKAPPID));
  assert.equal(res.json.userId, userId);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  assert.match(res.headers.get("cache-control") ?? "", /no-store/);
  const doc = assertOfficialUserSig(res.json.userSig, userId, TTL, window);
  assert.equal(res.json.expiresAt, doc["TLS.time"] + TTL, "expiresAt is not TLS.time + TTL");
  return doc;
}

/** The same fixed message for every refusal of one code (the reason goes only to the log). */
const refusalMessages = { token_missing: new Set(), invalid_token: new Set() };

/**
 * Sends and asserts a 401 `code` that reached no Tencent API (calls and accounts unchanged) and,
 * with `noKeyFetch`, no JWKS or discovery request either.
 */
async function assertRefused(send, code, { noKeyFetch = false, what = "" } = {}) {
  const calls = await s.callTotal();
  const accounts = await s.accounts();
  const fetched = s.idp.total();
  const res = await send();
  assertError(res, 401, code);
  assert.ok(!("userSig" in res.json), `a refusal carried a UserSig: ${what}`);
  refusalMessages[code].add(res.json.message);
  assert.equal(await s.callTotal(), calls, `a refused login reached Tencent: ${what} ${res.text}`);
  assert.deepEqual(await s.accounts(), accounts);
  if (noKeyFetch) assert.equal(s.idp.total(), fetched, `a refused login fetched keys: ${what}`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Every route: 200, the webhook's UserID, an official UserSig, exactly one import
// ---------------------------------------------------------------------------------------------

describe("every provider route logs in with its documented token", () => {
  for (const c of CASES) {
    test(`${c.name}: 200; userId = the webhook mapping; the UserSig verifies (tls-sig-api-v2, emulator); one import over two logins`, opts, async () => {
      const worker = s.workers[c.worker ?? "main"];
      const user = c.user();
      const userId = c.expect(user);
      if (c.webhook) {
        assert.equal(await lookup(c.webhook, user), userId, "the documented rule and /userid disagree");
      } else {
        // No webhook provider for generic OIDC: /userid does not know it.
        const res = await s.request(`/userid?${new URLSearchParams({ provider: "oidc", id: user })}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        assert.equal(res.status, 400, res.text);
      }
      const from = nowS();
      const first = await login(c.route, await tokenFor(c, user), { worker });
      assertLoggedIn(first, userId, { from, to: nowS() });
      // The emulator's own client login accepts it, for this UserID only.
      const ok = await emulatorLogin(userId, first.json.userSig);
      assert.equal(ok.ErrorCode, 0, JSON.stringify(ok));
      assert.equal(ok.Imported, true, "the account was not there when the UserSig was handed out");
      const other = await emulatorLogin(`${userId.slice(0, 30)}zz`, first.json.userSig);
      assert.notEqual(other.ErrorCode, 0, "the UserSig logs in another UserID");
      // Just in time: imported once, with the token's profile.
      assert.deepEqual(await s.accounts(), [{ UserID: userId, ...c.profile, imports: 1 }]);
      assert.equal(await s.callTotal(), 1);
      // A second login (a fresh token, as the app would send after a refresh) imports nothing.
      const second = await login(c.route, await tokenFor(c, user, { jti: c.token ? undefined : randomUUID() }), { worker });
      assertLoggedIn(second, userId, { from, to: nowS() });
      assert.equal(await s.callTotal(), 1, "the second login imported again");
      assert.deepEqual(await s.accounts(), [{ UserID: userId, ...c.profile, imports: 1 }]);
    });
  }

  test("the keys were fetched from the *_LOGIN_JWKS_URL of each provider, and OIDC's through discovery", opts, () => {
    for (const p of ["clerk", "supabase", "auth0", "firebase", "workos", "stytch", "kinde", "logto", "okta", "zitadel", "oidc", "disc"]) {
      assert.ok((s.idp.hits[`/${p}/jwks`] ?? 0) >= 1, `/${p}/jwks was never fetched`);
    }
    assert.ok((s.idp.hits["/disc/.well-known/openid-configuration"] ?? 0) >= 1, "no discovery");
    // Cached: one fetch per JWKS for all those logins.
    assert.equal(s.idp.hits["/clerk/jwks"], 1, JSON.stringify(s.idp.hits));
  });

  test("a token signed with the issuer's second published key (rotation) is accepted", opts, async () => {
    const c = byName("auth0");
    const user = c.user();
    const token = await sign(s.idp.keys.auth0Next, c.claims(user, nowS()));
    assertLoggedIn(await login("auth0", token), c.expect(user), { from: nowS() - 1, to: nowS() });
  });

  test("workos: the legacy issuer https://api.workos.com is accepted too", opts, async () => {
    const c = byName("workos");
    const user = c.user();
    const res = await login("workos", await tokenFor(c, user, { iss: "https://api.workos.com" }));
    assertLoggedIn(res, user, { from: nowS() - 1, to: nowS() });
  });

  test("clock skew: exp 30 s ago and nbf/iat 30 s ahead are inside the 60 s leeway", opts, async () => {
    const c = byName("firebase");
    const now = nowS();
    const late = c.user();
    assertLoggedIn(await login("firebase", await tokenFor(c, late, { iat: now - 3600, exp: now - 30 })), late, { from: now - 1, to: nowS() });
    const early = c.user();
    const res = await login("clerk", await tokenFor(byName("clerk"), `user_${alnum(27)}`, { iat: now + 30, nbf: now + 30, exp: now + 90 }));
    assert.equal(res.status, 200, res.text);
    assertLoggedIn(await login("firebase", await tokenFor(c, early, { iat: now + 30 })), early, { from: now - 1, to: nowS() });
  });

  test("the Authorization scheme is case-insensitive (bearer)", opts, async () => {
    const c = byName("kinde");
    const user = c.user();
    const token = await tokenFor(c, user);
    assertLoggedIn(await login("kinde", token, { auth: `bearer ${token}` }), c.expect(user), { from: nowS() - 1, to: nowS() });
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

describe("refusals are 401 with a stable code and reach no upstream", () => {
  // A Worker of its own with nothing cached yet, so "no key fetch" means something.
  let w;
  before(async () => {
    w = await s.startWorker(loginBindings(s.idp));
  });
  const send = (route, token, o = {}) => () => login(route, token, { worker: w, ...o });

  test("no Authorization header, another scheme, an empty bearer → 401 token_missing, no key fetch", opts, async () => {
    const token = await tokenFor(byName("clerk"), `user_${alnum(27)}`);
    await assertRefused(send("clerk"), "token_missing", { noKeyFetch: true, what: "no header" });
    await assertRefused(send("clerk", undefined, { auth: `Basic ${Buffer.from("a:b").toString("base64")}` }), "token_missing", { noKeyFetch: true });
    await assertRefused(send("clerk", undefined, { auth: "Bearer" }), "token_missing", { noKeyFetch: true });
    await assertRefused(send("clerk", undefined, { auth: "Bearer    " }), "token_missing", { noKeyFetch: true });
    await assertRefused(send("clerk", undefined, { auth: token }), "token_missing", { noKeyFetch: true, what: "token without scheme" });
  });

  test("alg none, on every route → 401 invalid_token, no key fetch", opts, async () => {
    for (const c of CASES.filter((c) => !c.worker)) {
      const user = c.user();
      const kid = c.key ? c.key().kid : undefined;
      await assertRefused(send(c.route, unsigned(c.claims(user, nowS()), kid)), "invalid_token", { noKeyFetch: true, what: `${c.name} alg none` });
      // "none" with a signature, and other spellings.
      const good = await tokenFor(c, user);
      for (const alg of ["none", "None", "NONE", ""]) {
        await assertRefused(send(c.route, reheader(good, (h) => { h.alg = alg; })), "invalid_token", { noKeyFetch: true, what: `${c.name} alg ${alg}` });
      }
    }
  });

  test("HS256 keyed with the provider's public key (PEM and JWK) → 401, no key fetch where HS256 is not allowed", opts, async () => {
    const now = nowS();
    for (const c of CASES.filter((c) => c.key && !c.worker)) {
      const key = c.key();
      const claims = c.claims(c.user(), now);
      for (const secret of [key.pem, `${key.pem}\n`, JSON.stringify(key.jwk), key.jwk.n ?? key.jwk.x]) {
        const forged = hmacToken({ alg: "HS256", kid: key.kid, typ: "JWT" }, claims, secret);
        // Supabase accepts HS256 (with its own secret), so the HMAC is checked, but no key is fetched either.
        await assertRefused(send(c.route, forged), "invalid_token", { noKeyFetch: true, what: `${c.name} HS256/public key` });
      }
    }
  });

  test("an algorithm the route does not pin (ES256 on Clerk, ES384 on Supabase, RS256 on the ES256-only OIDC) → 401", opts, async () => {
    const now = nowS();
    const es = await makeKey("ES256", s.idp.keys.clerk.kid);
    await assertRefused(send("clerk", await sign(es, byName("clerk").claims(`user_${alnum(27)}`, now))), "invalid_token", { noKeyFetch: true });
    const es384 = await makeKey("ES384", s.idp.keys.supabase.kid);
    await assertRefused(send("supabase", await sign(es384, supabaseClaims(randomUUID(), now))), "invalid_token", { noKeyFetch: true });
    const disc = byName("oidc (discovery");
    const rs = await makeKey("RS256", s.idp.keys.disc.kid);
    const calls = await s.callTotal();
    const res = await login("oidc", await sign(rs, disc.claims(`emp-${hex(5)}`, now)), { worker: s.workers.disc });
    assertError(res, 401, "invalid_token");
    assert.equal(await s.callTotal(), calls);
  });

  test("key/algorithm confusion inside one JWKS: an ES256 header naming Supabase's RSA key → 401", opts, async () => {
    const rsaSigned = await sign(s.idp.keys.supabaseRsa, supabaseClaims(randomUUID(), nowS()));
    // Sanity: RS256 with that key is accepted by Supabase's rules ...
    assert.equal((await login("supabase", rsaSigned, { worker: w })).status, 200);
    await s.reset();
    // ... but the same key never verifies another algorithm.
    await assertRefused(send("supabase", reheader(rsaSigned, (h) => { h.alg = "ES256"; })), "invalid_token");
    await assertRefused(send("supabase", reheader(rsaSigned, (h) => { h.alg = "EdDSA"; })), "invalid_token");
  });

  test("unknown kid, no kid, a forged key with the published kid, a tampered payload → 401", opts, async () => {
    const now = nowS();
    for (const c of CASES.filter((c) => c.key && !c.worker)) {
      const user = c.user();
      const claims = c.claims(user, now);
      const unpublished = await makeKey(c.key().alg, kidOf("unknown"));
      await assertRefused(send(c.route, await sign(unpublished, claims)), "invalid_token", { what: `${c.name} unknown kid` });
      await assertRefused(send(c.route, await sign(c.key(), claims, { kid: undefined })), "invalid_token", { what: `${c.name} no kid` });
      const rogue = await makeKey(c.key().alg, c.key().kid);
      await assertRefused(send(c.route, await sign(rogue, claims)), "invalid_token", { what: `${c.name} forged` });
      const good = await sign(c.key(), claims);
      const claim = c.route === "okta" ? "uid" : "sub";
      await assertRefused(send(c.route, tamper(good, (x) => { x[claim] = c.user(); })), "invalid_token", { what: `${c.name} tampered` });
      await assertRefused(send(c.route, `${good.slice(0, -4)}AAAA`), "invalid_token", { what: `${c.name} bad signature` });
    }
    // A flood of made-up kids refetches a JWKS at most once (a minute).
    const fetched = s.idp.hits["/clerk/jwks"] ?? 0;
    for (let i = 0; i < 10; i++) {
      const k = await makeKey("RS256", kidOf("flood"));
      await assertRefused(send("clerk", await sign(k, byName("clerk").claims(`user_${alnum(27)}`, now))), "invalid_token");
    }
    assert.ok((s.idp.hits["/clerk/jwks"] ?? 0) - fetched <= 1, `unknown kids fetched the JWKS ${s.idp.hits["/clerk/jwks"] - fetched} times`);
    // Supabase HS256 with another secret.
    await assertRefused(send("supabase", await signHs256(supabaseClaims(randomUUID(), now), randomBytes(32).toString("base64"))), "invalid_token");
  });

  test("expired, no exp, exp not a number, nbf or iat in the future (beyond 60 s) → 401", opts, async () => {
    for (const c of CASES.filter((c) => !c.worker)) {
      const now = nowS();
      const user = c.user();
      const cases = [
        [{ iat: now - 7200, exp: now - 120 }, "expired"],
        [{ exp: undefined }, "no exp"],
        [{ exp: String(now + 600) }, "exp as text"],
        [{ nbf: now + 600, exp: now + 1200 }, "nbf in the future"],
        [{ iat: now + 600, exp: now + 1200 }, "iat in the future"],
      ];
      for (const [extra, what] of cases) {
        await assertRefused(send(c.route, await tokenFor(c, user, extra)), "invalid_token", { what: `${c.name} ${what}` });
      }
    }
  });

  test("wrong iss on every route (another tenant, a trailing-slash variant) → 401", opts, async () => {
    const wrong = {
      clerk: ["https://clerk.evil.example", `${CLERK_API}/`],
      supabase: ["https://zyxwvutsrqponmlkjihg.supabase.co/auth/v1", SUPABASE_URL, "supabase"],
      auth0: [`https://${AUTH0_DOMAIN}`, "https://evil.eu.auth0.com/"],
      firebase: ["https://securetoken.google.com/other-project", `https://securetoken.google.com/${FIREBASE_PROJECT}/`],
      workos: ["https://api.workos.com/user_management/client_01OTHER", "https://api.workos.com/"],
      stytch: ["stytch.com/project-test-00000000-0000-0000-0000-000000000000", `stytch.com/${STYTCH_PROJECT}/`],
      kinde: ["https://evil.kinde.com", `https://${KINDE_DOMAIN}/`],
      logto: [LOGTO_ENDPOINT, `${LOGTO_ENDPOINT}/oidc/`],
      okta: ["https://tim-e2e.okta.com/oauth2/other", "https://tim-e2e.okta.com"],
      zitadel: ["https://evil.zitadel.cloud", `${ZITADEL_ISSUER}/`],
      oidc: ["https://id.evil.example", `${OIDC_ISSUER}/`],
    };
    for (const c of CASES.filter((c) => !c.worker)) {
      for (const iss of wrong[c.route]) {
        await assertRefused(send(c.route, await tokenFor(c, c.user(), { iss })), "invalid_token", { what: `${c.name} iss ${iss}` });
      }
      await assertRefused(send(c.route, await tokenFor(c, c.user(), { iss: undefined })), "invalid_token", { what: `${c.name} no iss` });
    }
    // Another route's valid token.
    await assertRefused(send("auth0", await tokenFor(byName("kinde"), `kp_${hex(16)}`)), "invalid_token");
  });

  test("wrong aud where the provider defines one → 401", opts, async () => {
    const wrong = {
      supabase: ["anon", "service_role", ["other"]],
      auth0: ["https://api.evil.example", [`https://${AUTH0_DOMAIN}/userinfo`]],
      firebase: ["other-project", `${FIREBASE_PROJECT}-x`],
      stytch: [["project-test-00000000-0000-0000-0000-000000000000"]],
      kinde: [["https://api.evil.example"]],
      logto: ["https://api.evil.example"],
      okta: ["api://other"],
      zitadel: [["111111111111111111"]],
      oidc: ["another-client", []],
    };
    for (const c of CASES.filter((c) => !c.worker && wrong[c.route])) {
      for (const aud of wrong[c.route]) {
        await assertRefused(send(c.route, await tokenFor(c, c.user(), { aud })), "invalid_token", { what: `${c.name} aud ${JSON.stringify(aud)}` });
      }
      await assertRefused(send(c.route, await tokenFor(c, c.user(), { aud: undefined })), "invalid_token", { what: `${c.name} no aud` });
    }
  });

  test("clerk: azp not in CLERK_AUTHORIZED_PARTIES → 401; without azp (a native app) → 200", opts, async () => {
    const c = byName("clerk");
    for (const azp of ["https://evil.example", "http://app.tim-e2e.example", `${APP_ORIGIN}.evil.example`, OTHER_APP_ORIGIN]) {
      await assertRefused(send("clerk", await tokenFor(c, c.user(), { azp })), "invalid_token", { what: `azp ${azp}` });
    }
    const user = c.user();
    assertLoggedIn(await login("clerk", await tokenFor(c, user, { azp: undefined }), { worker: w }), user, { from: nowS() - 1, to: nowS() });
  });

  test("supabase: the public anon key and anon/service-role tokens → 401", opts, async () => {
    const now = nowS();
    // The legacy anon key, exactly as Supabase issues it (HS256 with the JWT secret).
    const anonKey = await signHs256({ iss: "supabase", ref: "abcdefghijklmnopqrst", role: "anon", iat: now - 86_400, exp: now + 10 * 365 * 86_400 });
    await assertRefused(send("supabase", anonKey), "invalid_token", { what: "anon key" });
    const base = supabaseClaims(randomUUID(), now);
    for (const extra of [{ role: "anon" }, { role: "anon", aud: "anon" }, { role: "service_role" }, { aud: "anon" }, { sub: undefined, role: "anon", is_anonymous: true }]) {
      const claims = { ...base, ...extra };
      for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
      await assertRefused(send("supabase", await signHs256(claims)), "invalid_token", { what: `HS256 ${JSON.stringify(extra)}` });
      await assertRefused(send("supabase", await sign(s.idp.keys.supabase, claims)), "invalid_token", { what: `ES256 ${JSON.stringify(extra)}` });
    }
  });

  test("okta: a token without uid (the login in sub only) → 401; a user id over 128 bytes → 401", opts, async () => {
    await assertRefused(send("okta", await tokenFor(byName("okta"), `00u${alnum(17)}`, { uid: undefined })), "invalid_token");
    await assertRefused(send("okta", await tokenFor(byName("okta"), `00u${alnum(17)}`, { uid: 12345 })), "invalid_token");
    await assertRefused(send("firebase", await tokenFor(byName("firebase"), "u".repeat(129))), "invalid_token");
  });

  test("tokens over 8 KiB → 401 token_missing without a key fetch; exactly 8 KiB is accepted", opts, async () => {
    const c = byName("firebase");
    // Search padded tokens for one of exactly 8192 bytes and the shortest one above (base64url
    // never makes a length of 4k + 1, so the header's typ is varied too).
    let exact;
    let over;
    for (const typ of ["JWT", undefined, "at+jwt"]) {
      const user = c.user();
      const claims = c.claims(user, nowS());
      const base = (await sign(c.key(), { ...claims, pad: "" }, { typ })).length;
      const guess = Math.floor(((8192 - base) * 3) / 4);
      for (let pad = guess - 8; pad < guess + 8 && !(exact && over); pad++) {
        const t = await sign(c.key(), { ...claims, pad: "x".repeat(pad) }, { typ });
        if (t.length === 8192) exact ??= { t, user };
        if (t.length > 8192 && t.length <= 8195) over ??= t;
      }
      if (exact && over) break;
    }
    assert.ok(exact && over, "test bug: no padded token of exactly 8192 bytes");
    await assertRefused(send("firebase", over), "token_missing", { noKeyFetch: true, what: `${over.length} bytes` });
    await assertRefused(send("firebase", `${"a".repeat(9000)}.${"b".repeat(9000)}.c`), "token_missing", { noKeyFetch: true });
    assertLoggedIn(await login("firebase", exact.t, { worker: w }), exact.user, { from: nowS() - 5, to: nowS() });
  });

  test("not a JWS (garbage, two parts, JWE-like five parts, bad base64) → 401 invalid_token, no key fetch", opts, async () => {
    const good = await tokenFor(byName("auth0"), `auth0|${hex(12)}`);
    const [h, p, sig] = good.split(".");
    for (const t of ["x", "x.y.z", `${h}.${p}`, `${h}.${p}.${sig}.${sig}.${sig}`, `${h}.!!!.${sig}`, `!!!.${p}.${sig}`, `${h}.${p}.`]) {
      await assertRefused(send("auth0", t), "invalid_token", { noKeyFetch: true, what: t.slice(0, 40) });
    }
    // A header with a critical extension nobody understands.
    await assertRefused(send("auth0", reheader(good, (x) => { x.crit = ["exp"]; x.exp = 1; })), "invalid_token");
  });

  test("every refusal of one code carries the same message, naming no reason", opts, () => {
    assert.equal(refusalMessages.invalid_token.size, 1, [...refusalMessages.invalid_token].join(" | "));
    assert.equal(refusalMessages.token_missing.size, 1, [...refusalMessages.token_missing].join(" | "));
    for (const m of [...refusalMessages.invalid_token, ...refusalMessages.token_missing]) {
      assert.doesNotMatch(m, /exp|iss|aud|azp|kid|alg|signature|anon|8 KiB/i, m);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Not configured, unknown, wrong method
// ---------------------------------------------------------------------------------------------

describe("routes", () => {
  test("a provider whose login settings are absent → 404 provider_not_configured naming them, no call", opts, async () => {
    const token = await tokenFor(byName("clerk"), `user_${alnum(27)}`);
    const expected = {
      clerk: "CLERK_FRONTEND_API", supabase: "SUPABASE_URL", auth0: "AUTH0_DOMAIN", firebase: "FIREBASE_PROJECT_ID",
      workos: "WORKOS_CLIENT_ID", stytch: "STYTCH_PROJECT_ID", kinde: "KINDE_DOMAIN", logto: "LOGTO_ENDPOINT",
      okta: "OKTA_ISSUER", zitadel: "ZITADEL_ISSUER",
    };
    for (const [route, setting] of Object.entries(expected)) {
      const res = await login(route, token, { worker: s.workers.disc });
      assertError(res, 404, "provider_not_configured");
      assert.match(res.json.message, new RegExp(setting), res.text);
    }
    assert.equal(await s.callTotal(), 0);
  });

  test("an unknown provider → 404 not_found; GET → 405", opts, async () => {
    assertError(await login("nope", "x.y.z"), 404, "not_found");
    assertError(await login("standard", "x.y.z"), 404, "not_found");
    const get = await login("clerk", "x.y.z", { method: "GET" });
    assertError(get, 405, get.json?.error);
  });
});

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

describe("CORS (TIM_ALLOWED_ORIGINS)", () => {
  const preflight = (origin, route = "clerk") =>
    login(route, undefined, {
      method: "OPTIONS",
      origin,
      headers: { "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });

  test("a preflight from an allowed origin → 204 with Allow-Origin, Allow-Methods POST, Allow-Headers Authorization, Vary: Origin", opts, async () => {
    for (const origin of [APP_ORIGIN, OTHER_APP_ORIGIN]) {
      const res = await preflight(origin);
      assert.equal(res.status, 204, res.text);
      assert.equal(res.headers.get("access-control-allow-origin"), origin);
      assert.match(res.headers.get("vary") ?? "", /\bOrigin\b/i);
      assert.match(res.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
      assert.match(res.headers.get("access-control-allow-headers") ?? "", /\bauthorization\b/i);
      assert.equal(res.headers.get("access-control-allow-credentials"), null, "no credentials are needed or allowed");
    }
    assert.equal(await s.callTotal(), 0);
  });

  test("a preflight from any other origin → 403 origin_not_allowed without Allow-Origin", opts, async () => {
    for (const origin of ["https://evil.example", `${APP_ORIGIN}.evil.example`, "http://app.tim-e2e.example", "https://app.tim-e2e.example:8443", "null"]) {
      const res = await preflight(origin);
      assertError(res, 403, "origin_not_allowed");
      assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
    }
  });

  test("a login from an allowed origin → 200 with Allow-Origin and Vary: Origin; a refusal to it is readable too", opts, async () => {
    const c = byName("clerk");
    const user = c.user();
    const res = await login("clerk", await tokenFor(c, user), { origin: APP_ORIGIN });
    assertLoggedIn(res, user, { from: nowS() - 1, to: nowS() });
    assert.equal(res.headers.get("access-control-allow-origin"), APP_ORIGIN);
    assert.match(res.headers.get("vary") ?? "", /\bOrigin\b/i);
    const bad = await login("clerk", "x.y.z", { origin: APP_ORIGIN });
    assertError(bad, 401, "invalid_token");
    assert.equal(bad.headers.get("access-control-allow-origin"), APP_ORIGIN);
    assert.match(bad.headers.get("vary") ?? "", /\bOrigin\b/i);
    const none = await login("clerk", undefined, { origin: APP_ORIGIN });
    assertError(none, 401, "token_missing");
    assert.equal(none.headers.get("access-control-allow-origin"), APP_ORIGIN);
  });

  test("a login from another origin, even with a valid token → 403 origin_not_allowed: no UserSig, no Tencent call", opts, async () => {
    const c = byName("clerk");
    const res = await login("clerk", await tokenFor(c, c.user()), { origin: "https://evil.example" });
    assertError(res, 403, "origin_not_allowed");
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.equal(await s.callTotal(), 0);
    assert.deepEqual(await s.accounts(), []);
  });

  test("without an Origin (a native app, a server) no permission is needed and no CORS header is sent", opts, async () => {
    const c = byName("clerk");
    const user = c.user();
    const res = await login("clerk", await tokenFor(c, user));
    assertLoggedIn(res, user, { from: nowS() - 1, to: nowS() });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  test("a Worker without TIM_ALLOWED_ORIGINS refuses every browser origin, serves native apps", opts, async () => {
    const c = byName("oidc (discovery");
    const user = c.user();
    const token = await tokenFor(c, user);
    assertError(await login("oidc", token, { worker: s.workers.disc, origin: APP_ORIGIN }), 403, "origin_not_allowed");
    assertLoggedIn(await login("oidc", token, { worker: s.workers.disc }), c.expect(user), { from: nowS() - 5, to: nowS() });
  });
});

// ---------------------------------------------------------------------------------------------
// Just-in-time accounts
// ---------------------------------------------------------------------------------------------

describe("just-in-time accounts", () => {
  test("a failed import (Tencent down) does not fail the login; the next login imports", opts, async () => {
    const c = byName("firebase");
    const user = c.user();
    await s.faults({ script: Array(50).fill("502") });
    assertLoggedIn(await login("firebase", await tokenFor(c, user)), user, { from: nowS() - 5, to: nowS() });
    assert.deepEqual(await s.accounts(), []);
    const failed = await s.callTotal();
    assert.ok(failed >= 1, "the first login did not try to import");
    await s.faults({});
    assertLoggedIn(await login("firebase", await tokenFor(c, user)), user, { from: nowS() - 5, to: nowS() });
    const log = s.logs.join("").split("\n").filter((l) => l.includes(user)).join("\n");
    assert.equal(await s.callTotal(), failed + 1, `the second login did not try the import again; the Worker logged:\n${log}`);
    assert.deepEqual(await s.accounts(), [{ UserID: user, ...c.profile, imports: 1 }]);
  });

  test("a Tencent that stalls holds the login at most ~3 s", opts, async () => {
    const c = byName("kinde");
    const user = c.user();
    await s.faults({ script: ["latency:8000"] });
    const t0 = Date.now();
    const res = await login("kinde", await tokenFor(c, user));
    const ms = Date.now() - t0;
    assertLoggedIn(res, c.expect(user), { from: nowS() - 10, to: nowS() });
    assert.ok(ms < 5_000, `the login took ${ms} ms`);
    await s.faults({});
  });

  test("TIM_LOGIN_IMPORT=false: 200 without any Tencent call", opts, async () => {
    const off = await s.startWorker({ ...loginBindings(s.idp), TIM_LOGIN_IMPORT: "false" });
    const c = byName("logto");
    const user = c.user();
    assertLoggedIn(await login("logto", await tokenFor(c, user), { worker: off }), user, { from: nowS() - 1, to: nowS() });
    assert.equal(await s.callTotal(), 0);
    assert.deepEqual(await s.accounts(), []);
    await off.dispose();
  });

  test("a user whose deletion was applied (Clerk user.deleted) → 403 user_deleted, no UserSig, no new account", opts, async () => {
    const c = byName("clerk");
    const user = c.user();
    assertLoggedIn(await login("clerk", await tokenFor(c, user)), user, { from: nowS() - 1, to: nowS() });
    const event = JSON.parse(readFileSync(`${ROOT}tests/fixtures/clerk_user_deleted.json`, "utf8"));
    event.data.id = user;
    const del = await s.deliverSigned(event);
    assert.equal(del.status, 200, del.text);
    const calls = await s.callTotal();
    const res = await login("clerk", await tokenFor(c, user));
    assertError(res, 403, "user_deleted");
    assert.ok(!("userSig" in res.json));
    assert.equal(await s.callTotal(), calls, "a deleted user's login reached Tencent");
  });
});

// ---------------------------------------------------------------------------------------------
// Configuration: plain http only for loopback
// ---------------------------------------------------------------------------------------------

describe("<P>_LOGIN_JWKS_URL: http:// only for loopback", () => {
  test("an http:// JWKS URL on another host → 500 config_invalid naming the setting, no fetch", opts, async () => {
    for (const url of ["http://jwks.tim-e2e.example/jwks", "http://127.0.0.1.nip.io/jwks", "http://localhostx/jwks"]) {
      const w = await s.startWorker({ ...loginBindings(s.idp), AUTH0_LOGIN_JWKS_URL: url });
      const res = await login("auth0", await tokenFor(byName("auth0"), `auth0|${hex(12)}`), { worker: w });
      assertError(res, 500, "config_invalid");
      assert.match(res.json.message, /AUTH0_LOGIN_JWKS_URL/);
      assert.ok(!res.text.includes(url), "the message echoes the setting's value");
      await w.dispose();
    }
  });

  // A userinfo part makes a loopback-looking prefix name another host: `http://localhost:@host/`
  // is host `host`, user `localhost`, empty password (WHATWG URL), and workerd's fetch() goes to
  // `host`. These run where this machine has a non-loopback IPv4 address to serve keys from.
  const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  // (Once Worker bugs, fixed: `what` names the hole each test keeps closed.)
  const bug = (what) => ({ ...opts, skip: external ? false : `this machine has no non-loopback IPv4 address (${what})` });

  /** A node:http server on `host` answering `body` (JSON) to every request, counting them. */
  async function serve(host, body) {
    const server = createServer((req, res) => {
      server.hits++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(typeof body === "function" ? body() : body));
    });
    server.hits = 0;
    await new Promise((r) => server.listen(0, host, r));
    server.base = `${server.address().port}`;
    server.stop = async () => {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    };
    return server;
  }

  test(
    "AUTH0_LOGIN_JWKS_URL=http://localhost:@<not loopback>/… → 500 config_invalid, no key fetched over plain http",
    bug("is_loopback_http / jwks_url_setting accept http://localhost:@<any host>"),
    async () => {
      const jwks = await serve(external, { keys: [s.idp.keys.auth0.jwk] });
      try {
        const url = `http://localhost:@${external}:${jwks.base}/auth0/jwks`;
        assert.equal(new URL(url).hostname, external, "test bug: the URL's host is not the external address");
        const w = await s.startWorker({ ...loginBindings(s.idp), AUTH0_LOGIN_JWKS_URL: url });
        const res = await login("auth0", await tokenFor(byName("auth0"), `auth0|${hex(12)}`), { worker: w });
        await w.dispose();
        assert.equal(jwks.hits, 0, `the Worker fetched signing keys over plain http from ${external} and answered ${res.status}`);
        assertError(res, 500, "config_invalid");
      } finally {
        await jwks.stop();
      }
    },
  );

  test(
    "OIDC discovery naming jwks_uri http://127.0.0.1@<not loopback>/… is refused, no key fetched over plain http",
    bug("session::discover accepts any jwks_uri that merely starts with http://127.0.0.1 or http://localhost"),
    async () => {
      const jwks = await serve(external, { keys: [s.idp.keys.oidc.jwk] });
      const jwksUri = `http://127.0.0.1@${external}:${jwks.base}/jwks`;
      const issuer = await serve("127.0.0.1", () => ({ issuer: `http://127.0.0.1:${issuer.base}`, jwks_uri: jwksUri }));
      try {
        assert.equal(new URL(jwksUri).hostname, external, "test bug");
        const iss = `http://127.0.0.1:${issuer.base}`;
        const w = await s.startWorker({ ...loginBindings(s.idp), OIDC_ISSUER: iss, OIDC_JWKS_URL: undefined });
        const c = byName("oidc");
        const res = await login("oidc", await tokenFor(c, c.user(), { iss }), { worker: w });
        await w.dispose();
        assert.ok(issuer.hits >= 1, "test bug: no discovery");
        assert.equal(jwks.hits, 0, `the Worker fetched signing keys over plain http from ${external} and answered ${res.status}`);
        assert.notEqual(res.status, 200, res.text);
      } finally {
        await jwks.stop();
        await issuer.stop();
      }
    },
  );
});

test("no response body, Worker log or emulator output carried a secret, a UserSig or a session token", opts, () => {
  const tokens = [...sentTokens].filter((t) => t.length > 40);
  assert.ok(tokens.length > 50, `test bug: only ${tokens.length} tokens recorded`);
  // Each token's signature part is random and long: it must not appear anywhere.
  const sigs = tokens.map((t) => t.split(".")[2]).filter((x) => x && x.length >= 40);
  assertNoLeaks(observedTexts(), sigs);
});
