//! The notification key (CONTRACT §6.2): one RSA-2048 key pair per deployment, kept in the
//! store's shared secrets (sealed under the master key when there is one), created by the first
//! process that needs it and used by every node; `admin notify key` hands its public half to
//! partners, `admin notify rotate-key` replaces it.

use snapqris_protocol::RsaPrivateKey;
use snapqris_store::{Store, StoreError};

/// The name of the notification key among the store's shared secrets.
pub const NOTIFICATION_KEY_NAME: &str = "notification-key";

/// Why the notification key cannot be had or changed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationKeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored value is not an RSA private key (edited by hand?).
    #[error("the stored notification key is not a usable RSA private key: {0}")]
    Corrupt(snapqris_protocol::KeyError),
    /// A key could not be generated.
    #[error("cannot generate an RSA key: {0}")]
    Generate(snapqris_protocol::KeyError),
    /// Another process replaced the key at the same moment; nothing was changed.
    #[error("the notification key changed meanwhile; run the rotation again")]
    Raced,
}

/// The deployment's notification key, created (and stored for every node) on first use.
pub async fn notification_key(store: &dyn Store) -> Result<RsaPrivateKey, NotificationKeyError> {
    let pem = notification_key_pem(store).await?;
    RsaPrivateKey::parse_pem(&pem).map_err(NotificationKeyError::Corrupt)
}

/// The deployment's notification key as stored (PEM PKCS#8), created on first use.
pub(crate) async fn notification_key_pem(
    store: &dyn Store,
) -> Result<Vec<u8>, NotificationKeyError> {
    match stored_key(store).await? {
        Some(pem) => Ok(pem),
        // Whichever process offers first wins; the others read its key back.
        None => {
            let fresh = RsaPrivateKey::generate().map_err(NotificationKeyError::Generate)?;
            Ok(store
                .shared_secret(NOTIFICATION_KEY_NAME, fresh.to_pkcs8_pem().as_bytes())
                .await?)
        }
    }
}

/// Replaces the notification key with `new` (a fresh key when `None`); returns the key now in
/// force.
pub async fn rotate_notification_key(
    store: &dyn Store,
    new: Option<RsaPrivateKey>,
) -> Result<RsaPrivateKey, NotificationKeyError> {
    let current = notification_key(store).await?.to_pkcs8_pem();
    let new = match new {
        Some(key) => key,
        None => RsaPrivateKey::generate().map_err(NotificationKeyError::Generate)?,
    };
    let replaced = store
        .replace_shared_secret(
            NOTIFICATION_KEY_NAME,
            current.as_bytes(),
            new.to_pkcs8_pem().as_bytes(),
        )
        .await?;
    if replaced {
        Ok(new)
    } else {
        Err(NotificationKeyError::Raced)
    }
}

async fn stored_key(store: &dyn Store) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(store
        .shared_secrets()
        .await?
        .into_iter()
        .find(|(name, _)| name == NOTIFICATION_KEY_NAME)
        .map(|(_, value)| value))
}
