#!/usr/bin/env python3
"""Regenerate the sample site's images and its 1 MiB download.

Plain standard library (zlib + struct write PNGs by hand) so that it runs
anywhere; the output is deterministic, so re-running it changes nothing.
Usage: python3 site/make-images.py   (from the repository root or site/)
"""
import os, random, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))

def png(path, width, height, pixel):
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(data)

# A small icon: a blue square with a white frame.
png("images/icon.png", 32, 32, lambda x, y: (255, 255, 255) if x in (0, 31) or y in (0, 31) else (40, 90, 200))
# A medium gradient banner.
png("images/banner.png", 640, 120, lambda x, y: (x * 255 // 639, 80 + y, 255 - x * 255 // 639))
# A large noisy photo stand-in (compresses badly, so it is big on the wire).
rng = random.Random(3)
png("images/noise.png", 400, 300, lambda x, y: (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
# A checkerboard used by the nested page.
png("guide/checker.png", 96, 96, lambda x, y: (20, 20, 20) if (x // 12 + y // 12) % 2 else (235, 235, 235))

# Exactly 1 MiB of deterministic bytes: larger than any socket buffer, so
# servers must cope with partial writes to send it.
rng = random.Random(1)
with open(os.path.join(HERE, "files/one-mebibyte.bin"), "wb") as f:
    f.write(bytes(rng.randrange(256) for _ in range(1 << 20)))
