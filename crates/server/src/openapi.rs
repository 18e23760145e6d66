//! The OpenAPI 3.1 description served at `/openapi.json` (and rendered at `/docs`).
//!
//! Nothing in it is typed in twice: each operation lists the response codes that
//! [`ApiError::response_code`] gives for that service, and the request and answer schemas are
//! derived from the types the services read and write (their patterns from the protocol's
//! newtypes), so the document cannot drift from the answers.

use crate::error::ApiError;
use crate::reply::SnapStatus;
use crate::services::{cancel, expire, generate, generate_list, payment, query, refund, token};
use crate::wire::schema;
use serde_json::{Map, Value, json};
use snapqris_protocol::ServiceCode;
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Schema};

/// One sample of every failure a transaction service can answer.
fn transaction_errors() -> Vec<ApiError> {
    use ApiError::*;
    vec![
        BadRequest(""),
        InvalidField("{field}".into()),
        MissingField("{field}".into()),
        MissingHeader("X-EXTERNAL-ID"),
        InvalidSignature,
        InvalidToken,
        ServiceNotGranted,
        MerchantBlacklisted,
        InvalidMerchant,
        ExternalIdReused,
        TooManyRequests,
        Internal("".into()),
        ServiceUnavailable,
        Timeout,
    ]
}

/// The failures of `service`, grouped by HTTP status, each `(responseCode, responseMessage)`.
fn error_codes(service: ServiceCode) -> BTreeMap<u16, Vec<(String, String)>> {
    use ApiError::*;
    let mut errors = match service {
        ServiceCode::AccessToken => vec![
            BadRequest(""),
            InvalidField("grantType".into()),
            MissingField("grantType".into()),
            UnauthorizedClient("Invalid Client or Signature"),
            TooManyRequests,
            Internal("".into()),
            Timeout,
        ],
        _ => transaction_errors(),
    };
    match service {
        ServiceCode::GenerateQr => errors.extend([InvalidAmount, DuplicatePartnerReference]),
        ServiceCode::GenerateList | ServiceCode::Query => errors.push(TransactionNotFound),
        ServiceCode::ExpireBillNumber => {
            errors.extend([TransactionNotFound, InvalidTransactionStatus])
        }
        ServiceCode::Payment => errors.extend([
            TransactionNotFound,
            InvalidTransactionStatus,
            InvalidAmount,
            MerchantBlacklisted,
            InconsistentRequest,
        ]),
        ServiceCode::Refund => errors.extend([
            InvalidAmount,
            TransactionNotFound,
            InvalidTransactionStatus,
            InconsistentRequest,
            ExceedsAmountLimit,
            TransactionNotPermitted,
        ]),
        ServiceCode::Cancel => errors.extend([TransactionNotFound, InvalidTransactionStatus]),
        ServiceCode::AccessToken => {}
    }
    // Money may always go back (CONTRACT §6.3, §6.4): a blacklisted merchant is served.
    if matches!(service, ServiceCode::Refund | ServiceCode::Cancel) {
        errors.retain(|error| !matches!(error, MerchantBlacklisted));
    }
    let mut by_status: BTreeMap<u16, Vec<(String, String)>> = BTreeMap::new();
    for error in errors {
        let (code, message) = error.response_code(service);
        let entry = by_status.entry(code.http_status()).or_default();
        let pair = (code.to_string(), message);
        if !entry.contains(&pair) {
            entry.push(pair);
        }
    }
    by_status
}

fn header(name: &str, description: &str, required: bool, schema: Object) -> Value {
    json!({
        "name": name, "in": "header", "required": required, "description": description,
        "schema": schema
    })
}

fn transaction_headers() -> Vec<Value> {
    vec![
        header(
            "Authorization",
            "`Bearer <accessToken>` from service 73 (optional for rsa-mode partners).",
            false,
            schema::matching("^Bearer .+$"),
        ),
        header(
            "X-TIMESTAMP",
            "RFC 3339 time of the request, within the timestamp window of server time.",
            true,
            schema::timestamp(),
        ),
        header(
            "X-PARTNER-ID",
            "The partner's client id; must own the token.",
            true,
            schema::client_id(),
        ),
        header(
            "X-EXTERNAL-ID",
            "Unique per partner per Asia/Jakarta day.",
            true,
            schema::external_id(),
        ),
        header(
            "X-SIGNATURE",
            "Base64 HMAC-SHA512 (hmac partners) or SHA256withRSA (rsa partners) of `POST:path:[token:]hex(sha256(minify(body))):X-TIMESTAMP`.",
            true,
            schema::matching("^[A-Za-z0-9+/=]+$"),
        ),
        header(
            "CHANNEL-ID",
            "Channel id (also `X-CHANNEL-ID`); up to 64 characters.",
            false,
            schema::matching(snapqris_protocol::ChannelId::PATTERN),
        ),
    ]
}

fn token_headers() -> Vec<Value> {
    vec![
        header(
            "X-TIMESTAMP",
            "RFC 3339 time of the request.",
            true,
            schema::timestamp(),
        ),
        header(
            "X-CLIENT-KEY",
            "The partner's client id.",
            true,
            schema::client_id(),
        ),
        header(
            "X-SIGNATURE",
            "Base64 SHA256withRSA of `clientId|X-TIMESTAMP` with the partner's private key.",
            true,
            schema::matching("^[A-Za-z0-9+/=]+$"),
        ),
    ]
}

/// One operation: summary, headers, request schema and example, success schema and example.
struct Operation {
    service: ServiceCode,
    summary: &'static str,
    /// The request body's schema.
    request: Cow<'static, str>,
    request_example: Value,
    /// The schema of the answer's fields after its status.
    response: Cow<'static, str>,
    response_example: Value,
}

fn operations() -> Vec<Operation> {
    vec![
        Operation {
            service: ServiceCode::AccessToken,
            summary: "B2B access token (service 73)",
            request: token::TokenBody::name(),
            request_example: json!({"grantType": "client_credentials"}),
            response: token::TokenAnswer::name(),
            response_example: json!({"responseCode": "2007300", "responseMessage": "Successful", "accessToken": "eyJ…", "tokenType": "Bearer", "expiresIn": "900"}),
        },
        Operation {
            service: ServiceCode::GenerateQr,
            summary: "Generate a static or dynamic QRIS (service 47)",
            request: generate::GenerateBody::name(),
            request_example: json!({"partnerReferenceNo": "INV-2024-0001", "merchantId": "M0001", "amount": {"value": "9000.00", "currency": "IDR"}, "terminalId": "T01", "additionalInfo": {"qrImage": false}}),
            response: generate::GenerateAnswer::name(),
            response_example: json!({"responseCode": "2004700", "responseMessage": "Successful", "referenceNo": "10092081", "partnerReferenceNo": "INV-2024-0001", "qrContent": "00020101021226…6304ABCD", "merchantName": "Kopi Kenangan", "terminalId": "T01", "additionalInfo": {"type": "dynamic", "expiredTime": "2024-05-15T14:50:49+07:00"}}),
        },
        Operation {
            service: ServiceCode::GenerateList,
            summary: "List the QRIS a merchant generated on a day (service 90)",
            request: generate_list::ListBody::name(),
            request_example: json!({"dateGenerate": "2024-05-15T00:00:00+07:00", "additionalInfo": {"merchantId": "121xxxx"}}),
            response: generate_list::ListAnswer::name(),
            // The seed's example, corrected (CONTRACT §5): no stray brace, expiry after generation.
            response_example: json!({"responseCode": "2009000", "responseMessage": "Successful", "dataDetail": [
                {"id_qr": "10092081", "type": "dynamic", "generate_time": "2024-05-15 14:20:49", "expired_date": "2024-05-15 15:20:49", "amount": "9000.00"},
                {"id_qr": "10092070", "type": "static", "generate_time": "2024-05-15 09:14:20", "expired_date": null, "amount": null}
            ]}),
        },
        Operation {
            service: ServiceCode::Payment,
            summary: "Report a payment of a QRIS (service 50; payer partners granted 50)",
            request: payment::PaymentBody::name(),
            request_example: json!({"partnerReferenceNo": "PAY-2024-0001", "qrContent": "00020101021226…6304ABCD", "amount": {"value": "9000.00", "currency": "IDR"}, "additionalInfo": {"issuerName": "Bank Payer", "customerName": "Budi", "rrn": "123456789012"}}),
            response: payment::PaymentAnswer::name(),
            response_example: json!({"responseCode": "2005000", "responseMessage": "Successful", "referenceNo": "10092090", "partnerReferenceNo": "PAY-2024-0001", "paidTime": "2024-05-15T14:25:00+07:00", "amount": {"value": "9000.00", "currency": "IDR"}, "additionalInfo": {"qrId": "10092081", "merchantId": "M0001"}}),
        },
        Operation {
            service: ServiceCode::Query,
            summary: "Query a generated QRIS (service 51)",
            request: query::QueryBody::name(),
            request_example: json!({"originalReferenceNo": "10092081", "serviceCode": "47", "merchantId": "M0001"}),
            response: query::QueryAnswer::name(),
            response_example: json!({"responseCode": "2005100", "responseMessage": "Successful", "originalReferenceNo": "10092081", "originalPartnerReferenceNo": "INV-2024-0001", "serviceCode": "47", "latestTransactionStatus": "00", "transactionStatusDesc": "Success", "paidTime": "2024-05-15T14:25:00+07:00", "amount": {"value": "9000.00", "currency": "IDR"}, "qrContent": "00020101021226…6304ABCD", "additionalInfo": {"type": "dynamic", "expiredTime": "2024-05-15T14:50:49+07:00"}}),
        },
        Operation {
            service: ServiceCode::ExpireBillNumber,
            summary: "Expire a dynamic QRIS now (service 93)",
            request: expire::ExpireBody::name(),
            request_example: json!({"billnumber": "10092081", "additionalInfo": {"merchantId": "M0001"}}),
            response: expire::ExpireAnswer::name(),
            response_example: json!({"responseCode": "2009300", "responseMessage": "Successful", "billnumber": "10092081", "expiredTime": "2024-05-15T14:30:00+07:00", "additionalInfo": {"merchantId": "M0001"}}),
        },
        Operation {
            service: ServiceCode::Refund,
            summary: "Refund (part of) a payment of a QRIS (service 78)",
            request: refund::RefundBody::name(),
            request_example: json!({"merchantId": "M0001", "originalReferenceNo": "10092081", "partnerRefundNo": "RF-2024-0001", "refundAmount": {"value": "4000.00", "currency": "IDR"}, "reason": "Item returned"}),
            response: refund::RefundAnswer::name(),
            response_example: json!({"responseCode": "2007800", "responseMessage": "Successful", "originalReferenceNo": "10092081", "originalPartnerReferenceNo": "INV-2024-0001", "refundNo": "10092095", "partnerRefundNo": "RF-2024-0001", "refundAmount": {"value": "4000.00", "currency": "IDR"}, "refundTime": "2024-05-15T15:00:00+07:00", "additionalInfo": {"paymentId": "10092090"}}),
        },
        Operation {
            service: ServiceCode::Cancel,
            summary: "Cancel an unpaid dynamic QRIS (service 77)",
            request: cancel::CancelBody::name(),
            request_example: json!({"merchantId": "M0001", "originalReferenceNo": "10092081", "reason": "Order withdrawn"}),
            response: cancel::CancelAnswer::name(),
            response_example: json!({"responseCode": "2007700", "responseMessage": "Successful", "originalReferenceNo": "10092081", "originalPartnerReferenceNo": "INV-2024-0001", "cancelTime": "2024-05-15T14:30:00+07:00"}),
        },
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation_json(operation: &Operation) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "Successful", "content": {"application/json": {
            "schema": {"allOf": [schema_ref(&SnapStatus::name()), schema_ref(&operation.response)]},
            "example": operation.response_example}}}),
    );
    for (status, codes) in error_codes(operation.service) {
        let description = codes
            .iter()
            .map(|(code, message)| format!("`{code}` {message}"))
            .collect::<Vec<_>>()
            .join("; ");
        let examples: Map<String, Value> = codes
            .iter()
            .map(|(code, message)| {
                (
                    code.clone(),
                    json!({"value": {"responseCode": code, "responseMessage": message}}),
                )
            })
            .collect();
        responses.insert(
            status.to_string(),
            json!({"description": description, "content": {"application/json": {
                "schema": schema_ref(&SnapStatus::name()), "examples": examples}}}),
        );
    }
    let parameters = match operation.service {
        ServiceCode::AccessToken => token_headers(),
        _ => transaction_headers(),
    };
    json!({"post": {
        "summary": operation.summary,
        "operationId": format!("service{}", operation.service.code()),
        "parameters": parameters,
        "requestBody": {"required": true, "content": {"application/json": {
            "schema": schema_ref(&operation.request), "example": operation.request_example}}},
        "responses": responses,
    }})
}

/// Adds `T`'s schema and those it refers to.
fn add_schema<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// Every request and answer schema, derived from the types the services read and write.
fn schemas() -> Map<String, Value> {
    let mut schemas = Vec::new();
    add_schema::<SnapStatus>(&mut schemas);
    add_schema::<token::TokenBody>(&mut schemas);
    add_schema::<token::TokenAnswer>(&mut schemas);
    add_schema::<generate::GenerateBody>(&mut schemas);
    add_schema::<generate::GenerateAnswer>(&mut schemas);
    add_schema::<generate_list::ListBody>(&mut schemas);
    add_schema::<generate_list::ListAnswer>(&mut schemas);
    add_schema::<payment::PaymentBody>(&mut schemas);
    add_schema::<payment::PaymentAnswer>(&mut schemas);
    add_schema::<query::QueryBody>(&mut schemas);
    add_schema::<query::QueryAnswer>(&mut schemas);
    add_schema::<expire::ExpireBody>(&mut schemas);
    add_schema::<expire::ExpireAnswer>(&mut schemas);
    add_schema::<refund::RefundBody>(&mut schemas);
    add_schema::<refund::RefundAnswer>(&mut schemas);
    add_schema::<cancel::CancelBody>(&mut schemas);
    add_schema::<cancel::CancelAnswer>(&mut schemas);
    schemas
        .into_iter()
        // A schema is plain data and always serialises; `{}` (anything) if it ever did not.
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(json!({}))))
        .collect()
}

/// The whole document, with every path under `path_prefix`.
pub(crate) fn document(path_prefix: &str) -> Value {
    let mut paths = Map::new();
    for operation in operations() {
        paths.insert(
            format!("{path_prefix}{}", operation.service.path()),
            operation_json(&operation),
        );
    }
    let not_found = json!({"description": "Unknown path: `4040000` Not Found", "content": {"application/json": {"schema": schema_ref(&SnapStatus::name())}}});
    paths.insert("/health".into(), json!({"get": {"summary": "200 when the store answers, 503 otherwise", "operationId": "health", "responses": {
        "200": {"description": "Healthy", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
        "503": {"description": "The store does not answer"}, "404": not_found}}}));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "snapqris",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "QRIS MPM API speaking Bank Indonesia's SNAP conventions: B2B token, generate, generate list, query, expire, payment, refund, cancel. Every answer carries `responseCode` (HTTP status, service code, case code) and `responseMessage`; the HTTP status always equals the code's first three digits."
        },
        "paths": paths,
        "components": {"schemas": schemas()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generate_list_code_of_the_seed_is_documented() {
        let doc = document("").to_string();
        for code in [
            "4009000", "4009001", "4009002", "4019000", "4019001", "4049001", "4049000", "4039019",
            "4099000", "4299000", "5009000",
        ] {
            assert!(doc.contains(code), "{code}");
        }
    }

    #[test]
    fn every_operation_refers_to_schemas_that_are_present() {
        let doc = document("");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        let mut referred = 0;
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referred to but absent"
            );
            referred += 1;
        }
        assert!(referred > 20, "{referred}");
        for name in [
            "SnapStatus",
            "TokenRequest",
            "TokenAnswer",
            "GenerateRequest",
            "GenerateAnswer",
            "ListRequest",
            "ListAnswer",
            "ListItem",
            "QueryRequest",
            "QueryAnswer",
            "ExpireRequest",
            "ExpireAnswer",
            "RefundRequest",
            "RefundAnswer",
            "CancelRequest",
            "CancelAnswer",
        ] {
            assert!(schemas.contains_key(name), "{name}");
        }
        for service in ServiceCode::ALL {
            let post = &doc["paths"][service.path()]["post"];
            let request = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap();
            assert!(request.ends_with("Request"), "{request}");
        }
    }

    #[test]
    fn request_patterns_are_the_newtypes_own() {
        use snapqris_protocol::{Amount, ClientId, MerchantId, PartnerReferenceNo, TerminalId};
        let doc = document("");
        let schemas = &doc["components"]["schemas"];
        let generate = &schemas["GenerateRequest"]["properties"];
        assert_eq!(generate["merchantId"]["pattern"], MerchantId::PATTERN);
        assert_eq!(
            generate["partnerReferenceNo"]["pattern"],
            PartnerReferenceNo::PATTERN
        );
        assert_eq!(generate["terminalId"]["pattern"], TerminalId::PATTERN);
        assert_eq!(
            schemas["AmountRequest"]["properties"]["value"]["pattern"],
            Amount::PATTERN
        );
        assert_eq!(
            schemas["MerchantInfo"]["properties"]["merchantId"]["pattern"],
            MerchantId::PATTERN
        );
        let headers = doc["paths"][ServiceCode::GenerateList.path()]["post"]["parameters"]
            .as_array()
            .unwrap();
        let partner = headers
            .iter()
            .find(|h| h["name"] == "X-PARTNER-ID")
            .unwrap();
        assert_eq!(partner["schema"]["pattern"], ClientId::PATTERN);
    }

    #[test]
    fn answer_fields_that_may_be_null_are_still_required() {
        let doc = document("");
        let schemas = &doc["components"]["schemas"];
        let required = |schema: &str| schemas[schema]["required"].to_string();
        assert!(required("ListItem").contains("expired_date"));
        assert!(required("ListItem").contains("amount"));
        assert!(required("GenerateAnswer").contains("terminalId"));
        assert!(!required("GenerateAnswer").contains("qrImage"));
        assert!(required("QueryAnswer").contains("paidTime"));
    }

    #[test]
    fn the_prefix_is_part_of_every_api_path() {
        let doc = document("/snap");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/snap/v1.0/qr/qr-generate-list"));
        assert!(paths.contains_key("/health"));
    }
}
