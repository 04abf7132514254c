// Makes UserSigs with Tencent's official `tls-sig-api-v2` npm library at fixed clocks.
// Reads a JSON list of cases on stdin and prints it back with `usersig` added.
const TLSSigAPIv2 = require("tls-sig-api-v2");
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const realNow = Date.now;
for (const c of cases) {
  Date.now = () => c.time * 1000;
  const api = new TLSSigAPIv2.Api(c.sdkappid, c.key);
  c.usersig = c.userbuf != null
    ? api.genSig(c.identifier, c.expire, Buffer.from(c.userbuf))
    : api.genUserSig(c.identifier, c.expire);
}
Date.now = realNow;
process.stdout.write(JSON.stringify(cases));
