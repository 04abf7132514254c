// Outage and fault drills (issue 14): for every provider, in direct mode and in queue mode, the
// Tencent emulator is first killed (SIGKILL, then restarted on the same port) and then frozen
// (SIGSTOP, then SIGCONT) for a period while a signup of each provider arrives. Each provider's
// sender is played by a small simulator that follows the sender's documented retry policy (below):
// the attempts it would make during the outage are made in real time; the first attempt its
// schedule puts after the outage is made as soon as Tencent is back (its real wait, minutes or
// hours, is only reported), because nothing the Worker does depends on how much later it comes.
//
// Recorded per provider, mode and drill: what the sender saw (each attempt's status and latency)
// and whether the signup ended up in Tencent; from that and the policy, what would be lost.
// Asserted: in queue mode every sender gets its 2xx at once (< 1 s) and every signup is imported
// once Tencent is back (nothing lost, for any provider); in direct mode every answer during the
// outage is a 5xx (never a 4xx that would make a sender drop the event), and every signup whose
// sender retries after the outage is imported by that retry. The table is printed as markdown
// (and written to DRILL_TABLE_OUT when that is set).
//
// Environment knobs (defaults keep the file around two and a half minutes):
//   DRILL_OUTAGE_S   how long the emulator is killed (default 15; the drill is 60)
//   DRILL_FREEZE_S   how long it is frozen (default: DRILL_OUTAGE_S)
//   DRILL_TABLE_OUT  a file to write the markdown table to
import { test } from "node:test";
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import {
  assert,
  assertNoLeaks,
  clerkEvent,
  observedTexts,
  sleep,
  startEmulator,
} from "./helpers.mjs";
import {
  compactUuid,
  e2eFixture,
  firebaseBody,
  firebaseClaims,
  fixture,
  kindeClaims,
  kindeHeaders,
  logtoHeaders,
  newId,
  nowS,
  PROVIDER_SUITE,
  S,
  signJwt,
  standardHeaders,
  supabaseHeaders,
  svixHeaders,
  workosHeaders,
  zitadelHeaders,
} from "./provider-harness.mjs";
import { applyMigrations, QUEUE_MODE, suite } from "./fixture.mjs";

const OUTAGE_S = Number(process.env.DRILL_OUTAGE_S ?? "15");
const FREEZE_S = Number(process.env.DRILL_FREEZE_S ?? String(OUTAGE_S));
/** How long queued signups may take to arrive once Tencent is back (queue retry delays double). */
const QUEUE_DEADLINE_S = 60 + 2 * Math.max(OUTAGE_S, FREEZE_S);

// The emulator is replaced (kill drill) and frozen (freeze drill): no automatic reset between tests.
const s = suite({ ...PROVIDER_SUITE, workers: {}, reset: false });

// ---------------------------------------------------------------------------------------------
// The senders: each provider's documented retry policy
// ---------------------------------------------------------------------------------------------

const MIN = 60;
const H = 3600;
/**
 * Per provider: `waits` are the pauses (s) before each retry, counted from the previous failed
 * attempt's end; `timeoutS` how long the sender waits for one answer (null: not documented, 30 s
 * here); `windowS` a total time after which nothing more is tried (blocking hooks); `blocking`
 * when a failure fails the user's signup itself; `unknown` when the schedule is not documented.
 */
const SENDERS = {
  clerk: {
    policy: "Svix: retries after 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (~27 h); 15 s timeout",
    waits: [0, 5, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 10 * H], timeoutS: 15,
  },
  stytch: {
    policy: "Svix: retries after 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (~27 h); 15 s timeout",
    waits: [0, 5, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 10 * H], timeoutS: 15,
  },
  standard: {
    policy: "your sender's (docs: retry a 5xx later, re-signed); none simulated",
    waits: [], timeoutS: null, unknown: true,
  },
  supabase: {
    policy: "blocking Before User Created hook: 5 s in total, retries included (modelled: immediate retries); a failure fails the signup",
    waits: [0, 0, 0], timeoutS: 5, windowS: 5, blocking: true,
  },
  "supabase-db": { policy: "pg_net: no retry (10 s timeout)", waits: [], timeoutS: 10 },
  auth0: { policy: "Event Streams: 4 tries in 7 s (modelled: retries 1 s, 2 s, 4 s after a failure, none started after 7 s)", waits: [1, 2, 4], timeoutS: null, windowS: 7 },
  firebase: {
    policy: "blocking beforeCreate: Google waits 7 s and never retries; a failure fails the signup",
    waits: [], timeoutS: 7, blocking: true,
  },
  workos: {
    policy: "retries, each signed afresh (docs/providers/workos.md); schedule not in our docs: none simulated",
    waits: [], timeoutS: null, unknown: true,
  },
  logto: { policy: "3 retries on 5xx (modelled: after 1 s, 2 s, 4 s); 10 s timeout", waits: [1, 2, 4], timeoutS: 10 },
  kinde: {
    policy: "retries anything but 200: 0 s, 5 s, 30 s, 2 min, 10 min, 1 h, 4 h, then every 12 h up to 36 h",
    waits: [0, 5, 30, 2 * MIN, 10 * MIN, H, 4 * H, 12 * H, 12 * H, 12 * H], timeoutS: null,
  },
  okta: { policy: "one retry (3 s timeout)", waits: [0], timeoutS: 3 },
  zitadel: { policy: "restAsync target: the answer is ignored, no retry (10 s timeout)", waits: [], timeoutS: 10 },
};
const PROVIDERS = Object.keys(SENDERS);

// ---------------------------------------------------------------------------------------------
// Signups, signed like each sender; `again()` is the next attempt as that sender makes it
// (Svix, Standard Webhooks senders, WorkOS and ZITADEL re-sign; Supabase sends a new webhook-id;
// static-secret senders and Kinde resend the same bytes).
// ---------------------------------------------------------------------------------------------

const hex = (n) => randomBytes(n).toString("hex");

const MAKERS = {
  clerk() {
    const id = `user_d${hex(13)}`;
    const body = JSON.stringify(clerkEvent({ data: { id } }));
    const msgId = newId();
    const sign = () => svixHeaders(body, { secret: S.clerk, msgId });
    return { body, headers: sign(), again: () => ({ body, headers: sign() }), userId: id };
  },
  stytch() {
    const uuid = randomUUID();
    const e = fixture("stytch_user_create.json");
    e.id = `user-test-${uuid}`;
    e.user.user_id = e.id;
    e.event_id = `webhook-event-test-${randomUUID()}`;
    const body = JSON.stringify(e);
    const msgId = newId();
    const sign = () => svixHeaders(body, { secret: S.stytch, msgId });
    return { body, headers: sign(), again: () => ({ body, headers: sign() }), userId: compactUuid(uuid) };
  },
  standard() {
    const e = e2eFixture("standard_user_created.json");
    e.data.id = newId("usr").slice(0, 28);
    e.timestamp = new Date().toISOString();
    const body = JSON.stringify(e);
    const msgId = newId();
    const sign = () => standardHeaders(body, { secret: S.standard, msgId });
    return { body, headers: sign(), again: () => ({ body, headers: sign() }), userId: e.data.id };
  },
  supabase() {
    const e = fixture("supabase_before_user_created.json");
    e.metadata.uuid = randomUUID();
    e.user.id = randomUUID();
    const body = JSON.stringify(e);
    return { body, headers: supabaseHeaders(body), again: () => ({ body, headers: supabaseHeaders(body) }), userId: compactUuid(e.user.id), blocking: true };
  },
  "supabase-db"() {
    const e = fixture("supabase_db_insert.json");
    e.record.id = randomUUID();
    const body = JSON.stringify(e);
    const headers = { "x-webhook-secret": S.supabaseDb };
    return { body, headers, again: () => ({ body, headers }), userId: compactUuid(e.record.id) };
  },
  auth0() {
    const e = fixture("auth0_event_stream_user_created.json");
    e.id = `evt_${hex(11)}`;
    const hex24 = hex(12);
    e.data.object.user_id = `auth0|${hex24}`;
    e.time = new Date().toISOString();
    const body = JSON.stringify(e);
    const headers = { authorization: `Bearer ${S.auth0Token}` };
    return { body, headers, again: () => ({ body, headers }), userId: hex24 };
  },
  async firebase() {
    const uid = `uid${hex(10)}`;
    const body = firebaseBody(await signJwt(firebaseClaims({ uid }), s.jwks.keys.firebase));
    return { body, headers: {}, again: () => ({ body, headers: {} }), userId: uid, blocking: true };
  },
  workos() {
    const e = fixture("workos_user_created.json");
    e.id = newId("event");
    e.data.id = `user_01${hex(12).toUpperCase()}`;
    e.created_at = new Date().toISOString();
    const body = JSON.stringify(e);
    return { body, headers: workosHeaders(body), again: () => ({ body, headers: workosHeaders(body) }), userId: e.data.id };
  },
  logto() {
    const e = e2eFixture("logto_post_register.json");
    e.createdAt = new Date().toISOString();
    e.hookId = `hook-${hex(4)}`;
    const id = `lg${hex(5)}`;
    e.userId = id;
    e.user.id = id;
    const body = JSON.stringify(e);
    const headers = logtoHeaders(body);
    return { body, headers, again: () => ({ body, headers }), userId: id };
  },
  async kinde() {
    const kp = hex(16);
    const now = nowS();
    const claims = kindeClaims({
      user: { id: `kp_${kp}` },
      claims: { event_id: `event_${hex(8)}`, timestamp: new Date().toISOString(), iat: now, exp: now + 3 * 86_400, iss: "https://tim-e2e.kinde.com" },
    });
    const body = await signJwt(claims, s.jwks.keys.kinde);
    const headers = kindeHeaders();
    return { body, headers, again: () => ({ body, headers }), userId: kp };
  },
  okta() {
    const h = e2eFixture("okta_user_lifecycle_create.json");
    h.eventId = randomUUID();
    const ev = h.data.events[0];
    ev.uuid = randomUUID();
    ev.published = new Date().toISOString();
    ev.target[0].id = `00u${hex(9).slice(0, 17)}`;
    const body = JSON.stringify(h);
    const headers = { authorization: S.okta };
    return { body, headers, again: () => ({ body, headers }), userId: `okta_${ev.target[0].id}` };
  },
  zitadel() {
    const e = e2eFixture("zitadel_user_human_added.json");
    e.aggregateID = String(300000000000000000n + BigInt(Math.floor(Math.random() * 1e15)));
    e.userID = e.aggregateID;
    e.sequence = Math.floor(Math.random() * 1e6);
    e.created_at = new Date().toISOString();
    const body = JSON.stringify(e);
    return { body, headers: zitadelHeaders(body), again: () => ({ body, headers: zitadelHeaders(body) }), userId: `zit_${e.aggregateID}` };
  },
};

async function signup(provider) {
  return { provider, ...(await MAKERS[provider]()) };
}

// ---------------------------------------------------------------------------------------------
// Workers, the emulator (kill, restart on the same port, freeze), waiting
// ---------------------------------------------------------------------------------------------

const W = {};

async function deadLetters(w) {
  const res = await w.request("/admin/dead-letters", { headers: { authorization: `Bearer ${S.adminToken}` } });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

// ---------------------------------------------------------------------------------------------
// The sender simulator
// ---------------------------------------------------------------------------------------------

/** One attempt: the answer, or `timeout` when the sender stopped waiting. */
async function attempt(worker, provider, { body, headers }, timeoutS) {
  const t0 = performance.now();
  const call = worker.deliverTo(provider, body, headers).then(
    (r) => ({ status: r.status, error: r.json?.error ?? null, text: r.text }),
    (e) => ({ status: "error", error: String(e.message ?? e), text: "" }),
  );
  const limit = (timeoutS ?? 30) * 1000;
  let timer;
  const res = await Promise.race([call, new Promise((r) => (timer = setTimeout(() => r({ status: "timeout", error: null, text: "" }), limit)))]);
  clearTimeout(timer);
  return { ...res, ms: performance.now() - t0, startedAt: Date.now() - (performance.now() - t0) };
}

/**
 * Plays `provider`'s sender for one signup during an outage that ends when `outage.up` resolves
 * (at `outage.upAt`). Returns every attempt and the outcome.
 */
async function playSender(worker, su, outage) {
  const policy = SENDERS[su.provider];
  const attempts = [];
  const t0 = Date.now();
  let next = { body: su.body, headers: su.headers };
  for (let i = 0; ; i++) {
    if (policy.windowS !== undefined && Date.now() - t0 >= policy.windowS * 1000) break;
    const timeoutS = policy.windowS !== undefined ? Math.max(0.1, policy.windowS - (Date.now() - t0) / 1000) : policy.timeoutS;
    const a = await attempt(worker, su.provider, next, timeoutS);
    attempts.push({ ...a, dueAfterS: next.dueAfterS, fastForwarded: next.fastForwarded ?? false });
    if (a.status === 200) break;
    if (typeof a.status === "number" && a.status < 500) break; // a 4xx: every sender drops it
    if (i >= policy.waits.length) break;
    const wait = policy.waits[i];
    const dueAt = Date.now() + wait * 1000;
    if (policy.windowS !== undefined && dueAt - t0 >= policy.windowS * 1000) break;
    if (dueAt <= outage.plannedUpAt + 2_000 || dueAt - Date.now() <= 2_000) {
      await sleep(Math.max(0, dueAt - Date.now()));
      next = { ...su.again(), dueAfterS: wait };
    } else {
      // The retry is due well after the outage: make it as soon as Tencent is back.
      await outage.up;
      await sleep(500);
      next = { ...su.again(), dueAfterS: wait, fastForwarded: true };
    }
  }
  return { attempts, t0 };
}

// ---------------------------------------------------------------------------------------------
// The drills
// ---------------------------------------------------------------------------------------------

const RESULTS = []; // { drill, mode, provider, attempts, imported, accepted, blocking }
const SUMMARY = {}; // drill -> { downS, queueCatchUpS }

async function runDrill(drill, seconds, t) {
  // Tencent is up; everything of the previous drill has settled.
  const down = { upAt: null, plannedUpAt: 0 };
  let markUp;
  down.up = new Promise((r) => (markUp = r));
  const direct = await Promise.all(PROVIDERS.map(signup));
  const queued = await Promise.all(PROVIDERS.map(signup));

  const port = s.emulator.port;
  const frozen = s.emulator.proc;
  if (drill === "killed") await s.emulator.crash();
  else frozen.kill("SIGSTOP");
  const downAt = Date.now();
  down.plannedUpAt = downAt + seconds * 1000;
  try {
    const restore = (async () => {
      await sleep(seconds * 1000);
      if (drill === "killed") s.emulator = await startEmulator([], { port });
      else frozen.kill("SIGCONT");
      down.upAt = Date.now();
      markUp();
    })();
    const [directRuns, queueRuns] = await Promise.all([
      Promise.all(direct.map((su) => playSender(W.direct, su, down))),
      Promise.all(queued.map((su) => attempt(W.queue, su.provider, su, SENDERS[su.provider].timeoutS))),
      restore,
    ]);
    await down.up;
    t.diagnostic(`${drill}: Tencent down for ${((down.upAt - downAt) / 1000).toFixed(1)} s`);

    // Queue mode: every sender got its 2xx at once, and nothing is lost.
    queued.forEach((su, i) => {
      const a = queueRuns[i];
      assert.equal(a.status, 200, `queue mode, ${drill}: ${su.provider} answered ${a.status} ${a.text}`);
      if (su.blocking) assert.equal(a.text, "{}", `${su.provider}: ${a.text}`);
      else assert.equal(JSON.parse(a.text).status, "queued", `${su.provider}: ${a.text}`);
      assert.ok(a.ms < 1_000, `queue mode, ${drill}: ${su.provider} answered after ${a.ms.toFixed(0)} ms`);
    });
    const q = await s.waitForAccounts(queued.map((x) => x.userId), QUEUE_DEADLINE_S * 1000);
    const catchUp = (Date.now() - down.upAt) / 1000;
    SUMMARY[drill] = { downS: (down.upAt - downAt) / 1000, queueCatchUpS: catchUp };
    t.diagnostic(`${drill}: queue mode: ${queued.length - q.missing.length} of ${queued.length} imported ${catchUp.toFixed(1)} s after Tencent came back`);
    await s.waitForQuiet(1_500, 30_000);
    const accounts = await s.accounts();
    const count = (u) => accounts.filter((a) => a.UserID === u).length;

    queued.forEach((su, i) => {
      RESULTS.push({ drill, mode: "queue", provider: su.provider, attempts: [queueRuns[i]], imported: count(su.userId) === 1, lost: count(su.userId) === 0 });
    });
    direct.forEach((su, i) => {
      const { attempts } = directRuns[i];
      const imported = count(su.userId) > 0;
      const accepted = attempts.some((a) => a.status === 200);
      RESULTS.push({ drill, mode: "direct", provider: su.provider, attempts, imported, accepted, lost: !imported, blocking: su.blocking });
    });

    // Assertions (after recording, so that the table is complete even when one fails).
    assert.deepEqual(q.missing, [], `queue mode, ${drill}: signups never imported`);
    for (const su of queued) assert.equal(count(su.userId), 1, `queue mode, ${drill}: ${su.userId} listed ${count(su.userId)} times`);
    assert.equal((await deadLetters(W.queue)).count, 0, `queue mode, ${drill}: a signup was dead-lettered`);
    direct.forEach((su, i) => {
      const { attempts } = directRuns[i];
      for (const a of attempts) {
        assert.ok(a.status === 200 || a.status === "timeout" || a.status >= 500, `direct mode, ${drill}: ${su.provider} got ${a.status} ${a.text}: a sender drops a 4xx`);
      }
      const last = attempts.at(-1);
      if (last.startedAt >= down.upAt) {
        // A retry after the outage must succeed, and the user must then exist.
        assert.equal(last.status, 200, `direct mode, ${drill}: ${su.provider}'s retry after the outage: ${last.status} ${last.text}`);
        assert.ok(count(su.userId) > 0, `direct mode, ${drill}: ${su.provider} answered 200 but ${su.userId} is missing`);
      }
      if (attempts.some((a) => a.status === 200)) assert.ok(count(su.userId) > 0, `${su.provider}: 200 without an account`);
    });
  } finally {
    if (drill === "frozen" && frozen.exitCode === null) frozen.kill("SIGCONT");
  }
}

test("warm-up: a direct-mode and a queue-mode Worker import a signup of every provider", { timeout: 120_000 }, async () => {
  W.direct = await s.startWorker({});
  W.queue = await s.startWorker({}, QUEUE_MODE);
  await applyMigrations(W.queue);
  const sus = [];
  for (const w of [W.direct, W.queue]) {
    for (const p of PROVIDERS) {
      const su = await signup(p);
      const r = await w.deliverTo(p, su.body, su.headers);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
      sus.push(su);
    }
  }
  const { missing } = await s.waitForAccounts(sus.map((x) => x.userId), 30_000);
  assert.deepEqual(missing, []);
  await s.waitForQuiet(1_000, 10_000);
});

test(`killed: Tencent's process is killed for ${OUTAGE_S} s, then restarted`, { timeout: (OUTAGE_S + QUEUE_DEADLINE_S + 120) * 1000 }, async (t) => {
  await runDrill("killed", OUTAGE_S, t);
});

test(`frozen: Tencent's process is stopped (SIGSTOP) for ${FREEZE_S} s, then continued`, { timeout: (FREEZE_S + QUEUE_DEADLINE_S + 120) * 1000 }, async (t) => {
  await runDrill("frozen", FREEZE_S, t);
});

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

const secs = (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const dur = (sec) => (sec >= H ? `${sec / H} h` : sec >= MIN ? `${sec / MIN} min` : `${sec} s`);
function seen(run) {
  if (!run) return "–";
  const parts = run.attempts.map((a) => {
    const st = a.status === "timeout" ? "no answer" : `${a.status}`;
    const what = `${st} (${secs(a.ms)})`;
    return a.fastForwarded ? `[retry due ${dur(a.dueAfterS)} later, made once Tencent was back] ${what}` : what;
  });
  // Collapse repeats: "503 (3.1 s) ×3".
  const out = [];
  for (const p of parts) {
    const last = out.at(-1);
    if (last && last.p === p) last.n++;
    else out.push({ p, n: 1 });
  }
  return out.map(({ p, n }) => (n > 1 ? `${p} ×${n}` : p)).join(", ");
}
/** The outcome by the sender's answers and policy; a note when Tencent has the account anyway. */
function verdict(run) {
  if (!run) return "–";
  if (run.mode === "queue") return run.imported ? "imported" : "**lost**";
  let v;
  if (run.accepted) v = run.attempts[0].status === 200 ? "imported" : "imported by a retry";
  else if (run.blocking) v = "**signup failed** (the user sees an error)";
  else if (SENDERS[run.provider].unknown) v = "**lost unless the sender retries after the outage**";
  else v = "**lost** (the sender gave up)";
  // The frozen process ran, once continued, calls the Worker had already given up on.
  if (!run.accepted && run.imported) v += " †";
  return v;
}
/** What a 60 s outage loses in direct mode, from the sender's schedule alone (worst case: the signup arrives as Tencent goes down). */
function at60(provider) {
  const p = SENDERS[provider];
  if (p.blocking) return "signup fails";
  if (p.unknown) return "lost unless the sender retries after 60 s";
  // Each failed attempt during the outage takes up to the Worker's budget (10 s) or the sender's timeout.
  let t = 0;
  const per = Math.min(10, p.timeoutS ?? 10);
  for (const w of p.waits) {
    t += per + w;
    if (t > 60) return "kept (a retry comes after the outage)";
  }
  return "**lost**";
}

test("the drill table", () => {
  const by = (drill, mode, provider) => RESULTS.find((r) => r.drill === drill && r.mode === mode && r.provider === provider);
  const rows = [
    `Emulator killed (SIGKILL) for ${OUTAGE_S} s and frozen (SIGSTOP) for ${FREEZE_S} s; one signup per provider and mode arriving as it went down. ` +
      "\"Sender saw\" lists each attempt's status and latency; a retry that the sender's schedule puts after the outage was made as soon as Tencent was back. " +
      `Queue mode caught up ${SUMMARY.killed?.queueCatchUpS.toFixed(0) ?? "?"} s (killed) and ${SUMMARY.frozen?.queueCatchUpS.toFixed(0) ?? "?"} s (frozen) after Tencent was back.`,
    "",
    "| provider | sender's retry policy | direct, killed: sender saw | direct, frozen: sender saw | direct: outcome (killed / frozen) | direct, a 60 s outage (from the schedule) | queue mode (killed / frozen): sender saw | queue mode: outcome |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const p of PROVIDERS) {
    const dk = by("killed", "direct", p);
    const df = by("frozen", "direct", p);
    const qk = by("killed", "queue", p);
    const qf = by("frozen", "queue", p);
    rows.push(
      `| ${p} | ${SENDERS[p].policy} | ${seen(dk)} | ${seen(df)} | ${verdict(dk)} / ${verdict(df)} | ${at60(p)} | ${seen(qk)} / ${seen(qf)} | ${verdict(qk)} / ${verdict(qf)} |`,
    );
  }
  rows.push(
    "",
    "† Tencent has the account anyway: once continued, the frozen process ran calls the Worker had already " +
      "given up on (a real Tencent may or may not have applied such a call). The sender was told the signup failed.",
  );
  const md = rows.join("\n");
  console.log(`\n${md}\n`);
  if (process.env.DRILL_TABLE_OUT) writeFileSync(process.env.DRILL_TABLE_OUT, `${md}\n`);
  assert.equal(RESULTS.length, 4 * PROVIDERS.length, "a drill did not complete");
  assert.deepEqual(RESULTS.filter((r) => r.mode === "queue" && !r.imported).map((r) => `${r.drill} ${r.provider}`), [], "queue mode lost signups");
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", () => {
  assertNoLeaks(observedTexts());
});
