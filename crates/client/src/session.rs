//! A partner's session: credentials, access token, fresh external ids.

use crate::client::{ClientError, PreparedRequest, Response, SnapClient};
use aws_lc_rs::rand;
use snapqris_protocol::{RsaPrivateKey, TransactionSigner, XTimestamp};
use std::sync::Arc;
use time::OffsetDateTime;

/// How the partner signs transactions.
#[derive(Clone)]
pub enum TransactionAuth {
    /// HMAC-SHA512 with the client secret (the default mode).
    Hmac {
        /// The client secret the operator issued.
        client_secret: String,
    },
    /// SHA256withRSA with the partner's private key.
    Rsa,
}

impl std::fmt::Debug for TransactionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransactionAuth::Hmac { .. } => f.write_str("Hmac { .. }"),
            TransactionAuth::Rsa => f.write_str("Rsa"),
        }
    }
}

/// A random `X-EXTERNAL-ID`: 32 hex digits, unique without coordination.
pub fn fresh_external_id() -> String {
    let mut bytes = [0_u8; 16];
    rand::fill(&mut bytes).expect("the system random generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One partner talking to one server.
#[derive(Clone)]
pub struct PartnerSession {
    client: SnapClient,
    client_id: String,
    private_key: Arc<RsaPrivateKey>,
    auth: TransactionAuth,
    token: Option<String>,
}

/// Says whether there is a token, never what it is: a bearer token in a log is a credential.
impl std::fmt::Debug for PartnerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerSession")
            .field("client", &self.client)
            .field("client_id", &self.client_id)
            .field("private_key", &self.private_key)
            .field("auth", &self.auth)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl PartnerSession {
    /// A session without a token yet.
    pub fn new(
        base_url: &str,
        client_id: &str,
        private_key: RsaPrivateKey,
        auth: TransactionAuth,
    ) -> Result<Self, ClientError> {
        Ok(PartnerSession {
            client: SnapClient::new(base_url)?,
            client_id: client_id.to_owned(),
            private_key: Arc::new(private_key),
            auth,
            token: None,
        })
    }

    /// The underlying client.
    pub fn client(&self) -> &SnapClient {
        &self.client
    }

    /// The partner's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The current access token.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Uses `token` from now on (or none).
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// A token request stamped now.
    pub fn prepare_token(&self) -> PreparedRequest {
        let now = XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc());
        self.client
            .token_request(&self.client_id, &self.private_key, &now)
    }

    /// Requests a token and keeps it when the answer carries one.
    pub async fn take_token(&mut self) -> Result<(PreparedRequest, Response), ClientError> {
        let request = self.prepare_token();
        let response = self.client.send(&request).await?;
        if let Some(token) = response
            .json()
            .and_then(|json| json.get("accessToken")?.as_str().map(str::to_owned))
        {
            self.token = Some(token);
        }
        Ok((request, response))
    }

    /// A signed transaction request stamped `timestamp`, with `external_id`.
    pub fn prepare_with(
        &self,
        api_path: &str,
        body: &[u8],
        external_id: &str,
        timestamp: &XTimestamp,
    ) -> PreparedRequest {
        let token = self.token.as_deref();
        let signer = match &self.auth {
            TransactionAuth::Hmac { client_secret } => TransactionSigner::Hmac {
                client_secret: client_secret.as_bytes(),
                access_token: token.unwrap_or(""),
            },
            TransactionAuth::Rsa => TransactionSigner::Rsa(&self.private_key),
        };
        self.client.transaction_request(
            api_path,
            body,
            &signer,
            token,
            &self.client_id,
            external_id,
            timestamp,
        )
    }

    /// A signed transaction request stamped now, with a fresh `X-EXTERNAL-ID`.
    pub fn prepare(&self, api_path: &str, body: &serde_json::Value) -> PreparedRequest {
        let now = XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc());
        self.prepare_with(
            api_path,
            body.to_string().as_bytes(),
            &fresh_external_id(),
            &now,
        )
    }

    /// Prepares and sends a transaction.
    pub async fn call(
        &self,
        api_path: &str,
        body: &serde_json::Value,
    ) -> Result<(PreparedRequest, Response), ClientError> {
        let request = self.prepare(api_path, body);
        let response = self.client.send(&request).await?;
        Ok((request, response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_fresh_and_valid() {
        let a = fresh_external_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, fresh_external_id());
        assert!(snapqris_protocol::ExternalId::parse(&a).is_ok());
    }

    #[test]
    fn debug_shows_neither_the_token_nor_the_secret() {
        let key = RsaPrivateKey::parse_pem(include_bytes!("../../../testdata/partner-private.pem"))
            .unwrap();
        let auth = TransactionAuth::Hmac {
            client_secret: "the-client-secret".to_owned(),
        };
        let mut session =
            PartnerSession::new("http://127.0.0.1:1", "partner-1", key, auth).unwrap();
        session.set_token(Some("the-bearer-token".to_owned()));
        let debug = format!("{session:?}");
        assert!(debug.contains("partner-1"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains("the-bearer-token"), "{debug}");
        assert!(!debug.contains("the-client-secret"), "{debug}");
    }
}
