// Standard Webhooks / Svix family: Clerk, Stytch, Standard (v1 HMAC and v1a Ed25519) and Supabase
// Auth hooks, all on one Worker that has every provider configured. Signed with the official
// `svix` / `standardwebhooks` packages (Ed25519 with node:crypto).
import {
  describe,
  test,
} from "node:test";
import {
  randomUUID,
} from "node:crypto";
import {
  alignToSecond,
  assert,
  assertNoLeaks,
  clerkFixture,
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
  ed25519Headers,
  fixture,
  hashedUserId,
  newId,
  nowS,
  S,
  standardHeaders,
  supabaseHeaders,
  svixHeaders,
  v1aSignature,
  PROVIDER_SUITE,
} from "./provider-harness.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite(PROVIDER_SUITE);

const STALE_MS = 301_000;

// ---------------------------------------------------------------------------------------------
describe("clerk", () => {
  const send = (body, o) => s.deliverTo("clerk", body, svixHeaders(body, { secret: S.clerk, ...o }));
  const event = (data = {}, type = "user.created") => {
    const e = clerkFixture();
    e.type = type;
    Object.assign(e.data, data);
    return JSON.stringify(e);
  };

  test("clerk: the documented user.created imports UserID/Nick/FaceUrl", opts, async () => {
    const res = await send(JSON.stringify(clerkFixture()));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "user_29w83sxmDNGwOuEthce5gg56FcC" });
    await assertAccounts(s.emulator, [
      { UserID: "user_29w83sxmDNGwOuEthce5gg56FcC", Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx" },
    ]);
    await assertLookup(s.worker, "clerk", "user_29w83sxmDNGwOuEthce5gg56FcC", "user_29w83sxmDNGwOuEthce5gg56FcC", "verbatim");
  });

  test("clerk: wrong key, forged body, stale timestamp → 401, no call; replay → 401 replayed; retry → duplicate", opts, async () => {
    const body = event({ id: `user_${newId("ck").slice(3)}` });
    await assertRefused(s.emulator, () => send(body, { secret: S.otherWhsec }), 401, "invalid_signature");
    const forged = svixHeaders(body, { secret: S.clerk });
    await assertRefused(s.emulator, () => s.deliverTo("clerk", body.replace("Example", "Exampl3"), forged), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { date: new Date(Date.now() - STALE_MS) }), 401, "timestamp_out_of_tolerance");

    const msgId = newId();
    const headers = svixHeaders(body, { secret: S.clerk, msgId, date: new Date(Date.now() - 2_000) });
    const first = await s.deliverTo("clerk", body, headers);
    assert.equal(first.status, 200, first.text);
    assert.equal(await s.callTotal(), 1);
    await assertRefused(s.emulator, () => s.deliverTo("clerk", body, headers), 401, "replayed");
    // Svix's own retry: same message id, signed again with a new timestamp.
    const retry = await assertNoCall(s.emulator, () => send(body, { msgId }));
    assert.equal(retry.json.status, "duplicate", retry.text);
    assert.equal((await s.accounts()).length, 1);
  });

  test("clerk: session.created is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, () => send(event({ id: "user_upd" }, "session.created")), { status: "ignored", event: "session.created" });
    await assertAccounts(s.emulator, []);
  });

  test("clerk: a 33-byte id drops `user_` (compact); /userid agrees", opts, async () => {
    const raw = `user_${"A1b2C3d4".repeat(3)}xyzq`; // 5 + 28 = 33 bytes
    assert.equal(raw.length, 33);
    const expected = raw.slice("user_".length);
    const res = await send(event({ id: raw }));
    assert.deepEqual(res.json, { status: "imported", user_id: expected }, res.text);
    await assertAccounts(s.emulator, [{ UserID: expected, Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx" }]);
    await assertLookup(s.worker, "clerk", raw, expected, "compact");
  });
});

// ---------------------------------------------------------------------------------------------
describe("stytch", () => {
  const DOC_ID = "user-test-00000000-0000-0000-0000-000000000000";
  const send = (body, o) => s.deliverTo("stytch", body, svixHeaders(body, { secret: S.stytch, ...o }));
  /** The documented event with a fresh user and event id (and overrides). */
  const fresh = (over = {}, user = {}) => {
    const e = fixture("stytch_user_create.json");
    const id = `user-test-${randomUUID()}`;
    e.id = id;
    e.user.user_id = id;
    e.event_id = `webhook-event-test-${randomUUID()}`;
    Object.assign(e, over);
    Object.assign(e.user, user);
    return e;
  };

  test("stytch: the documented dashboard.user.create imports the compacted UUID, Ada Lovelace", opts, async () => {
    const res = await send(JSON.stringify(fixture("stytch_user_create.json")));
    assert.equal(res.status, 200, res.text);
    const expected = "0".repeat(32);
    assert.deepEqual(res.json, { status: "imported", user_id: expected });
    await assertAccounts(s.emulator, [{ UserID: expected, Nick: "Ada Lovelace", FaceUrl: null }]);
    await assertLookup(s.worker, "stytch", DOC_ID, expected, "compact");
  });

  test("stytch: the first non-empty providers[].profile_picture_url is the FaceUrl; source DIRECT works", opts, async () => {
    const e = fresh({ source: "DIRECT" }, {
      providers: [
        { provider_type: "Google", profile_picture_url: "" },
        { provider_type: "GitHub", profile_picture_url: "https://avatars.example.com/ada.png" },
      ],
    });
    const res = await send(JSON.stringify(e));
    assert.equal(res.status, 200, res.text);
    await assertAccounts(s.emulator, [
      { UserID: compactUuid(e.id.slice("user-test-".length)), Nick: "Ada Lovelace", FaceUrl: "https://avatars.example.com/ada.png" },
    ]);
  });

  test("stytch: wrong key, forged body, stale/future timestamp, missing header → 401, no call", opts, async () => {
    const body = JSON.stringify(fresh());
    await assertRefused(s.emulator, () => send(body, { secret: S.otherWhsec }), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { secret: S.clerk }), 401, "invalid_signature");
    const h = svixHeaders(body, { secret: S.stytch });
    await assertRefused(s.emulator, () => s.deliverTo("stytch", body.replace("Ada", "Eve"), h), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { date: new Date(Date.now() - STALE_MS) }), 401, "timestamp_out_of_tolerance");
    await alignToSecond();
    await assertRefused(s.emulator, () => send(body, { date: new Date(Date.now() + STALE_MS) }), 401, "timestamp_out_of_tolerance");
    const noSig = { ...h };
    delete noSig["svix-signature"];
    await assertRefused(s.emulator, () => s.deliverTo("stytch", body, noSig), 401, "signature_missing");
  });

  test("stytch: the identical request again → 401 replayed; Svix retry (same id, new timestamp) → duplicate", opts, async () => {
    const e = fresh();
    const body = JSON.stringify(e);
    const msgId = newId();
    const headers = svixHeaders(body, { secret: S.stytch, msgId, date: new Date(Date.now() - 2_000) });
    const first = await s.deliverTo("stytch", body, headers);
    assert.equal(first.status, 200, first.text);
    assert.equal(await s.callTotal(), 1);
    await assertRefused(s.emulator, () => s.deliverTo("stytch", body, headers), 401, "replayed");
    const retry = await assertNoCall(s.emulator, () => send(body, { msgId }));
    assert.deepEqual(retry.json, { status: "duplicate", user_id: compactUuid(e.id.slice(10)) });
  });

  test("stytch: without user.user_id the top-level id is used; a resend under a new svix id with the same event_id is a duplicate", opts, async () => {
    const e = fresh();
    delete e.user.user_id;
    const body = JSON.stringify(e);
    const expected = compactUuid(e.id.slice("user-test-".length));
    assert.deepEqual((await send(body)).json, { status: "imported", user_id: expected });
    const again = await assertNoCall(s.emulator, () => send(body, { msgId: newId() }));
    assert.deepEqual(again.json, { status: "duplicate", user_id: expected });
  });

  test("stytch: a user action other than create/update/delete is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, () => send(JSON.stringify(fresh({ action: "VIEW" }))), {
      status: "ignored",
      event: "dashboard.user.view",
    });
  });

  test("stytch: a user-live-<UUID> (46 bytes) becomes the 32-hex UUID; /userid agrees", opts, async () => {
    const uuid = randomUUID().toUpperCase();
    const raw = `user-live-${uuid}`;
    assert.equal(raw.length, 46);
    const res = await send(JSON.stringify(fresh({ id: raw }, { user_id: raw })));
    assert.deepEqual(res.json, { status: "imported", user_id: compactUuid(uuid) }, res.text);
    await assertAccounts(s.emulator, [{ UserID: compactUuid(uuid), Nick: "Ada Lovelace" }]);
    await assertLookup(s.worker, "stytch", raw, compactUuid(uuid), "compact");
  });
});

// ---------------------------------------------------------------------------------------------
describe("standard", () => {
  const DOC = () => e2eFixture("standard_user_created.json");
  const send = (body, headers) => s.deliverTo("standard", body, headers);
  const v1 = (body, o) => standardHeaders(body, { secret: S.standard, ...o });
  const fresh = (data = {}, type = "user.created") => {
    const e = DOC();
    e.type = type;
    e.data.id = newId("usr");
    Object.assign(e.data, data);
    return e;
  };

  test("standard: the recommended user.created payload, v1 HMAC, imports UserID/Nick/FaceUrl", opts, async () => {
    const body = JSON.stringify(DOC());
    const res = await send(body, v1(body));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "usr_2KWPBgLlAfxdpx2AI54pPJ85f4W" });
    await assertAccounts(s.emulator, [
      { UserID: "usr_2KWPBgLlAfxdpx2AI54pPJ85f4W", Nick: "Grace Hopper", FaceUrl: "https://example.com/avatars/grace.png" },
    ]);
    await assertLookup(s.worker, "standard", "usr_2KWPBgLlAfxdpx2AI54pPJ85f4W", "usr_2KWPBgLlAfxdpx2AI54pPJ85f4W", "verbatim");
  });

  test("standard: v1a (Ed25519, whpk_ public key) alone is accepted; nick falls back to username", opts, async () => {
    const e = fresh({ name: null });
    const body = JSON.stringify(e);
    const res = await send(body, ed25519Headers(body));
    assert.equal(res.status, 200, res.text);
    await assertAccounts(s.emulator, [{ UserID: e.data.id, Nick: "grace", FaceUrl: "https://example.com/avatars/grace.png" }]);
  });

  test("standard: wrong secret, wrong Ed25519 key, v1a over another body, stale, missing id → 401, no call", opts, async () => {
    const body = JSON.stringify(fresh());
    await assertRefused(s.emulator, () => send(body, v1(body, { secret: S.otherWhsec })), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, ed25519Headers(body, { other: true })), 401, "invalid_signature");
    const h = ed25519Headers(body);
    await assertRefused(s.emulator, () => send(body.replace("Grace", "Grac3"), h), 401, "invalid_signature");
    // A v1a signature presented as v1 is not an HMAC.
    const asV1 = { ...h, "webhook-signature": h["webhook-signature"].replace(/^v1a,/, "v1,") };
    await assertRefused(s.emulator, () => send(body, asV1), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, v1(body, { date: new Date(Date.now() - STALE_MS) })), 401, "timestamp_out_of_tolerance");
    const ts = nowS() - 301;
    const staleEd = ed25519Headers(body, { ts });
    await assertRefused(s.emulator, () => send(body, staleEd), 401, "timestamp_out_of_tolerance");
    const noId = v1(body);
    delete noId["webhook-id"];
    await assertRefused(s.emulator, () => send(body, noId), 401, "signature_missing");
  });

  test("standard: identical request → 401 replayed; re-signed retry with the same webhook-id → duplicate", opts, async () => {
    const e = fresh();
    const body = JSON.stringify(e);
    const msgId = newId();
    const ts = nowS() - 2;
    const headers = {
      "webhook-id": msgId,
      "webhook-timestamp": String(ts),
      "webhook-signature": `${v1(body, { msgId, date: new Date(ts * 1000) })["webhook-signature"]} ${v1aSignature(msgId, ts, body)}`,
    };
    const first = await send(body, headers);
    assert.deepEqual(first.json, { status: "imported", user_id: e.data.id }, first.text);
    await assertRefused(s.emulator, () => send(body, headers), 401, "replayed");
    const retry = await assertNoCall(s.emulator, () => send(body, v1(body, { msgId })));
    assert.deepEqual(retry.json, { status: "duplicate", user_id: e.data.id });
    assert.equal(await s.callTotal(), 1);
  });

  test("standard: an event type outside STANDARD_EVENT_TYPES is 200 ignored without a call", opts, async () => {
    const body = JSON.stringify(fresh({}, "session.created"));
    await assertNoCall(s.emulator, () => send(body, v1(body)), { status: "ignored", event: "session.created" });
  });

  test("standard: a UUID id is compacted; a long non-UUID id is hashed; /userid agrees", opts, async () => {
    const uuid = randomUUID();
    const long = "someone.with.a.rather.long.address@example.com";
    for (const [raw, expected, mode] of [
      [uuid, compactUuid(uuid), "compact"],
      [long, hashedUserId(long), "hash"],
    ]) {
      await s.reset();
      const body = JSON.stringify(fresh({ id: raw }));
      const res = await send(body, v1(body));
      assert.deepEqual(res.json, { status: "imported", user_id: expected }, res.text);
      await assertAccounts(s.emulator, [{ UserID: expected, Nick: "Grace Hopper", FaceUrl: "https://example.com/avatars/grace.png" }]);
      await assertLookup(s.worker, "standard", raw, expected, mode);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("supabase", () => {
  const DOC_ID = "ff7fc9ae-3b1b-4642-9241-64adb9848a03";
  const send = (body, o) => s.deliverTo("supabase", body, supabaseHeaders(body, o));
  const fresh = (name = "before-user-created", user = {}) => {
    const e = fixture("supabase_before_user_created.json");
    e.metadata.uuid = randomUUID();
    e.metadata.name = name;
    e.user.id = randomUUID();
    Object.assign(e.user, user);
    return e;
  };

  test("supabase: the documented before-user-created answers {} and imports the compact UUID", opts, async () => {
    const res = await send(JSON.stringify(fixture("supabase_before_user_created.json")));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, "{}");
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    await assertAccounts(s.emulator, [{ UserID: "ff7fc9ae3b1b4642924164adb9848a03", Nick: "valid.email", FaceUrl: null }]);
    await assertLookup(s.worker, "supabase", DOC_ID, "ff7fc9ae3b1b4642924164adb9848a03", "compact");
  });

  test("supabase: after-user-created with OAuth metadata; rotated secret and GoTrue's \", \" joiner accepted", opts, async () => {
    const e = fresh("after-user-created", {
      user_metadata: { full_name: "Octo Cat", user_name: "octocat", avatar_url: "https://avatars.githubusercontent.com/u/583231" },
    });
    const body = JSON.stringify(e);
    // Signed by both configured secrets, joined ", " (the non-last token carries a trailing comma).
    const res = await send(body, { secrets: [S.supabase[0], S.supabase[1]] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, "{}");
    const e2 = fresh("before-user-created", { user_metadata: { name: "Only Second", picture: "https://lh3.example/p.png" } });
    const body2 = JSON.stringify(e2);
    const res2 = await send(body2, { secrets: [S.supabase[1]] });
    assert.equal(res2.status, 200, res2.text);
    await assertAccounts(s.emulator, [
      { UserID: compactUuid(e.user.id), Nick: "Octo Cat", FaceUrl: "https://avatars.githubusercontent.com/u/583231" },
      { UserID: compactUuid(e2.user.id), Nick: "Only Second", FaceUrl: "https://lh3.example/p.png" },
    ]);
  });

  test("supabase: wrong key, forged body, stale timestamp, missing header → 401, no call", opts, async () => {
    const body = JSON.stringify(fresh());
    await assertRefused(s.emulator, () => send(body, { secrets: [S.otherWhsec] }), 401, "invalid_signature");
    const h = supabaseHeaders(body);
    await assertRefused(s.emulator, () => s.deliverTo("supabase", body.replace("valid.email", "evil.email"), h), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(body, { date: new Date(Date.now() - STALE_MS) }), 401, "timestamp_out_of_tolerance");
    const noTs = { ...h };
    delete noTs["webhook-timestamp"];
    await assertRefused(s.emulator, () => s.deliverTo("supabase", body, noTs), 401, "signature_missing");
  });

  test("supabase: identical request → 401 replayed; GoTrue retry (new webhook-id, same metadata.uuid) → {} without a call", opts, async () => {
    const e = fresh();
    const body = JSON.stringify(e);
    const headers = supabaseHeaders(body, { date: new Date(Date.now() - 2_000) });
    const first = await s.deliverTo("supabase", body, headers);
    assert.equal(first.text, "{}", first.text);
    assert.equal(await s.callTotal(), 1);
    await assertRefused(s.emulator, () => s.deliverTo("supabase", body, headers), 401, "replayed");
    const retry = await assertNoCall(s.emulator, () => send(body));
    assert.equal(retry.text, "{}");
    await assertAccounts(s.emulator, [{ UserID: compactUuid(e.user.id), Nick: "valid.email" }]);
  });

  test("supabase: another hook (send-email) is 200 {} without a call", opts, async () => {
    const res = await assertNoCall(s.emulator, () => send(JSON.stringify(fresh("send-email"))));
    assert.equal(res.text, "{}");
    await assertAccounts(s.emulator, []);
  });
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
