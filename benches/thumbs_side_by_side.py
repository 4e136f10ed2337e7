#!/usr/bin/env python3
"""Thumbnails side by side: `clip-plot-view prepare --only thumbs` against the Pillow
baseline (benches/pillow_thumbs.py, PixPlot's way) on the same images, alternating runs on
an otherwise idle machine, for all images and for the JPEGs and the PNGs apart (which of
the two decoders is behind shows at once).

    python3 benches/thumbs_side_by_side.py IMAGES_DIR [--bin target/release/clip-plot-view]
        [--rounds 3] [--processes 2] [--work /tmp/sbs]

Each group is a dataset of symbolic links to the files under WORK (the user's folder is only
read). Ours runs as a whole process into a fresh cache every round (listing, decoding,
atlas pages, index: everything `--only thumbs` does); Pillow's with as many processes as we
have threads. Prints the median and range of each and the ratio of the medians.

Needs Pillow (`pip install pillow`).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GROUPS = {
    "all": None,
    "jpeg": {".jpg", ".jpeg"},
    "png": {".png"},
}
EXTS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def make_group(images, work, name, exts):
    root = os.path.join(work, name)
    shutil.rmtree(root, ignore_errors=True)
    out = os.path.join(root, "images")
    os.makedirs(out)
    count = size = 0
    for d, _, files in os.walk(images):
        for f in sorted(files):
            ext = os.path.splitext(f)[1].lower()
            if ext not in EXTS or (exts is not None and ext not in exts):
                continue
            src = os.path.join(d, f)
            rel = os.path.relpath(src, images).replace(os.sep, "__")
            os.symlink(os.path.abspath(src), os.path.join(out, rel))
            count += 1
            size += os.path.getsize(src)
    return root, count, size


def timed(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return secs


def summary(times):
    return f"{statistics.median(times):.2f} s ({min(times):.2f}–{max(times):.2f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("--bin", default="target/release/clip-plot-view")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--work", default="/tmp/sbs")
    args = ap.parse_args()
    try:
        import PIL  # noqa: F401
    except ImportError:
        sys.exit("Pillow is not installed: pip install pillow")
    print(f"| images | ours | Pillow, {args.processes} processes | ratio |")
    print("|---|---|---|---|")
    for name, exts in GROUPS.items():
        root, count, size = make_group(args.images, args.work, name, exts)
        if count == 0:
            continue
        cache = os.path.join(args.work, f"{name}-cache")
        ours, theirs = [], []
        for _ in range(args.rounds):
            shutil.rmtree(cache, ignore_errors=True)
            ours.append(timed([args.bin, "prepare", root, "--cache", cache, "--only", "thumbs",
                               "--quiet"]))
            theirs.append(timed([sys.executable, os.path.join(HERE, "pillow_thumbs.py"),
                                 os.path.join(root, "images"), "--processes",
                                 str(args.processes), "--out",
                                 os.path.join(args.work, f"{name}-pillow")]))
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(f"| {name}: {count} files, {size / 1e6:.0f} MB | {summary(ours)} | "
              f"{summary(theirs)} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
