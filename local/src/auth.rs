//! The dev server's stand-in for the HTTP API's JWT authorizer: an RS256 signing key kept in
//! the data directory, the tokens `cargo dev token` signs with it, and the check every
//! protected route's request passes before its function runs, as API Gateway's authorizer
//! would: the signature against the key set (by `kid`), then the issuer, the audience (`aud`,
//! or `client_id` when there is no `aud`), the expiry, `nbf` and `iat`. A request that fails is
//! answered as API Gateway answers it, 401 `{"message":"Unauthorized"}` with a
//! `www-authenticate` header saying why; one that passes reaches its function with the
//! token's claims at `requestContext.authorizer.jwt.claims`, every value a string.
//!
//! Tokens are never logged: neither the header nor the token appears in any log line.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rsa::sha2::{Digest as _, Sha256};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value, json};

/// The issuer (`iss`) of the dev server's tokens, and the one it trusts.
pub const ISSUER: &str = "https://stockroom.localhost/dev";
/// The audience (`aud`) of the dev server's tokens, and the one it accepts: the local stand-in
/// for the Cognito app client's id.
pub const AUDIENCE: &str = "stockroom-dev";
/// The signing key's file in the data directory (PKCS#8 PEM, readable by its owner only).
pub const KEY_FILE: &str = "jwt-signing-key.pem";
/// How long a token of `cargo dev token` lasts unless told otherwise: Cognito's default for
/// access tokens.
pub const DEFAULT_TTL_SECS: i64 = 3600;
/// The signing key's size: what Cognito uses.
const KEY_BITS: usize = 2048;
/// How many tokens whose signature verified an [`Authorizer`] remembers (about 600 bytes each).
const VERIFIED_TOKENS: usize = 4096;

/// The dev server's signing key, with its key id.
#[derive(Clone)]
pub struct SigningKeyPair {
    kid: String,
    key: RsaPrivateKey,
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key id of a public key: the first 16 characters of the base64url SHA-256 of its
/// modulus and exponent, so a new key never shares an old one's id.
fn key_id(public: &RsaPublicKey) -> String {
    let mut digest = Sha256::new();
    digest.update(public.n().to_bytes_be());
    digest.update(public.e().to_bytes_be());
    URL_SAFE_NO_PAD.encode(digest.finalize())[..16].to_owned()
}

impl SigningKeyPair {
    /// A new random key.
    ///
    /// # Errors
    /// When the operating system's random source fails.
    pub fn generate() -> anyhow::Result<Self> {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .context("failed to generate an RSA signing key")?;
        Ok(Self::from_key(key))
    }

    fn from_key(key: RsaPrivateKey) -> Self {
        Self {
            kid: key_id(&key.to_public_key()),
            key,
        }
    }

    /// The key in `data_dir`, made (and written, readable by its owner only) on first use.
    ///
    /// # Errors
    /// When the file cannot be read, parsed or written.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            let key = RsaPrivateKey::from_pkcs8_pem(&pem)
                .with_context(|| format!("{} is not a PKCS#8 RSA key", path.display()))?;
            return Ok(Self::from_key(key));
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("failed to create {}", data_dir.display()))?;
        let pair = Self::generate()?;
        let pem = pair
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .context("failed to encode the signing key")?;
        write_private(&path, pem.as_bytes())?;
        Ok(pair)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JSON Web Key Set, as an OIDC issuer publishes it.
    pub fn jwks(&self) -> Value {
        let public = self.key.to_public_key();
        json!({"keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]})
    }

    /// A compact RS256 JWT of `claims`, with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = SigningKey::<Sha256>::new(self.key.clone()).sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// A token for customer `sub` (in the `admin` group when `admin`), lasting `ttl_secs`,
    /// shaped like a Cognito access token: `sub`, `iss`, `aud` (Cognito's access tokens say
    /// `client_id`; API Gateway reads it when `aud` is absent), `token_use`, `scope`, `iat`,
    /// `exp`, and `cognito:groups`.
    pub fn token(&self, sub: &str, admin: bool, now: i64, ttl_secs: i64) -> String {
        let mut claims = json!({
            "sub": sub,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "token_use": "access",
            "scope": "openid",
            "iat": now,
            "exp": now + ttl_secs,
        });
        if admin {
            claims["cognito:groups"] = json!([stockroom_http::ADMIN_GROUP]);
        }
        self.sign(&claims)
    }

    /// The verifier that accepts this key's tokens for [`ISSUER`] and [`AUDIENCE`].
    pub fn authorizer(&self) -> Authorizer {
        Authorizer {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            keys: vec![(
                self.kid.clone(),
                VerifyingKey::new(self.key.to_public_key()),
            )],
            verified: Arc::default(),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("failed to write {}", path.display()))
}

/// Why a request was refused: API Gateway's `error_description`s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No `Authorization` header (API Gateway then says nothing more).
    #[error("no token")]
    Missing,
    #[error("the token is not a valid JWT")]
    Malformed,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token does not have a valid issuer")]
    Issuer,
    #[error("the token does not have a valid audience")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

impl Refusal {
    /// The `www-authenticate` header API Gateway sends with its 401.
    pub fn www_authenticate(&self) -> String {
        match self {
            Self::Missing => String::from("Bearer"),
            other => {
                format!(r#"Bearer scope="" error="invalid_token" error_description="{other}""#)
            }
        }
    }
}

/// Verifies bearer tokens as an HTTP API JWT authorizer configured with `issuer` and
/// `audience` would, against the keys of a key set.
#[derive(Debug, Clone)]
pub struct Authorizer {
    issuer: String,
    audience: String,
    keys: Vec<(String, VerifyingKey<Sha256>)>,
    /// Tokens whose signature has verified against `keys`: sent again, they skip the RSA
    /// operation, which held the dev server's protected reads to a third of the public ones'
    /// rate (docs/performance.md). Their claims are checked every time (the clock moves, the
    /// signature does not). Emptied when full; a token that failed is never remembered.
    verified: Arc<Mutex<HashSet<String>>>,
}

/// The verified claims, as API Gateway passes them to a function: every value a string.
pub type Claims = HashMap<String, String>;

impl Authorizer {
    /// An authorizer over the RSA keys of `jwks` (a JSON Web Key Set).
    ///
    /// # Errors
    /// When a key lacks its `kid`, `n` or `e`, or they do not decode.
    pub fn from_jwks(issuer: &str, audience: &str, jwks: &Value) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for key in jwks["keys"].as_array().context("a JWKS has a keys array")? {
            if key["kty"] != "RSA" {
                continue;
            }
            let field = |name: &str| -> anyhow::Result<BigUint> {
                let text = key[name]
                    .as_str()
                    .with_context(|| format!("a key lacks {name}"))?;
                Ok(BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(text)?))
            };
            let public = RsaPublicKey::new(field("n")?, field("e")?)?;
            let kid = key["kid"].as_str().context("a key lacks its kid")?;
            keys.push((kid.to_owned(), VerifyingKey::new(public)));
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
            verified: Arc::default(),
        })
    }

    /// The claims of the token in `authorization` (the header's value, with or without
    /// `Bearer `), verified at `now` (epoch seconds).
    ///
    /// # Errors
    /// The first check the token fails, in API Gateway's order.
    pub fn verify(&self, authorization: Option<&str>, now: i64) -> Result<Claims, Refusal> {
        let raw = authorization.map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Err(Refusal::Missing);
        }
        let token = match raw.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            Some(_) => return Err(Refusal::Malformed),
            None => raw,
        };
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::Malformed);
        };
        let header = decode_object(header)?;
        let claims = decode_object(payload)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Refusal::Malformed)?;

        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(Refusal::BadSignature);
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let Some((_, key)) = self.keys.iter().find(|(id, _)| Some(id.as_str()) == kid) else {
            return Err(Refusal::BadSignature);
        };
        if !self.remembers(token) {
            let signature =
                Signature::try_from(signature.as_slice()).map_err(|_| Refusal::BadSignature)?;
            let signed = &token[..header_and_payload_len(token)];
            key.verify(signed.as_bytes(), &signature)
                .map_err(|_| Refusal::BadSignature)?;
            self.remember(token);
        }

        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Refusal::Issuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| *a == *self.audience),
            Some(_) => false,
            None => claims.get("client_id").and_then(Value::as_str) == Some(self.audience.as_str()),
        };
        if !audience_ok {
            return Err(Refusal::Audience);
        }
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now => {}
            _ => return Err(Refusal::Expired),
        }
        for name in ["nbf", "iat"] {
            match claims.get(name) {
                None => {}
                Some(value) if value.as_i64().is_some_and(|t| t <= now) => {}
                Some(_) => return Err(Refusal::NotYetValid),
            }
        }
        Ok(claims.into_iter().map(|(k, v)| (k, as_claim(v))).collect())
    }
}

impl Authorizer {
    fn remembers(&self, token: &str) -> bool {
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.contains(token)
    }

    fn remember(&self, token: &str) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_owned());
    }
}

/// The length of `header.payload`, the part a JWT's signature covers.
fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_object(part: &str) -> Result<Map<String, Value>, Refusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::Malformed),
    }
}

/// A claim as API Gateway passes it: strings as they are, a list as `[a b]`, anything else
/// as its JSON text.
fn as_claim(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Array(items) => {
            let items: Vec<String> = items.into_iter().map(as_claim).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

/// The key file's path in `data_dir`, for messages.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> SigningKeyPair {
        static PAIR: std::sync::OnceLock<SigningKeyPair> = std::sync::OnceLock::new();
        PAIR.get_or_init(|| SigningKeyPair::generate().unwrap())
            .clone()
    }

    const NOW: i64 = 1_800_000_000;

    fn claims_with(edit: impl FnOnce(&mut Value)) -> Value {
        let mut claims = json!({
            "sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": NOW - 10, "exp": NOW + 60,
        });
        edit(&mut claims);
        claims
    }

    #[test]
    fn a_token_of_cargo_dev_token_passes_with_its_claims_as_api_gateway_passes_them() {
        let pair = pair();
        let token = pair.token("alice", true, NOW, 60);
        let claims = pair
            .authorizer()
            .verify(Some(&format!("Bearer {token}")), NOW)
            .unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["cognito:groups"], "[admin]");
        assert_eq!(claims["exp"], (NOW + 60).to_string());
        // The bare token, as API Gateway also accepts it.
        assert!(pair.authorizer().verify(Some(&token), NOW).is_ok());
    }

    #[test]
    fn a_token_verified_before_is_still_refused_once_it_expires_or_by_another_authorizer() {
        let pair = pair();
        let authorizer = pair.authorizer();
        let token = pair.token("alice", false, NOW, 60);
        for _ in 0..2 {
            assert!(authorizer.verify(Some(&token), NOW).is_ok());
        }
        assert_eq!(
            authorizer.verify(Some(&token), NOW + 60),
            Err(Refusal::Expired)
        );
        // Clones share what they verified; an authorizer of another key never saw it.
        assert!(authorizer.clone().verify(Some(&token), NOW + 1).is_ok());
        let other = SigningKeyPair::generate().unwrap().authorizer();
        assert_eq!(other.verify(Some(&token), NOW), Err(Refusal::BadSignature));
        // A forged signature is refused however often it comes.
        let (head, signature) = token.rsplit_once('.').unwrap();
        let swapped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{head}.{swapped}{}", &signature[1..]);
        for _ in 0..2 {
            assert_eq!(
                authorizer.verify(Some(&forged), NOW),
                Err(Refusal::BadSignature)
            );
        }
    }

    #[test]
    fn every_failed_check_is_refused_with_its_reason() {
        let pair = pair();
        let other = SigningKeyPair::generate().unwrap();
        let authorizer = pair.authorizer();
        let token = pair.token("alice", false, NOW, 60);
        let (head, _) = token.rsplit_once('.').unwrap();
        // Another key's signature under this key's kid.
        let forged = format!(
            "{head}.{}",
            other.sign(&claims_with(|_| {})).rsplit_once('.').unwrap().1
        );
        let cases: Vec<(Option<String>, Refusal)> = vec![
            (None, Refusal::Missing),
            (Some(String::from("  ")), Refusal::Missing),
            (Some(String::from("Bearer abc")), Refusal::Malformed),
            (Some(String::from("Basic YWxpY2U6cHc=")), Refusal::Malformed),
            (Some(forged), Refusal::BadSignature),
            (
                Some(other.token("alice", true, NOW, 60)),
                Refusal::BadSignature,
            ),
            (
                Some(pair.sign(&claims_with(|c| c["iss"] = json!("https://elsewhere")))),
                Refusal::Issuer,
            ),
            (
                Some(pair.sign(&claims_with(|c| c["aud"] = json!("another-app")))),
                Refusal::Audience,
            ),
            (
                Some(pair.sign(&claims_with(|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }))),
                Refusal::Audience,
            ),
            (
                Some(pair.token("alice", false, NOW - 120, 60)),
                Refusal::Expired,
            ),
            (
                Some(pair.sign(&claims_with(|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }))),
                Refusal::Expired,
            ),
            (
                Some(pair.sign(&claims_with(|c| c["nbf"] = json!(NOW + 30)))),
                Refusal::NotYetValid,
            ),
        ];
        for (header, refusal) in cases {
            assert_eq!(
                authorizer.verify(header.as_deref(), NOW),
                Err(refusal.clone()),
                "{header:?}"
            );
        }
        // client_id stands in for a missing aud, as in Cognito's access tokens.
        let access = pair.sign(&claims_with(|c| {
            c.as_object_mut().unwrap().remove("aud");
            c["client_id"] = json!(AUDIENCE);
        }));
        assert!(authorizer.verify(Some(&access), NOW).is_ok());
    }

    #[test]
    fn the_published_key_set_verifies_the_keys_tokens() {
        let pair = pair();
        let authorizer = Authorizer::from_jwks(ISSUER, AUDIENCE, &pair.jwks()).unwrap();
        let token = pair.token("bob", false, NOW, 60);
        assert_eq!(authorizer.verify(Some(&token), NOW).unwrap()["sub"], "bob");
    }

    #[test]
    fn the_key_is_made_once_and_kept_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("stockroom-key-{}", ulid::Ulid::new()));
        let first = SigningKeyPair::load_or_create(&dir).unwrap();
        let again = SigningKeyPair::load_or_create(&dir).unwrap();
        assert_eq!(first.kid(), again.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key_path(&dir))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
