//! Request bodies as sent: lenient serde types whose fields remember whether they were absent,
//! `null`, of the wrong JSON type or given, so each service's conversion into the protocol's
//! newtypes can answer `400xx02 Invalid Mandatory Field` and `400xx01 Invalid Field Format`
//! apart (CONTRACT §4.4), which a plain `#[derive(Deserialize)]` into the final types cannot.
//!
//! Also the schemas of the protocol's newtypes for the OpenAPI document, built from their
//! `PATTERN`s, so the documented rules are the parsers' own.

use crate::error::ApiError;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;
use snapqris_protocol::FieldError;

/// One body field as the client sent it.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Field<T> {
    /// Not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A JSON value of another type than the field's.
    WrongType,
    /// A value of the field's JSON type.
    Given(T),
}

/// A JSON type a [`Field`] can hold.
pub(crate) trait FromJson: Sized {
    /// The value, if it has this type.
    fn from_json(value: Value) -> Option<Self>;
}

impl FromJson for String {
    fn from_json(value: Value) -> Option<Self> {
        match value {
            Value::String(text) => Some(text),
            _ => None,
        }
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Option<Self> {
        match value {
            Value::Bool(flag) => Some(flag),
            _ => None,
        }
    }
}

/// [`FromJson`] for a nested body type: a JSON object only (serde would also take an array).
pub(crate) fn nested<T: DeserializeOwned>(value: Value) -> Option<T> {
    match value {
        Value::Object(object) => serde_json::from_value(Value::Object(object)).ok(),
        _ => None,
    }
}

impl<'de, T: FromJson> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Field::Null,
            value => T::from_json(value).map_or(Field::WrongType, Field::Given),
        })
    }
}

impl<T> Field<T> {
    /// Absent or `null` is `None`; another JSON type is an invalid `field`.
    pub(crate) fn optional(self, field: &str) -> Result<Option<T>, FieldError> {
        match self {
            Field::Absent | Field::Null => Ok(None),
            Field::WrongType => Err(FieldError::invalid(field)),
            Field::Given(value) => Ok(Some(value)),
        }
    }
}

impl Field<String> {
    /// Like [`Field::optional`], an empty text counting as absent.
    pub(crate) fn optional_text(self, field: &str) -> Result<Option<String>, FieldError> {
        Ok(self.optional(field)?.filter(|text| !text.is_empty()))
    }

    /// A mandatory text: absent, `null` or empty is a missing `field`, another JSON type an
    /// invalid one.
    pub(crate) fn required(self, field: &str) -> Result<String, FieldError> {
        self.optional_text(field)?
            .ok_or_else(|| FieldError::missing(field))
    }
}

/// The body as `T`: not JSON or not an object is `400xx00`. The body is read as a JSON value
/// first, so a key sent twice counts once (its last value), as it always has.
pub(crate) fn from_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(ApiError::BadRequest("Body is not a JSON object")),
        Err(_) => return Err(ApiError::BadRequest("Body is not valid JSON")),
    };
    // Every field of a body type takes any JSON value, so this fails only on a type without
    // `#[serde(default)]`; still the client's body, never a 5xx.
    serde_json::from_value(Value::Object(object))
        .map_err(|_| ApiError::BadRequest("Body is not a request of this service"))
}

/// Schemas of the protocol's values, for `#[schema(schema_with = …)]`: each pattern is the
/// one its parser documents.
pub(crate) mod schema {
    use snapqris_protocol::{
        Amount, ClientId, ExternalId, MerchantId, PartnerReferenceNo, TerminalId, XTimestamp,
    };
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

    /// A string matching `pattern`.
    pub(crate) fn matching(pattern: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .build()
    }

    /// A string that is one of `values`.
    fn one_of(values: &[&str]) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .build()
    }

    /// A string that is exactly `value`.
    pub(crate) fn exactly(value: &str) -> Object {
        one_of(&[value])
    }

    /// `merchantId`.
    pub(crate) fn merchant_id() -> Object {
        matching(MerchantId::PATTERN)
    }

    /// `partnerReferenceNo`.
    pub(crate) fn partner_reference_no() -> Object {
        matching(PartnerReferenceNo::PATTERN)
    }

    /// `terminalId`.
    pub(crate) fn terminal_id() -> Object {
        matching(TerminalId::PATTERN)
    }

    /// `amount.value`.
    pub(crate) fn amount_value() -> Object {
        matching(Amount::PATTERN)
    }

    /// `amount.currency`.
    pub(crate) fn currency() -> Object {
        exactly("IDR")
    }

    /// An RFC 3339 time as `X-TIMESTAMP` takes it (`validityPeriod`).
    pub(crate) fn timestamp() -> Object {
        matching(XTimestamp::PATTERN)
    }

    /// An `id_qr` as a partner sends it.
    pub(crate) fn id_qr() -> Object {
        matching(crate::services::ID_QR_PATTERN)
    }

    /// `X-PARTNER-ID` and `X-CLIENT-KEY`.
    pub(crate) fn client_id() -> Object {
        matching(ClientId::PATTERN)
    }

    /// `X-EXTERNAL-ID`.
    pub(crate) fn external_id() -> Object {
        matching(ExternalId::PATTERN)
    }

    /// `serviceCode` of a query: the service that made the QR, generate.
    pub(crate) fn generate_service_code() -> Object {
        exactly("47")
    }

    /// `latestTransactionStatus`: paid, initiated or expired.
    pub(crate) fn transaction_status() -> Object {
        one_of(&["00", "01", "05"])
    }

    /// `grantType` of a token request.
    pub(crate) fn grant_type() -> Object {
        exactly("client_credentials")
    }

    /// `tokenType` of a token answer.
    pub(crate) fn bearer() -> Object {
        exactly("Bearer")
    }

    /// `responseCode`: seven digits.
    pub(crate) fn response_code() -> Object {
        matching("^[0-9]{7}$")
    }

    /// An amount's value in an answer that may have none (a static QR's).
    pub(crate) fn nullable_amount_value() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .pattern(Some(Amount::PATTERN))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapqris_protocol::FieldErrorKind;

    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        text: Field<String>,
    }

    fn text(body: &str) -> Field<String> {
        from_body::<Body>(body.as_bytes()).unwrap().text
    }

    fn kind(result: Result<String, FieldError>) -> Option<FieldErrorKind> {
        result.err().map(|e| e.kind())
    }

    #[test]
    fn a_field_tells_absent_null_wrong_type_and_given_apart() {
        assert_eq!(text("{}"), Field::Absent);
        assert_eq!(text(r#"{"text":null}"#), Field::Null);
        assert_eq!(text(r#"{"text":7}"#), Field::WrongType);
        assert_eq!(text(r#"{"text":["x"]}"#), Field::WrongType);
        assert_eq!(text(r#"{"text":"x"}"#), Field::Given("x".into()));
    }

    #[test]
    fn a_required_text_is_missing_when_absent_null_or_empty_and_invalid_when_not_text() {
        let missing = Some(FieldErrorKind::Missing);
        assert_eq!(kind(text("{}").required("text")), missing);
        assert_eq!(kind(text(r#"{"text":null}"#).required("text")), missing);
        assert_eq!(kind(text(r#"{"text":""}"#).required("text")), missing);
        assert_eq!(
            kind(text(r#"{"text":{}}"#).required("text")),
            Some(FieldErrorKind::InvalidFormat)
        );
        assert_eq!(text(r#"{"text":"x"}"#).required("text").unwrap(), "x");
    }

    #[test]
    fn a_key_sent_twice_counts_once_with_its_last_value() {
        assert_eq!(text(r#"{"text":"a","text":"b"}"#), Field::Given("b".into()));
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_a_bad_request() {
        for body in ["", "{", "[]", "[\"x\"]", "null", "7", "\"x\""] {
            let error = from_body::<Body>(body.as_bytes()).err().unwrap();
            assert!(matches!(error, ApiError::BadRequest(_)), "{body}");
        }
    }

    #[test]
    fn a_nested_body_type_takes_only_an_object() {
        assert!(nested::<Body>(serde_json::json!({"text": "x"})).is_some());
        assert!(nested::<Body>(serde_json::json!(["x"])).is_none());
        assert!(nested::<Body>(serde_json::json!("x")).is_none());
    }
}
