// RS256 JWT providers: Firebase / Identity Platform blocking `beforeCreate` (`{"data":{"jwt":…}}`,
// answered `{}`) and Kinde (the body is the JWT). Tokens are made with the `jose` package from
// keys generated here; the Worker fetches the public keys from a node:http JWKS server on
// 127.0.0.1 (FIREBASE_JWKS_URL, KINDE_JWKS_URL).
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
  firebaseBody,
  firebaseClaims,
  fixture,
  hashedUserId,
  kindeClaims,
  kindeHeaders,
  newId,
  nowS,
  signJwt,
  tamperJwt,
  unsignedJwt,
  PROVIDER_SUITE,
} from "./provider-harness.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite(PROVIDER_SUITE);

// ---------------------------------------------------------------------------------------------
describe("firebase", () => {
  const DOC_UID = "abcdefghijklmnopqrstuvwxyz";
  const send = (jwt) => s.deliverTo("firebase", firebaseBody(jwt));
  const fbKey = () => s.jwks.keys.firebase;

  test("firebase: the documented beforeCreate token answers {} and imports uid, display name, photo", opts, async () => {
    const doc = fixture("firebase_before_create.json");
    const claims = firebaseClaims({ eventId: doc.event_id });
    assert.equal(claims.sub, DOC_UID);
    const res = await send(await signJwt(claims, fbKey()));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, "{}");
    await assertAccounts(s.emulator, [
      { UserID: DOC_UID, Nick: "John Doe", FaceUrl: "https://lh3.googleusercontent.com/1234567890/photo.jpg" },
    ]);
    assert.ok((s.jwks.hits["/firebase/jwks"] ?? 0) >= 1, "the Worker never fetched the Firebase JWKS");
    await assertLookup(s.worker, "firebase", DOC_UID, DOC_UID, "verbatim");
  });

  test("firebase: the JWKS is cached: a second signup fetches no keys; email local part is the fallback nick", opts, async () => {
    const uid = `uid${newId("x").slice(2, 27)}`;
    const fetchedBefore = s.jwks.hits["/firebase/jwks"] ?? 0;
    const res = await send(await signJwt(firebaseClaims({ uid, record: { display_name: undefined, photo_url: undefined } }), fbKey()));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, "{}");
    await assertAccounts(s.emulator, [{ UserID: uid, Nick: "user" }]);
    // Cached from the previous test's fetch (or fetched exactly once now if that test failed early).
    assert.equal(s.jwks.hits["/firebase/jwks"], Math.max(fetchedBefore, 1), "the JWKS was fetched again");
  });

  test("firebase: another key with the same kid, tampered claims, alg none, unknown kid → 401, no call", opts, async () => {
    const claims = firebaseClaims({ uid: `uid${newId("x").slice(2, 20)}` });
    await assertRefused(s.emulator, async () => send(await signJwt(claims, s.jwks.keys.rogue)), 401, "invalid_signature");
    const good = await signJwt(claims, fbKey());
    await assertRefused(s.emulator, () => send(tamperJwt(good, (c) => { c.user_record.display_name = "Mallory"; })), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(unsignedJwt(claims, fbKey().kid)), 401, "invalid_signature");
    await assertRefused(s.emulator, async () => send(await signJwt(claims, fbKey(), { kid: "no-such-kid" })), 401, "invalid_signature");
  });

  test("firebase: wrong aud, wrong iss, exp/iat beyond the 60 s leeway → 401, no call; within the leeway → accepted", opts, async () => {
    const uid = `uid${newId("x").slice(2, 20)}`;
    const sign = async (claims) => signJwt(firebaseClaims({ uid, claims }), fbKey());
    await assertRefused(s.emulator, async () => send(await sign({ aud: "https://evil.example/beforeCreate" })), 401, "invalid_signature");
    await assertRefused(s.emulator, async () => send(await sign({ iss: "https://securetoken.google.com/other-project" })), 401, "invalid_signature");
    const now = nowS();
    await assertRefused(s.emulator, async () => send(await sign({ iat: now - 900, exp: now - 120 })), 401, "timestamp_out_of_tolerance");
    await assertRefused(s.emulator, async () => send(await sign({ iat: now + 600, exp: now + 1200 })), 401, "timestamp_out_of_tolerance");
    // Inside the 60 s leeway both are still fine.
    const res = await send(await sign({ iat: now + 30, exp: now + 630 }));
    assert.equal(res.text, "{}", res.text);
    const res2 = await signJwt(firebaseClaims({ uid: `${uid}b`, claims: { iat: now - 600, exp: now - 30 } }), fbKey());
    assert.equal((await send(res2)).text, "{}");
    assert.equal(await s.callTotal(), 2);
  });

  test("firebase: no token is 401; a Google-signed token whose user_record.uid ≠ sub, or sub > 128 bytes, is 400", opts, async () => {
    await assertRefused(s.emulator, () => s.deliverTo("firebase", JSON.stringify({ data: {} })), 401, "invalid_signature");
    await assertRefused(s.emulator, () => s.deliverTo("firebase", "{}"), 401, "invalid_signature");
    const mismatch = firebaseClaims({ uid: `uid${newId("x").slice(2, 20)}` });
    mismatch.user_record.uid = "someone-else";
    await assertRefused(s.emulator, async () => send(await signJwt(mismatch, fbKey())), 400, "malformed_payload");
    const long = "u".repeat(129);
    await assertRefused(s.emulator, async () => send(await signJwt(firebaseClaims({ uid: long }), fbKey())), 400, "malformed_payload");
  });

  test("firebase: the identical request → 401 replayed; a new token with the same event_id → 401 replayed", opts, async () => {
    const uid = `uid${newId("x").slice(2, 20)}`;
    const eventId = `evt-${randomUUID()}`;
    const jwt = await signJwt(firebaseClaims({ uid, eventId }), fbKey());
    assert.equal((await send(jwt)).text, "{}");
    assert.equal(await s.callTotal(), 1);
    await assertRefused(s.emulator, () => send(jwt), 401, "replayed");
    const claims = firebaseClaims({ uid, eventId });
    claims.iat -= 1;
    await assertRefused(s.emulator, async () => send(await signJwt(claims, fbKey())), 401, "replayed");
  });

  test("firebase: beforeSignIn answers {} without a call", opts, async () => {
    const jwt = await signJwt(firebaseClaims({ uid: `uid${newId("x").slice(2, 20)}`, eventType: "beforeSignIn" }), fbKey());
    const res = await assertNoCall(s.emulator, () => send(jwt));
    assert.equal(res.text, "{}");
    await assertAccounts(s.emulator, []);
  });

  test("firebase: a 40-byte custom uid is hashed; /userid agrees", opts, async () => {
    const uid = "custom-uid-0123456789-abcdefghij-KLMNOPQ";
    assert.equal(uid.length, 40);
    const res = await send(await signJwt(firebaseClaims({ uid }), fbKey()));
    assert.equal(res.text, "{}", res.text);
    await assertAccounts(s.emulator, [
      { UserID: hashedUserId(uid), Nick: "John Doe", FaceUrl: "https://lh3.googleusercontent.com/1234567890/photo.jpg" },
    ]);
    await assertLookup(s.worker, "firebase", uid, hashedUserId(uid), "hash");
  });
});

// ---------------------------------------------------------------------------------------------
describe("kinde", () => {
  const send = (jwt, headers = kindeHeaders()) => s.deliverTo("kinde", jwt, headers);
  const key = () => s.jwks.keys.kinde;
  const fresh = (user = {}, claims = {}) =>
    kindeClaims({ user: { id: `kp_${newId("x").slice(2, 22)}`, ...user }, claims: { event_id: newId("event"), ...claims } });

  test("kinde: the documented user.created JWT imports kp_1234567890, first name", opts, async () => {
    const res = await send(await signJwt(kindeClaims(), key()));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { status: "imported", user_id: "kp_1234567890" });
    await assertAccounts(s.emulator, [{ UserID: "kp_1234567890", Nick: "Test", FaceUrl: null }]);
    assert.ok((s.jwks.hits["/kinde/jwks"] ?? 0) >= 1, "the Worker never fetched the Kinde JWKS");
    await assertLookup(s.worker, "kinde", "kp_1234567890", "kp_1234567890", "verbatim");
  });

  test("kinde: another key with the same kid, tampered claims, alg none, expired exp, empty body → 401, no call; exp within leeway ok", opts, async () => {
    const claims = fresh();
    await assertRefused(s.emulator, async () => send(await signJwt(claims, s.jwks.keys.rogueKinde)), 401, "invalid_signature");
    // A Firebase key is published elsewhere, not in Kinde's JWKS.
    await assertRefused(s.emulator, async () => send(await signJwt(claims, s.jwks.keys.firebase)), 401, "invalid_signature");
    const good = await signJwt(claims, key());
    await assertRefused(s.emulator, () => send(tamperJwt(good, (c) => { c.data.user.id = "kp_mallory"; })), 401, "invalid_signature");
    await assertRefused(s.emulator, () => send(unsignedJwt(claims, key().kid)), 401, "invalid_signature");
    const expired = { ...claims, iat: nowS() - 900, exp: nowS() - 120 };
    await assertRefused(s.emulator, async () => send(await signJwt(expired, key())), 401, "timestamp_out_of_tolerance");
    await assertRefused(s.emulator, () => s.deliverTo("kinde", "", kindeHeaders()), 401, "invalid_signature");
    // exp 30 s ago is inside the 60 s leeway.
    const late = await send(await signJwt({ ...claims, iat: nowS() - 900, exp: nowS() - 30 }, key()));
    assert.deepEqual(late.json, { status: "imported", user_id: claims.data.user.id }, late.text);
  });

  test("kinde: a redelivery (same webhook-id, byte-identical) is 200 duplicate without a second call", opts, async () => {
    const claims = fresh();
    const jwt = await signJwt(claims, key());
    const headers = kindeHeaders();
    assert.deepEqual((await send(jwt, headers)).json, { status: "imported", user_id: claims.data.user.id });
    const again = await assertNoCall(s.emulator, () => send(jwt, headers));
    assert.deepEqual(again.json, { status: "duplicate", user_id: claims.data.user.id });
    // Without a webhook-id header the token's event_id is the key.
    const other = fresh();
    const jwt2 = await signJwt(other, key());
    assert.equal((await send(jwt2, { "content-type": "application/jwt" })).json?.status, "imported");
    const again2 = await assertNoCall(s.emulator, () => send(jwt2, { "content-type": "application/jwt" }));
    assert.equal(again2.json.status, "duplicate", again2.text);
    assert.equal(await s.callTotal(), 2);
  });

  test("kinde: organization.created is 200 ignored without a call", opts, async () => {
    await assertNoCall(s.emulator, async () => send(await signJwt(fresh({}, { type: "organization.created" }), key())), {
      status: "ignored",
      event: "organization.created",
    });
  });

  test("kinde: kp_ + 32 hex (35 bytes) drops `kp_` (compact); /userid agrees", opts, async () => {
    const raw = "kp_cfcb1ae5b9254ad99521214014c54f43";
    const res = await send(await signJwt(fresh({ id: raw, first_name: "Kim", last_name: "Lee" }), key()));
    assert.deepEqual(res.json, { status: "imported", user_id: "cfcb1ae5b9254ad99521214014c54f43" }, res.text);
    await assertAccounts(s.emulator, [{ UserID: "cfcb1ae5b9254ad99521214014c54f43", Nick: "Kim Lee" }]);
    await assertLookup(s.worker, "kinde", raw, "cfcb1ae5b9254ad99521214014c54f43", "compact");
  });
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
