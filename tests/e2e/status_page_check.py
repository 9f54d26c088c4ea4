#!/usr/bin/env python3
"""Checks the status page as headless Chromium rendered it against /status.json and /metrics.

Usage: status_page_check.py DOM_WITH_SCRIPT DOM_WITHOUT_SCRIPT STATUS_JSON METRICS
Every element with data-k shows the value at that path of /status.json, written the page's way;
the page drawn with scripts off shows the same; the scripted one was refreshed by its script.
"""
import html.parser
import json
import re
import sys


def human_bytes(n):
    if n < 1024:
        return f"{n} B"
    units, v, i = ["KiB", "MiB", "GiB", "TiB"], n / 1024, 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return f"{v:.1f} {units[i]}"


def ratio(hits, misses):
    return "-" if hits + misses == 0 else f"{100 * hits / (hits + misses):.1f}%"


class Values(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.values, self.current, self.body, self.progress = {}, None, {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "progress":
            self.progress.append(a)
        if "data-k" in a:
            self.current = (a["data-k"], a.get("data-f"))
            self.values[self.current] = ""

    def handle_data(self, data):
        if self.current:
            self.values[self.current] += data

    def handle_endtag(self, tag):
        self.current = None


def lookup(doc, path):
    for part in path.split("."):
        doc = doc[part]
    return doc


def expected(doc, key, kind):
    if kind == "r":
        part = lookup(doc, key.rsplit(".", 1)[0])
        return ratio(part["hits"], part["misses"])
    v = lookup(doc, key)
    return human_bytes(v) if kind == "b" else str(v).replace("T", " ") if kind == "t" else str(v)


def parse(path):
    p = Values()
    p.feed(open(path, encoding="utf-8").read())
    return p


def main():
    scripted, plain = parse(sys.argv[1]), parse(sys.argv[2])
    doc = json.load(open(sys.argv[3]))
    metrics = {}
    for line in open(sys.argv[4]):
        m = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line.strip())
        if m:
            metrics[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    errors = []

    if scripted.body.get("data-refreshed") is None:
        errors.append("the script did not refresh the page from /status.json")
    if "data-refreshed" in plain.body:
        errors.append("the page without scripts claims a refresh")
    for page, name in ((scripted, "scripted"), (plain, "no-script")):
        if len(page.values) < 20:
            errors.append(f"{name}: only {len(page.values)} values on the page")
        for (key, kind), shown in page.values.items():
            if key == "generated_at":
                continue  # the one value that moves between the page and the JSON fetch
            want = expected(doc, key, kind)
            if shown.strip() != want:
                errors.append(f"{name}: {key} shows {shown!r}, /status.json has {want!r}")
        fills = [p for p in page.progress if "max" in p and p.get("max") != str(doc["cache"]["limit_bytes"])]
        if len(fills) != len(doc["fills"]) or not fills:
            errors.append(f"{name}: {len(fills)} fill progress bars, /status.json has {len(doc['fills'])}")

    # /status.json against /metrics, read right after it.
    s = doc["since_start"]
    hit_outcomes = ("hit", "stale", "revalidated", "coalesced")
    hits = sum(v for k, v in metrics.items() if k.startswith("regcache_requests_total{")
               and re.search(r'route="(blob|manifest)"', k)
               and re.search(r'outcome="(%s)"' % "|".join(hit_outcomes), k))
    misses = sum(v for k, v in metrics.items() if k.startswith("regcache_requests_total{")
                 and re.search(r'route="(blob|manifest)"', k) and 'outcome="miss"' in k)
    checks = [
        ("hits", s["hits"], hits),
        ("misses", s["misses"], misses),
        ("bytes from cache", s["bytes_from_cache"], metrics['regcache_served_bytes_total{source="cache"}']),
        ("bytes from upstream", s["bytes_from_upstream"],
         metrics['regcache_served_bytes_total{source="upstream"}']),
        ("cache bytes", doc["cache"]["bytes"], metrics["regcache_cache_bytes"]),
        ("cache blobs", doc["cache"]["blobs"], metrics["regcache_cache_blobs"]),
        ("fills", len(doc["fills"]), metrics["regcache_fills_in_flight"]),
    ]
    for reg in doc["registries"]:
        if reg["ratelimit_remaining"] is not None:
            key = 'regcache_upstream_ratelimit_remaining{registry="%s"}' % reg["registry"]
            checks.append(("ratelimit " + reg["registry"], reg["ratelimit_remaining"], metrics.get(key)))
    for name, a, b in checks:
        if b is None or float(a) != float(b):
            errors.append(f"/status.json {name} = {a}, /metrics has {b}")

    for e in errors:
        print("MISMATCH:", e)
    print(f"checked {len(scripted.values)} page values, {len(checks)} metrics")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
