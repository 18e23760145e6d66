/// Why a payload could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The payload holds more than a version-40 QR code at level M can (2,331 bytes of
    /// arbitrary data, more when it is all digits or upper-case letters).
    #[error("payload of {len} bytes is too long for a qr code at error-correction level M")]
    TooLong {
        /// The payload's length in bytes.
        len: usize,
    },
    /// The QR encoder refused the payload for another reason.
    #[error("qr encoding failed: {0}")]
    Encode(String),
    /// The PNG scale is 0, or so large that the image would be wider than 8,192 pixels.
    #[error("png scale {scale} is out of range: the image must be 1 to 8192 pixels wide")]
    Scale {
        /// The scale asked for, in pixels per module.
        scale: u32,
    },
    /// The PNG encoder failed.
    #[error("png encoding failed")]
    Png(#[source] Box<dyn std::error::Error + Send + Sync>),
}
