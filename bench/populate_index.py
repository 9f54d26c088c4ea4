#!/usr/bin/env python3
"""Makes a regcache data directory with many blobs indexed, for the start-up workload (8).

Usage: populate_index.py SOURCE_DATA_DIR DEST_DATA_DIR KEEP_DIGEST ROWS

DEST gets SOURCE's CA (so the proxy's bundle still verifies), a consistent copy of its index
(SQLite's backup API, safe while SOURCE's proxy runs) reduced to the blob KEEP_DIGEST and its
file, plus ROWS synthetic blobs: a row, a source row and a small file each, laid out as the
filesystem store lays them out (blobs/sha256/<2 hex>/<64 hex>).
"""
import hashlib
import os
import shutil
import sqlite3
import sys
import time


def main():
    source, dest, keep, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.makedirs(dest)
    shutil.copytree(os.path.join(source, "ca"), os.path.join(dest, "ca"))
    src = sqlite3.connect(os.path.join(source, "cache.db"))
    db = sqlite3.connect(os.path.join(dest, "cache.db"))
    src.backup(db)
    src.close()
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("DELETE FROM blob_sources WHERE digest != ?", (keep,))
    db.execute("DELETE FROM blobs WHERE digest != ?", (keep,))
    db.execute("DELETE FROM tags")
    registry, repository = db.execute(
        "SELECT registry, repository FROM blob_sources WHERE digest = ?", (keep,)).fetchone()
    hexdigest = keep.split(":", 1)[1]
    keep_dir = os.path.join(dest, "blobs", "sha256", hexdigest[:2])
    os.makedirs(keep_dir, exist_ok=True)
    shutil.copy(os.path.join(source, "blobs", "sha256", hexdigest[:2], hexdigest), keep_dir)
    now = int(time.time())
    blobs, sources = [], []
    for i in range(rows):
        body = b"regcache bench blob %d\n" % i
        digest = hashlib.sha256(body).hexdigest()
        folder = os.path.join(dest, "blobs", "sha256", digest[:2])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, digest), "wb") as f:
            f.write(body)
        blobs.append(("sha256:" + digest, len(body), "application/octet-stream", now, now - i))
        sources.append(("sha256:" + digest, registry, repository))
    db.executemany("INSERT INTO blobs (digest, size, media_type, created_at, last_access) "
                   "VALUES (?, ?, ?, ?, ?)", blobs)
    db.executemany("INSERT INTO blob_sources (digest, registry, repository) VALUES (?, ?, ?)",
                   sources)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"{rows} blobs indexed in {dest}")


if __name__ == "__main__":
    main()
