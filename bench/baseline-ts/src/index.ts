// The TypeScript Worker a user would write instead of tim-onboard: the benchmark baseline.
//
// Same job and status codes as tim-onboard's POST /webhooks/clerk, written the idiomatic way:
// the official `standardwebhooks` package verifies the Svix signature (as Clerk's own
// `verifyWebhook` does), the official `tls-sig-api-v2` package signs the admin UserSig (under
// `nodejs_compat`), the UserSig is cached for the isolate's life and renewed at half-life, and
// account_import is called with `fetch`, retrying transient answers a few times.
//
// POST /login/oidc is tim-onboard's client login for a generic OIDC provider (docs/login.md):
// `jose` verifies the bearer token (createRemoteJWKSet + jwtVerify, with the issuer, audience and
// algorithms pinned), the user's first login in an isolate imports the account just in time (a
// failed import does not fail the login), and `tls-sig-api-v2` signs the user's UserSig; the
// answer is {"sdkAppId","userId","userSig","expiresAt"}, as tim-onboard's.
// Region auto-detection (request.cf), OIDC discovery (the benchmark sets OIDC_JWKS_URL), CORS and
// the deleted-user check are left out: they are not exercised by the benchmark.

import { Webhook, WebhookVerificationError } from "standardwebhooks";
// The package.json of tls-sig-api-v2 1.0.2 names two "main" files and bundlers pick the missing one.
import { Api } from "tls-sig-api-v2/TLSSigAPIv2.js";
import { createRemoteJWKSet, errors as jose, jwtVerify, type JWTPayload } from "jose";

export interface Env {
  TIM_SDKAPPID?: string;
  TIM_SECRET_KEY?: string;
  CLERK_WEBHOOK_SECRET?: string;
  TIM_ADMIN?: string;
  TIM_REGION?: string;
  TIM_BASE_URL?: string;
  TIM_USERSIG_TTL?: string;
  TIM_LOGIN_USERSIG_TTL?: string;
  OIDC_ISSUER?: string;
  OIDC_AUDIENCE?: string;
  OIDC_JWKS_URL?: string;
  OIDC_ALGORITHMS?: string;
}

const MAX_BODY_BYTES = 256 * 1024;
const MAX_PROFILE_BYTES = 500;
const DOMAINS: Record<string, string> = {
  china: "console.tim.qq.com",
  singapore: "adminapisgp.im.qcloud.com",
  seoul: "adminapikr.im.qcloud.com",
  tokyo: "adminapijpn.im.qcloud.com",
  frankfurt: "adminapiger.im.qcloud.com",
  "silicon-valley": "adminapiusa.im.qcloud.com",
  jakarta: "adminapiidn.im.qcloud.com",
};
const TRANSIENT = new Set([60008, 70169, 70202, 70500, 40006, 30006, 30007, 90992, 90994, 90995, 91000]);
const RATE_LIMITED = new Set([60007, 60011, 60018, 60019, 70114]);
const WRONG_REGION = new Set([70016, 70020, 60006]);
const PAYLOAD_REJECTED = new Set([40601, 70402]);
const MAX_ATTEMPTS = 4;
const MAX_TOKEN_BYTES = 8 * 1024;
const IMPORT_BUDGET_MS = 3000;

interface ClerkUser {
  id?: string;
  first_name?: string | null;
  last_name?: string | null;
  username?: string | null;
  image_url?: string | null;
  profile_image_url?: string | null;
  primary_email_address_id?: string | null;
  email_addresses?: { id?: string; email_address?: string }[];
}

interface Config {
  sdkappid: number;
  key: string;
  admin: string;
  ttl: number;
  origin: string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const error = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  json(status, { error: code, message }, headers);

class ConfigError extends Error {
  constructor(readonly code: "config_missing" | "config_invalid", message: string) {
    super(message);
  }
}

function loadConfig(env: Env): Config {
  const need = (name: keyof Env) => {
    const v = env[name]?.trim();
    if (!v) throw new ConfigError("config_missing", `${name} is not set`);
    return v;
  };
  const sdkappid = Number(need("TIM_SDKAPPID"));
  if (!Number.isSafeInteger(sdkappid) || sdkappid <= 0) throw new ConfigError("config_invalid", "TIM_SDKAPPID is not a number");
  const ttl = Number(env.TIM_USERSIG_TTL ?? 86400);
  if (!Number.isInteger(ttl) || ttl < 300) throw new ConfigError("config_invalid", "TIM_USERSIG_TTL is invalid");
  const region = (env.TIM_REGION ?? "singapore").trim().toLowerCase();
  const origin = env.TIM_BASE_URL?.replace(/\/+$/, "") || `https://${DOMAINS[region] ?? DOMAINS.singapore}`;
  return { sdkappid, key: need("TIM_SECRET_KEY"), admin: env.TIM_ADMIN?.trim() || "administrator", ttl, origin };
}

// Isolate-level caches: the decoded webhook secret and the admin UserSig.
let webhook: { secret: string; wh: Webhook } | undefined;
let adminSig: { cacheKey: string; madeAt: number; sig: string } | undefined;

function verifier(secret: string): Webhook {
  if (webhook?.secret !== secret) webhook = { secret, wh: new Webhook(secret) };
  return webhook.wh;
}

function adminUserSig(cfg: Config): string {
  const now = Math.floor(Date.now() / 1000);
  const cacheKey = `${cfg.sdkappid}/${cfg.admin}/${cfg.ttl}/${cfg.key}`;
  if (!adminSig || adminSig.cacheKey !== cacheKey || now - adminSig.madeAt >= cfg.ttl / 2) {
    adminSig = { cacheKey, madeAt: now, sig: new Api(cfg.sdkappid, cfg.key).genUserSig(cfg.admin, cfg.ttl) };
  }
  return adminSig.sig;
}

const utf8 = new TextEncoder();
const byteLength = (s: string) => utf8.encode(s).length;

function truncateUtf8(s: string, max: number): string {
  while (byteLength(s) > max) s = s.slice(0, -1);
  return s;
}

interface Profile {
  Nick?: string;
  FaceUrl?: string;
}

function limitProfile(nick: string | undefined, face: string | undefined): Profile {
  return {
    Nick: nick ? truncateUtf8(nick, MAX_PROFILE_BYTES) : undefined,
    FaceUrl: face && byteLength(face) <= MAX_PROFILE_BYTES ? face : undefined,
  };
}

function profile(user: ClerkUser): Profile {
  const email =
    user.email_addresses?.find((e) => e.id && e.id === user.primary_email_address_id) ?? user.email_addresses?.[0];
  const fullName = [user.first_name, user.last_name].map((s) => s?.trim()).filter(Boolean).join(" ");
  const nick = fullName || user.username?.trim() || email?.email_address?.split("@")[0]?.trim();
  const face = (user.image_url || user.profile_image_url)?.trim();
  return limitProfile(nick, face);
}

async function importAccount(cfg: Config, userId: string, prof: Profile): Promise<Response> {
  const body = JSON.stringify({ UserID: userId, ...prof });
  let last = "no attempt";
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (attempt - 2), 2000) * (0.5 + Math.random() / 2)));
    const random = crypto.getRandomValues(new Uint32Array(1))[0];
    const url =
      `${cfg.origin}/v4/im_open_login_svc/account_import?sdkappid=${cfg.sdkappid}` +
      `&identifier=${encodeURIComponent(cfg.admin)}&usersig=${adminUserSig(cfg)}&random=${random}&contenttype=json`;
    let answer: { ActionStatus?: string; ErrorCode?: number; ErrorInfo?: string };
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(4000),
      });
      if (res.status !== 200) {
        last = `HTTP ${res.status}`;
        continue;
      }
      answer = await res.json();
    } catch (e) {
      last = e instanceof Error ? e.name : "network error";
      continue;
    }
    const code = answer.ErrorCode ?? (answer.ActionStatus === "OK" ? 0 : -1);
    if (code === 0) return json(200, { status: "imported", user_id: userId });
    last = `${code}: ${answer.ErrorInfo ?? ""}`;
    if (code === 70001) adminSig = undefined; // expired UserSig: sign again and retry
    else if (code === 70050) return error(503, "tencent_unavailable", last, { "Retry-After": "60" });
    else if (PAYLOAD_REJECTED.has(code)) return error(422, "tencent_rejected_account", last);
    else if (WRONG_REGION.has(code)) return error(502, "tencent_wrong_region", last, { "Retry-After": "300" });
    else if (RATE_LIMITED.has(code)) await new Promise((r) => setTimeout(r, 1000));
    else if (!TRANSIENT.has(code)) return error(502, "tencent_refused", last, { "Retry-After": "300" });
  }
  return error(503, "tencent_unavailable", `Tencent unavailable: ${last}`, { "Retry-After": "30" });
}

async function clerkWebhook(request: Request, env: Env): Promise<Response> {
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) {
    return error(413, "payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const payload = await request.text();
  if (payload.length > MAX_BODY_BYTES) return error(413, "payload_too_large", "request body is too large");

  // Clerk sends svix-* headers; standardwebhooks reads webhook-* (as Clerk's verifyWebhook does).
  const h = (name: string) => request.headers.get(`svix-${name}`) ?? request.headers.get(`webhook-${name}`) ?? "";
  let event: { type?: string; data?: ClerkUser };
  try {
    const wh = verifier(env.CLERK_WEBHOOK_SECRET ?? "");
    event = wh.verify(payload, {
      "webhook-id": h("id"),
      "webhook-timestamp": h("timestamp"),
      "webhook-signature": h("signature"),
    }) as typeof event;
  } catch (e) {
    if (e instanceof WebhookVerificationError) {
      const code = /header/i.test(e.message)
        ? "signature_missing"
        : /timestamp/i.test(e.message)
          ? "timestamp_out_of_tolerance"
          : "invalid_signature";
      return error(401, code, e.message);
    }
    if (e instanceof SyntaxError) return error(400, "malformed_payload", "the body is not JSON");
    return error(500, env.CLERK_WEBHOOK_SECRET ? "config_invalid" : "config_missing", "CLERK_WEBHOOK_SECRET is not a whsec_ secret");
  }

  if (typeof event?.type !== "string") return error(400, "malformed_payload", "no event type");
  if (event.type !== "user.created") return json(200, { status: "ignored", event: event.type });
  const user = event.data;
  if (!user || typeof user.id !== "string" || !user.id) return error(400, "malformed_payload", "data.id is missing");
  if (byteLength(user.id) > 32) return error(400, "user_id_too_long", "the user id is over 32 bytes");
  if (!/^[\x20-\x7e]+$/.test(user.id)) return error(400, "user_id_invalid", "the user id is not printable ASCII");

  let cfg: Config;
  try {
    cfg = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return error(500, e.code, e.message);
    throw e;
  }
  return importAccount(cfg, user.id, profile(user));
}

// ------------------------------------------------------------------------------------------------
// POST /login/oidc
// ------------------------------------------------------------------------------------------------

// Isolate-level: the remote key set (jose caches the fetched JWKS in it) and the users imported.
let keySet: { url: string; keys: ReturnType<typeof createRemoteJWKSet> } | undefined;
const knownUsers = new Set<string>();
const KNOWN_USERS_MAX = 5000;

function remoteKeys(url: string) {
  if (keySet?.url !== url) keySet = { url, keys: createRemoteJWKSet(new URL(url), { timeoutDuration: 2000 }) };
  return keySet.keys;
}

/** The Tencent UserID of a provider user id: verbatim when it fits, else `h` + SHA-256 hex. */
async function mapUserId(sub: string): Promise<string> {
  if (/^[A-Za-z0-9_-]{1,32}$/.test(sub)) return sub;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(sub)));
  return `h${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 31)}`;
}

function claimText(claims: JWTPayload, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = claims[n];
    if (typeof v === "string" && v.trim()) return v.trim();
  }
  return undefined;
}

function tokenProfile(claims: JWTPayload): Profile {
  const given = [claimText(claims, "given_name"), claimText(claims, "family_name")].filter(Boolean).join(" ");
  const nick = given || claimText(claims, "name", "preferred_username", "nickname") || claimText(claims, "email")?.split("@")[0];
  return limitProfile(nick, claimText(claims, "picture"));
}

async function oidcLogin(request: Request, env: Env): Promise<Response> {
  const issuer = env.OIDC_ISSUER?.trim().replace(/\/+$/, "");
  const audience = env.OIDC_AUDIENCE?.trim();
  const jwksUrl = env.OIDC_JWKS_URL?.trim();
  if (!issuer || !audience || !jwksUrl) {
    return error(404, "provider_not_configured", "login with oidc needs OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL");
  }
  const m = /^Bearer +(\S+)$/i.exec(request.headers.get("authorization")?.trim() ?? "");
  if (!m || m[1].length > MAX_TOKEN_BYTES) {
    return error(401, "token_missing", "the login needs Authorization: Bearer <session token>");
  }
  let cfg: Config;
  let ttl: number;
  try {
    cfg = loadConfig(env);
    ttl = Number(env.TIM_LOGIN_USERSIG_TTL ?? 86400);
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > 30 * 86400) throw new ConfigError("config_invalid", "TIM_LOGIN_USERSIG_TTL is invalid");
  } catch (e) {
    if (e instanceof ConfigError) return error(500, e.code, e.message);
    throw e;
  }

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(m[1], remoteKeys(jwksUrl), {
      issuer,
      audience,
      algorithms: (env.OIDC_ALGORITHMS ?? "RS256,ES256").split(",").map((a) => a.trim()),
      requiredClaims: ["exp"],
      clockTolerance: 60,
    }));
  } catch (e) {
    // The key set could not be fetched (network error, timeout, not 200, not JSON): 503.
    const keysDown =
      !(e instanceof jose.JOSEError) || e instanceof jose.JWKSTimeout || e instanceof jose.JWKSInvalid || e.code === "ERR_JOSE_GENERIC";
    if (keysDown) return error(503, "signing_keys_unavailable", "the provider's signing keys are unavailable", { "Retry-After": "30" });
    return error(401, "invalid_token", "the session token was not accepted");
  }
  const sub = claims.sub;
  if (typeof sub !== "string" || !sub || byteLength(sub) > 128) return error(401, "invalid_token", "the session token was not accepted");
  const userId = await mapUserId(sub);

  // Just in time: the first login of a user in this isolate imports the account with its profile.
  if (!knownUsers.has(userId)) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const imported = await Promise.race([
      importAccount(cfg, userId, tokenProfile(claims)).then((r) => r.status === 200),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), IMPORT_BUDGET_MS))),
    ]).finally(() => clearTimeout(timer));
    if (imported) {
      if (knownUsers.size >= KNOWN_USERS_MAX) knownUsers.clear();
      knownUsers.add(userId);
    } else console.log(`login of ${userId}: just-in-time import failed`);
  }

  const now = Math.floor(Date.now() / 1000);
  const userSig = new Api(cfg.sdkappid, cfg.key).genUserSig(userId, ttl);
  return json(200, { sdkAppId: cfg.sdkappid, userId, userSig, expiresAt: now + ttl }, { "cache-control": "no-store" });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    const route = pathname === "/webhooks/clerk" ? clerkWebhook : pathname === "/login/oidc" ? oidcLogin : undefined;
    if (!route) return error(404, "not_found", "no route for this path");
    if (request.method !== "POST") return error(405, "method_not_allowed", "use POST", { Allow: "POST" });
    return route(request, env);
  },
} satisfies ExportedHandler<Env>;
