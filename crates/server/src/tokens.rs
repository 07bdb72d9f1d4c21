//! HS256 tokens: user access/refresh JWTs and NX tokens.
//!
//! NX tokens carry `jid` and `exp`, the claims ejabberd's `auth_method: jwt` checks, so one token
//! works on both servers. Every other kind names its user in `sub` and has no `jid` claim, so
//! ejabberd (which checks only signature, `exp` and `jid`) refuses them as XMPP passwords.
//! Every token carries the user's token version (`ver`), which sign-out and password changes
//! raise to revoke what was issued before; refresh tokens also carry an id (`jti`) and a family
//! (`fam`) for rotation with reuse detection.

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
    /// A guest's XMPP password, scoped by the `guests` table to one call; named in `sub`, so
    /// ejabberd (which wants `jid`) refuses it.
    Guest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Claims {
    /// Bare JID of the user: NX tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// Bare JID of the user: every other kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    /// Absent on NX tokens (also those minted elsewhere, e.g. ejabberd's `mint_token.py`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<TokenKind>,
    /// The user's token version when issued; absent on tokens minted elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<i64>,
    /// Token id (refresh tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Refresh family: every rotation of one sign-in shares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl Claims {
    /// The user the token is for.
    pub fn user(&self) -> &str {
        self.jid
            .as_deref()
            .or(self.sub.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
    #[error("wrong kind of token")]
    WrongKind,
    #[error("token revoked")]
    Revoked,
}

/// What a new token is for.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub ver: i64,
    pub jti: Option<String>,
    pub fam: Option<String>,
}

/// Issues and checks tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
        }
    }

    /// A token of `kind` for `jid`, at token version 0 (tools, the echo contact).
    pub fn issue(&self, jid: &str, kind: TokenKind, ttl_seconds: u64) -> String {
        self.issue_with(jid, kind, ttl_seconds, &Grant::default())
    }

    pub fn issue_with(&self, jid: &str, kind: TokenKind, ttl_seconds: u64, g: &Grant) -> String {
        let now = crate::clock::unix_now();
        let nx = kind == TokenKind::Nx;
        let claims = Claims {
            jid: nx.then(|| jid.to_string()),
            sub: (!nx).then(|| jid.to_string()),
            exp: now + ttl_seconds,
            iat: now,
            typ: (!nx).then_some(kind),
            ver: Some(g.ver),
            jti: g.jti.clone(),
            fam: g.fam.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc).unwrap_or_default()
    }

    /// Verifies signature, expiry and kind; returns the claims. Revocation is the caller's
    /// check (it needs the store).
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
        let c = data.claims;
        let named_right = if kind == TokenKind::Nx {
            c.jid.is_some() && c.sub.is_none()
        } else {
            c.sub.is_some() && c.jid.is_none()
        };
        if !named_right {
            return Err(TokenError::Invalid);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nx_tokens_carry_jid_and_other_kinds_do_not() {
        let t = Tokens::new(b"secret");
        let tok = t.issue("+1@x", TokenKind::Nx, 60);
        let c = t.verify(&tok, TokenKind::Nx).expect("valid");
        assert_eq!(c.jid.as_deref(), Some("+1@x"));
        assert!(c.typ.is_none());
        assert_eq!(
            t.verify(&tok, TokenKind::Access),
            Err(TokenError::WrongKind)
        );
        let access = t.issue("+1@x", TokenKind::Access, 60);
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                access.split('.').nth(1).expect("payload"),
            )
            .expect("b64"),
        )
        .expect("json");
        assert!(
            claims.get("jid").is_none(),
            "ejabberd must not accept an access token as an XMPP password: {claims}"
        );
        assert_eq!(
            t.verify(&access, TokenKind::Access).expect("access").user(),
            "+1@x"
        );
    }

    #[test]
    fn rejects_expired_forged_and_garbage_tokens() {
        let t = Tokens::new(b"secret");
        let expired = {
            let claims = Claims {
                jid: Some("a@x".into()),
                exp: 1000,
                ..Default::default()
            };
            encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(b"secret"),
            )
            .expect("enc")
        };
        assert_eq!(t.verify(&expired, TokenKind::Nx), Err(TokenError::Expired));
        let forged = Tokens::new(b"other").issue("a@x", TokenKind::Nx, 60);
        assert_eq!(t.verify(&forged, TokenKind::Nx), Err(TokenError::Invalid));
        assert_eq!(t.verify("garbage", TokenKind::Nx), Err(TokenError::Invalid));
    }
}
