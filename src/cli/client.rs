//! `client token|generate|list|refund|cancel`: one signed request as a partner, so partners can compare
//! their signatures with ours (`--explain` shows the string-to-sign and the body hash).

use crate::cli::args::{ClientArgs, ClientCommand, ClientOptions, OriginalQr, SignatureArg};
use crate::cli::show;
use crate::cli::show::say;
use anyhow::{Context, anyhow, bail};
use serde_json::json;
use snapqris_client::{PreparedRequest, Response, SnapClient, fresh_external_id};
use snapqris_protocol::{JakartaDate, RsaPrivateKey, ServiceCode, TransactionSigner, XTimestamp};
use std::process::ExitCode;
use time::OffsetDateTime;

/// Sends the request the subcommand names and prints the answer's JSON on stdout.
pub(crate) async fn run(args: ClientArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ClientCommand::Token(options) => {
            let partner = Partner::new(&options)?;
            let (_, response) = partner.take_token().await?;
            finish(&response)
        }
        ClientCommand::Generate {
            options,
            merchant_id,
            amount,
            partner_reference_no,
        } => {
            let mut body = json!({
                "partnerReferenceNo": partner_reference_no.unwrap_or_else(fresh_external_id),
                "merchantId": merchant_id,
            });
            if let Some(value) = amount {
                body["amount"] = json!({"value": value, "currency": "IDR"});
            }
            transaction(&options, ServiceCode::GenerateQr.path(), &body).await
        }
        ClientCommand::List {
            options,
            merchant_id,
            date,
        } => {
            let date = date
                .unwrap_or_else(|| JakartaDate::of_instant(OffsetDateTime::now_utc()).to_string());
            let body = json!({"dateGenerate": date, "additionalInfo": {"merchantId": merchant_id}});
            transaction(&options, ServiceCode::GenerateList.path(), &body).await
        }
        ClientCommand::Refund {
            options,
            qr,
            amount,
            partner_refund_no,
            reason,
            payment_id,
        } => {
            let mut body = original_qr_body(qr);
            body["partnerRefundNo"] = json!(partner_refund_no.unwrap_or_else(fresh_external_id));
            body["refundAmount"] = json!({"value": amount, "currency": "IDR"});
            if let Some(reason) = reason {
                body["reason"] = json!(reason);
            }
            if let Some(payment_id) = payment_id {
                body["additionalInfo"] = json!({"paymentId": payment_id});
            }
            transaction(&options, ServiceCode::Refund.path(), &body).await
        }
        ClientCommand::Cancel {
            options,
            qr,
            reason,
        } => {
            let mut body = original_qr_body(qr);
            body["reason"] = json!(reason);
            transaction(&options, ServiceCode::Cancel.path(), &body).await
        }
    }
}

/// `merchantId` and whichever of `originalReferenceNo`, `originalPartnerReferenceNo` was given.
fn original_qr_body(qr: OriginalQr) -> serde_json::Value {
    let mut body = json!({"merchantId": qr.merchant_id});
    if let Some(reference_no) = qr.reference_no {
        body["originalReferenceNo"] = json!(reference_no);
    }
    if let Some(partner_reference_no) = qr.partner_reference_no {
        body["originalPartnerReferenceNo"] = json!(partner_reference_no);
    }
    body
}

/// A partner as the options describe it.
struct Partner<'a> {
    options: &'a ClientOptions,
    client: SnapClient,
    private_key: Option<RsaPrivateKey>,
}

impl<'a> Partner<'a> {
    fn new(options: &'a ClientOptions) -> anyhow::Result<Self> {
        let client = SnapClient::new(&options.base_url)?;
        let private_key = match &options.keys.private_key {
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read private key {}", path.display()))?;
                let key = RsaPrivateKey::parse_pem(&pem)
                    .with_context(|| format!("private key {}", path.display()))?;
                Some(key)
            }
            None => None,
        };
        Ok(Partner {
            options,
            client,
            private_key,
        })
    }

    fn private_key(&self, purpose: &str) -> anyhow::Result<&RsaPrivateKey> {
        self.private_key
            .as_ref()
            .ok_or_else(|| anyhow!("--private-key is needed {purpose}"))
    }

    /// Sends a token request (service 73).
    async fn take_token(&self) -> anyhow::Result<(PreparedRequest, Response)> {
        let key = self.private_key("to take a token")?;
        let request = self.client.token_request(
            &self.options.client_id,
            key,
            &XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc()),
        );
        let response = self.send(&request).await?;
        Ok((request, response))
    }

    /// Sends `request`, explaining it first on stderr when asked.
    async fn send(&self, request: &PreparedRequest) -> anyhow::Result<Response> {
        if self.options.explain {
            show::request(&mut std::io::stderr().lock(), request)?;
        }
        let response = self.client.send(request).await?;
        if self.options.explain {
            eprintln!("< HTTP {}", response.status);
        }
        Ok(response)
    }
}

/// Sends a transaction; in hmac mode without `--token`, takes a token first.
async fn transaction(
    options: &ClientOptions,
    api_path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<ExitCode> {
    let partner = Partner::new(options)?;
    // Checked before a token is taken, so a missing secret costs no request.
    let hmac_secret = match options.keys.signature {
        SignatureArg::Hmac => Some(
            options
                .keys
                .client_secret
                .as_deref()
                .ok_or_else(|| anyhow!("--client-secret is needed in hmac mode"))?,
        ),
        SignatureArg::Rsa => None,
    };
    let token = match (&options.token, hmac_secret) {
        (Some(token), _) => Some(token.clone()),
        (None, None) => None,
        (None, Some(_)) => {
            let (_, response) = partner.take_token().await?;
            let token = response
                .json()
                .and_then(|json| json.get("accessToken")?.as_str().map(str::to_owned));
            match token {
                Some(token) => Some(token),
                None => {
                    say!("{}", show::body(&response))?;
                    bail!("no token: the server answered HTTP {}", response.status);
                }
            }
        }
    };
    let signer = match hmac_secret {
        Some(secret) => TransactionSigner::Hmac {
            client_secret: secret.as_bytes(),
            access_token: token.as_deref().unwrap_or(""),
        },
        None => TransactionSigner::Rsa(partner.private_key("in rsa mode")?),
    };
    let body = body.to_string();
    let request = partner.client.transaction_request(
        api_path,
        body.as_bytes(),
        &signer,
        token.as_deref(),
        &options.client_id,
        &fresh_external_id(),
        &XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc()),
    );
    let response = partner.send(&request).await?;
    finish(&response)
}

/// Prints the answer; a non-2xx is a failure (exit 1, one line on stderr).
fn finish(response: &Response) -> anyhow::Result<ExitCode> {
    say!("{}", show::body(response))?;
    if (200..300).contains(&response.status) {
        Ok(ExitCode::SUCCESS)
    } else {
        let code = response.response_code().unwrap_or_default();
        bail!("the server answered HTTP {} {code}", response.status)
    }
}
