// All twelve providers on one deployment: /health reports each; per-provider prefixes keep equal
// raw IDs apart; unconfigured providers are 404; the UserID modes and provider options that need
// their own settings (verbatim/hash modes, Standard's field paths and public-key-only setup,
// Supabase DB's Authorization header, JWKS outage).
import { describe, test } from "node:test";
import { randomUUID } from "node:crypto";
import {
  assert,
  assertError,
  assertNoLeaks,
  assertRetryAfter,
  clerkFixture,
  fullBindings,
  observedTexts,
  svixHeaders,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import {
  allProviderBindings,
  assertAccounts,
  assertLookup,
  assertRefused,
  e2eFixture,
  ed25519Headers,
  firebaseBody,
  firebaseClaims,
  fixture,
  fixtureText,
  hashedUserId,
  kindeClaims,
  kindeHeaders,
  logtoHeaders,
  newId,
  PREFIX,
  PROVIDER_SUITE,
  S,
  signJwt,
  standardHeaders,
  workosHeaders,
  zitadelHeaders,
} from "./provider-harness.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const PROVIDERS = [
  "clerk", "stytch", "standard", "supabase", "supabase-db", "auth0",
  "firebase", "workos", "logto", "kinde", "okta", "zitadel",
];
/** The setting named in each provider's 404 (its switch-on setting). */
const KEY_SETTING = {
  stytch: "STYTCH_WEBHOOK_SECRET",
  standard: "STANDARD_WEBHOOK_SECRET",
  supabase: "SUPABASE_HOOK_SECRET",
  "supabase-db": "SUPABASE_DB_WEBHOOK_SECRET",
  auth0: "AUTH0_WEBHOOK_TOKEN",
  firebase: "FIREBASE_PROJECT_ID",
  workos: "WORKOS_WEBHOOK_SECRET",
  logto: "LOGTO_SIGNING_KEY",
  kinde: "KINDE_DOMAIN",
  okta: "OKTA_WEBHOOK_SECRET",
  zitadel: "ZITADEL_SIGNING_KEY",
};

const s = suite({
  ...PROVIDER_SUITE,
  workers: {
    // every provider, default modes
    all: {},
    // the pre-provider configuration: only CLERK_WEBHOOK_SECRET
    clerkOnly: (s) => fullBindings(s.emulator, { TIM_ADMIN_TOKEN: S.adminToken }),
    // every provider, with non-default modes and options
    tuned: {
      AUTH0_USERID_MODE: "verbatim",
      KINDE_USERID_MODE: "verbatim",
      STYTCH_USERID_MODE: "hash",
      SUPABASE_DB_WEBHOOK_HEADER: "authorization",
      STANDARD_WEBHOOK_SECRET: undefined,
      STANDARD_EVENT_TYPES: "member.signup, account.opened",
      STANDARD_TYPE_PATH: "event",
      STANDARD_USER_ID_PATH: "payload.members.0.uid",
      STANDARD_NAME_PATH: "payload.members.0.display",
      STANDARD_USERNAME_PATH: "payload.members.0.handle",
      STANDARD_EMAIL_PATH: "payload.members.0.mail",
      STANDARD_FACE_URL_PATH: "payload.members.0.avatar",
    },
    // every provider, JWKS URLs pointing at a closed port
    noKeys: (s) => allProviderBindings(s.emulator, null),
  },
});
const w = s.workers; // w.all, w.clerkOnly, w.tuned, w.noKeys: filled in by the suite's before hook

describe("coexistence", () => {
  test("GET /health with all twelve providers configured: 200, every provider ready", opts, async () => {
    const res = await w.all.health();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.ready, true, res.text);
    assert.deepEqual(Object.keys(res.json.providers).sort(), [...PROVIDERS].sort());
    for (const p of PROVIDERS) assert.equal(res.json.providers[p], "ready", `${p}: ${res.text}`);
  });

  test("the same raw ID from Okta, ZITADEL and Logto lands in three accounts (okta_/zit_ prefixes)", opts, async () => {
    const raw = "00u9sameid0000000042";
    const okta = e2eFixture("okta_user_lifecycle_create.json");
    okta.data.events[0].uuid = randomUUID();
    okta.data.events[0].target[0].id = raw;
    const zit = e2eFixture("zitadel_user_human_added.json");
    zit.aggregateID = raw;
    zit.userID = raw;
    const logto = e2eFixture("logto_post_register.json");
    logto.createdAt = new Date().toISOString();
    logto.user.id = raw;
    const bodies = [JSON.stringify(okta), JSON.stringify(zit), JSON.stringify(logto)];
    const results = [
      await w.all.deliverTo("okta", bodies[0], { authorization: S.okta }),
      await w.all.deliverTo("zitadel", bodies[1], zitadelHeaders(bodies[1])),
      await w.all.deliverTo("logto", bodies[2], logtoHeaders(bodies[2])),
    ];
    const expected = [`${PREFIX.okta}${raw}`, `${PREFIX.zitadel}${raw}`, raw];
    assert.deepEqual(results.map((r) => r.json), expected.map((user_id) => ({ status: "imported", user_id })));
    await assertAccounts(s.emulator, [
      { UserID: expected[0], Nick: "John Doe" },
      { UserID: expected[1], Nick: "Minnie Mouse" },
      { UserID: expected[2], Nick: "Fake User", FaceUrl: "https://fake-service.com/avatars/fake-user.png" },
    ]);
    await assertLookup(w.all, "okta", raw, expected[0]);
    await assertLookup(w.all, "zitadel", raw, expected[1]);
    await assertLookup(w.all, "logto", raw, expected[2]);
  });

  test("without prefixes, Clerk and WorkOS map an equal raw ID to the same account (why prefixes exist)", opts, async () => {
    const raw = `user_${newId("x").slice(2, 22)}`;
    const clerk = clerkFixture();
    clerk.data.id = raw;
    const workos = fixture("workos_user_created.json");
    workos.id = newId("event");
    workos.data.id = raw;
    // Newer than the Clerk event: an older one for the same account would be skipped as stale.
    workos.created_at = new Date().toISOString();
    const cb = JSON.stringify(clerk);
    const wb = JSON.stringify(workos);
    assert.equal((await w.all.deliverTo("clerk", cb, svixHeaders(cb, { secret: S.clerk }))).json?.user_id, raw);
    assert.equal((await w.all.deliverTo("workos", wb, workosHeaders(wb))).json?.user_id, raw);
    const accounts = await s.accounts();
    assert.equal(accounts.length, 1, JSON.stringify(accounts));
    assert.equal(accounts[0].imports, 2);
  });

  test("a deployment with only Clerk answers 404 provider_not_configured (naming the setting) on the 11 others", opts, async () => {
    for (const [p, setting] of Object.entries(KEY_SETTING)) {
      const res = await w.clerkOnly.deliverTo(p, "{}", { authorization: "Bearer x" });
      assertError(res, 404, "provider_not_configured");
      assert.match(res.json.message, new RegExp(setting), `${p}: ${res.text}`);
    }
    const challenge = await w.clerkOnly.request("/webhooks/okta", { headers: { "X-Okta-Verification-Challenge": "abc" } });
    assertError(challenge, 404, "provider_not_configured");
    const health = await w.clerkOnly.health();
    for (const p of Object.keys(KEY_SETTING)) assert.equal(health.json?.providers?.[p], "off", `${p}: ${health.text}`);
    assert.equal(await s.callTotal(), 0);
  });

  test("GET /userid needs the admin token (401 without or with a wrong one)", opts, async () => {
    const q = "/userid?provider=supabase&id=ff7fc9ae-3b1b-4642-9241-64adb9848a03";
    assertError(await w.all.request(q), 401, "unauthorized");
    assertError(await w.all.request(q, { headers: { authorization: `Bearer ${S.otherToken}` } }), 401, "unauthorized");
    const ok = await w.all.request(q, { headers: { authorization: `Bearer ${S.adminToken}` } });
    assert.equal(ok.json?.user_id, "ff7fc9ae3b1b4642924164adb9848a03", ok.text);
    // A short ID outside [A-Za-z0-9_-] has no compact form: hashed, even though it fits.
    await assertLookup(w.all, "firebase", "jo.doe@example.com", hashedUserId("jo.doe@example.com"), "hash");
    // The prefix counts toward the 32 bytes: 27 + "okta_" fits verbatim, 28 + "okta_" is hashed.
    await assertLookup(w.all, "okta", "a".repeat(27), `okta_${"a".repeat(27)}`, "verbatim");
    await assertLookup(w.all, "okta", "a".repeat(28), hashedUserId("a".repeat(28), PREFIX.okta), "hash");
  });
});

describe("modes and options", () => {
  test("AUTH0_USERID_MODE=verbatim: google-oauth2|… (35 bytes) is 400 user_id_too_long, no call; auth0|… stays verbatim", opts, async () => {
    const e = fixture("auth0_event_stream_user_created.json");
    e.id = `evt_${newId("x").slice(2, 24)}`;
    e.data.object.user_id = "google-oauth2|103547991597142817347";
    await assertRefused(s.emulator, () => w.tuned.deliverTo("auth0", JSON.stringify(e), { authorization: `Bearer ${S.auth0Token}` }), 400, "user_id_too_long");
    const doc = await w.tuned.deliverTo("auth0", fixtureText("auth0_event_stream_user_created.json"), { authorization: `Bearer ${S.auth0Token}` });
    assert.deepEqual(doc.json, { status: "imported", user_id: "auth0|679fb1b1e809445f129bc18d" }, doc.text);
    const lookup = await w.tuned.request(`/userid?provider=auth0&id=${encodeURIComponent("google-oauth2|103547991597142817347")}`, {
      headers: { authorization: `Bearer ${S.adminToken}` },
    });
    assertError(lookup, 400, "user_id_too_long");
  });

  test("KINDE_USERID_MODE=verbatim: kp_ + 32 hex (35 bytes) is 400 user_id_too_long, no call", opts, async () => {
    const jwt = await signJwt(kindeClaims({ user: { id: "kp_cfcb1ae5b9254ad99521214014c54f43" }, claims: { event_id: newId("event") } }), s.jwks.keys.kinde);
    await assertRefused(s.emulator, () => w.tuned.deliverTo("kinde", jwt, kindeHeaders()), 400, "user_id_too_long");
  });

  test("STYTCH_USERID_MODE=hash: h + 31 hex of the raw ID, even for a compactable one", opts, async () => {
    const body = fixtureText("stytch_user_create.json");
    const res = await w.tuned.deliverTo("stytch", body, svixHeaders(body, { secret: S.stytch }));
    const expected = hashedUserId("user-test-00000000-0000-0000-0000-000000000000");
    assert.deepEqual(res.json, { status: "imported", user_id: expected }, res.text);
    await assertAccounts(s.emulator, [{ UserID: expected, Nick: "Ada Lovelace" }]);
    await assertLookup(w.tuned, "stytch", "user-test-00000000-0000-0000-0000-000000000000", expected, "hash");
  });

  test("SUPABASE_DB_WEBHOOK_HEADER=authorization: `Bearer <secret>` and the bare secret are accepted", opts, async () => {
    const ids = [];
    for (const auth of [`Bearer ${S.supabaseDb}`, S.supabaseDb]) {
      const e = fixture("supabase_db_insert.json");
      e.record.id = randomUUID();
      ids.push(e.record.id.replaceAll("-", ""));
      const res = await w.tuned.deliverTo("supabase-db", JSON.stringify(e), { authorization: auth });
      assert.equal(res.json?.status, "imported", res.text);
    }
    const e = fixture("supabase_db_insert.json");
    await assertRefused(s.emulator, () => w.tuned.deliverTo("supabase-db", JSON.stringify(e), { "x-webhook-secret": S.supabaseDb }), 401, "signature_missing");
    await assertRefused(s.emulator, () => w.tuned.deliverTo("supabase-db", JSON.stringify(e), { authorization: `Bearer ${S.otherToken}` }), 401, "invalid_signature");
    assert.deepEqual((await s.accounts()).map((a) => a.UserID), ids);
  });

  test("Standard with only a public key and custom field paths/event types", opts, async () => {
    const uid = `mbr-${newId("x").slice(2, 14)}`;
    const event = {
      event: "account.opened",
      payload: { members: [{ uid, display: "Ida Rhodes", handle: "ida", mail: "ida@example.com", avatar: "https://example.com/ida.png" }] },
    };
    const body = JSON.stringify(event);
    const res = await w.tuned.deliverTo("standard", body, ed25519Headers(body));
    assert.deepEqual(res.json, { status: "imported", user_id: uid }, res.text);
    await assertAccounts(s.emulator, [{ UserID: uid, Nick: "Ida Rhodes", FaceUrl: "https://example.com/ida.png" }]);
    // user.created is no longer a signup type here; an HMAC signature cannot verify without a secret.
    const other = JSON.stringify({ ...event, event: "user.created" });
    const ignored = await w.tuned.deliverTo("standard", other, ed25519Headers(other));
    assert.deepEqual(ignored.json, { status: "ignored", event: "user.created" }, ignored.text);
    await assertRefused(s.emulator, () => w.tuned.deliverTo("standard", body, standardHeaders(body, { secret: S.standard })), 401, "invalid_signature");
    assert.equal(await s.callTotal(), 1);
  });

  test("JWKS unreachable: Firebase and Kinde answer 503 signing_keys_unavailable with Retry-After, no call", opts, async () => {
    const fb = await signJwt(firebaseClaims({ uid: `uid${newId("x").slice(2, 20)}` }), s.jwks.keys.firebase);
    const fres = await w.noKeys.deliverTo("firebase", firebaseBody(fb));
    assertError(fres, 503, "signing_keys_unavailable");
    assertRetryAfter(fres);
    const kd = await signJwt(kindeClaims({ claims: { event_id: newId("event") } }), s.jwks.keys.kinde);
    const kres = await w.noKeys.deliverTo("kinde", kd, kindeHeaders());
    assertError(kres, 503, "signing_keys_unavailable");
    assertRetryAfter(kres);
    assert.equal(await s.callTotal(), 0);
  });
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
