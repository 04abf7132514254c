// The floor: the least any Worker doing this job can cost. It reads the request, makes the same
// single account_import `fetch` to the upstream (a fixed URL with a valid admin UserSig, made once
// by the benchmark driver and passed as the FLOOR_URL binding) and answers, with no signature
// verification, no payload parsing and no UserSig signing. What a real Worker spends above this
// is its own logic; this much is workerd's HTTP server and client.
export default {
  async fetch(request, env) {
    await request.text();
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
