// Docs check: the README and docs/ must not promise what the repository does not have.
// Usage: node scripts/check-docs.mjs    (exits 1 with a list of problems; no dependencies)
//
// Checks README.md, docs/**/*.md and bench/README.md:
// - relative links and #anchors resolve (GitHub's heading slugs);
// - every `make <target>` in code exists in the Makefile, and the targets CI and developers rely on
//   always exist; the README's first two commands are `make dev` and `make test`;
// - every scripts/... path exists, and send-webhook.mjs knows every provider the README sends;
// - every setting name with one of our prefixes is read somewhere in src/;
// - each provider has docs/providers/<name>.md with the same sections in the same order;
// - the emulator flags and endpoints quoted exist in emulator/src/;
// - src/ follows the layer diagram of docs/architecture.md (imports only go down), and the diagram
//   names every module;
// - the status-code contract lists exactly the error codes src/error.rs produces;
// - js snippets parse, sh snippets pass `bash -n`, the hash example prints the documented digits;
// - figures that have a source of truth match it (size budget, worker-build version), and
//   performance figures stay in bench/RESULTS.md;
// - nothing cites documents outside the repository; the README stays short.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_README_LINES = 150;
/** Targets CI, developers and these docs rely on, whoever edits the Makefile. */
const REQUIRED_TARGETS = ["dev", "test", "build", "bench", "emulator"];
/** Route names, in the README's order; each has docs/providers/<name>.md. */
const PROVIDERS = [
  "clerk", "stytch", "standard", "supabase", "supabase-db", "auth0",
  "firebase", "workos", "logto", "kinde", "okta", "zitadel",
];
/** The sections of every provider page, in order. */
const PROVIDER_LAYOUT = [
  "What is imported", "Dashboard steps", "Settings", "Route", "Verification", "Event names",
  "UserID, Nick, FaceUrl", "Retries and time budget", "Limitations",
];
const SETTING_PREFIXES = [
  "TIM", "CLERK", "STYTCH", "STANDARD", "SUPABASE", "AUTH0",
  "FIREBASE", "WORKOS", "LOGTO", "KINDE", "OKTA", "ZITADEL",
];
/** Names with our prefixes that are not settings of ours, and why. */
const NOT_OUR_SETTINGS = new Map([
  ["TIM_ONBOARD_SECRET", "the Auth0 Action's own secret (docs/providers/auth0.md)"],
  ["ZITADEL_DOMAIN", "a shell variable in the ZITADEL API example"],
]);
/** Settings the docs may describe before the code reads them (say "planned" next to them). */
const FUTURE_SETTINGS = new Set([]);
/** Documents that live outside the repository and must never be cited. */
const OUTSIDE = /\/work\/shared|shared\/reference|auth-webhooks\.md|tencent-chat-rest\.md|lifecycle-login-backfill\.md|workers-runtime-notes\.md|building-offline\.md/;

const problems = [];
const problem = (file, msg) => problems.push(`${file}: ${msg}`);
const read = (rel) => readFileSync(join(ROOT, rel), "utf8");
const walk = (dir, keep) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return walk(rel, keep);
    return keep(rel) ? [rel] : [];
  });

// ---- Markdown: fenced blocks, prose, headings -----------------------------------------------

/** Splits a markdown file into fenced code blocks and prose lines (code spans left in place). */
function parse(text) {
  const blocks = [];
  const prose = [];
  let open = null;
  text.split("\n").forEach((line, i) => {
    const fence = line.match(/^\s*(`{3,}|~{3,})\s*([\w-]*)/);
    if (open) {
      if (fence && fence[1][0] === open.marker[0] && fence[1].length >= open.marker.length && !fence[2]) {
        blocks.push(open);
        open = null;
      } else {
        open.lines.push(line);
      }
    } else if (fence) {
      open = { marker: fence[1], lang: fence[2].toLowerCase(), line: i + 1, lines: [] };
    } else {
      prose.push({ line: i + 1, text: line });
    }
  });
  if (open) blocks.push(open);
  return { blocks, prose };
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, -1/-2 for repeats. */
function anchors(prose) {
  const seen = new Map();
  const out = new Set();
  for (const { text } of prose) {
    const h = text.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!h) continue;
    const slug = h[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

const headings = (prose, level) =>
  prose.map(({ text }) => text.match(new RegExp(`^#{${level}}\\s+(.*?)\\s*$`))?.[1]).filter(Boolean);

const codeSpans = (s) => [...s.matchAll(/(`+)(.+?)\1/g)].map((m) => m[2].trim());
const withoutCodeSpans = (s) => s.replace(/(`+)(.+?)\1/g, "code");

// ---- Inputs ---------------------------------------------------------------------------------

const docFiles = ["README.md", "bench/README.md", ...walk("docs", (f) => f.endsWith(".md"))].filter((f) =>
  existsSync(join(ROOT, f)),
);
const docs = new Map(docFiles.map((f) => [f, { text: read(f), ...parse(read(f)) }]));
// bench/README.md is checked for links only: its figures and paths belong to `make bench`.
const ownDocs = docFiles.filter((f) => f !== "bench/README.md");

const makefile = read("Makefile");
const targets = new Set();
for (const line of makefile.split("\n")) {
  const m = line.match(/^([A-Za-z0-9_.\/%-][A-Za-z0-9_.\/%\s-]*?)\s*::?(?!=)/);
  if (m && !line.startsWith("\t")) m[1].split(/\s+/).forEach((t) => targets.add(t));
}
for (const t of REQUIRED_TARGETS) {
  if (!targets.has(t)) problem("Makefile", `target \`${t}\` is missing (README and CI rely on it)`);
}

const srcFiles = walk("src", (f) => /\.(rs|js|mjs)$/.test(f));
const srcText = srcFiles.map(read).join("\n");
// Settings read only by the command-line tool (cli/src) count as read too.
const cliText = existsSync(join(ROOT, "cli/src")) ? walk("cli/src", (f) => /\.rs$/.test(f)).map(read).join("\n") : "";
const srcTokens = new Set(`${srcText}\n${cliText}`.match(/[A-Z][A-Z0-9_]*[A-Z0-9]/g));

// ---- Links and anchors ----------------------------------------------------------------------

const anchorCache = new Map();
const anchorsOf = (rel) => {
  if (!anchorCache.has(rel)) {
    const doc = docs.get(rel) ?? parse(read(rel));
    anchorCache.set(rel, anchors(doc.prose));
  }
  return anchorCache.get(rel);
};

for (const [file, doc] of docs) {
  for (const { line, text } of doc.prose) {
    for (const m of withoutCodeSpans(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const url = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(url)) continue; // https:, mailto:, ...
      const [path, anchor] = url.split("#", 2);
      const where = `${file}:${line}`;
      let target = file;
      if (path) {
        const abs = resolve(ROOT, dirname(file), decodeURIComponent(path));
        if (!abs.startsWith(ROOT + sep) && abs !== ROOT) {
          problem(where, `link ${url} leaves the repository`);
          continue;
        }
        if (!existsSync(abs)) {
          problem(where, `link ${url}: ${relative(ROOT, abs)} does not exist`);
          continue;
        }
        target = relative(ROOT, abs);
        if (statSync(abs).isDirectory()) target = join(target, "README.md");
      }
      if (anchor !== undefined) {
        if (!target.endsWith(".md") || !existsSync(join(ROOT, target))) {
          problem(where, `link ${url}: cannot check an anchor in ${target}`);
        } else if (!anchorsOf(target).has(anchor)) {
          problem(where, `link ${url}: ${target} has no heading with anchor #${anchor}`);
        }
      }
    }
  }
}

// ---- Commands, scripts, settings, citations -------------------------------------------------

/** Commands quoted in a doc: inline code spans, and the lines of sh blocks. */
function commands(doc) {
  const out = [];
  for (const { line, text } of doc.prose) for (const c of codeSpans(text)) out.push({ line, cmd: c });
  for (const b of doc.blocks) {
    if (!["sh", "bash", "shell", "console", ""].includes(b.lang)) continue;
    b.lines.forEach((l, i) => {
      for (const part of l.replace(/#.*$/, "").split(/;|&&|\|\||\$\(/)) out.push({ line: b.line + 1 + i, cmd: part.trim() });
    });
  }
  return out;
}

const sendWebhook = existsSync(join(ROOT, "scripts/send-webhook.mjs")) ? read("scripts/send-webhook.mjs") : "";

for (const file of ownDocs) {
  const doc = docs.get(file);
  for (const { line, cmd } of commands(doc)) {
    const m = cmd.match(/^make((?:\s+(?:-\S+|[A-Za-z_][A-Za-z0-9_]*=\S*))*)\s+([A-Za-z0-9_.\/-]+)/);
    if (m && !targets.has(m[2])) problem(`${file}:${line}`, `\`make ${m[2]}\`: no such target in the Makefile`);
  }
  doc.text.split("\n").forEach((text, i) => {
    const where = `${file}:${i + 1}`;
    for (const m of text.matchAll(/(?<![\w.\/-])(?:\.\.\/)*(scripts\/[\w.\/-]*[\w])/g)) {
      if (!existsSync(join(ROOT, m[1]))) problem(where, `${m[1]} does not exist`);
    }
    for (const m of text.matchAll(new RegExp(`\\b(?:${SETTING_PREFIXES.join("|")})_[A-Z0-9_]*[A-Z0-9]\\b`, "g"))) {
      const name = m[0];
      if (srcTokens.has(name) || NOT_OUR_SETTINGS.has(name) || FUTURE_SETTINGS.has(name)) continue;
      // `<P>_USERID_MODE` / `<P>_USERID_PREFIX` may be built from the provider's prefix at run time.
      const built = name.match(/^(.*)_(USERID_MODE|USERID_PREFIX)$/);
      if (built && srcTokens.has(built[1]) && srcText.includes(built[2])) continue;
      problem(where, `setting ${name} is not read anywhere in src/`);
    }
    if (OUTSIDE.test(text)) problem(where, "cites a document outside the repository; cite the vendor's public URL");
    if (/\d\s*(µs|us)\b/.test(text)) problem(where, "performance figure: quote it in bench/RESULTS.md and link there");
    if (/\d\s*(KiB|KB|kB|MiB|MB)\s+gzip/i.test(text)) problem(where, "size figure: the measured sizes live in bench/RESULTS.md");
  });
}

// ---- README ---------------------------------------------------------------------------------

{
  const readme = docs.get("README.md");
  const lines = readme.text.replace(/\n$/, "").split("\n").length;
  if (lines > MAX_README_LINES) problem("README.md", `${lines} lines; keep it within ${MAX_README_LINES} (move detail to docs/)`);
  const first = commands({ prose: readme.prose, blocks: readme.blocks })
    .sort((a, b) => a.line - b.line)
    .map((c) => c.cmd)
    .filter((c) => /^(make|node|npx|npm|curl|cargo|openssl|wrangler)\b/.test(c))
    .slice(0, 2);
  if (first[0] !== "make dev" || first[1] !== "make test") {
    problem("README.md", `the first two commands must be \`make dev\` and \`make test\` (found: ${first.join(", ")})`);
  }

  // The "Try each provider locally" table: every provider, each sent by send-webhook.mjs.
  const sent = [...readme.text.matchAll(/`node scripts\/send-webhook\.mjs ([a-z0-9-]+)`/g)].map((m) => m[1]);
  for (const p of PROVIDERS) if (!sent.includes(p)) problem("README.md", `"Try each provider locally" has no row for ${p}`);
  for (const p of new Set(sent)) {
    if (!PROVIDERS.includes(p)) problem("README.md", `send-webhook.mjs ${p}: not a provider`);
    else if (!new RegExp(`["'\`]${p}["'\`]|^\\s*${p}\\s*:`, "m").test(sendWebhook)) {
      problem("scripts/send-webhook.mjs", `does not know provider \`${p}\`, which README.md tells readers to send`);
    }
  }

  // The status-code contract: exactly the error codes src/error.rs produces.
  const rows = readme.text.split("\n").filter((l) => /^\|\s*\d{3}(\s*\/\s*\d{3})?\s*\|/.test(l));
  if (rows.length === 0) problem("README.md", "the status-code contract table is missing");
  const documented = new Set(rows.flatMap((r) => codeSpans(r.split("|")[2] ?? "")).filter((c) => /^[a-z_]+$/.test(c)));
  const errorRs = existsSync(join(ROOT, "src/error.rs")) ? read("src/error.rs") : "";
  const codeFn = errorRs.match(/fn code\b[\s\S]*?\n {4}\}/)?.[0];
  if (codeFn) {
    const produced = new Set([...codeFn.matchAll(/"([a-z][a-z0-9_]*)"/g)].map((m) => m[1]));
    for (const c of produced) if (!documented.has(c)) problem("README.md", `error code \`${c}\` (src/error.rs) is missing from the status-code contract`);
    for (const c of documented) if (!produced.has(c)) problem("README.md", `status-code contract lists \`${c}\`, which src/error.rs never produces`);
  } else {
    console.warn("check-docs: src/error.rs has no `fn code`; the contract's error codes were not compared");
  }
}

// ---- Provider pages -------------------------------------------------------------------------

for (const p of PROVIDERS) {
  const file = `docs/providers/${p}.md`;
  if (!srcText.includes(`"${p}"`)) problem(file, `provider \`${p}\` is not a route name in src/`);
  const doc = docs.get(file);
  if (!doc) {
    problem(file, "missing");
    continue;
  }
  const h2 = headings(doc.prose, 2);
  if (h2.join("|") !== PROVIDER_LAYOUT.join("|")) {
    problem(file, `sections must be exactly: ${PROVIDER_LAYOUT.join(" · ")} (found: ${h2.join(" · ")})`);
  }
  if (!doc.text.includes(`/webhooks/${p}`)) problem(file, `does not give the route /webhooks/${p}`);
}
for (const f of docFiles.filter((f) => f.startsWith("docs/providers/") && !f.endsWith("/README.md"))) {
  const name = f.slice("docs/providers/".length, -".md".length);
  if (!PROVIDERS.includes(name)) problem(f, "a provider page for a provider this check does not know");
}

// ---- The emulator's flags and endpoints -----------------------------------------------------

{
  const emulatorSrc = walk("emulator/src", (f) => f.endsWith(".rs")).map(read).join("\n");
  for (const file of ownDocs) {
    const doc = docs.get(file);
    doc.text.split("\n").forEach((text, i) => {
      for (const m of text.matchAll(/\/_emulator\/[a-z_]+/g)) {
        if (!emulatorSrc.includes(`"${m[0]}"`)) problem(`${file}:${i + 1}`, `emulator endpoint ${m[0]} is not in emulator/src/`);
      }
    });
    for (const b of doc.blocks) {
      if (!b.lines.some((l) => l.includes("tim-emulator"))) continue;
      for (const m of b.lines.join("\n").matchAll(/(?<![\w-])--([a-z0-9][a-z0-9-]*)/g)) {
        const flag = m[1];
        const known =
          flag === "help" ||
          emulatorSrc.includes(`"--${flag}"`) ||
          emulatorSrc.includes(`long = "${flag}"`) ||
          new RegExp(`^\\s*(pub\\s+)?${flag.replace(/-/g, "_")}\\s*:`, "m").test(emulatorSrc);
        if (!known) problem(`${file}:${b.line}`, `tim-emulator has no flag --${flag}`);
      }
    }
  }
}

// ---- The layer diagram of docs/architecture.md against src/ ---------------------------------

{
  const file = "docs/architecture.md";
  const diagram = docs.get(file)?.blocks.find((b) => b.lines.some((l) => /^shell\s/.test(l)));
  const layerOf = new Map(); // module -> [layer, position in its row]
  for (const l of diagram?.lines ?? []) {
    const row = l.match(/^(\d+)\s+(.*?)(?:\s{2,}\S.*)?$/);
    if (!row) continue;
    row[2].split(/\s+─\s+/).forEach((name, i) => layerOf.set(name.replace(/\/$/, "").trim(), [Number(row[1]), i]));
  }
  if (layerOf.size === 0) problem(file, "no layer diagram (rows `<n>  a ─ b ─ c` under a `shell` row)");
  const stripTests = (s) => s.replace(/#\[cfg\(test\)\]\s*mod\s+\w+\s*\{[\s\S]*$/, "");
  const stripComments = (s) => s.replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
  /** Top-level crate modules a Rust file names: `crate::x`, `use crate::{x, y::z}`. */
  const used = (text) => {
    const out = new Set();
    for (const m of text.matchAll(/\bcrate::([a-z_][a-z0-9_]*)/g)) out.add(m[1]);
    for (const m of text.matchAll(/\bcrate::\{/g)) {
      let depth = 0;
      let expect = true;
      for (let i = m.index + m[0].length; i < text.length; i++) {
        const c = text[i];
        if (c === "{") depth++;
        else if (c === "}") {
          if (depth-- === 0) break;
        } else if (c === "," && depth === 0) expect = true;
        else if (expect && /[a-z_]/.test(c) && depth === 0) {
          out.add(text.slice(i).match(/^[a-z_][a-z0-9_]*/)[0]);
          expect = false;
        }
      }
    }
    return out;
  };
  const modules = readdirSync(join(ROOT, "src"), { withFileTypes: true })
    .map((e) => (e.isDirectory() ? e.name : e.name.replace(/\.rs$/, "")))
    .filter((n) => !n.includes(".") && !["lib", "worker", "testing"].includes(n));
  for (const m of modules) {
    if (!layerOf.has(m)) {
      problem(file, `src/${m} is not in the layer diagram`);
      continue;
    }
    const files = existsSync(join(ROOT, `src/${m}.rs`)) ? [`src/${m}.rs`] : [];
    if (existsSync(join(ROOT, `src/${m}`))) files.push(...walk(`src/${m}`, (f) => f.endsWith(".rs")));
    const [layer, pos] = layerOf.get(m);
    for (const f of files) {
      for (const n of used(stripComments(stripTests(read(f))))) {
        if (n === m || n === "testing" || !layerOf.has(n)) continue;
        const [l2, p2] = layerOf.get(n);
        if (l2 > layer || (l2 === layer && p2 > pos)) {
          problem(f, `imports \`${n}\` (layer ${l2}) from \`${m}\` (layer ${layer}): docs/architecture.md allows only lower layers, or modules to the left in the same layer`);
        }
      }
    }
  }
  for (const m of layerOf.keys()) if (!modules.includes(m)) problem(file, `the layer diagram names \`${m}\`, which is not a module in src/`);
}

// ---- Snippets -------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), "check-docs-"));
try {
  let n = 0;
  for (const file of ownDocs) {
    for (const b of docs.get(file).blocks) {
      const code = b.lines.join("\n");
      const where = `${file}:${b.line}`;
      if (["js", "javascript", "mjs"].includes(b.lang)) {
        const ext = /^\s*(import|export)\b/m.test(code) ? "mjs" : "cjs";
        const path = join(tmp, `snippet-${n++}.${ext}`);
        writeFileSync(path, code);
        const r = spawnSync(process.execPath, ["--check", path], { encoding: "utf8" });
        if (r.status !== 0) problem(where, `js snippet does not parse:\n${r.stderr.trim()}`);
      } else if (["sh", "bash", "shell"].includes(b.lang)) {
        const r = spawnSync("bash", ["-n"], { input: code, encoding: "utf8" });
        if (r.status !== 0) problem(where, `sh snippet: bash -n fails:\n${r.stderr.trim()}`);
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// The hash example of the UserID mapping is run as written.
{
  const file = "docs/configuration.md";
  const doc = docs.get(file);
  const block = doc?.blocks.find((b) => b.lang === "sh" && b.lines.some((l) => l.includes("sha256sum")));
  if (!block) {
    problem(file, "the shell hash example (sha256sum) is missing");
  } else {
    const r = spawnSync("bash", ["-c", block.lines.join("\n")], { encoding: "utf8" });
    const out = r.stdout.trim();
    if (r.status !== 0 || !/^[0-9a-f]{31}$/.test(out)) {
      problem(`${file}:${block.line}`, `the hash example did not print 31 hex digits: ${r.stderr.trim() || out}`);
    } else if (!doc.text.includes(`\`h${out}\``)) {
      problem(`${file}:${block.line}`, `the hash example prints ${out}, but no documented UserID is h${out}`);
    }
  }
}

// ---- Figures with a source of truth ---------------------------------------------------------

{
  const expr = read("scripts/check-size.mjs").match(/const BUDGET\s*=\s*([\d_\s*+]+);/)?.[1];
  const budget = expr ? Function(`"use strict"; return (${expr.replace(/_/g, "")});`)() : undefined;
  if (budget === undefined) problem("scripts/check-size.mjs", "no `const BUDGET = <number>;` to compare the docs with");
  let quoted = 0;
  for (const file of ownDocs) {
    // Paragraphs about the size budget: every size figure in them must be the budget, in bytes.
    for (const para of docs.get(file).prose.map((p) => p.text).join("\n").split(/\n\s*\n/)) {
      if (!/size budget|check-size/i.test(para)) continue;
      for (const m of para.matchAll(/(\d[\d,_]*(?:\.\d+)?)\s*(bytes|B|KB|KiB|kB|MB|MiB)\b/g)) {
        quoted++;
        if (m[2] !== "bytes" || Number(m[1].replace(/[,_]/g, "")) !== budget) {
          problem(file, `size budget quoted as "${m[0]}"; scripts/check-size.mjs says ${budget} bytes`);
        }
      }
    }
  }
  if (budget !== undefined && quoted === 0) problem("docs/", "the size budget is quoted nowhere (docs/development.md)");

  const wb = makefile.match(/^WORKER_BUILD_VERSION\s*:?=\s*(\S+)/m)?.[1];
  for (const file of ownDocs) {
    for (const m of docs.get(file).text.matchAll(/worker-build`?\s+v?(\d+\.\d+\.\d+)/g)) {
      if (m[1] !== wb) problem(file, `worker-build ${m[1]}, but the Makefile pins ${wb}`);
    }
  }
}

// ---- Report ---------------------------------------------------------------------------------

if (problems.length) {
  console.error(`check-docs: ${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`check-docs: ${docFiles.length} files OK (README.md within ${MAX_README_LINES} lines)`);
