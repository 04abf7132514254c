// A Worker built with one provider only (`make build PROVIDERS=clerk`; `make size` builds this one
// into target/sizes/clerk/, leaving build/ the every-provider build): Clerk imports as usual; every
// other known provider answers 404 provider_not_built_in on its webhook and login routes; unknown
// names stay not_found; /health lists Clerk alone.
import { test } from "node:test";
import { existsSync } from "node:fs";
import { assert, assertError, clerkFixture, ROOT, startWorker, svixHeaders, TEST_TIMEOUT_MS } from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const DIR = `${ROOT}target/sizes/clerk`;
const built = existsSync(`${DIR}/index_bg.wasm`) && existsSync(`${DIR}/index.js`);
// `make test` runs `make size` (which builds it) before the e2e tests; a lone run says why it skips.
const opts = { timeout: TEST_TIMEOUT_MS, skip: built ? false : "no clerk-only build: run `make size` first" };
const s = suite({ workers: {} });

test("a clerk-only build imports Clerk signups and names every left-out provider", opts, async () => {
  const w = await startWorker(s.bindings({ AUTH0_WEBHOOK_SECRET: "x", OIDC_ISSUER: "https://id.example", TIM_ADMIN_TOKEN: "features-admin-token" }), { dir: DIR });
  try {
    const body = JSON.stringify(clerkFixture());
    const res = await w.deliver(body, svixHeaders(body));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, "imported");
    assert.equal(await s.callTotal(), 1);

    for (const p of ["auth0", "supabase-db", "standard", "okta"]) {
      const left = await w.deliverTo(p, "{}");
      assertError(left, 404, "provider_not_built_in");
      assert.match(left.json.message, new RegExp(`${p}.*PROVIDERS`));
    }
    for (const p of ["auth0", "oidc"]) {
      assertError(await w.request(`/login/${p}`, { method: "POST" }), 404, "provider_not_built_in");
    }
    assertError(await w.deliverTo("github", "{}"), 404, "not_found");
    assertError(await w.request("/login/standard", { method: "POST" }), 404, "not_found");

    const health = await w.health();
    assert.deepEqual(Object.keys(health.json.providers), ["clerk"], health.text);
    assert.equal(await s.callTotal(), 1, "nothing but the Clerk signup reached Tencent");
  } finally {
    await w.dispose();
  }
});
