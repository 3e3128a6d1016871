"""Soak of the live node (issue 11; a bench, not run by CI or the gate: it takes 10 minutes).

Runs ``trader live`` on the synthetic feed at 50k events/s (paper, the bundled market maker) for
``--minutes`` (10 by default), samples the node's resident memory every 5 s from /proc, and checks
at the end, from the node's final status (``--json``):

- RSS flat: the growth from the end of the warm-up (the first minute, or 10 % of a shorter run)
  to the end is below 5 %;
- no trade dropped: every trade and quote pushed into the ring was processed (the ring never
  drops; a full ring holds the feed back), and the feed kept its rate (events >= 95 % of
  rate x duration).

Usage: ``python benches/soak_live.py [--minutes 10] [--rate 50000]``; exit 0 when both hold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=50_000.0)
    args = ap.parse_args()
    duration = args.minutes * 60
    warmup = min(60.0, duration / 10)
    with tempfile.TemporaryDirectory() as tmp:
        node = subprocess.Popen([sys.executable, "-m", "trader", "live", "--feed", f"synthetic:rate={args.rate:g}",
                                 "--duration", f"{duration:g}", "--json", "--state", os.path.join(tmp, "state")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        samples: list[tuple[float, int]] = []
        t0 = time.monotonic()
        while node.poll() is None:
            try:
                samples.append((time.monotonic() - t0, rss_kb(node.pid)))
            except (OSError, RuntimeError):
                break
            time.sleep(5)
        out, _ = node.communicate()
    if node.returncode != 0:
        print(f"the node exited {node.returncode}")
        return 1
    summary = json.loads(out)
    row = summary["strategies"][0]
    ring = row["ring"]
    after = [kb for t, kb in samples if t >= warmup]
    base, end, peak = after[0], after[-1], max(after)
    growth = (end - base) / base
    dropped = {s: ring["pushed"][s] - ring["processed"][s] for s in ring["pushed"]}
    expected = args.rate * duration
    print(json.dumps({"minutes": args.minutes, "rate": args.rate, "events": row["events"],
                      "events_share_of_rate": round(row["events"] / expected, 4), "rss_after_warmup_kb": base,
                      "rss_end_kb": end, "rss_peak_kb": peak, "rss_growth": round(growth, 4), "dropped": dropped,
                      "ring_full_retries": ring["full"], "max_backlog": ring["max_backlog"],
                      "latency_p50_us": row["latency_p50_us"], "latency_p99_us": row["latency_p99_us"],
                      "orders": row["orders"], "fills": row["fills"]}, indent=1))
    ok = growth < 0.05 and not any(dropped.values()) and row["events"] >= 0.95 * expected
    print("soak:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
