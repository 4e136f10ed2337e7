#!/usr/bin/env python3
"""The Pillow baseline for thumbnail throughput, doing the same work as
`clip-plot-view prepare --only thumbs`, the way PixPlot makes thumbnails.

Per image (in N worker processes): open, JPEG draft mode, EXIF transpose, thumbnail (bicubic, Pillow's default) to 256 px
and encode it (JPEG, or PNG with alpha), thumbnail to 32 px. The parent pastes the 32 px
thumbnails into 2048x2048 atlas pages and writes them. Prints images/second.

    python3 benches/pillow_thumbs.py IMAGES_DIR [--processes 2] [--out /tmp/pillow-atlas]

Needs Pillow (`pip install pillow`); skipped where it is not installed.
"""
import argparse
import io
import os
import sys
import time
from multiprocessing import Pool

try:
    from PIL import Image, ImageOps
except ImportError:  # pragma: no cover
    print("Pillow is not installed: skipping the baseline")
    sys.exit(0)

EXTS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def work(path):
    try:
        im = Image.open(path)
        if im.format == "JPEG":
            im.draft("RGB", (256, 256))
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGBA")
        im.thumbnail((256, 256), Image.BICUBIC)
        buf = io.BytesIO()
        if im.getextrema()[3][0] < 255:
            im.save(buf, format="PNG", compress_level=1)
        else:
            im.convert("RGB").save(buf, format="JPEG", quality=85)
        small = im.copy()
        small.thumbnail((32, 32), Image.BICUBIC)
        return small.size, small.tobytes(), len(buf.getvalue())
    except Exception as e:  # noqa: BLE001 - skipped files are counted, like ours
        return None, str(e), 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", default="/tmp/pillow-atlas")
    args = ap.parse_args()
    paths = sorted(
        os.path.join(d, f)
        for d, _, files in os.walk(args.images)
        for f in files
        if os.path.splitext(f)[1].lower() in EXTS
    )
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    page = None
    pages = 0
    ok = 0
    with Pool(args.processes) as pool:
        # Small batches on small sets, so no process idles while another has half the work.
        chunk = max(1, min(64, len(paths) // (args.processes * 8)))
        for i, (size, data, _) in enumerate(pool.imap(work, paths, chunksize=chunk)):
            cell = ok % 4096
            if cell == 0:
                if page is not None:
                    page.save(os.path.join(args.out, f"page_{pages:04}.png"), compress_level=1)
                    pages += 1
                page = Image.new("RGBA", (2048, 2048))
            if size is None:
                continue
            page.paste(Image.frombytes("RGBA", size, data), ((cell % 64) * 32, (cell // 64) * 32))
            ok += 1
    if page is not None:
        page.save(os.path.join(args.out, f"page_{pages:04}.png"), compress_level=1)
    secs = time.perf_counter() - start
    print(f"pillow: {ok}/{len(paths)} images in {secs:.2f} s = {ok / secs:.0f} images/s "
          f"({args.processes} processes)")


if __name__ == "__main__":
    main()
