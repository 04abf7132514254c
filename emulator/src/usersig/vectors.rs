//! UserSigs made by Tencent's official libraries with a fixed clock, for tests only.
//!
//! Produced with the unmodified libraries, the demo SDKAppID and key below, and the clock pinned
//! to [`T`]. npm `tls-sig-api-v2` 1.0.2 (<https://github.com/tencentyun/tls-sig-api-v2-node>):
//!
//! ```text
//! node -e 'Date.now = () => 1700000000000; const { Api } = require("tls-sig-api-v2");
//!   const key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
//!   const api = new Api(1400000000, key);
//!   console.log(api.genUserSig("xiaojun", 15552000));
//!   console.log(api.genUserSig("administrator", 86400));
//!   console.log(api.genSig("administrator", 86400, Buffer.from("abc")));
//!   console.log(new Api(1400000000, "not-the-key").genUserSig("administrator", 86400));'
//! ```
//!
//! PyPI `tls-sig-api-v2` 1.1 (<https://github.com/tencentyun/tls-sig-api-v2-python>):
//!
//! ```text
//! import time; time.time = lambda: 1700000000.0
//! import TLSSigAPIv2; api = TLSSigAPIv2.TLSSigAPIv2(1400000000, key)
//! api.gen_sig("xiaojun", 15552000); api.gen_sig_with_userbuf("xiaojun", 15552000, b"abc")
//! api.gen_sig("administrator", 86400)
//! ```

/// The demo secret key of the official libraries.
pub(crate) const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
/// The demo SDKAppID of the official libraries.
pub(crate) const APP: u64 = 1_400_000_000;
/// The fixed clock every vector was made at (Unix seconds).
pub(crate) const T: i64 = 1_700_000_000;
/// 180 days, the official libraries' default validity.
pub(crate) const HALF_YEAR: i64 = 15_552_000;

/// Node: `genUserSig("xiaojun", 15552000)`.
pub(crate) const NODE_XIAOJUN: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSCgswUJStDEwMogMiUZOamKlkZmqOKplYUZBaBxE1NTY3gosWZ6UpWSj5ljuYp*p7l5unBxXnF2WVhVU4uAf7Ozi5JpX7O5SbuHuUhzgZJmQXaTia2SrUAohcx8g__";
/// Node: `genUserSig("administrator", 86400)`.
pub(crate) const NODE_ADMIN: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJEpycxNVbIyNEcVTa0oyCxKVbKyMDOBCRVnpitZKVX6OKZql5uHh6aGlhYmhVlm6IdEmFuUGhnmh7hnamdaRhUYlhoHFORFmhnYKtUCAK0SM5I_";
/// Node: `genSig("administrator", 86400, Buffer.from("abc"))`, a UserSig with a userbuf.
pub(crate) const NODE_ADMIN_USERBUF: &str = "eJxVjMsOgjAURP-lbjU8DGLTxB0aJeJCDUZ2xRZyq8XaFkNi-HcThIWzm3Mm84bT7ui9hAEKMy*Aad*Ri8ZhhT1mXGGD1hnmHmYYWH5jWiMHGkbBkJ9xqATQcPFPRafRCKAkjkbUWmHKtgIKl3Mqx1*sgQKpRfO8y1KvWFrkmd2WqlKFT*b7LvYZCeS1XW*SXE4O2RI*X0HFOoQ_";
/// Node: `genUserSig("administrator", 86400)` signed with the key `not-the-key`.
pub(crate) const NODE_ADMIN_OTHER_KEY: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJEpycxNVbIyNEcVTa0oyCxKVbKyMDOBCRVnpitZKQU4WQTnZLtG5llkVPrmm5WFVvl4*ES5ZfsXZpuXGfobRhkUhzkVOpknOVnYKtUCALWmM9Y_";
/// Python: `gen_sig("xiaojun", 15552000)`.
pub(crate) const PY_XIAOJUN: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";
/// Python: `gen_sig_with_userbuf("xiaojun", 15552000, b"abc")`.
pub(crate) const PY_XIAOJUN_USERBUF: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPWlxalFSaVpIFsiw72y4FZkpoOEArNCjAwMKwKyI7L1E30NU7UrDcoSs6OSDLyNMgOK3EpTtbUNik0rzZLcfG2VagHdkjl6";
/// Python: `gen_sig("administrator", 86400)`.
pub(crate) const PY_ADMIN: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkElNyM-Myi0uKEkvyi2BKilOyEwsKMlOACgxNDKAAKpdaUZBZlAqUsTAzgQuWZOaChAzN0RQXZ6aDLKn0cUzVLjcPD00NLS1MCrPM0A*JMLcoNTLMD3HP1M60jCowLDUOKMiLNDOwVaoFAD4PNPI_";
/// `TLS.sig` of both xiaojun vectors without a userbuf (standard base64 of the HMAC).
pub(crate) const XIAOJUN_SIG: &str = "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=";
