//! The OpenAPI 3.1 description served at `/openapi.json` (and rendered at `/docs`).
//!
//! Response codes are not typed in by hand: each operation lists what
//! [`ApiError::response_code`] gives for that service, so the document cannot drift from
//! the answers.

use crate::error::ApiError;
use serde_json::{Map, Value, json};
use snapqris_protocol::ServiceCode;
use std::collections::BTreeMap;

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
        Internal(String::new()),
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
            Internal(String::new()),
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
        ServiceCode::AccessToken => {}
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

fn header(name: &str, description: &str, required: bool, pattern: &str) -> Value {
    json!({
        "name": name, "in": "header", "required": required, "description": description,
        "schema": {"type": "string", "pattern": pattern}
    })
}

fn transaction_headers() -> Vec<Value> {
    vec![
        header(
            "Authorization",
            "`Bearer <accessToken>` from service 73 (optional for rsa-mode partners).",
            false,
            "^Bearer .+$",
        ),
        header(
            "X-TIMESTAMP",
            "RFC 3339 time of the request, within the timestamp window of server time.",
            true,
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$",
        ),
        header(
            "X-PARTNER-ID",
            "The partner's client id; must own the token.",
            true,
            "^[A-Za-z0-9._-]{1,36}$",
        ),
        header(
            "X-EXTERNAL-ID",
            "Unique per partner per Asia/Jakarta day.",
            true,
            "^[A-Za-z0-9._:-]{1,36}$",
        ),
        header(
            "X-SIGNATURE",
            "Base64 HMAC-SHA512 (hmac partners) or SHA256withRSA (rsa partners) of `POST:path:[token:]hex(sha256(minify(body))):X-TIMESTAMP`.",
            true,
            "^[A-Za-z0-9+/=]+$",
        ),
        header(
            "CHANNEL-ID",
            "Channel id (also `X-CHANNEL-ID`); up to 64 characters.",
            false,
            "^.{1,64}$",
        ),
    ]
}

fn token_headers() -> Vec<Value> {
    vec![
        header(
            "X-TIMESTAMP",
            "RFC 3339 time of the request.",
            true,
            r"^\d{4}-\d{2}-\d{2}T.+$",
        ),
        header(
            "X-CLIENT-KEY",
            "The partner's client id.",
            true,
            "^[A-Za-z0-9._-]{1,36}$",
        ),
        header(
            "X-SIGNATURE",
            "Base64 SHA256withRSA of `clientId|X-TIMESTAMP` with the partner's private key.",
            true,
            "^[A-Za-z0-9+/=]+$",
        ),
    ]
}

/// One operation: summary, headers, request schema and example, success schema and example.
struct Operation {
    service: ServiceCode,
    summary: &'static str,
    request: &'static str,
    request_example: Value,
    response: &'static str,
    response_example: Value,
}

fn operations() -> Vec<Operation> {
    vec![
        Operation {
            service: ServiceCode::AccessToken,
            summary: "B2B access token (service 73)",
            request: "TokenRequest",
            request_example: json!({"grantType": "client_credentials"}),
            response: "TokenResponse",
            response_example: json!({"responseCode": "2007300", "responseMessage": "Successful", "accessToken": "eyJ…", "tokenType": "Bearer", "expiresIn": "900"}),
        },
        Operation {
            service: ServiceCode::GenerateQr,
            summary: "Generate a static or dynamic QRIS (service 47)",
            request: "GenerateRequest",
            request_example: json!({"partnerReferenceNo": "INV-2024-0001", "merchantId": "M0001", "amount": {"value": "9000.00", "currency": "IDR"}, "terminalId": "T01", "additionalInfo": {"qrImage": false}}),
            response: "GenerateResponse",
            response_example: json!({"responseCode": "2004700", "responseMessage": "Successful", "referenceNo": "10092081", "partnerReferenceNo": "INV-2024-0001", "qrContent": "00020101021226…6304ABCD", "merchantName": "Kopi Kenangan", "terminalId": "T01", "additionalInfo": {"type": "dynamic", "expiredTime": "2024-05-15T14:50:49+07:00"}}),
        },
        Operation {
            service: ServiceCode::GenerateList,
            summary: "List the QRIS a merchant generated on a day (service 90)",
            request: "ListRequest",
            request_example: json!({"dateGenerate": "2024-05-15T00:00:00+07:00", "additionalInfo": {"merchantId": "121xxxx"}}),
            response: "ListResponse",
            // The seed's example, corrected (CONTRACT §5): no stray brace, expiry after generation.
            response_example: json!({"responseCode": "2009000", "responseMessage": "Successful", "dataDetail": [
                {"id_qr": "10092081", "type": "dynamic", "generate_time": "2024-05-15 14:20:49", "expired_date": "2024-05-15 15:20:49", "amount": "9000.00"},
                {"id_qr": "10092070", "type": "static", "generate_time": "2024-05-15 09:14:20", "expired_date": null, "amount": null}
            ]}),
        },
        Operation {
            service: ServiceCode::Query,
            summary: "Query a generated QRIS (service 51)",
            request: "QueryRequest",
            request_example: json!({"originalReferenceNo": "10092081", "serviceCode": "47", "merchantId": "M0001"}),
            response: "QueryResponse",
            response_example: json!({"responseCode": "2005100", "responseMessage": "Successful", "originalReferenceNo": "10092081", "originalPartnerReferenceNo": "INV-2024-0001", "serviceCode": "47", "latestTransactionStatus": "00", "transactionStatusDesc": "Success", "paidTime": "2024-05-15T14:25:00+07:00", "amount": {"value": "9000.00", "currency": "IDR"}, "qrContent": "00020101021226…6304ABCD", "additionalInfo": {"type": "dynamic", "expiredTime": "2024-05-15T14:50:49+07:00"}}),
        },
        Operation {
            service: ServiceCode::ExpireBillNumber,
            summary: "Expire a dynamic QRIS now (service 93)",
            request: "ExpireRequest",
            request_example: json!({"billnumber": "10092081", "additionalInfo": {"merchantId": "M0001"}}),
            response: "ExpireResponse",
            response_example: json!({"responseCode": "2009300", "responseMessage": "Successful", "billnumber": "10092081", "expiredTime": "2024-05-15T14:30:00+07:00", "additionalInfo": {"merchantId": "M0001"}}),
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
            "schema": schema_ref(operation.response), "example": operation.response_example}}}),
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
                "schema": schema_ref("SnapError"), "examples": examples}}}),
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
            "schema": schema_ref(operation.request), "example": operation.request_example}}},
        "responses": responses,
    }})
}

fn string(pattern: Option<&str>) -> Value {
    match pattern {
        Some(pattern) => json!({"type": "string", "pattern": pattern}),
        None => json!({"type": "string"}),
    }
}

fn schemas() -> Value {
    let amount = json!({"type": "object", "required": ["value", "currency"], "properties": {
        "value": string(Some(r"^\d{1,15}\.\d{2}$")), "currency": {"type": "string", "enum": ["IDR"]}}});
    let nullable_amount = json!({"oneOf": [schema_ref("Amount"), {"type": "null"}]});
    let nullable_string = json!({"type": ["string", "null"]});
    let base = |extra: Value| -> Value {
        let mut properties = Map::new();
        properties.insert("responseCode".into(), string(Some(r"^\d{7}$")));
        properties.insert("responseMessage".into(), string(None));
        if let Value::Object(extra) = extra {
            properties.extend(extra);
        }
        json!({"type": "object", "required": ["responseCode", "responseMessage"], "properties": properties})
    };
    json!({
        "Amount": amount,
        "SnapError": base(json!({})),
        "TokenRequest": {"type": "object", "properties": {
            "grantType": {"type": "string", "enum": ["client_credentials"]},
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "additionalInfo": {}}},
        "TokenResponse": base(json!({"accessToken": string(None), "tokenType": {"type": "string", "enum": ["Bearer"]}, "expiresIn": string(Some(r"^\d+$"))})),
        "GenerateRequest": {"type": "object", "required": ["partnerReferenceNo", "merchantId"], "properties": {
            "partnerReferenceNo": string(Some("^[A-Za-z0-9._-]{1,64}$")),
            "merchantId": string(Some("^[A-Za-z0-9]{1,15}$")),
            "amount": schema_ref("Amount"),
            "terminalId": string(Some("^[A-Za-z0-9._-]{0,16}$")),
            "validityPeriod": {"type": "string", "format": "date-time"},
            "additionalInfo": {"type": "object", "properties": {"qrImage": {"type": "boolean"}}}}},
        "GenerateResponse": base(json!({
            "referenceNo": string(Some(r"^\d{1,20}$")), "partnerReferenceNo": string(None),
            "qrContent": string(None), "merchantName": string(None), "terminalId": nullable_string,
            "qrImage": {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"},
            "additionalInfo": {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["static", "dynamic"]},
                "expiredTime": {"type": ["string", "null"]}}}})),
        "ListRequest": {"type": "object", "required": ["dateGenerate", "additionalInfo"], "properties": {
            "dateGenerate": {"type": "string", "description": "ISO-8601 date-time with offset, or yyyy-MM-dd; its date as written is the Asia/Jakarta day."},
            "additionalInfo": {"type": "object", "required": ["merchantId"], "properties": {"merchantId": string(None)}}}},
        "ListItem": {"type": "object", "required": ["id_qr", "type", "generate_time", "expired_date", "amount"], "properties": {
            "id_qr": string(Some(r"^\d{1,20}$")),
            "type": {"type": "string", "enum": ["static", "dynamic"]},
            "generate_time": string(Some(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")),
            "expired_date": {"type": ["string", "null"]},
            "amount": {"type": ["string", "null"]}}},
        "ListResponse": base(json!({"dataDetail": {"type": "array", "items": schema_ref("ListItem")}})),
        "QueryRequest": {"type": "object", "required": ["serviceCode", "merchantId"], "properties": {
            "originalReferenceNo": string(Some(r"^\d{1,19}$")),
            "originalPartnerReferenceNo": string(None),
            "serviceCode": {"type": "string", "enum": ["47"]},
            "merchantId": string(None)}},
        "QueryResponse": base(json!({
            "originalReferenceNo": string(None), "originalPartnerReferenceNo": string(None),
            "serviceCode": string(None),
            "latestTransactionStatus": {"type": "string", "enum": ["00", "01", "05"]},
            "transactionStatusDesc": string(None), "paidTime": {"type": ["string", "null"]},
            "amount": nullable_amount, "qrContent": string(None), "additionalInfo": {"type": "object"}})),
        "ExpireRequest": {"type": "object", "required": ["billnumber", "additionalInfo"], "properties": {
            "billnumber": string(Some(r"^\d{1,19}$")),
            "additionalInfo": {"type": "object", "required": ["merchantId"], "properties": {"merchantId": string(None)}}}},
        "ExpireResponse": base(json!({"billnumber": string(None), "expiredTime": string(None), "additionalInfo": {"type": "object"}})),
    })
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
    let not_found = json!({"description": "Unknown path: `4040000` Not Found", "content": {"application/json": {"schema": schema_ref("SnapError")}}});
    paths.insert("/health".into(), json!({"get": {"summary": "200 when the store answers, 503 otherwise", "operationId": "health", "responses": {
        "200": {"description": "Healthy", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
        "503": {"description": "The store does not answer"}, "404": not_found}}}));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "snapqris",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "QRIS MPM API speaking Bank Indonesia's SNAP conventions: B2B token, generate, generate list, query, expire. Every answer carries `responseCode` (HTTP status, service code, case code) and `responseMessage`; the HTTP status always equals the code's first three digits."
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
    fn the_prefix_is_part_of_every_api_path() {
        let doc = document("/snap");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/snap/v1.0/qr/qr-generate-list"));
        assert!(paths.contains_key("/health"));
    }
}
