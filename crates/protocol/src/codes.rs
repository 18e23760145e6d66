//! SNAP service codes and the seven-digit `responseCode`.

use std::fmt;

/// A SNAP service code: the middle two digits of every `responseCode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceCode {
    /// 73: B2B access token.
    AccessToken,
    /// 47: generate QR MPM.
    GenerateQr,
    /// 50: a payer's institution reports a payment of a QR.
    Payment,
    /// 51: query a QR's payment status.
    Query,
    /// 90: list the QRs a merchant generated on one day (this provider's own).
    GenerateList,
    /// 93: expire a QR by bill number (this provider's own).
    ExpireBillNumber,
    /// 77: cancel an unpaid dynamic QR.
    Cancel,
    /// 78: refund (part of) a payment of a QR.
    Refund,
}

impl ServiceCode {
    /// Every service this server speaks.
    pub const ALL: [ServiceCode; 8] = [
        ServiceCode::AccessToken,
        ServiceCode::GenerateQr,
        ServiceCode::Payment,
        ServiceCode::Query,
        ServiceCode::GenerateList,
        ServiceCode::ExpireBillNumber,
        ServiceCode::Cancel,
        ServiceCode::Refund,
    ];

    /// The two-digit numeric code (73, 47, 50, 51, 90, 93, 77, 78).
    pub fn code(self) -> u8 {
        match self {
            ServiceCode::AccessToken => 73,
            ServiceCode::GenerateQr => 47,
            ServiceCode::Payment => 50,
            ServiceCode::Query => 51,
            ServiceCode::GenerateList => 90,
            ServiceCode::ExpireBillNumber => 93,
            ServiceCode::Cancel => 77,
            ServiceCode::Refund => 78,
        }
    }

    /// The request path, relative to any deployment prefix (CONTRACT §4).
    pub const fn path(self) -> &'static str {
        match self {
            ServiceCode::AccessToken => "/v1.0/access-token/b2b",
            ServiceCode::GenerateQr => "/v1.0/qr/qr-mpm-generate",
            ServiceCode::Payment => "/v1.0/qr/qr-mpm-payment",
            ServiceCode::Query => "/v1.0/qr/qr-mpm-query",
            ServiceCode::GenerateList => "/v1.0/qr/qr-generate-list",
            ServiceCode::ExpireBillNumber => "/v1.0/qr/qr-mpm-expire-billnumber",
            ServiceCode::Cancel => "/v1.0/qr/qr-mpm-cancel",
            ServiceCode::Refund => "/v1.0/qr/qr-mpm-refund",
        }
    }

    /// The service with that numeric code, if this server speaks it.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl fmt::Display for ServiceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.code())
    }
}

/// A SNAP `responseCode`: HTTP status (3 digits) + service code (2) + case code (2),
/// shown and serialised as the seven-character string, e.g. `2009000`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResponseCode {
    http_status: u16,
    service: ServiceCode,
    case: u8,
}

impl ResponseCode {
    /// Builds a code. `http_status` must be 100–999 and `case` 0–99; a constant built
    /// outside those ranges fails to compile, a runtime one panics.
    pub const fn new(http_status: u16, service: ServiceCode, case: u8) -> Self {
        assert!(
            http_status >= 100 && http_status <= 999,
            "HTTP status must have 3 digits"
        );
        assert!(case <= 99, "case code must have 2 digits");
        Self {
            http_status,
            service,
            case,
        }
    }

    /// The HTTP status (the first three digits).
    pub fn http_status(self) -> u16 {
        self.http_status
    }

    /// The service (the middle two digits).
    pub fn service(self) -> ServiceCode {
        self.service
    }

    /// The case code (the last two digits).
    pub fn case(self) -> u8 {
        self.case
    }

    /// Parses exactly seven ASCII digits whose middle two name a known service.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 7 || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'))
        };
        let service = ServiceCode::from_code(u8::try_from(num(3..5)).ok()?)?;
        let case = u8::try_from(num(5..7)).ok()?;
        Some(Self::new(num(0..3), service, case))
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:03}{:02}{:02}",
            self.http_status,
            self.service.code(),
            self.case
        )
    }
}

impl serde::Serialize for ResponseCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_code_round_trips_through_its_number() {
        for service in ServiceCode::ALL {
            assert_eq!(ServiceCode::from_code(service.code()), Some(service));
        }
        assert_eq!(ServiceCode::from_code(52), None);
    }

    #[test]
    fn every_service_has_its_own_versioned_path() {
        let mut paths: Vec<&str> = ServiceCode::ALL.iter().map(|s| s.path()).collect();
        assert!(paths.iter().all(|p| p.starts_with("/v1.0/")), "{paths:?}");
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ServiceCode::ALL.len());
        assert_eq!(
            ServiceCode::GenerateList.path(),
            "/v1.0/qr/qr-generate-list"
        );
    }

    #[test]
    fn a_response_code_displays_as_seven_zero_padded_digits() {
        let code = ResponseCode::new(200, ServiceCode::GenerateList, 0);
        assert_eq!(code.to_string(), "2009000");
        let code = ResponseCode::new(404, ServiceCode::GenerateList, 1);
        assert_eq!(code.to_string(), "4049001");
        let code = ResponseCode::new(403, ServiceCode::GenerateQr, 19);
        assert_eq!(code.to_string(), "4034719");
    }

    #[test]
    fn a_response_code_parses_back_from_its_string() {
        let code = ResponseCode::parse("4017300").unwrap();
        assert_eq!(code.http_status(), 401);
        assert_eq!(code.service(), ServiceCode::AccessToken);
        assert_eq!(code.case(), 0);
        assert_eq!(code.to_string(), "4017300");
    }

    #[test]
    fn malformed_response_codes_are_refused() {
        for bad in [
            "", "200900", "20090000", "200900a", "2005200", "0009000", " 2009000", "+200900",
        ] {
            assert_eq!(ResponseCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_response_code_serialises_as_a_json_string() {
        let code = ResponseCode::new(409, ServiceCode::Query, 1);
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"4095101\"");
    }
}
