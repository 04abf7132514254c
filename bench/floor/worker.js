// The floor: the least any Worker doing this job can cost. For a webhook it reads the request,
// makes the same single account_import `fetch` to the upstream (a fixed URL with a valid admin
// UserSig, made once by the benchmark driver and passed as the FLOOR_URL binding) and answers,
// with no signature verification, no payload parsing and no UserSig signing. For a login
// (`/login/...`, a known user: no upstream call) it reads the request and answers a fixed body of
// the login's shape (FLOOR_LOGIN), with no token verification and no signing. What a real Worker
// spends above this is its own logic; this much is workerd's HTTP server and client.
export default {
  async fetch(request, env) {
    await request.text();
    if (request.url.includes("/login/")) {
      return new Response(env.FLOOR_LOGIN, {
        status: 200,
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    }
    const res = await fetch(env.FLOOR_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"UserID":"floor"}',
    });
    await res.text();
    return new Response('{"status":"imported","user_id":"floor"}', {
      status: res.status === 200 ? 200 : 502,
      headers: { "content-type": "application/json" },
    });
  },
};
