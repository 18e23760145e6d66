//! `snapqris admin qr pay` (sandbox payments) and `snapqris qr decode|render` (QR images), run
//! as the binary in a temporary directory. QRs to pay are written straight into the test's
//! SQLite file through the store, so that expiry can lie in the past.

use crate::support::{fails_with_one_line, snapqris_in};
use snapqris_protocol::{ClientId, MerchantId, ServiceCode};
use snapqris_qris::{Criteria, Initiation, MerchantProfile};
use snapqris_store::{NewMerchant, NewPartner, NewQr, QrKind, SignatureMode, Store};
use snapqris_test_support::testdata;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The sample payloads of `qris-samples.txt` (`label payload` lines; payloads may hold spaces).
fn samples() -> Vec<String> {
    let text = std::fs::read_to_string(testdata("qris-samples.txt")).unwrap();
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split_once(' ').unwrap().1.to_owned())
        .collect()
}

/// A temporary directory with its own SQLite database, and the binary to run in it.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn database_url(&self) -> String {
        format!("sqlite://{}", self.path("t.db").display())
    }

    /// `snapqris --database sqlite://<dir>/t.db ARGS…`, no `SNAPQRIS_*` variable inherited;
    /// each argument passed as is (payloads hold spaces).
    fn run(&self, args: &[&str]) -> Output {
        snapqris_in(self.dir.path())
            .arg("--database")
            .arg(self.database_url())
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs and insists on success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs `f` on the store of this sandbox's database (a partner `p1` and merchant `M001`
    /// registered on first use), holding a node lease so that it can make ids.
    fn with_store<T>(&self, f: impl AsyncFnOnce(&dyn Store) -> T) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store: Arc<dyn Store> =
                snapqris_store::connect(&self.database_url(), &Default::default())
                    .await
                    .unwrap();
            if store.merchants(None).await.unwrap().is_empty() {
                register(&*store).await;
            }
            let lease = snapqris_store::lease_node(store.clone()).await.unwrap();
            let done = f(&*store).await;
            lease.release().await.unwrap();
            done
        })
    }

    /// Stores a QR of merchant `M001` generated an hour ago; dynamic when `amount_sen` is
    /// given, valid until `expires_at`. Returns its id.
    fn insert_qr(&self, amount_sen: Option<i64>, expires_at: Option<OffsetDateTime>) -> i64 {
        self.with_store(async |store| {
            let now = OffsetDateTime::now_utc();
            let id_qr = store.next_qr_id(now).unwrap();
            let initiation = match amount_sen {
                Some(amount_sen) => Initiation::Dynamic { amount_sen },
                None => Initiation::Static,
            };
            let qr_content =
                snapqris_qris::build(&profile(), &initiation, &id_qr.to_string(), None).unwrap();
            let qr = NewQr {
                id_qr,
                merchant_id: MerchantId::parse("M001").unwrap(),
                client_id: ClientId::parse("p1").unwrap(),
                partner_reference_no: format!("ref-{id_qr}"),
                kind: if amount_sen.is_some() {
                    QrKind::Dynamic
                } else {
                    QrKind::Static
                },
                amount_sen,
                terminal_id: None,
                generated_at: now - Duration::hours(1),
                expires_at,
                qr_content,
            };
            store.insert_qr(&qr).await.unwrap();
            id_qr
        })
    }
}

/// Registers partner `p1` and merchant `M001`.
async fn register(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let public_key_pem = std::fs::read_to_string(testdata("partner-public.pem")).unwrap();
    let partner = NewPartner {
        client_id: ClientId::parse("p1").unwrap(),
        public_key_pem,
        client_secret: "secret".into(),
        signature_mode: SignatureMode::Hmac,
        services: vec![ServiceCode::GenerateQr, ServiceCode::Query],
    };
    store.add_partner(&partner, now).await.unwrap();
    let p = profile();
    let merchant = NewMerchant {
        merchant_id: MerchantId::parse(&p.merchant_id).unwrap(),
        client_id: ClientId::parse("p1").unwrap(),
        name: p.name,
        city: p.city,
        mcc: p.mcc,
        postal_code: p.postal_code,
        nmid: p.nmid,
        criteria: p.criteria.as_str().to_owned(),
    };
    store.add_merchant(&merchant, now).await.unwrap();
}

/// Merchant `M001` as the server would write it into a payload.
fn profile() -> MerchantProfile {
    MerchantProfile {
        acquirer_domain: "ID.CO.SNAPQRIS.WWW".into(),
        acquirer_nns: "93600999".into(),
        merchant_pan: snapqris_qris::merchant_pan("93600999", 1),
        merchant_id: "M001".into(),
        criteria: Criteria::Umi,
        nmid: snapqris_qris::derive_sandbox_nmid("M001"),
        mcc: "5999".into(),
        name: "Warung Test".into(),
        city: "Jakarta".into(),
        postal_code: "10110".into(),
    }
}

/// Asserts the one `paid: …` line of a successful payment.
fn assert_paid_line(stdout: &str, id_qr: i64, amount: &str) {
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let prefix = format!("paid: id_qr {id_qr} payment ");
    let rest = stdout
        .trim_end()
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{stdout:?} does not start with {prefix:?}"));
    let (payment_id, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("{stdout:?}"));
    assert!(
        payment_id.parse::<i64>().is_ok_and(|id| id > 0),
        "{stdout:?}"
    );
    let at = rest
        .strip_prefix(&format!("amount {amount} at "))
        .unwrap_or_else(|| panic!("{stdout:?} has no amount {amount}"));
    assert!(at.ends_with("+07:00") && at.len() == 25, "{at:?}");
}

#[test]
fn a_dynamic_qr_is_paid_once_and_a_second_payment_fails_with_one_line() {
    let sandbox = Sandbox::new();
    let expires = OffsetDateTime::now_utc() + Duration::minutes(30);
    let id = sandbox.insert_qr(Some(900_000), Some(expires));
    let id_text = id.to_string();
    let stdout = sandbox.ok(&["admin", "qr", "pay", &id_text]);
    assert_paid_line(&stdout, id, "9000.00");
    let paid = sandbox.with_store(async |store| store.qr(id).await.unwrap().unwrap());
    assert_eq!(paid.payment_count, 1);
    assert_eq!(paid.paid_amount_sen, Some(900_000));
    assert!(paid.paid_at.is_some());

    let again = sandbox.run(&["admin", "qr", "pay", &id_text, "--amount", "9000.00"]);
    let line = fails_with_one_line(&again);
    assert!(line.contains("already paid"), "{line}");
    let after = sandbox.with_store(async |store| store.qr(id).await.unwrap().unwrap());
    assert_eq!(after.payment_count, 1);
}

#[test]
fn a_dynamic_qr_is_paid_with_its_own_amount_only() {
    let sandbox = Sandbox::new();
    let expires = OffsetDateTime::now_utc() + Duration::minutes(30);
    let id = sandbox.insert_qr(Some(900_000), Some(expires));
    let id_text = id.to_string();
    let wrong = sandbox.run(&["admin", "qr", "pay", &id_text, "--amount", "5000.00"]);
    let line = fails_with_one_line(&wrong);
    assert!(
        line.contains("9000.00") && line.contains("5000.00"),
        "{line}"
    );
    let stdout = sandbox.ok(&["admin", "qr", "pay", &id_text, "--amount", "9000.00"]);
    assert_paid_line(&stdout, id, "9000.00");
}

#[test]
fn paying_a_dynamic_qr_after_it_expired_fails_with_one_line() {
    let sandbox = Sandbox::new();
    let expired = OffsetDateTime::now_utc() - Duration::minutes(30);
    let id = sandbox.insert_qr(Some(900_000), Some(expired));
    let line = fails_with_one_line(&sandbox.run(&["admin", "qr", "pay", &id.to_string()]));
    assert!(line.contains("expired"), "{line}");
    let after = sandbox.with_store(async |store| store.qr(id).await.unwrap().unwrap());
    assert_eq!(after.payment_count, 0);
    assert_eq!(after.paid_at, None);
}

#[test]
fn paying_a_static_qr_without_an_amount_fails_with_one_line() {
    let sandbox = Sandbox::new();
    let id = sandbox.insert_qr(None, None);
    let line = fails_with_one_line(&sandbox.run(&["admin", "qr", "pay", &id.to_string()]));
    assert!(line.contains("--amount"), "{line}");
}

#[test]
fn a_static_qr_is_paid_twice_when_each_payment_gives_an_amount() {
    let sandbox = Sandbox::new();
    let id = sandbox.insert_qr(None, None);
    let id_text = id.to_string();
    let first = sandbox.ok(&["admin", "qr", "pay", &id_text, "--amount", "15000.00"]);
    assert_paid_line(&first, id, "15000.00");
    let second = sandbox.ok(&["admin", "qr", "pay", &id_text, "--amount", "2500.50"]);
    assert_paid_line(&second, id, "2500.50");
    let after = sandbox.with_store(async |store| store.qr(id).await.unwrap().unwrap());
    assert_eq!(after.payment_count, 2);
    assert_eq!(after.paid_amount_sen, Some(250_050));
}

#[test]
fn paying_an_unknown_or_malformed_id_or_amount_fails_with_one_line() {
    let sandbox = Sandbox::new();
    let id = sandbox.insert_qr(None, None);
    let line = fails_with_one_line(&sandbox.run(&["admin", "qr", "pay", "999999"]));
    assert!(line.contains("no QR with id_qr 999999"), "{line}");
    for id_text in ["abc", "-1", "0", "1.5"] {
        let line = fails_with_one_line(&sandbox.run(&["admin", "qr", "pay", id_text]));
        assert!(line.contains("id_qr"), "{line}");
    }
    for amount in ["9000", "9,000.00", "-1.00", "0.00", "abc"] {
        let output = sandbox.run(&["admin", "qr", "pay", &id.to_string(), "--amount", amount]);
        let line = fails_with_one_line(&output);
        assert!(line.contains("amount"), "{line}");
    }
}

#[test]
fn decode_describes_every_tag_of_a_sample_and_exits_0() {
    let sandbox = Sandbox::new();
    for payload in samples() {
        let output = sandbox.run(&["qr", "decode", &payload]);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(output.status.code(), Some(0), "{payload}: {stdout}");
        assert!(output.stderr.is_empty());
        assert!(stdout.contains("Merchant name"), "{stdout}");
        let crc_line = stdout.lines().find(|l| l.starts_with("63 CRC: ")).unwrap();
        assert!(crc_line.ends_with(" (valid)"), "{stdout}");
        assert!(stdout.contains("\n  01 Merchant PAN: "), "{stdout}");
        assert_eq!(stdout.lines().last(), Some("valid QRIS payload"));
    }
}

#[test]
fn decode_of_a_payload_with_one_character_changed_exits_1() {
    let sandbox = Sandbox::new();
    let payload = samples().remove(0);
    // A letter of the merchant name: the TLV still decodes, the CRC no longer matches.
    let changed = payload.replacen("GUREUM", "GUREUN", 1);
    assert_ne!(changed, payload);
    let output = sandbox.run(&["qr", "decode", &changed]);
    let line = fails_with_one_line(&output);
    assert!(line.contains("invalid"), "{line}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("Merchant name: GUREUN SHOP"), "{stdout}");
    let crc_line = stdout.lines().find(|l| l.starts_with("63 CRC: ")).unwrap();
    assert!(crc_line.contains(" (invalid, computed "), "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("invalid: "));
}

/// Reads the QR codes in a PNG file with a real decoder.
fn scan_png(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (width, height) = (info.width as usize, info.height as usize);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| buf[y * width + x]);
    image
        .detect_grids()
        .iter()
        .map(|grid| grid.decode().unwrap().1)
        .collect()
}

#[test]
fn render_writes_a_png_that_decodes_back_to_the_same_payload() {
    let sandbox = Sandbox::new();
    for (i, payload) in samples().into_iter().enumerate() {
        let out = sandbox.path(&format!("qr{i}.PNG"));
        let out_text = out.display().to_string();
        sandbox.ok(&["qr", "render", &payload, "--out", &out_text]);
        assert_eq!(scan_png(&out), vec![payload]);
    }
    let small = sandbox.path("small.png");
    let payload = samples().remove(0);
    let small_text = small.display().to_string();
    sandbox.ok(&[
        "qr",
        "render",
        &payload,
        "--out",
        &small_text,
        "--scale",
        "3",
    ]);
    assert_eq!(scan_png(&small), vec![payload]);
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn render_writes_an_svg_and_replaces_an_older_file() {
    let sandbox = Sandbox::new();
    let out = sandbox.path("qr.svg");
    std::fs::write(&out, "old").unwrap();
    let out_text = out.display().to_string();
    sandbox.ok(&["qr", "render", &samples().remove(0), "--out", &out_text]);
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert!(!sandbox.path("qr.svg.tmp").exists());
}

#[test]
fn render_refuses_an_unknown_extension_and_an_invalid_payload_with_one_line() {
    let sandbox = Sandbox::new();
    let payload = samples().remove(0);
    for name in ["qr.jpg", "qr", "qr.png.txt"] {
        let out = sandbox.path(name).display().to_string();
        let line = fails_with_one_line(&sandbox.run(&["qr", "render", &payload, "--out", &out]));
        assert!(line.contains(".png or .svg"), "{line}");
        assert!(!sandbox.path(name).exists());
    }
    let out = sandbox.path("bad.png");
    let changed = payload.replacen("GUREUM", "GUREUN", 1);
    let out_text = out.display().to_string();
    let line = fails_with_one_line(&sandbox.run(&["qr", "render", &changed, "--out", &out_text]));
    assert!(line.contains("invalid"), "{line}");
    assert!(!out.exists());
}

/// CONTRACT §6.2: a sandbox payment notifies like any other; operators list, show and resend
/// through `admin notify`, and bad ids fail with one line.
#[test]
fn a_sandbox_payment_is_listed_shown_and_resent_through_admin_notify() {
    let sandbox = Sandbox::new();
    let id = sandbox.insert_qr(None, None);
    let paid = sandbox.ok(&["admin", "qr", "pay", &id.to_string(), "--amount", "1500.00"]);
    let payment_id = paid.split(' ').nth(4).unwrap().to_owned();

    let listed = sandbox.ok(&["admin", "notify", "list"]);
    let mut lines = listed.lines();
    assert_eq!(
        lines.next(),
        Some(
            "notification_id\tclient_id\tevent\tid_qr\tstatus\tattempts\tnext_attempt\tlast_result"
        )
    );
    let row: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(lines.next(), None, "{listed}");
    // The partner has no callback URL: held.
    assert_eq!(&row[1..6], ["p1", "payment", &id.to_string(), "held", "0"]);
    let notification_id = row[0];
    let by_status = sandbox.ok(&["admin", "notify", "list", "--status", "delivered"]);
    assert_eq!(by_status.lines().count(), 1, "only the header: {by_status}");
    let by_partner = sandbox.ok(&["admin", "notify", "list", "--client-id", "p1"]);
    assert_eq!(by_partner, listed);

    let shown = sandbox.ok(&["admin", "notify", "show", notification_id]);
    assert!(shown.contains("status: held\n"), "{shown}");
    let body_line = shown.lines().find(|l| l.starts_with("body: ")).unwrap();
    let body: serde_json::Value = serde_json::from_str(&body_line["body: ".len()..]).unwrap();
    assert_eq!(body["additionalInfo"]["paymentId"], payment_id.as_str());
    assert_eq!(body["additionalInfo"]["notificationId"], notification_id);
    assert_eq!(body["amount"]["value"], "1500.00");
    assert!(
        shown
            .trim_end()
            .ends_with("attempt\ttime\thttp_status\tresponse_code\tlatency_ms\terror")
    );

    // Not yet delivered: a resend leaves it as it is.
    let queued = sandbox.ok(&["admin", "notify", "resend", notification_id]);
    assert_eq!(queued, format!("notification {notification_id} queued\n"));
    for bad in [["show", "999999"], ["resend", "999999"], ["show", "12x"]] {
        let line = fails_with_one_line(&sandbox.run(&["admin", "notify", bad[0], bad[1]]));
        assert!(line.contains("notification"), "{line}");
    }
    let wrong_status = sandbox.run(&["admin", "notify", "list", "--status", "lost"]);
    assert_eq!(wrong_status.status.code(), Some(2));
}
