// Providers authenticated by a static credential in a header: Supabase Database Webhooks,
// Auth0 (Event Streams and Log Streams with Bearer/Basic; the Post-User-Registration Action with
// Standard Webhooks signing) and Okta Event Hooks (GET challenge + POST). Byte-identical
// redeliveries are normal for these senders, so a repeated request is a 200 duplicate (no Tencent
// call), not a 401: they get no replay key (`Received::replay_key`, src/webhook/mod.rs; only the Auth0 Action, which is signed per
// attempt, has one).
import {
  describe,
  test,
} from "node:test";
import {
  randomUUID,
} from "node:crypto";
import {
  assert,
  assertNoLeaks,
  observedTexts,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import {
  assertAccounts,
  assertLookup,
  assertNoCall,
  assertRefused,
  compactUuid,
  e2eFixture,
  e2eFixtureText,
  fixture,
  fixtureText,
  hashedUserId,
  newId,
  PREFIX,
  S,
  standardHeaders,
  PROVIDER_SUITE,
} from "./provider-harness.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite(PROVIDER_SUITE);

// ---------------------------------------------------------------------------------------------
describe("supabase-db", () => {
  const DOC_ID = "ff7fc9ae-3b1b-4642-9241-64adb9848a03";
  const send = (body, headers = { "x-webhook-secret": S.supabaseDb }) => s.deliverTo("supabase-db", body, headers);
  const fresh = (over = {}) => {
    const e = fixture("supabase_db_insert.json");
    e.record.id = randomUUID();
    return Object.assign(e, over);
  };

  test("supabase-db: the documented auth.users INSERT imports the compact UUID, Jane Doe, avatar", opts, async () => {
    const res = await send(fixtureText("supabase_db_insert.json"));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "ff7fc9ae3b1b4642924164adb9848a03" });
    await assertAccounts(s.emulator, [
      { UserID: "ff7fc9ae3b1b4642924164adb9848a03", Nick: "Jane Doe", FaceUrl: "https://lh3.googleusercontent.com/a/XYZ" },
    ]);
    await assertLookup(s.worker, "supabase-db", DOC_ID, "ff7fc9ae3b1b4642924164adb9848a03", "compact");
  });

  test("supabase-db: wrong secret, secret in another header, missing header → 401, no call", opts, async () => {
    const body = JSON.stringify(fresh());
    await assertRefused(s.emulator, () => send(body, { "x-webhook-secret": S.otherToken }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { "x-webhook-secret": `${S.supabaseDb}x` }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { "x-webhook-secret": S.supabaseDb.slice(0, -1) }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { authorization: `Bearer ${S.supabaseDb}` }), 401, "signature_missing");
    await assertRefused(s.emulator, () => send(body, {}), 401, "signature_missing");
  });

  test("supabase-db: the identical request again is 200 duplicate without a second call", opts, async () => {
    const e = fresh();
    const body = JSON.stringify(e);
    const first = await send(body);
    assert.deepEqual(first.json, { status: "imported", user_id: compactUuid(e.record.id) }, first.text);
    const again = await assertNoCall(s.emulator, () => send(body));
    assert.deepEqual(again.json, { status: "duplicate", user_id: compactUuid(e.record.id) });
    assert.equal(await s.callTotal(), 1);
  });

  test("supabase-db: UPDATE on auth.users and INSERT on another table are 200 ignored without a call", opts, async () => {
    const upd = fresh({ type: "UPDATE" });
    upd.old_record = { ...upd.record };
    await assertNoCall(s.emulator, () => send(JSON.stringify(upd)), { status: "ignored", event: "UPDATE auth.users (no profile change)" });
    await assertNoCall(s.emulator, () => send(JSON.stringify(fresh({ schema: "public", table: "profiles" }))), {
      status: "ignored",
      event: "INSERT public.profiles",
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe("auth0", () => {
  const bearer = { authorization: `Bearer ${S.auth0Token}` };
  const basic = { authorization: `Basic ${Buffer.from(`${S.auth0User}:${S.auth0Password}`).toString("base64")}` };
  const send = (body, headers = bearer) => s.deliverTo("auth0", body, headers);
  const cloudEvent = (object = {}, type = "user.created") => {
    const e = fixture("auth0_event_stream_user_created.json");
    e.id = `evt_${newId("x").slice(2, 24)}`;
    e.type = type;
    e.data.object.user_id = `auth0|${newId("x").slice(2, 26)}`;
    Object.assign(e.data.object, object);
    return e;
  };
  const logs = () => e2eFixtureText("auth0_log_stream_ss.jsonl").trim().split("\n").map((l) => JSON.parse(l));
  const action = (user = {}) => {
    const e = e2eFixture("auth0_action_post_user_registration.json");
    Object.assign(e.user, user);
    return e;
  };

  test("auth0: the documented Event Stream user.created (Bearer) imports the compact id, nickname, picture", opts, async () => {
    const res = await send(fixtureText("auth0_event_stream_user_created.json"));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "679fb1b1e809445f129bc18d" });
    await assertAccounts(s.emulator, [{ UserID: "679fb1b1e809445f129bc18d", Nick: "nick-testing-21", FaceUrl: "test.png" }]);
    await assertLookup(s.worker, "auth0", "auth0|679fb1b1e809445f129bc18d", "679fb1b1e809445f129bc18d", "compact");
  });

  test("auth0: Basic credentials are accepted; given/family names win; only `name` is the last resort", opts, async () => {
    const a = cloudEvent({ given_name: "Ada", family_name: "Byron" });
    const b = cloudEvent({ name: "Jane Q. Public", nickname: undefined, email: undefined });
    delete b.data.object.nickname;
    delete b.data.object.email;
    for (const e of [a, b]) {
      const res = await send(JSON.stringify(e), basic);
      assert.equal(res.status, 200, res.text);
    }
    const id = (e) => e.data.object.user_id.slice("auth0|".length);
    await assertAccounts(s.emulator, [
      { UserID: id(a), Nick: "Ada Byron", FaceUrl: "test.png" },
      { UserID: id(b), Nick: "Jane Q. Public", FaceUrl: "test.png" },
    ]);
  });

  test("auth0: wrong/missing Authorization (bearer, basic, raw token) → 401, no call", opts, async () => {
    const body = JSON.stringify(cloudEvent());
    await assertRefused(s.emulator, () => send(body, { authorization: `Bearer ${S.otherToken}` }), 401, "invalid_signature");
    const wrongBasic = `Basic ${Buffer.from(`${S.auth0User}:${S.otherToken}`).toString("base64")}`;
    await assertRefused(s.emulator, () => send(body, { authorization: wrongBasic }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { authorization: `Bearer ${S.auth0Password}` }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, {}), 401, "signature_missing");
  });

  test("auth0: a redelivered Event Stream event is 200 duplicate without a second call", opts, async () => {
    const e = cloudEvent();
    const body = JSON.stringify(e);
    assert.equal((await send(body)).status, 200);
    const again = await assertNoCall(s.emulator, () => send(body));
    assert.equal(again.json.status, "duplicate", again.text);
    assert.equal(await s.callTotal(), 1);
  });

  test("auth0: organization.created (CloudEvent) is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, () => send(JSON.stringify(cloudEvent({}, "organization.created"))), { status: "ignored", event: "organization.created" });
  });

  test("auth0: a Log Stream batch of 2 `ss` logs (JSON lines) imports both; google-oauth2 id is hashed", opts, async () => {
    const res = await send(e2eFixtureText("auth0_log_stream_ss.jsonl"));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, {
      status: "processed",
      results: [
        { status: "imported", user_id: "679fb1b1e809445f129bc18d" },
        { status: "imported", user_id: "h7c1cdf721e2c5509e6dc26516af0bd2" },
      ],
    });
    await assertAccounts(s.emulator, [
      { UserID: "679fb1b1e809445f129bc18d", Nick: "nick-testing-21" },
      { UserID: "h7c1cdf721e2c5509e6dc26516af0bd2", Nick: "grace_h" },
    ]);
    assert.equal(hashedUserId("google-oauth2|103547991597142817347"), "h7c1cdf721e2c5509e6dc26516af0bd2");
    await assertLookup(s.worker, "auth0", "google-oauth2|103547991597142817347", "h7c1cdf721e2c5509e6dc26516af0bd2", "hash");
    // Auth0 delivers logs at least once: the same batch again imports nothing.
    const again = await assertNoCall(s.emulator, () => send(e2eFixtureText("auth0_log_stream_ss.jsonl")));
    assert.deepEqual(again.json.results.map((r) => r.status), ["duplicate", "duplicate"], again.text);
  });

  test("auth0: a batch whose 2nd import keeps failing is 503; the resend imports only the 2nd", opts, async () => {
    const batch = logs().map((l) => ({ ...l, log_id: newId("log") }));
    const body = batch.map((l) => JSON.stringify(l)).join("\n");
    // The batch call lists both accounts in FailAccounts; each is then tried alone: the 1st
    // import succeeds, the 2nd gets 70500 (transient) until the budget is spent.
    await s.faults({ script: ["fail_accounts", "ok", ...Array(8).fill("70500")] });
    const res = await send(body);
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json?.error, "tencent_unavailable", res.text);
    await s.faults({});
    const calls = (await s.calls()).total;
    const retry = await send(body);
    assert.deepEqual(retry.json, {
      status: "processed",
      results: [
        { status: "duplicate", user_id: "679fb1b1e809445f129bc18d" },
        { status: "imported", user_id: "h7c1cdf721e2c5509e6dc26516af0bd2" },
      ],
    }, retry.text);
    assert.equal((await s.calls()).total, calls + 1, "the resend imported the 1st user again");
    await assertAccounts(s.emulator, [
      { UserID: "679fb1b1e809445f129bc18d", Nick: "nick-testing-21" },
      { UserID: "h7c1cdf721e2c5509e6dc26516af0bd2", Nick: "grace_h" },
    ]);
  });

  test("auth0: a Log Stream JSON array mixing `ss` and a login (`s`) imports one, ignores one", opts, async () => {
    const [ss, other] = logs();
    ss.log_id = newId("log");
    ss.data.user_id = "office365|10030000838D23AF@MicrosoftOnline.com";
    other.log_id = newId("log");
    other.data.type = "s";
    const res = await send(JSON.stringify([ss, other]));
    assert.equal(res.status, 200, res.text);
    const hashed = hashedUserId("office365|10030000838D23AF@MicrosoftOnline.com");
    assert.deepEqual(res.json, {
      status: "processed",
      results: [{ status: "imported", user_id: hashed }, { status: "ignored", event: "s" }],
    });
    await assertAccounts(s.emulator, [{ UserID: hashed, Nick: "nick-testing-21" }]);
    await assertLookup(s.worker, "auth0", "office365|10030000838D23AF@MicrosoftOnline.com", hashed, "hash");
  });

  test("auth0: the Post-User-Registration Action (Standard Webhooks) imports John Smith with picture", opts, async () => {
    const body = JSON.stringify(action());
    const res = await send(body, standardHeaders(body, { secret: S.auth0Action }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "507f1f77bcf86cd799439020" });
    await assertAccounts(s.emulator, [{ UserID: "507f1f77bcf86cd799439020", Nick: "John Smith", FaceUrl: action().user.picture }]);
  });

  test("auth0: Action wrong secret, forged body, stale, bad signature beside a valid bearer → 401; replay → 401", opts, async () => {
    const e = action({ user_id: `auth0|${newId("x").slice(2, 26)}` });
    const body = JSON.stringify(e);
    await assertRefused(s.emulator, () => send(body, standardHeaders(body, { secret: S.otherWhsec })), 401, "invalid_signature");
    const h = standardHeaders(body, { secret: S.auth0Action });
    await assertRefused(s.emulator, () => send(body.replace("John", "J0hn"), h), 401, "invalid_signature");
    const stale = standardHeaders(body, { secret: S.auth0Action, date: new Date(Date.now() - 301_000) });
    await assertRefused(s.emulator, () => send(body, stale), 401, "timestamp_out_of_tolerance");
    const forgedWithBearer = { ...standardHeaders(body, { secret: S.otherWhsec }), ...bearer };
    await assertRefused(s.emulator, () => send(body, forgedWithBearer), 401, "invalid_signature");

    const msgId = newId();
    const headers = standardHeaders(body, { secret: S.auth0Action, msgId, date: new Date(Date.now() - 2_000) });
    assert.equal((await send(body, headers)).status, 200);
    await assertRefused(s.emulator, () => send(body, headers), 401, "replayed");
    const retry = await assertNoCall(s.emulator, () => send(body, standardHeaders(body, { secret: S.auth0Action, msgId })));
    assert.equal(retry.json.status, "duplicate", retry.text);
  });
});

// ---------------------------------------------------------------------------------------------
describe("okta", () => {
  const DOC_ID = "00u1qw6mqitPHM8AJ0g7";
  const send = (body, headers = { authorization: S.okta }) => s.deliverTo("okta", body, headers);
  const logEvent = (eventType = "user.lifecycle.create", target = {}) => {
    const ev = e2eFixture("okta_user_lifecycle_create.json").data.events[0];
    ev.uuid = randomUUID();
    ev.eventType = eventType;
    Object.assign(ev.target[0], { id: `00u${newId("x").slice(2, 19)}`, ...target });
    return ev;
  };
  const hook = (...events) => {
    const e = e2eFixture("okta_user_lifecycle_create.json");
    e.eventId = randomUUID();
    e.data.events = events;
    return JSON.stringify(e);
  };

  test("okta: the one-time GET verification echoes X-Okta-Verification-Challenge", opts, async () => {
    const challenge = `chal-${newId("x")}`;
    const res = await s.request("/webhooks/okta", { headers: { "X-Okta-Verification-Challenge": challenge } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { verification: challenge });
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const missing = await s.request("/webhooks/okta");
    assert.equal(missing.status, 401, missing.text);
    assert.equal(missing.json?.error, "signature_missing", missing.text);
    assert.equal(await s.callTotal(), 0);
  });

  test("okta: the documented user.lifecycle.create imports the prefixed id and displayName", opts, async () => {
    const res = await send(e2eFixtureText("okta_user_lifecycle_create.json"));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: `${PREFIX.okta}${DOC_ID}` });
    await assertAccounts(s.emulator, [{ UserID: `${PREFIX.okta}${DOC_ID}`, Nick: "John Doe" }]);
    await assertLookup(s.worker, "okta", DOC_ID, `${PREFIX.okta}${DOC_ID}`, "verbatim");
  });

  test("okta: wrong secret, `Bearer <secret>`, missing Authorization → 401, no call", opts, async () => {
    const body = hook(logEvent());
    await assertRefused(s.emulator, () => send(body, { authorization: S.otherToken }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { authorization: `Bearer ${S.okta}` }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { authorization: S.okta.slice(1) }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, {}), 401, "signature_missing");
  });

  test("okta: a batch (create, activate, create) is processed in order; the User target is picked", opts, async () => {
    const a = logEvent();
    a.target.unshift({ id: "0oa1appinstance00001", type: "AppInstance", alternateId: "My App", displayName: "My App" });
    const b = logEvent("user.lifecycle.activate");
    const c = logEvent("user.lifecycle.create", { displayName: "", alternateId: "jane.roe@example.com" });
    const res = await send(hook(a, b, c));
    assert.equal(res.status, 200, res.text);
    const uid = (ev) => `${PREFIX.okta}${ev.target.find((t) => t.type === "User").id}`;
    assert.deepEqual(res.json, {
      status: "processed",
      results: [
        { status: "imported", user_id: uid(a) },
        { status: "ignored", event: "user.lifecycle.activate" },
        { status: "imported", user_id: uid(c) },
      ],
    });
    await assertAccounts(s.emulator, [
      { UserID: uid(a), Nick: "John Doe" },
      { UserID: uid(c), Nick: "jane.roe" },
    ]);
  });

  test("okta: Okta's retry of the same hook is 200 duplicate without a second call", opts, async () => {
    const ev = logEvent();
    const body = hook(ev);
    assert.equal((await send(body)).status, 200);
    const again = await assertNoCall(s.emulator, () => send(body));
    assert.deepEqual(again.json, { status: "duplicate", user_id: `${PREFIX.okta}${ev.target[0].id}` });
  });

  test("okta: user.session.start alone is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, () => send(hook(logEvent("user.session.start"))), {
      status: "ignored",
      event: "user.session.start",
    });
  });

  test("okta: a 40-byte id is hashed under the okta_ prefix; /userid agrees", opts, async () => {
    const raw = `00u${"Zz9".repeat(12)}x`;
    assert.equal(raw.length, 40);
    const expected = hashedUserId(raw, PREFIX.okta);
    assert.equal(expected.length, 32);
    const res = await send(hook(logEvent("user.lifecycle.create", { id: raw })));
    assert.deepEqual(res.json, { status: "imported", user_id: expected }, res.text);
    await assertAccounts(s.emulator, [{ UserID: expected, Nick: "John Doe" }]);
    await assertLookup(s.worker, "okta", raw, expected, "hash");
  });
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
