//! Per-operation cost of building a QRIS payload (checks, TLV, CRC), next to the CRC-16 alone:
//! `cargo bench -p snapqris-qris --bench build`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use snapqris_qris::{
    Criteria, Initiation, MerchantProfile, build, crc16, derive_sandbox_nmid, merchant_pan, parse,
};
use std::hint::black_box;

fn profile() -> MerchantProfile {
    MerchantProfile {
        acquirer_domain: "ID.CO.SNAPQRIS.WWW".into(),
        acquirer_nns: "93600999".into(),
        merchant_pan: merchant_pan("93600999", 1),
        merchant_id: "M0001".into(),
        criteria: Criteria::Umi,
        nmid: derive_sandbox_nmid("M0001"),
        mcc: "5999".into(),
        name: "Warung Bu Sri".into(),
        city: "Jakarta".into(),
        postal_code: "10110".into(),
    }
}

fn qris(c: &mut Criterion) {
    let profile = profile();
    let dynamic = Initiation::Dynamic {
        amount_sen: 900_000,
    };
    let payload = build(&profile, &dynamic, "10092081", Some("A1234")).unwrap();
    let without_crc = &payload.as_bytes()[..payload.len() - 4];

    let mut group = c.benchmark_group("qris");
    group.bench_function("raw crc16 of the payload", |b| {
        b.iter(|| crc16(black_box(without_crc)))
    });
    group.bench_function("build dynamic (checks + TLV + CRC)", |b| {
        b.iter(|| {
            build(
                black_box(&profile),
                &dynamic,
                black_box("10092081"),
                Some("A1234"),
            )
        })
    });
    group.bench_function("build static", |b| {
        b.iter(|| {
            build(
                black_box(&profile),
                &Initiation::Static,
                black_box("10092081"),
                None,
            )
        })
    });
    group.bench_function("parse + validate", |b| {
        b.iter(|| parse(black_box(&payload)))
    });
    group.finish();
}

criterion_group!(benches, qris);
criterion_main!(benches);
