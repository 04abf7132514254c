// Client login from a real browser (docs/login.md "With the Web SDK", "CORS"): Debian's headless
// Chromium (/usr/bin/chromium), driven over the DevTools protocol by `playwright-core`, loads an
// app page from a local origin (a node:http server on 127.0.0.1:<A> that is also the test's
// OpenID issuer: discovery, JWKS and a token endpoint signing with `jose`). The page gets a
// session token from it and calls `POST /login/oidc` on the Worker, which is another origin
// (Miniflare's own port), so the browser's CORS rules apply for real:
//   - from the allowed origin A, the preflighted fetch succeeds and the page receives a UserSig
//     that Tencent's official `tls-sig-api-v2` library and the emulator's client login accept;
//     a refusal (401) is readable by the page too;
//   - from origin B (not in TIM_ALLOWED_ORIGINS) the fetch rejects inside the page: the Worker
//     refused the preflight, so the POST was never sent; even a request the browser sends
//     without a preflight is refused by the Worker, and nothing reaches Tencent.
//
// Skipped, with a message, only where /usr/bin/chromium is absent (CI installs Debian's
// `chromium` package). Chromium runs with a fresh --user-data-dir and is stopped by its process
// group after the file.
import { after, before, describe, test } from "node:test";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { chromium } from "playwright-core";
import {
  assert,
  assertNoLeaks,
  hideSecrets,
  listenLocal,
  observe,
  observedTexts,
  SDKAPPID,
  settlesWithin,
  TIM_KEY,
  withTimeout,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const require = createRequire(import.meta.url);
const TLSSigAPIv2 = require("tls-sig-api-v2");

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const opts = { timeout: 60_000 };
const TTL = 900;
const AUDIENCE = "tim-e2e-web";
const PREFIX = "web_";

// ---------------------------------------------------------------------------------------------
// The app's origin: page + OpenID issuer (discovery, JWKS, tokens), one node:http server each
// ---------------------------------------------------------------------------------------------

/** The app page: gets a session token from its own origin, then logs in on the Worker. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tim-e2e chat app</title>
<script>
  async function sessionToken(user) {
    const res = await fetch("/token?user=" + encodeURIComponent(user), { method: "POST" });
    if (!res.ok) throw new Error("token endpoint answered " + res.status);
    return (await res.json()).token;
  }
  // docs/login.md "With the Web SDK": POST /login/<provider> with the session token.
  window.chatLogin = async (workerUrl, user, token) => {
    const t = token ?? (await sessionToken(user));
    try {
      const res = await fetch(workerUrl + "/login/oidc", {
        method: "POST",
        headers: { authorization: "Bearer " + t },
      });
      return { fetched: true, status: res.status, body: await res.json() };
    } catch (e) {
      return { fetched: false, name: e.name, message: String(e.message) };
    }
  };
  // A request a browser sends without a preflight (no custom header).
  window.simplePost = async (workerUrl) => {
    try {
      const res = await fetch(workerUrl + "/login/oidc", { method: "POST" });
      return { fetched: true, status: res.status };
    } catch (e) {
      return { fetched: false, name: e.name, message: String(e.message) };
    }
  };
</script>
<h1>chat</h1>
`;

/** Every token the issuer made, for the leak check. */
const issued = [];

/**
 * A node:http server on 127.0.0.1: `GET /` the app page; `POST /token?user=` a session token
 * (RS256, jose) for that user from `issuer`; `GET /.well-known/openid-configuration` and
 * `GET /jwks` (the issuer's discovery document and keys). `hits` counts requests per path.
 */
async function startSite(key) {
  const hits = {};
  let origin;
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
    const json = (body) => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(PAGE);
    } else if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
      json({ issuer: site.issuer, jwks_uri: `${site.issuer}/jwks`, response_types_supported: ["code"], subject_types_supported: ["public"], id_token_signing_alg_values_supported: ["RS256"] });
    } else if (req.method === "GET" && url.pathname === "/jwks") {
      json({ keys: [key.jwk] });
    } else if (req.method === "POST" && url.pathname === "/token") {
      const now = Math.floor(Date.now() / 1000);
      const user = url.searchParams.get("user");
      new SignJWT({ name: `Browser ${user}`, email: `${user}@example.com` })
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
        .setIssuer(site.issuer)
        .setAudience(AUDIENCE)
        .setSubject(user)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(key.privateKey)
        .then((token) => {
          issued.push(token);
          json({ token });
        }, (e) => {
          res.writeHead(500).end(String(e));
        });
    } else {
      res.writeHead(404).end();
    }
  });
  origin = await listenLocal(server);
  const site = {
    origin,
    /** The `iss` its tokens carry and its discovery names (origin B: origin A's). */
    issuer: origin,
    key,
    hits,
    async close() {
      server.closeAllConnections?.();
      await withTimeout(new Promise((r) => server.close(r)), 5_000, "site to close");
    },
  };
  return site;
}

async function issuerKey() {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `web-${randomBytes(6).toString("hex")}`;
  const priv = await exportJWK(privateKey);
  hideSecrets(priv.d, priv.p, priv.q);
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

// ---------------------------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------------------------

/**
 * Starts /usr/bin/chromium with CHROMIUM_FLAGS, a fresh --user-data-dir and a DevTools port
 * chosen by Chromium, in a process group of its own; connects playwright-core to it.
 */
async function launchChromium() {
  const profile = mkdtempSync(join(tmpdir(), "tim-e2e-chromium-"));
  const proc = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-port=0", "about:blank"], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  const exited = new Promise((r) => proc.once("exit", r));
  const stop = async () => {
    const group = (sig) => {
      try {
        process.kill(-proc.pid, sig);
      } catch {
        // Already gone.
      }
    };
    if (proc.exitCode === null && proc.signalCode === null) {
      group("SIGTERM");
      if (!(await settlesWithin(exited, 5_000))) {
        group("SIGKILL");
        await exited;
      }
    }
    group("SIGKILL"); // helpers (zygote, renderers) left in the group
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const endpoint = await withTimeout(
      new Promise((resolve, reject) => {
        proc.once("error", reject);
        proc.once("exit", (code, signal) => reject(new Error(`chromium exited (code ${code}, signal ${signal}): ${stderr.slice(-2000)}`)));
        proc.stderr.setEncoding("utf8");
        proc.stderr.on("data", (d) => {
          stderr += d;
          const m = stderr.match(/DevTools listening on (ws:\/\/\S+)/);
          if (m) resolve(m[1]);
        });
      }),
      30_000,
      "chromium to open its DevTools port",
    );
    const browser = await chromium.connectOverCDP(endpoint, { timeout: 30_000 });
    return { browser, stop, stderr: () => stderr };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// UserSig checks (the official library; the emulator)
// ---------------------------------------------------------------------------------------------

function decodeUserSig(sig) {
  const b64 = sig.replaceAll("*", "+").replaceAll("-", "/").replaceAll("_", "=");
  return JSON.parse(inflateSync(Buffer.from(b64, "base64")).toString("utf8"));
}

/** The UserSig is, TLS.sig included, what tls-sig-api-v2 makes for `userId`/`ttl` at its TLS.time. */
function assertOfficialUserSig(sig, userId, ttl) {
  const doc = decodeUserSig(sig);
  assert.equal(doc["TLS.identifier"], userId);
  assert.equal(doc["TLS.sdkappid"], Number(SDKAPPID));
  assert.equal(doc["TLS.expire"], ttl);
  assert.ok(Math.abs(doc["TLS.time"] - Date.now() / 1000) < 60, `TLS.time ${doc["TLS.time"]}`);
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

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

if (!existsSync(CHROMIUM)) {
  test("browser login (real Chromium)", {
    skip: `${CHROMIUM} is not installed: apt-get install -y chromium (CI's .ci/run installs it)`,
  }, () => {});
} else {
  const s = suite({
    services: {
      // Origin A: the app and its OpenID issuer; origin B: the same app elsewhere.
      site: async () => startSite(await issuerKey()),
      // Origin B signs with origin A's issuer and key: its page holds a token the Worker would
      // accept, so only the origin check can stop it.
      other: async (s) => {
        const site = await startSite(s.site.key);
        site.issuer = s.site.issuer;
        return site;
      },
    },
    workers: {
      main: (s) => s.bindings({
        OIDC_ISSUER: s.site.issuer,
        OIDC_AUDIENCE: AUDIENCE,
        OIDC_USERID_PREFIX: PREFIX,
        TIM_ALLOWED_ORIGINS: s.site.origin,
        TIM_LOGIN_USERSIG_TTL: String(TTL),
      }),
    },
  });

  let chrome;
  before(async () => {
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.browser.close().catch(() => {});
    await chrome?.stop();
  });

  /** A fresh browser context with the app page of `site` loaded. */
  async function openApp(site) {
    const context = await chrome.browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${site.origin}/`, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => location.origin), site.origin);
    assert.notEqual(new URL(s.url).origin, site.origin, "test bug: the Worker and the page share an origin");
    return { page, context, errors };
  }

  /** The Worker's "refused" log lines for /login/oidc. */
  function refusedLines() {
    return s.logs
      .join("")
      .split("\n")
      .flatMap((l) => {
        const m = l.match(/\{.*"tim":"refused".*\}/);
        if (!m) return [];
        try {
          return [JSON.parse(m[0])];
        } catch {
          return [];
        }
      })
      .filter((r) => r.path === "/login/oidc");
  }

  describe("a real browser", () => {
    test("a page on an allowed origin gets a token from its issuer, logs in cross-origin and receives a working UserSig", opts, async () => {
      const user = `alice-${randomBytes(4).toString("hex")}`;
      const userId = `${PREFIX}${user}`;
      const { page, context, errors } = await openApp(s.site);
      try {
        const got = await page.evaluate(([url, u]) => window.chatLogin(url, u), [s.url, user]);
        assert.equal(got.fetched, true, `the fetch failed in the page: ${JSON.stringify(got)}`);
        assert.equal(got.status, 200, JSON.stringify({ ...got, body: { ...got.body, userSig: "…" } }));
        observe("browser login body", JSON.stringify({ ...got.body, userSig: "<usersig>" }));
        assert.deepEqual(Object.keys(got.body).sort(), ["expiresAt", "sdkAppId", "userId", "userSig"]);
        assert.equal(got.body.userId, userId);
        assert.equal(got.body.sdkAppId, Number(SDKAPPID));
        const doc = assertOfficialUserSig(got.body.userSig, userId, TTL);
        assert.equal(got.body.expiresAt, doc["TLS.time"] + TTL);
        // The emulator's client login accepts it, for this UserID.
        const q = new URLSearchParams({ user: userId, usersig: got.body.userSig });
        const res = await withTimeout(fetch(`${s.emulator.url}/_emulator/login?${q}`, { method: "POST" }), 10_000, "emulator login");
        const text = await res.text();
        observe("emulator POST /_emulator/login", text);
        assert.equal(JSON.parse(text).ErrorCode, 0, text);
        assert.equal(JSON.parse(text).Imported, true, text);
        // Just in time, with the token's name; the keys came through the issuer's discovery.
        assert.deepEqual(await s.accounts(), [{ UserID: userId, Nick: `Browser ${user}`, FaceUrl: null, imports: 1 }]);
        assert.ok(s.site.hits["/.well-known/openid-configuration"] >= 1 && s.site.hits["/jwks"] >= 1, JSON.stringify(s.site.hits));
        assert.ok(s.site.hits["/token"] >= 1);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    test("the allowed page can read a refusal (401 invalid_token) too", opts, async () => {
      const { page, context } = await openApp(s.site);
      try {
        const got = await page.evaluate(([url]) => window.chatLogin(url, "x", "not.a.token"), [s.url]);
        assert.equal(got.fetched, true, JSON.stringify(got));
        assert.equal(got.status, 401);
        assert.equal(got.body.error, "invalid_token");
        assert.equal(await s.callTotal(), 0);
      } finally {
        await context.close();
      }
    });

    test("a page on an origin not in TIM_ALLOWED_ORIGINS: the browser's CORS check rejects the fetch; nothing reaches Tencent", opts, async () => {
      const user = `mallory-${randomBytes(4).toString("hex")}`;
      const before = refusedLines().length;
      const { page, context } = await openApp(s.other);
      try {
        // The page holds a token the Worker would accept (same issuer and key) ...
        const got = await page.evaluate(([url, u]) => window.chatLogin(url, u), [s.url, user]);
        assert.equal(got.fetched, false, `the page read the Worker's answer: ${JSON.stringify({ ...got, body: got.body && { ...got.body, userSig: "…" } })}`);
        assert.equal(got.name, "TypeError", JSON.stringify(got));
        assert.ok(s.other.hits["/token"] >= 1, "test bug: the page got no token");
        // ... but the Worker refused the preflight, so the browser never sent the POST.
        const lines = refusedLines().slice(before);
        assert.ok(
          lines.some((l) => l.method === "OPTIONS" && l.error === "origin_not_allowed" && l.status === 403),
          `no refused preflight in the Worker's log: ${JSON.stringify(lines)}`,
        );
        assert.ok(!lines.some((l) => l.method === "POST"), `the browser sent the POST: ${JSON.stringify(lines)}`);
        // A request the browser sends without a preflight is refused by the Worker itself and
        // is unreadable to the page.
        const simple = await page.evaluate(([url]) => window.simplePost(url), [s.url]);
        assert.equal(simple.fetched, false, JSON.stringify(simple));
        assert.equal(simple.name, "TypeError");
        const after = refusedLines().slice(before);
        assert.ok(
          after.some((l) => l.method === "POST" && l.error === "origin_not_allowed"),
          `the simple POST was not refused by the Worker: ${JSON.stringify(after)}`,
        );
        assert.equal(await s.callTotal(), 0, "a blocked page's login reached Tencent");
        assert.deepEqual(await s.accounts(), []);
      } finally {
        await context.close();
      }
    });
  });

  test("no response body, Worker log or emulator output carried a secret, a UserSig or a session token", () => {
    const sigs = issued.map((t) => t.split(".")[2]);
    assert.ok(sigs.length >= 2, "test bug: no tokens issued");
    assertNoLeaks(observedTexts(), sigs);
  });
}
