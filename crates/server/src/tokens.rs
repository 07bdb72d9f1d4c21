//! HS256 tokens: user access/refresh JWTs and NX tokens. NX tokens carry `jid` and `exp`, the
//! claims ejabberd's `auth_method: jwt` checks, so one token works on both servers.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Kinds of token, so one cannot be used as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
    Nx,
    NxRefresh,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Bare JID of the user.
    pub jid: String,
    pub exp: u64,
    pub iat: u64,
    /// Absent on NX tokens minted elsewhere (e.g. ejabberd's `mint_token.py`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<TokenKind>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
    #[error("wrong kind of token")]
    WrongKind,
}

/// Issues and checks tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Self {
        Self { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret) }
    }

    pub fn issue(&self, jid: &str, kind: TokenKind, ttl_seconds: u64) -> String {
        let now = crate::clock::unix_now();
        let typ = if kind == TokenKind::Nx { None } else { Some(kind) };
        let claims = Claims { jid: jid.to_string(), exp: now + ttl_seconds, iat: now, typ };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc).unwrap_or_default()
    }

    /// Verifies signature, expiry and kind; returns the claims.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp"]);
        let data = decode::<Claims>(token, &self.dec, &v).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        let typ = data.claims.typ.unwrap_or(TokenKind::Nx);
        if typ != kind {
            return Err(TokenError::WrongKind);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nx_tokens_carry_only_ejabberd_claims_and_verify() {
        let t = Tokens::new(b"secret");
        let tok = t.issue("+1@x", TokenKind::Nx, 60);
        let c = t.verify(&tok, TokenKind::Nx).expect("valid");
        assert_eq!(c.jid, "+1@x");
        assert!(c.typ.is_none());
        assert_eq!(t.verify(&tok, TokenKind::Access), Err(TokenError::WrongKind));
    }

    #[test]
    fn rejects_expired_forged_and_garbage_tokens() {
        let t = Tokens::new(b"secret");
        let expired = {
            let claims = Claims { jid: "a@x".into(), exp: 1000, iat: 0, typ: None };
            encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"secret")).expect("enc")
        };
        assert_eq!(t.verify(&expired, TokenKind::Nx), Err(TokenError::Expired));
        let forged = Tokens::new(b"other").issue("a@x", TokenKind::Nx, 60);
        assert_eq!(t.verify(&forged, TokenKind::Nx), Err(TokenError::Invalid));
        assert_eq!(t.verify("garbage", TokenKind::Nx), Err(TokenError::Invalid));
    }
}
