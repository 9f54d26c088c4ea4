#!/usr/bin/env python3
"""Turns bench/run's measurements (one JSON line each) into the results JSON, a Markdown table
and gnuplot plots (SVG). Each figure is the median over rounds; each ratio is the median of the
per-round ratios of a target and its anchor measured side by side in that round."""
import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict

# (workload, title, measure, target system, metric, anchor system or None, goal op, goal, unit)
# A ratio row compares target/anchor; an absolute row (anchor None) compares the target itself.
ROWS = [
    ("1", "cache hit, 1 client, large blob, CONNECT+TLS", "MiB/s ÷ nginx TLS static",
     "regcache", "mib_per_s", "nginx", ">=", 0.9, "MiB/s"),
    ("2", "cache hit, small manifests, keep-alive via CONNECT", "req/s ÷ nginx TLS small file",
     "regcache", "req_per_s", "nginx", ">=", 0.8, "req/s"),
    ("1", "", "MiB/s ÷ Squid ssl-bump hit (no goal)", "regcache", "mib_per_s", "squid", None, None,
     "MiB/s"),
    ("2", "", "p99 latency ÷ nginx's", "regcache", "p99_ms", "nginx", "<=", 2.0, "ms"),
    ("2", "", "req/s ÷ Squid ssl-bump hits (no goal)", "regcache", "req_per_s", "squid", None,
     None, "req/s"),
    ("3", "warm whole-image pull, skopeo, 5 layers", "time ÷ direct",
     "regcache", "seconds", "direct", "<=", 0.85, "s"),
    ("3", "", "time ÷ distribution mirror warm",
     "regcache", "seconds", "distribution", "<=", 0.95, "s"),
    ("3", "", "time ÷ Squid ssl-bump warm (no goal)", "regcache", "seconds", "squid", None, None,
     "s"),
    ("4", "cold pull-through, 1 client, large blob", "time ÷ direct",
     "regcache", "seconds", "direct", "<=", 1.15, "s"),
    ("5", "8 concurrent cold pulls, token registry + CDN", "upstream GETs of the layer",
     "regcache-8", "upstream_gets", None, "<=", 1, ""),
    ("5", "", "time ÷ the same 8 pulls direct", "regcache-8", "seconds", "direct-8", "<=", 1.1, "s"),
    ("5", "", "the machine's busy CPU ÷ direct's (no goal)", "regcache-8", "machine_busy_s",
     "direct-8", None, None, "s"),
    ("5", "", "of it regcache's (no goal)", "regcache-8", "regcache_cpu_s", None, None, None, "s"),
    ("5", "16 concurrent cold pulls, token registry + CDN", "upstream GETs of the layer",
     "regcache-16", "upstream_gets", None, "<=", 1, ""),
    ("5", "", "time ÷ the same 16 pulls direct", "regcache-16", "seconds", "direct-16", "<=", 1.1, "s"),
    ("5", "", "the machine's busy CPU ÷ direct's (no goal)", "regcache-16", "machine_busy_s",
     "direct-16", None, None, "s"),
    ("5", "", "of it regcache's (no goal)", "regcache-16", "regcache_cpu_s", None, None, None, "s"),
    ("6", "new-host handshakes, CONNECT + TLS, distinct names", "p50 handshake incl. mint",
     "regcache-mint", "handshake_p50_ms", None, "<=", 2.0, "ms"),
    ("6", "", "handshakes/s with a cached leaf ÷ nginx (no resumption)",
     "regcache", "req_per_s", "nginx", ">=", 0.8, "/s"),
    ("7", "memory, idle intercepted keep-alive connections", "RSS (first round: a fresh batch)",
     "regcache-idle", "rss_mib", None, "<=", 100, "MiB"),
    ("7", "", "RSS added by the batch (median)", "regcache-idle", "added_mib", None, None, None,
     "MiB"),
    ("7", "", "seconds until the closed batch's descriptors are released (no goal)",
     "regcache-idle", "released_s", None, None, None, "s"),
    ("7", "memory, large blob to a 10 MB/s reader", "RSS growth while it streams",
     "regcache-slow", "growth_mib", None, "<=", 16, "MiB"),
    ("8", "start-up with many blobs indexed", "time to first served hit",
     "regcache", "seconds", None, "<=", 1.0, "s"),
    ("9", "pass-through (not cacheable), large body, intercepted", "MiB/s ÷ direct",
     "regcache", "mib_per_s", "direct", ">=", 0.6, "MiB/s"),
    ("10", "workload 2 during a large fill + eviction", "p99 during the fill ÷ without",
     "regcache-fill", "p99_ms", "regcache-quiet", "<=", 1.5, "ms"),
    ("10", "", "blobs evicted inside the window (every round must evict)", "regcache-fill",
     "evicted_blobs", None, ">=", 1, ""),
]


def load(path):
    by = defaultdict(lambda: defaultdict(dict))  # workload -> system -> round -> metrics
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                by[r["workload"]][r["system"]][r["round"]] = r["m"]
    return by


def median(values):
    return statistics.median(values) if values else None


def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f}"


def evaluate(by, workloads):
    out = []
    for w, title, measure, target, metric, anchor, op, goal, unit in ROWS:
        if w not in workloads:
            continue
        if anchor and anchor not in by.get(w, {}) and op is None:
            continue  # an optional anchor (Squid) that this run did not start
        t_rounds = by.get(w, {}).get(target, {})
        t = median([m[metric] for m in t_rounds.values() if metric in m])
        if target == "regcache-idle" and metric == "rss_mib" and t_rounds:
            # Later rounds start where the earlier batches left the heap: the first is the one
            # that says what 10,000 idle connections cost a process.
            t = t_rounds[min(t_rounds)][metric]
        row = {"workload": w, "title": title, "measure": measure, "target": target,
               "metric": metric, "unit": unit, "goal": f"{op} {goal}" if op else "–", "value": t,
               "rounds": len(t_rounds)}
        if anchor:
            a_rounds = by.get(w, {}).get(anchor, {})
            row["anchor"] = anchor
            row["anchor_value"] = median([m[metric] for m in a_rounds.values() if metric in m])
            ratios = [t_rounds[r][metric] / a_rounds[r][metric] for r in t_rounds
                      if r in a_rounds and a_rounds[r].get(metric)]
            row["ratio"] = median(ratios)
            judged = row["ratio"]
        else:
            judged = t
        if judged is None or op is None:
            row["met"] = None
        else:
            row["met"] = judged >= goal if op == ">=" else judged <= goal
        extra = {}
        for system, rounds in by.get(w, {}).items():
            extra[system] = {k: median([m[k] for m in rounds.values()
                                        if isinstance(m.get(k), (int, float))])
                             for k in next(iter(rounds.values())).keys()
                             if isinstance(next(iter(rounds.values()))[k], (int, float))}
        row["systems"] = extra
        out.append(row)
    out.sort(key=lambda row: int(row["workload"]))  # stable: a workload's rows keep their order
    return out


def markdown(rows, args, ceilings):
    lines = [f"Commit {args.commit}, {'quick' if args.quick == '1' else 'full'} run; "
             f"machine load (uptime) at the {args.load.strip()}", "",
             "| # | workload | measure | regcache | anchor | ratio | goal | met |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        anchor = f"{fmt(r.get('anchor_value'))} {r['unit']} ({r['anchor']})" if r.get("anchor") else "–"
        ratio = fmt(r.get("ratio"), 2) if r.get("anchor") else "–"
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        lines.append(f"| {r['workload']} | {r['title']} | {r['measure']} | "
                     f"{fmt(r['value'])} {r['unit']} | {anchor} | {ratio} | {r['goal']} | {met} |")
    lines += ["", "CPU ceilings (`openssl speed`, one core): "
              f"AES-128-GCM {ceilings.get('aes_128_gcm_16k')} (16 KiB blocks), "
              f"SHA-256 {ceilings.get('sha256_16k')} (16 KiB blocks), "
              f"ECDSA P-256 sign/verify per s {ceilings.get('ecdsap256_sign_verify_per_s')}.", ""]
    return "\n".join(lines)


def plots(by, directory):
    """Two SVGs: throughput (MiB/s, workloads 1, 9, 4) and latency (ms, workloads 2 and 10)."""
    def med(w, s, k):
        v = median([m[k] for m in by.get(w, {}).get(s, {}).values() if k in m])
        return v if v is not None else 0

    def mibs(w, s):  # workload 4 is timed; its MiB/s comes from the same loadgen run
        return med(w, s, "mib_per_s")

    tp = os.path.join(directory, "throughput.dat")
    with open(tp, "w") as f:
        f.write("workload regcache anchor\n")
        f.write(f'"1 hit vs nginx" {mibs("1", "regcache")} {mibs("1", "nginx")}\n')
        f.write(f'"9 pass-through vs direct" {mibs("9", "regcache")} {mibs("9", "direct")}\n')
        f.write(f'"4 cold vs direct" {mibs("4", "regcache")} {mibs("4", "direct")}\n')
    lat = os.path.join(directory, "latency.dat")
    with open(lat, "w") as f:
        f.write("measure regcache anchor\n")
        for k, label in (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9")):
            f.write(f'"2 {label} vs nginx" {med("2", "regcache", k)} {med("2", "nginx", k)}\n')
        f.write(f'"10 p99 fill vs quiet" {med("10", "regcache-fill", "p99_ms")} '
                f'{med("10", "regcache-quiet", "p99_ms")}\n')
    script = f"""
set terminal svg size 960,420 dynamic font "sans,11"
set output "{os.path.join(directory, 'bench.svg')}"
set multiplot layout 1,2 title "regcache beside its anchors (medians; same run)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set xtics rotate by -20
set yrange [0:*]
set title "throughput, MiB/s (higher is better)"
plot "{tp}" using 2:xtic(1) title "regcache", "" using 3 title "anchor"
set title "latency, ms (lower is better)"
plot "{lat}" using 2:xtic(1) title "regcache", "" using 3 title "anchor (nginx / no fill)"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def main():
    p = argparse.ArgumentParser()
    for name in ("rounds", "ceilings", "load", "commit", "quick", "workloads", "json",
                 "markdown", "plots"):
        p.add_argument("--" + name, required=True)
    args = p.parse_args()
    by = load(args.rounds)
    with open(args.ceilings) as f:
        ceilings = json.load(f)
    workloads = args.workloads.split(",")
    rows = evaluate(by, workloads)
    missing = [r["workload"] for r in rows if r["value"] is None and r["goal"] != "–"]
    with open(args.json, "w") as f:
        json.dump({"commit": args.commit, "quick": args.quick == "1", "load": args.load.strip(),
                   "ceilings": ceilings, "rows": rows,
                   "rounds": {w: {s: rs for s, rs in v.items()} for w, v in by.items()}},
                  f, indent=1)
    md = markdown(rows, args, ceilings)
    with open(args.markdown, "w") as f:
        f.write(md)
    plots(by, args.plots)
    if missing:
        print("workloads without numbers: " + ", ".join(sorted(set(missing))), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
