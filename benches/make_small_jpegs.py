#!/usr/bin/env python3
"""The small-JPEG thumbnail benchmark's images: every picture of SRC saved again at eight
sizes (256–800 px on the long side, quality 85), as img2dataset-sized photos are.

    python3 benches/make_small_jpegs.py SRC_DIR OUT_DIR

Needs Pillow (`pip install pillow`).
"""
import glob
import os
import sys

from PIL import Image

SIZES = [256, 320, 384, 448, 512, 576, 640, 800]


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in sorted(glob.glob(os.path.join(src, "*"))):
        try:
            image = Image.open(path)
            image.draft("RGB", (1000, 1000))
            image = image.convert("RGB")
        except OSError as e:
            print(f"skipped {path}: {e}", file=sys.stderr)
            continue
        for size in SIZES:
            small = image.copy()
            small.thumbnail((size, size))
            small.save(os.path.join(out, f"{n:05d}_{size}.jpg"), quality=85)
            n += 1
    print(f"{n} JPEGs in {out}")


if __name__ == "__main__":
    main()
