//! Client login: which session tokens each provider issues and how to check them, sans-IO.
//!
//! The app sends the session token its auth provider already gave the user; tim-onboard checks
//! it here and answers a short-lived UserSig for the same UserID the provider's webhooks create.
//! Every rule follows RFC 8725 (<https://www.rfc-editor.org/rfc/rfc8725>): the algorithms come
//! from this table, never from the token; `iss` is compared exactly; `aud` and `azp` where the
//! provider defines them; `exp` is required; `nbf`/`iat` get 60 s of skew.
// A build with only some providers (Cargo features) leaves some shared rule helpers unused; the
// full build still warns about real dead code.
#![cfg_attr(
    not(all(
        feature = "clerk",
        feature = "supabase",
        feature = "auth0",
        feature = "firebase",
        feature = "workos",
        feature = "stytch",
        feature = "kinde",
        feature = "logto",
        feature = "okta",
        feature = "zitadel",
        feature = "oidc"
    )),
    allow(dead_code)
)]

use crate::settings::{ConfigError, Settings};
use crate::webhook::jwt::{self, Alg};
use crate::webhook::{self, text_at, WebhookError};
use serde_json::Value;

/// Longest token accepted (8 KiB): real session tokens are far smaller.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest provider user id accepted from a token (Firebase allows 128).
pub const MAX_SUBJECT_BYTES: usize = 128;

/// Where a provider's verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// A JWKS URL.
    Jwks(String),
    /// The issuer's OpenID discovery document names the JWKS (generic OIDC).
    Discover(String),
    /// One public key from the configuration (JWK JSON or `spki:<base64 DER>`).
    Static(String),
}

/// A provider's login rules, read from its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Accepted `iss` values (exact).
    pub issuers: Vec<String>,
    /// Required audience (`aud` equal to it or a list holding it).
    pub audience: Option<String>,
    /// Accepted `azp` values, checked when the token has one (Clerk's authorized parties).
    pub parties: Vec<String>,
    /// Pinned algorithms.
    pub algs: Vec<Alg>,
    /// The asymmetric keys.
    pub keys: Keys,
    /// A shared HS256 secret (Supabase's legacy JWT secret), when configured.
    pub secret: Option<String>,
    /// The claim holding the provider's user id (`sub`; Okta access tokens: `uid`).
    pub user_claim: String,
    /// Supabase: `aud` or `role` must be `authenticated` (its public `anon` key is a valid JWT).
    pub authenticated_only: bool,
}

/// A login provider: its route, its UserID mapping (the webhook provider's), its switch.
#[derive(Debug)]
pub struct LoginSpec {
    /// `POST /login/<name>`.
    pub name: &'static str,
    /// Prefix of the mapping settings (`<P>_USERID_MODE`, `<P>_USERID_PREFIX`).
    pub prefix: &'static str,
    /// Constant ID prefixes dropped by `compact`.
    pub id_prefixes: &'static [&'static str],
    /// The settings that switch login on, as named in the 404.
    pub switch: &'static str,
    /// Reads the rules; `None` when login is not set up for this provider.
    pub rules: fn(&dyn Settings) -> Result<Option<Rules>, ConfigError>,
}

/// Why a token was refused; logged, never sent (every refusal answers the same 401).
pub type Refusal = &'static str;

fn url(s: &dyn Settings, var: &'static str) -> Result<Option<String>, ConfigError> {
    match s.get(var) {
        None => Ok(None),
        Some(v) if v.starts_with("https://") || crate::settings::is_loopback_http(&v) => {
            Ok(Some(v.trim_end_matches('/').to_owned()))
        }
        Some(_) => Err(ConfigError::invalid(var, "expected an https:// URL")),
    }
}

fn required(s: &dyn Settings, var: &'static str) -> Result<String, ConfigError> {
    s.get(var).ok_or_else(|| ConfigError::missing(var))
}

/// The JWKS URL: `<P>_LOGIN_JWKS_URL` when set (tests, proxies), else `default`.
fn jwks(s: &dyn Settings, var: &'static str, default: String) -> Result<Keys, ConfigError> {
    Ok(Keys::Jwks(jwt::jwks_url_setting(s, var, default)?))
}

fn base(issuers: Vec<String>, keys: Keys, algs: &[Alg]) -> Rules {
    Rules {
        issuers,
        audience: None,
        parties: Vec::new(),
        algs: algs.to_vec(),
        keys,
        secret: None,
        user_claim: "sub".into(),
        authenticated_only: false,
    }
}

fn list(s: &dyn Settings, var: &str) -> Vec<String> {
    s.get(var)
        .map(|v| {
            v.split([',', ' '])
                .map(|p| p.trim().trim_end_matches('/').to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(feature = "clerk")]
fn clerk(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(api) = url(s, "CLERK_FRONTEND_API")? else {
        return Ok(None);
    };
    let keys = match s.get("CLERK_JWT_KEY") {
        Some(pem) => Keys::Static(format!(
            "spki:{}",
            pem_body(&pem).ok_or_else(|| {
                ConfigError::invalid(
                    "CLERK_JWT_KEY",
                    "expected the PEM public key from the Clerk dashboard",
                )
            })?
        )),
        None => jwks(
            s,
            "CLERK_LOGIN_JWKS_URL",
            format!("{api}/.well-known/jwks.json"),
        )?,
    };
    let mut r = base(vec![api], keys, &[Alg::Rs256]);
    r.parties = list(s, "CLERK_AUTHORIZED_PARTIES");
    Ok(Some(r))
}

/// The base64 body of a PEM block (header, footer and line breaks removed).
#[cfg(feature = "clerk")]
fn pem_body(pem: &str) -> Option<String> {
    let body: String = pem
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    crate::crypto::base64_decode(&body).map(|_| body)
}

#[cfg(feature = "supabase")]
fn supabase(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(project) = url(s, "SUPABASE_URL")? else {
        return Ok(None);
    };
    let auth = format!("{project}/auth/v1");
    let keys = jwks(
        s,
        "SUPABASE_LOGIN_JWKS_URL",
        format!("{auth}/.well-known/jwks.json"),
    )?;
    let mut r = base(vec![auth], keys, &[Alg::Es256, Alg::Rs256, Alg::EdDsa]);
    r.secret = s.get("SUPABASE_JWT_SECRET");
    if r.secret.is_some() {
        r.algs.push(Alg::Hs256);
    }
    r.authenticated_only = true;
    Ok(Some(r))
}

#[cfg(feature = "auth0")]
fn auth0(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(domain) = s.get("AUTH0_DOMAIN") else {
        return Ok(None);
    };
    let host = domain.trim_start_matches("https://").trim_end_matches('/');
    let keys = jwks(
        s,
        "AUTH0_LOGIN_JWKS_URL",
        format!("https://{host}/.well-known/jwks.json"),
    )?;
    let mut r = base(vec![format!("https://{host}/")], keys, &[Alg::Rs256]);
    r.audience = Some(required(s, "AUTH0_AUDIENCE")?);
    Ok(Some(r))
}

#[cfg(feature = "firebase")]
fn firebase(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(project) = s.get("FIREBASE_PROJECT_ID") else {
        return Ok(None);
    };
    let default =
        "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";
    let keys = jwks(s, "FIREBASE_LOGIN_JWKS_URL", default.into())?;
    let mut r = base(
        vec![format!("https://securetoken.google.com/{project}")],
        keys,
        &[Alg::Rs256],
    );
    r.audience = Some(project);
    Ok(Some(r))
}

#[cfg(feature = "workos")]
fn workos(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(client) = s.get("WORKOS_CLIENT_ID") else {
        return Ok(None);
    };
    let keys = jwks(
        s,
        "WORKOS_LOGIN_JWKS_URL",
        format!("https://api.workos.com/sso/jwks/{client}"),
    )?;
    let mut issuers = vec![
        "https://api.workos.com".to_owned(),
        format!("https://api.workos.com/user_management/{client}"),
    ];
    issuers.extend(list(s, "WORKOS_ISSUER"));
    Ok(Some(base(issuers, keys, &[Alg::Rs256])))
}

#[cfg(feature = "stytch")]
fn stytch(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(project) = s.get("STYTCH_PROJECT_ID") else {
        return Ok(None);
    };
    let api = if project.starts_with("project-live-") {
        "https://api.stytch.com"
    } else {
        "https://test.stytch.com"
    };
    let keys = jwks(
        s,
        "STYTCH_LOGIN_JWKS_URL",
        format!("{api}/v1/sessions/jwks/{project}"),
    )?;
    let mut issuers = vec![format!("stytch.com/{project}"), api.to_owned()];
    issuers.extend(list(s, "STYTCH_ISSUER"));
    let mut r = base(issuers, keys, &[Alg::Rs256]);
    r.audience = Some(project);
    Ok(Some(r))
}

#[cfg(feature = "kinde")]
fn kinde(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let (Some(domain), Some(audience)) = (s.get("KINDE_DOMAIN"), s.get("KINDE_AUDIENCE")) else {
        return Ok(None);
    };
    let host = domain.trim_start_matches("https://").trim_end_matches('/');
    let keys = jwks(
        s,
        "KINDE_LOGIN_JWKS_URL",
        format!("https://{host}/.well-known/jwks"),
    )?;
    let mut r = base(vec![format!("https://{host}")], keys, &[Alg::Rs256]);
    r.audience = Some(audience);
    Ok(Some(r))
}

#[cfg(feature = "logto")]
fn logto(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(endpoint) = url(s, "LOGTO_ENDPOINT")? else {
        return Ok(None);
    };
    let keys = jwks(s, "LOGTO_LOGIN_JWKS_URL", format!("{endpoint}/oidc/jwks"))?;
    let mut r = base(
        vec![format!("{endpoint}/oidc")],
        keys,
        &[Alg::Es384, Alg::Es256, Alg::Rs256],
    );
    r.audience = Some(required(s, "LOGTO_AUDIENCE")?);
    Ok(Some(r))
}

#[cfg(feature = "okta")]
fn okta(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(issuer) = url(s, "OKTA_ISSUER")? else {
        return Ok(None);
    };
    let keys = jwks(s, "OKTA_LOGIN_JWKS_URL", format!("{issuer}/v1/keys"))?;
    let mut r = base(vec![issuer], keys, &[Alg::Rs256]);
    r.audience = Some(required(s, "OKTA_AUDIENCE")?);
    // Okta access tokens carry the login in `sub` and the user id in `uid`.
    r.user_claim = "uid".into();
    Ok(Some(r))
}

#[cfg(feature = "zitadel")]
fn zitadel(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(issuer) = url(s, "ZITADEL_ISSUER")? else {
        return Ok(None);
    };
    let keys = jwks(
        s,
        "ZITADEL_LOGIN_JWKS_URL",
        format!("{issuer}/oauth/v2/keys"),
    )?;
    let mut r = base(vec![issuer], keys, &[Alg::Rs256, Alg::Es256, Alg::EdDsa]);
    r.audience = Some(required(s, "ZITADEL_AUDIENCE")?);
    Ok(Some(r))
}

#[cfg(feature = "oidc")]
fn oidc(s: &dyn Settings) -> Result<Option<Rules>, ConfigError> {
    let Some(issuer) = url(s, "OIDC_ISSUER")? else {
        return Ok(None);
    };
    let keys = match url(s, "OIDC_JWKS_URL")? {
        Some(u) => Keys::Jwks(u),
        None => Keys::Discover(format!("{issuer}/.well-known/openid-configuration")),
    };
    let algs = match s.get("OIDC_ALGORITHMS") {
        None => vec![Alg::Rs256, Alg::Es256],
        Some(v) => v
            .split(',')
            .map(|a| Alg::parse(a).filter(|a| *a != Alg::Hs256))
            .collect::<Option<Vec<_>>>()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                ConfigError::invalid(
                    "OIDC_ALGORITHMS",
                    "expected RS256, ES256, ES384 or EdDSA, comma-separated",
                )
            })?,
    };
    let mut r = base(vec![issuer], keys, &algs);
    r.audience = Some(required(s, "OIDC_AUDIENCE")?);
    r.user_claim = s.get("OIDC_USER_CLAIM").unwrap_or_else(|| "sub".into());
    Ok(Some(r))
}

/// The webhook provider `name`'s mapping facts.
const fn spec(
    name: &'static str,
    p: &'static webhook::Spec,
    switch: &'static str,
    rules: fn(&dyn Settings) -> Result<Option<Rules>, ConfigError>,
) -> LoginSpec {
    LoginSpec {
        name,
        prefix: p.prefix,
        id_prefixes: p.id_prefixes,
        switch,
        rules,
    }
}

/// Every login provider tim-onboard knows, built in or not: a name here that [`provider`] does
/// not find was left out of this build (`make build PROVIDERS=...`), which the 404 says.
pub const NAMES: &[&str] = &[
    "clerk", "supabase", "auth0", "firebase", "workos", "stytch", "kinde", "logto", "okta",
    "zitadel", "oidc",
];

/// Every login provider built into this Worker (Cargo features); the route is `POST /login/<name>`.
pub const ALL: &[LoginSpec] = &[
    #[cfg(feature = "clerk")]
    spec("clerk", &webhook::clerk::SPEC, "CLERK_FRONTEND_API", clerk),
    #[cfg(feature = "supabase")]
    spec(
        "supabase",
        &webhook::supabase::SPEC,
        "SUPABASE_URL",
        supabase,
    ),
    #[cfg(feature = "auth0")]
    spec(
        "auth0",
        &webhook::auth0::SPEC,
        "AUTH0_DOMAIN and AUTH0_AUDIENCE",
        auth0,
    ),
    #[cfg(feature = "firebase")]
    spec(
        "firebase",
        &webhook::firebase::SPEC,
        "FIREBASE_PROJECT_ID",
        firebase,
    ),
    #[cfg(feature = "workos")]
    spec("workos", &webhook::workos::SPEC, "WORKOS_CLIENT_ID", workos),
    #[cfg(feature = "stytch")]
    spec(
        "stytch",
        &webhook::stytch::SPEC,
        "STYTCH_PROJECT_ID",
        stytch,
    ),
    #[cfg(feature = "kinde")]
    spec(
        "kinde",
        &webhook::kinde::SPEC,
        "KINDE_DOMAIN and KINDE_AUDIENCE",
        kinde,
    ),
    #[cfg(feature = "logto")]
    spec(
        "logto",
        &webhook::logto::SPEC,
        "LOGTO_ENDPOINT and LOGTO_AUDIENCE",
        logto,
    ),
    #[cfg(feature = "okta")]
    spec(
        "okta",
        &webhook::okta::SPEC,
        "OKTA_ISSUER and OKTA_AUDIENCE",
        okta,
    ),
    #[cfg(feature = "zitadel")]
    spec(
        "zitadel",
        &webhook::zitadel::SPEC,
        "ZITADEL_ISSUER and ZITADEL_AUDIENCE",
        zitadel,
    ),
    #[cfg(feature = "oidc")]
    LoginSpec {
        name: "oidc",
        prefix: "OIDC",
        id_prefixes: &[],
        switch: "OIDC_ISSUER and OIDC_AUDIENCE",
        rules: oidc,
    },
];

/// Looks a login provider up by route name; `None` when unknown or not built in (see [`NAMES`]).
pub fn provider(name: &str) -> Option<&'static LoginSpec> {
    ALL.iter().find(|p| p.name == name)
}

/// The bearer token of an `Authorization` header, if it is one and not over the size limit.
pub fn bearer(header: Option<&str>) -> Result<&str, Refusal> {
    let h = header.ok_or("no Authorization header")?;
    let (scheme, token) = h.trim().split_once(' ').ok_or("not a bearer token")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("not a bearer token");
    }
    let token = token.trim();
    if token.is_empty() {
        return Err("empty token");
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err("token over 8 KiB");
    }
    Ok(token)
}

/// Checks verified claims against `rules` at `now` (Unix s); returns the provider's user id.
pub fn check_claims<'a>(rules: &Rules, claims: &'a Value, now: i64) -> Result<&'a str, Refusal> {
    let iss = text_at(claims, &["/iss"]).ok_or("no iss")?;
    if !rules.issuers.iter().any(|i| i == iss) {
        return Err("wrong issuer");
    }
    jwt::check_exp(claims, now, true).map_err(|_| "expired or no exp")?;
    jwt::check_issued(claims, now, false).map_err(|_| "issued in the future")?;
    if let Some(aud) = &rules.audience {
        if !jwt::audience_matches(claims, aud) {
            return Err("wrong audience");
        }
    }
    if let (false, Some(azp)) = (rules.parties.is_empty(), text_at(claims, &["/azp"])) {
        if !rules.parties.iter().any(|p| p == azp.trim_end_matches('/')) {
            return Err("azp is not an authorized party");
        }
    }
    if rules.authenticated_only
        && !(jwt::audience_matches(claims, "authenticated")
            && text_at(claims, &["/role"]).is_none_or(|r| r == "authenticated"))
    {
        return Err("not an authenticated user's token");
    }
    text_at(claims, &[&format!("/{}", rules.user_claim)])
        .filter(|u| u.len() <= MAX_SUBJECT_BYTES)
        .ok_or("no user id claim")
}

/// The display name and avatar the token's standard claims give.
pub fn profile(claims: &Value) -> (Option<String>, Option<String>) {
    let nick = crate::identity::pick_nick(
        text_at(claims, &["/given_name"]),
        text_at(claims, &["/family_name"]),
        text_at(claims, &["/name", "/preferred_username", "/nickname"]),
        text_at(claims, &["/email"]),
    );
    let face = text_at(claims, &["/picture"]).map(str::to_owned);
    (nick, face)
}

/// The jwks URL in an OpenID discovery document.
pub fn jwks_uri(doc: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(doc).ok()?;
    text_at(&v, &["/jwks_uri"]).map(str::to_owned)
}

/// A webhook error as a token refusal (only the category is ever logged).
pub fn refusal(e: &WebhookError) -> Refusal {
    match e {
        WebhookError::KeysUnavailable(_) => "signing keys unavailable",
        WebhookError::Malformed(_) => "claims are not a JSON object",
        _ => "bad signature or algorithm",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn rules_for(name: &str, settings: &[(&str, &str)]) -> Rules {
        let s = crate::settings::table(settings);
        let spec = provider(name).unwrap();
        (spec.rules)(&s).unwrap().unwrap()
    }

    /// Each provider's documented access-token shape, with the claim its user id comes from.
    #[test]
    fn every_provider_accepts_its_documented_token_shape() {
        let t = |extra: serde_json::Value| {
            let mut c = json!({ "exp": NOW + 300, "iat": NOW - 5, "nbf": NOW - 5 });
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            c
        };
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, serde_json::Value, &'a str);
        let cases: Vec<Case> = vec![
            (
                "clerk",
                vec![
                    ("CLERK_FRONTEND_API", "https://clerk.example.com"),
                    ("CLERK_AUTHORIZED_PARTIES", "https://app.example.com"),
                ],
                t(
                    json!({ "iss": "https://clerk.example.com", "sub": "user_2x", "azp": "https://app.example.com", "sid": "sess_1" }),
                ),
                "user_2x",
            ),
            (
                "supabase",
                vec![("SUPABASE_URL", "https://abcd.supabase.co")],
                t(
                    json!({ "iss": "https://abcd.supabase.co/auth/v1", "aud": "authenticated", "role": "authenticated", "sub": "ff7f-uuid" }),
                ),
                "ff7f-uuid",
            ),
            (
                "auth0",
                vec![
                    ("AUTH0_DOMAIN", "my-domain.auth0.com"),
                    ("AUTH0_AUDIENCE", "https://api.example.com"),
                ],
                t(
                    json!({ "iss": "https://my-domain.auth0.com/", "aud": ["https://api.example.com", "https://my-domain.auth0.com/userinfo"], "sub": "auth0|123456", "azp": "client" }),
                ),
                "auth0|123456",
            ),
            (
                "firebase",
                vec![("FIREBASE_PROJECT_ID", "proj-1")],
                t(
                    json!({ "iss": "https://securetoken.google.com/proj-1", "aud": "proj-1", "sub": "uid28", "auth_time": NOW - 100 }),
                ),
                "uid28",
            ),
            (
                "workos",
                vec![("WORKOS_CLIENT_ID", "client_01")],
                t(
                    json!({ "iss": "https://api.workos.com/user_management/client_01", "sub": "user_01H", "sid": "session_01" }),
                ),
                "user_01H",
            ),
            (
                "stytch",
                vec![("STYTCH_PROJECT_ID", "project-test-1")],
                t(
                    json!({ "iss": "stytch.com/project-test-1", "aud": ["project-test-1"], "sub": "user-test-1" }),
                ),
                "user-test-1",
            ),
            (
                "kinde",
                vec![
                    ("KINDE_DOMAIN", "myapp.kinde.com"),
                    ("KINDE_AUDIENCE", "https://api.example.com"),
                ],
                t(
                    json!({ "iss": "https://myapp.kinde.com", "aud": ["https://api.example.com"], "sub": "kp_1" }),
                ),
                "kp_1",
            ),
            (
                "logto",
                vec![
                    ("LOGTO_ENDPOINT", "https://auth.example.com"),
                    ("LOGTO_AUDIENCE", "https://api.example.com"),
                ],
                t(
                    json!({ "iss": "https://auth.example.com/oidc", "aud": "https://api.example.com", "sub": "abc123" }),
                ),
                "abc123",
            ),
            (
                "okta",
                vec![
                    ("OKTA_ISSUER", "https://example.okta.com/oauth2/default"),
                    ("OKTA_AUDIENCE", "api://default"),
                ],
                t(
                    json!({ "iss": "https://example.okta.com/oauth2/default", "aud": "api://default", "sub": "jane@example.com", "uid": "00u1" }),
                ),
                "00u1",
            ),
            (
                "zitadel",
                vec![
                    ("ZITADEL_ISSUER", "https://acme.zitadel.cloud"),
                    ("ZITADEL_AUDIENCE", "2101"),
                ],
                t(json!({ "iss": "https://acme.zitadel.cloud", "aud": ["2101"], "sub": "1808" })),
                "1808",
            ),
            (
                "oidc",
                vec![
                    ("OIDC_ISSUER", "https://idp.example.com"),
                    ("OIDC_AUDIENCE", "chat"),
                    ("OIDC_USER_CLAIM", "oid"),
                ],
                t(
                    json!({ "iss": "https://idp.example.com", "aud": "chat", "sub": "x", "oid": "o-1" }),
                ),
                "o-1",
            ),
        ];
        assert_eq!(cases.len(), ALL.len(), "every login provider has a case");
        for (name, settings, claims, user) in cases {
            let r = rules_for(name, &settings);
            assert_eq!(check_claims(&r, &claims, NOW), Ok(user), "{name}");
            // The same token from another issuer, or for another audience, is refused.
            let mut other = claims.clone();
            other["iss"] = json!("https://evil.example");
            assert!(
                check_claims(&r, &other, NOW).is_err(),
                "{name}: foreign iss"
            );
            if r.audience.is_some() {
                let mut other = claims.clone();
                other["aud"] = json!("someone-else");
                assert!(
                    check_claims(&r, &other, NOW).is_err(),
                    "{name}: foreign aud"
                );
            }
            let mut expired = claims.clone();
            expired["exp"] = json!(NOW - 61);
            assert!(check_claims(&r, &expired, NOW).is_err(), "{name}: expired");
            let mut no_exp = claims;
            no_exp.as_object_mut().unwrap().remove("exp");
            assert!(check_claims(&r, &no_exp, NOW).is_err(), "{name}: no exp");
        }
    }

    #[test]
    fn pinned_algorithms_and_switches() {
        assert_eq!(
            rules_for(
                "logto",
                &[
                    ("LOGTO_ENDPOINT", "https://a.example"),
                    ("LOGTO_AUDIENCE", "x")
                ]
            )
            .algs[0],
            Alg::Es384
        );
        assert!(
            !rules_for("supabase", &[("SUPABASE_URL", "https://a.supabase.co")])
                .algs
                .contains(&Alg::Hs256)
        );
        let with_secret = rules_for(
            "supabase",
            &[
                ("SUPABASE_URL", "https://a.supabase.co"),
                ("SUPABASE_JWT_SECRET", "s"),
            ],
        );
        assert!(with_secret.algs.contains(&Alg::Hs256));
        let s = crate::settings::table(&[
            ("OIDC_ISSUER", "https://i.example"),
            ("OIDC_AUDIENCE", "a"),
            ("OIDC_ALGORITHMS", "RS256,HS256"),
        ]);
        assert!(
            (provider("oidc").unwrap().rules)(&s).is_err(),
            "HS256 is never a generic OIDC algorithm"
        );
        let s = crate::settings::table(&[("AUTH0_DOMAIN", "d.auth0.com")]);
        assert_eq!(
            (provider("auth0").unwrap().rules)(&s).unwrap_err().var(),
            "AUTH0_AUDIENCE"
        );
        let s = crate::settings::table(&[
            ("OKTA_ISSUER", "http://evil.example/oauth2/default"),
            ("OKTA_AUDIENCE", "a"),
        ]);
        assert!(
            (provider("okta").unwrap().rules)(&s).is_err(),
            "plain http only to this machine"
        );
        for p in ALL {
            let none = crate::settings::table(&[]);
            assert!(
                (p.rules)(&none).unwrap().is_none(),
                "{} is off without settings",
                p.name
            );
        }
        // Clerk: azp must be an authorized party when the token has one.
        let r = rules_for(
            "clerk",
            &[
                ("CLERK_FRONTEND_API", "https://clerk.example.com"),
                ("CLERK_AUTHORIZED_PARTIES", "https://app.example.com"),
            ],
        );
        let c = json!({ "iss": "https://clerk.example.com", "sub": "u", "exp": NOW + 60, "azp": "https://evil.example" });
        assert!(check_claims(&r, &c, NOW).is_err());
    }

    #[test]
    fn bearer_tokens_and_profiles() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert!(bearer(Some("Basic abc")).is_err());
        assert!(bearer(None).is_err());
        assert!(bearer(Some(&format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1)))).is_err());
        let (nick, face) = profile(
            &json!({ "given_name": "Ada", "family_name": "Lovelace", "picture": "https://x/a.png" }),
        );
        assert_eq!(
            (nick.as_deref(), face.as_deref()),
            (Some("Ada Lovelace"), Some("https://x/a.png"))
        );
        assert_eq!(
            jwks_uri(br#"{"jwks_uri":"https://i.example/keys"}"#).as_deref(),
            Some("https://i.example/keys")
        );
    }
}
