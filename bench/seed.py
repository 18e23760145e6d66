#!/usr/bin/env python3
"""Seeds QR rows straight into a snapqris store, bypassing the API (fast: ~1 s per 100k rows).

    seed.py sqlite FILE --merchant M1 --client bench --date 2024-06-03 --count 20
    seed.py sqlite FILE --million --client bench   # 1,000 merchants M0000..M0999 x 1,000 QRs
    seed.py csv --merchant M1 --client bench --date 2024-06-03 --count 20 | \
        psql URL -c "\\copy qr_codes FROM STDIN WITH (FORMAT csv)"

Rows follow crates/store/migrations/*/0001_init.sql (`qr_codes`): dynamic QRs of 9000.00,
`generated_at` in unix ms inside the Jakarta day `jakarta_date` ('YYYY-MM-DD'), a realistic
~150-character `qr_content`. `id_qr` uses the server's layout (ms since 2024-01-01 << 22 |
node << 12 | sequence) with node 1023, which no real server registration reaches here, so
seeded ids never collide with ids the server hands out. Merchants a row names must exist
(`--million` inserts merchants M0001..M0999 itself; M0000 must have been added with
`snapqris admin merchant add`).

--million: every merchant gets 20 QRs on each of 50 consecutive days ending on --date
(default 2024-06-03): 1,000 x 50 x 20 = 1,000,000 rows, and M0000 has exactly 20 on --date.
"""
import argparse
import csv
import datetime
import sqlite3
import sys
import time

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NODE = 1023
COLUMNS = (
    "id_qr, merchant_id, client_id, partner_reference_no, kind, amount_sen, terminal_id, "
    "generated_at, jakarta_date, expires_at, cancelled_at, qr_content, paid_at, "
    "paid_amount_sen, payment_count"
)
CONTENT = (
    "00020101021226670018ID.CO.SNAPQRIS.WWW01189360099912345678902150000000000000010303UMI"
    "51440014ID.CO.QRIS.WWW0215ID10200000000010303UMI5204599953033605407900000058"
)


def day_start_ms(day: datetime.date) -> int:
    """Unix ms of 00:00 in Jakarta (UTC+7) on `day`."""
    midnight = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc)
    return int(midnight.timestamp() * 1000) - 7 * 3600 * 1000


def rows(merchant, client, day, count, offset_ms=0, spacing_ms=800):
    start = day_start_ms(day) + offset_ms
    for j in range(count):
        generated = start + j * spacing_ms
        id_qr = ((generated - EPOCH_MS) << 22) | (NODE << 12) | (j % 4096)
        yield (
            id_qr, merchant, client, f"seed-{merchant}-{day.isoformat()}-{j}", "dynamic",
            900000, None, generated, day.isoformat(), generated + 1_800_000, None, CONTENT,
            None, None, 0,
        )


def million(client, last_day):
    for m in range(1000):
        merchant = f"M{m:04d}"
        for d in range(50):
            day = last_day - datetime.timedelta(days=d)
            # 20 QRs one second apart; merchants 20 s apart, so every generated_at differs.
            yield from rows(merchant, client, day, 20, offset_ms=m * 20_000, spacing_ms=1000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("format", choices=["sqlite", "csv"])
    parser.add_argument("file", nargs="?")
    parser.add_argument("--merchant")
    parser.add_argument("--client", default="bench")
    parser.add_argument("--date", default="2024-06-03")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--offset-ms", type=int, default=0,
                        help="shift generated_at (and so id_qr) to keep two seeds of one day apart")
    args = parser.parse_args()
    day = datetime.date.fromisoformat(args.date)
    source = (
        million(args.client, day)
        if args.million
        else rows(args.merchant, args.client, day, args.count, args.offset_ms,
                  spacing_ms=max(1, min(800, 86_000_000 // max(args.count, 1))))
    )
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        for row in source:
            writer.writerow(["" if v is None else v for v in row])
        return
    started = time.time()
    db = sqlite3.connect(args.file)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    with db:
        if args.million:
            now = int(time.time() * 1000)
            db.executemany(
                "INSERT INTO merchants (merchant_id, client_id, name, city, mcc, postal_code, "
                "nmid, criteria, created_at, updated_at) VALUES (?, ?, ?, ?, '5999', '10110', "
                "?, 'UMI', ?, ?)",
                [(f"M{m:04d}", args.client, f"Warung {m}", "Jakarta", f"ID10200{m:08d}",
                  now, now) for m in range(1, 1000)],
            )
        placeholders = ", ".join("?" * 15)
        db.executemany(f"INSERT INTO qr_codes ({COLUMNS}) VALUES ({placeholders})", source)
    total = db.execute("SELECT count(*) FROM qr_codes").fetchone()[0]
    db.close()
    print(f"seeded {args.file}: {total} QR rows in {time.time() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
