// Sends Clerk's documented `user.created` payload, signed with the official `svix` library,
// to a running tim-onboard (default http://127.0.0.1:8787/webhooks/clerk).
// Usage: node scripts/send-webhook.mjs [url] [user_id]
// The secret comes from CLERK_WEBHOOK_SECRET, else .dev.vars, else the demo secret.
import { readFileSync, existsSync } from "node:fs";
import { Webhook } from "svix";

const url = process.argv[2] ?? "http://127.0.0.1:8787/webhooks/clerk";
const userId = process.argv[3];
let secret = process.env.CLERK_WEBHOOK_SECRET;
if (!secret && existsSync(".dev.vars")) {
  const m = readFileSync(".dev.vars", "utf8").match(/^CLERK_WEBHOOK_SECRET=(.*)$/m);
  secret = m?.[1]?.trim();
}
secret ??= "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const event = JSON.parse(readFileSync(new URL("../tests/fixtures/clerk_user_created.json", import.meta.url), "utf8"));
if (userId) event.data.id = userId;
const body = JSON.stringify(event);
const msgId = `msg_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
const now = new Date();
const signature = new Webhook(secret).sign(msgId, now, body);

const res = await fetch(url, {
  method: "POST",
  headers: {
    "content-type": "application/json",
    "svix-id": msgId,
    "svix-timestamp": String(Math.floor(now.getTime() / 1000)),
    "svix-signature": signature,
  },
  body,
});
console.log(res.status, await res.text());
process.exitCode = res.ok ? 0 : 1;
