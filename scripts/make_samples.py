#!/usr/bin/env python3
"""Cut the samples in data/samples/ out of the real files in ../shared/data/.

data/samples/demo/: the demo's symbols, one venue and the same week (Binance spot, March 2025),
so their series overlap in time. data/samples/: two slices whose quirks the tests need when
../shared/data is not beside the checkout (zero-volume bars and exponent notation; session gaps).

Rows are copied as text, unchanged (no float round trip). Run from the repository root:

    python3 scripts/make_samples.py [--shared ../shared/data]
"""
import argparse
import hashlib
import pathlib

SLICES = [
    # (source file, output file, first bar open time, last bar open time)
    ("BTCUSDT_binanceus_1m_20230301_20230321.csv", "BTCUSDT_binanceus_1m_20230310_20230313.csv",
     "2023-03-10T00:00:00Z", "2023-03-13T23:59:00Z"),
    ("ES_firstratedata_1m_20230924_20231009.csv", "ES_firstratedata_1m_20230924_20230929.csv",
     "2023-09-24T22:00:00Z", "2023-09-29T20:59:00Z"),
] + [
    (f"intraday/{sym}_binance_1m_20250301_20250401.csv", f"demo/{sym}_binance_1m_20250310_20250316.csv",
     "2025-03-10T00:00:00Z", "2025-03-16T23:59:00Z")
    for sym in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", default="data/samples")
    args = ap.parse_args()
    for src, dst, first, last in SLICES:
        lines = pathlib.Path(args.shared, src).read_text().splitlines()
        rows = [line for line in lines[1:] if first <= line[:20] <= last]
        text = "\n".join([lines[0], *rows]) + "\n"
        out = pathlib.Path(args.out, dst)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"{out}: {len(rows)} rows, sha256 {hashlib.sha256(text.encode()).hexdigest()}")


if __name__ == "__main__":
    main()
