// HMAC-signed providers: WorkOS (`WorkOS-Signature: t=<ms>, v1=<hex>`), ZITADEL
// (`ZITADEL-Signature: t=<s>,v1=<hex>…`) and Logto (`logto-signature-sha-256`, no timestamp header:
// the body's `createdAt` must be within an hour). Signed with node:crypto HMAC-SHA256, written from
// the vendors' documented schemes (linked at the signers in provider-harness.mjs), not with the Worker's code.
import {
  describe,
  test,
} from "node:test";
import {
  alignToSecond,
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
  e2eFixture,
  fixture,
  hashedUserId,
  logtoHeaders,
  newId,
  nowS,
  PREFIX,
  S,
  workosHeaders,
  zitadelHeaders,
  PROVIDER_SUITE,
} from "./provider-harness.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite(PROVIDER_SUITE);

// ---------------------------------------------------------------------------------------------
describe("workos", () => {
  const DOC_ID = "user_01E4ZCR3C56J083X43JQXF3JK5";
  const send = (body, o) => s.deliverTo("workos", body, workosHeaders(body, o));
  const fresh = (data = {}, event = "user.created") => {
    const e = fixture("workos_user_created.json");
    e.id = newId("event");
    e.event = event;
    e.data.id = `user_01${newId("x").slice(2, 26).toUpperCase()}`;
    Object.assign(e.data, data);
    return e;
  };

  test("workos: the user.created fixture imports the verbatim id, first + last name, picture", opts, async () => {
    const doc = fixture("workos_user_created.json");
    const res = await send(JSON.stringify(doc));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: DOC_ID });
    assert.equal(doc.data.id, DOC_ID, "the shared fixture changed its user id");
    await assertAccounts(s.emulator, [
      { UserID: DOC_ID, Nick: `${doc.data.first_name} ${doc.data.last_name}`, FaceUrl: doc.data.profile_picture_url },
    ]);
    await assertLookup(s.worker, "workos", DOC_ID, DOC_ID, "verbatim");
  });

  test("workos: wrong secret, forged body, stale/future t (±181 s, in ms), missing header → 401, no call", opts, async () => {
    const body = JSON.stringify(fresh());
    await assertRefused(s.emulator, () => send(body, { secret: S.otherToken }), 401, "invalid_signature");
    const h = workosHeaders(body);
    await assertRefused(s.emulator, () => s.deliverTo("workos", body.replace("user.created", "user.createx"), h), 401, "invalid_signature");
    // Signed in seconds instead of milliseconds: the signature is valid for that t, the time is not.
    await assertRefused(s.emulator, () => send(body, { tMs: nowS() }), 401, "timestamp_out_of_tolerance");
    await assertRefused(s.emulator, () => send(body, { tMs: Date.now() - 181_000 }), 401, "timestamp_out_of_tolerance");
    await alignToSecond();
    await assertRefused(s.emulator, () => send(body, { tMs: Date.now() + 181_000 }), 401, "timestamp_out_of_tolerance");
    await assertRefused(s.emulator, () => s.deliverTo("workos", body, {}), 401, "signature_missing");
  });

  test("workos: identical request → 401 replayed; WorkOS retry (new t, same event id) → duplicate", opts, async () => {
    const e = fresh();
    const body = JSON.stringify(e);
    // 170 s old: inside WorkOS's 180 s tolerance.
    const headers = workosHeaders(body, { tMs: Date.now() - 170_000 });
    const first = await s.deliverTo("workos", body, headers);
    assert.deepEqual(first.json, { status: "imported", user_id: e.data.id }, first.text);
    await assertRefused(s.emulator, () => s.deliverTo("workos", body, headers), 401, "replayed");
    const retry = await assertNoCall(s.emulator, () => send(body));
    assert.deepEqual(retry.json, { status: "duplicate", user_id: e.data.id });
    assert.equal(await s.callTotal(), 1);
  });

  test("workos: session.created is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, () => send(JSON.stringify(fresh({}, "session.created"))), { status: "ignored", event: "session.created" });
  });

  test("workos: a 35-byte user_ id drops `user_`; /userid agrees", opts, async () => {
    const raw = `user_01${"K2RZ3N7V8M1QF5C6TD4XJ9WBAB".slice(0, 26)}XY`; // 5 + 30 = 35 bytes
    assert.equal(raw.length, 35);
    const expected = raw.slice(5);
    const res = await send(JSON.stringify(fresh({ id: raw })));
    assert.deepEqual(res.json, { status: "imported", user_id: expected }, res.text);
    await assertLookup(s.worker, "workos", raw, expected, "compact");
    assert.equal((await s.accounts())[0]?.UserID, expected);
  });
});

// ---------------------------------------------------------------------------------------------
describe("logto", () => {
  const send = (body, o) => s.deliverTo("logto", body, logtoHeaders(body, o));
  const postRegister = (user = {}, over = {}) => {
    const e = e2eFixture("logto_post_register.json");
    e.createdAt = new Date().toISOString();
    Object.assign(e.user, user);
    return Object.assign(e, over);
  };

  test("logto: the documented PostRegister (test payload) imports fake-id, Fake User, avatar", opts, async () => {
    const res = await send(JSON.stringify(postRegister()));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "fake-id" });
    await assertAccounts(s.emulator, [
      { UserID: "fake-id", Nick: "Fake User", FaceUrl: "https://fake-service.com/avatars/fake-user.png" },
    ]);
    await assertLookup(s.worker, "logto", "fake-id", "fake-id", "verbatim");
  });

  test("logto: User.Created (user at `data`) and a bare-hex signature are accepted", opts, async () => {
    const e = e2eFixture("logto_user_created.json");
    e.createdAt = new Date().toISOString();
    const res = await send(JSON.stringify(e), { prefix: false });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "mgmt-user-01" });
    await assertAccounts(s.emulator, [{ UserID: "mgmt-user-01", Nick: "ops-created" }]);
  });

  test("logto: a PostRegister carrying only `userId` (no user object) is imported under that id", opts, async () => {
    const e = postRegister();
    delete e.user;
    e.userId = newId("lg");
    const res = await send(JSON.stringify(e));
    assert.deepEqual(res.json, { status: "imported", user_id: e.userId }, res.text);
    await assertAccounts(s.emulator, [{ UserID: e.userId }]);
  });

  test("logto: wrong key, forged body, createdAt over an hour old/ahead, missing header → 401, no call", opts, async () => {
    const e = postRegister({ id: newId("lg") });
    const body = JSON.stringify(e);
    await assertRefused(s.emulator, () => send(body, { secret: S.otherToken }), 401, "invalid_signature");
    const h = logtoHeaders(body);
    await assertRefused(s.emulator, () => s.deliverTo("logto", body.replace("Fake User", "Fake Usex"), h), 401, "invalid_signature");
    for (const offset of [-3_700_000, 3_700_000]) {
      const old = JSON.stringify({ ...e, createdAt: new Date(Date.now() + offset).toISOString() });
      await assertRefused(s.emulator, () => send(old), 401, "timestamp_out_of_tolerance");
    }
    await assertRefused(s.emulator, () => s.deliverTo("logto", body, {}), 401, "signature_missing");
  });

  test("logto: createdAt with a UTC offset (+08:00, fractional seconds) is read as the same instant", opts, async () => {
    const t = new Date(Date.now() + 8 * 3_600_000).toISOString().replace("Z", "+08:00");
    const e = postRegister({ id: newId("lg") }, { createdAt: t });
    const res = await send(JSON.stringify(e));
    assert.deepEqual(res.json, { status: "imported", user_id: e.user.id }, res.text);
  });

  test("logto: the identical request again (Logto's 5xx retry) is 200 duplicate without a second call", opts, async () => {
    // createdAt 3500 s ago: inside the one-hour window.
    const e = postRegister({ id: newId("lg") }, { createdAt: new Date(Date.now() - 3_500_000).toISOString() });
    const body = JSON.stringify(e);
    assert.deepEqual((await send(body)).json, { status: "imported", user_id: e.user.id });
    const again = await assertNoCall(s.emulator, () => send(body));
    assert.deepEqual(again.json, { status: "duplicate", user_id: e.user.id });
    assert.equal(await s.callTotal(), 1);
  });

  test("logto: PostSignIn is 200 ignored without a call", opts, async () => {
    const body = JSON.stringify(postRegister({}, { event: "PostSignIn", interactionEvent: "SignIn" }));
    await assertNoCall(s.emulator, () => send(body), { status: "ignored", event: "PostSignIn" });
  });

  test("logto: a 40-byte id is hashed; /userid agrees", opts, async () => {
    const raw = "0190d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e-ext"; // not a UUID, 40 bytes
    assert.equal(raw.length, 40);
    const res = await send(JSON.stringify(postRegister({ id: raw })));
    assert.deepEqual(res.json, { status: "imported", user_id: hashedUserId(raw) }, res.text);
    await assertAccounts(s.emulator, [
      { UserID: hashedUserId(raw), Nick: "Fake User", FaceUrl: "https://fake-service.com/avatars/fake-user.png" },
    ]);
    await assertLookup(s.worker, "logto", raw, hashedUserId(raw), "hash");
  });
});

// ---------------------------------------------------------------------------------------------
describe("zitadel", () => {
  const DOC_ID = "312909075211944344";
  const send = (body, o) => s.deliverTo("zitadel", body, zitadelHeaders(body, o));
  const fresh = (over = {}, payload = {}) => {
    const e = e2eFixture("zitadel_user_human_added.json");
    e.aggregateID = String(300000000000000000n + BigInt(Math.floor(Math.random() * 1e15)));
    e.userID = e.aggregateID;
    Object.assign(e.event_payload, payload);
    return Object.assign(e, over);
  };

  test("zitadel: the user.human.added fixture imports the zit_-prefixed id, Minnie Mouse", opts, async () => {
    const res = await send(JSON.stringify(e2eFixture("zitadel_user_human_added.json")));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: `${PREFIX.zitadel}${DOC_ID}` });
    await assertAccounts(s.emulator, [{ UserID: `${PREFIX.zitadel}${DOC_ID}`, Nick: "Minnie Mouse" }]);
    await assertLookup(s.worker, "zitadel", DOC_ID, `${PREFIX.zitadel}${DOC_ID}`, "verbatim");
  });

  test("zitadel: nested profile/email payload and a rotated key list (junk v1 first) are accepted", opts, async () => {
    const e = fresh({}, {});
    e.event_payload = { userName: "daisy", profile: { givenName: "Daisy", familyName: "Duck" }, email: { email: "daisy@duck.com" } };
    const body = JSON.stringify(e);
    const res = await send(body, { before: ["00".repeat(32)] });
    assert.equal(res.status, 200, res.text);
    await assertAccounts(s.emulator, [{ UserID: `${PREFIX.zitadel}${e.aggregateID}`, Nick: "Daisy Duck" }]);
  });

  test("zitadel: wrong key, forged body, stale/future t (±301 s), missing header → 401, no call", opts, async () => {
    const body = JSON.stringify(fresh());
    await assertRefused(s.emulator, () => send(body, { secret: S.otherToken }), 401, "invalid_signature");
    const h = zitadelHeaders(body);
    await assertRefused(s.emulator, () => s.deliverTo("zitadel", body.replace("Minnie", "Mickey"), h), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { t: nowS() - 301 }), 401, "timestamp_out_of_tolerance");
    await alignToSecond();
    await assertRefused(s.emulator, () => send(body, { t: nowS() + 301 }), 401, "timestamp_out_of_tolerance");
    await assertRefused(s.emulator, () => s.deliverTo("zitadel", body, {}), 401, "signature_missing");
  });

  test("zitadel: identical request → 401 replayed; re-signed retry (same aggregateID:sequence) → duplicate", opts, async () => {
    const e = fresh();
    const body = JSON.stringify(e);
    // 290 s old: inside ZITADEL's 300 s tolerance.
    const headers = zitadelHeaders(body, { t: nowS() - 290 });
    assert.deepEqual((await s.deliverTo("zitadel", body, headers)).json, {
      status: "imported",
      user_id: `${PREFIX.zitadel}${e.aggregateID}`,
    });
    await assertRefused(s.emulator, () => s.deliverTo("zitadel", body, headers), 401, "replayed");
    const retry = await assertNoCall(s.emulator, () => send(body));
    assert.deepEqual(retry.json, { status: "duplicate", user_id: `${PREFIX.zitadel}${e.aggregateID}` });
    assert.equal(await s.callTotal(), 1);
  });

  test("zitadel: user.human.phone.changed is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, () => send(JSON.stringify(fresh({ event_type: "user.human.phone.changed" }))), {
      status: "ignored",
      event: "user.human.phone.changed",
    });
  });

  test("zitadel: a 30-digit id overflows with the zit_ prefix and is hashed to 32 bytes; /userid agrees", opts, async () => {
    const raw = "312909075211944344312909075211"; // 30 bytes; 34 with the prefix
    const expected = hashedUserId(raw, PREFIX.zitadel);
    assert.equal(expected.length, 32);
    const res = await send(JSON.stringify(fresh({ aggregateID: raw, userID: raw })));
    assert.deepEqual(res.json, { status: "imported", user_id: expected }, res.text);
    await assertAccounts(s.emulator, [{ UserID: expected, Nick: "Minnie Mouse" }]);
    await assertLookup(s.worker, "zitadel", raw, expected, "hash");
  });
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
