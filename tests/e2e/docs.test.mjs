// The docs check as part of `make test`: README.md and docs/ must match the repository (links,
// make targets, scripts, settings read by src/, provider page layout, the layer diagram, snippets,
// figures). Needs no build; scripts/check-docs.mjs lists every problem it finds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("docs: README.md and docs/ match the repository (scripts/check-docs.mjs)", () => {
  const script = fileURLToPath(new URL("../../scripts/check-docs.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
