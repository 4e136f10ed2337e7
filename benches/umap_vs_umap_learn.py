#!/usr/bin/env python3
"""UMAP of clip-plot against umap-learn on the same embeddings, same machine, same run.

    python3 benches/umap_vs_umap_learn.py --n 100000 --dim 512
    python3 benches/umap_vs_umap_learn.py --emb img_emb.npy

Without --emb it generates clustered, CLIP-like embeddings (unit rows, float16): 120
clusters of uneven size around 12 themes, each cluster spread over its own 16-dimensional
subspace, plus isotropic noise. Both sides then lay out the same file with the same
parameters (n_neighbors 15, min_dist 0.1, cosine, 200 epochs above 10k points) on all
cores. umap-learn's numba functions are compiled on a small warm-up fit first, so its time
is the warm time (the conservative comparison for us). Quality: trustworthiness (k = 15,
cosine, scikit-learn's) of both layouts on the same random subset of rows.

Needs numpy; umap-learn and scikit-learn for the comparison (skipped, with a note, when
they are not installed). Builds nothing: run `cargo build --release` first.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def clustered_embeddings(n, dim, seed, path):
    rng = np.random.default_rng(seed)
    themes = rng.normal(size=(12, dim)).astype(np.float32)
    n_clusters = 120
    centres = themes[rng.integers(12, size=n_clusters)] + 0.7 * rng.normal(size=(n_clusters, dim)).astype(np.float32)
    bases = rng.normal(size=(n_clusters, 16, dim)).astype(np.float32) / np.sqrt(dim) * 6.0
    weights = 1.0 / np.arange(1, n_clusters + 1) ** 0.7
    weights /= weights.sum()
    labels = rng.choice(n_clusters, size=n, p=weights)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, dim))
    step = 50_000
    for s in range(0, n, step):
        lab = labels[s:s + step]
        local = rng.normal(size=(len(lab), 16)).astype(np.float32)
        x = centres[lab] + np.einsum("nk,nkd->nd", local, bases[lab]) + 0.3 * rng.normal(size=(len(lab), dim)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[s:s + step] = x.astype(np.float16)
    out.flush()
    return labels


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb", help="an N×D .npy to lay out (default: generate one)")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample", type=int, default=5000, help="rows for trustworthiness")
    ap.add_argument("--bin", default=os.path.join(here, "..", "target", "release", "clip-plot-view"))
    ap.add_argument("--skip-umap-learn", action="store_true")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix="umap-bench-")
    os.makedirs(work, exist_ok=True)
    emb = args.emb
    if emb is None:
        emb = os.path.join(work, f"clustered_{args.n}x{args.dim}.npy")
        if not os.path.exists(emb):
            t = time.time()
            clustered_embeddings(args.n, args.dim, args.seed, emb)
            print(f"generated {emb} in {time.time() - t:.1f} s", flush=True)
    x = np.load(emb, mmap_mode="r")
    n = x.shape[0]
    print(f"data: {n} x {x.shape[1]} {x.dtype}, {os.cpu_count()} cores", flush=True)

    ours_path = os.path.join(work, "ours.npy")
    t = time.time()
    subprocess.run([args.bin, "layout", emb, "--method", "umap", "-o", ours_path, "--quiet"], check=True)
    ours_s = time.time() - t
    ours = np.load(ours_path)
    print(f"clip-plot: {ours_s:.1f} s", flush=True)

    theirs = None
    theirs_s = None
    if not args.skip_umap_learn:
        try:
            import umap  # noqa: F401
            from sklearn.manifold import trustworthiness  # noqa: F401
        except ImportError:
            print("umap-learn or scikit-learn is not installed: comparison skipped "
                  "(pip install umap-learn scikit-learn)")
        else:
            import umap
            xf = np.asarray(x, dtype=np.float32)
            warm = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", n_epochs=20)
            warm.fit_transform(xf[:2000])
            t = time.time()
            theirs = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine").fit_transform(xf)
            theirs_s = time.time() - t
            np.save(os.path.join(work, "umap_learn.npy"), theirs)
            print(f"umap-learn: {theirs_s:.1f} s", flush=True)

    try:
        from sklearn.manifold import trustworthiness
    except ImportError:
        print("scikit-learn is not installed: no trustworthiness")
        return
    rng = np.random.default_rng(7)
    idx = np.sort(rng.choice(n, size=min(args.sample, n), replace=False))
    xs = np.asarray(x[idx], dtype=np.float32)
    t_ours = trustworthiness(xs, ours[idx], n_neighbors=15, metric="cosine")
    line = f"| {n}×{x.shape[1]} | clip-plot {ours_s:.1f} s, trust {t_ours:.4f}"
    if theirs is not None:
        t_theirs = trustworthiness(xs, theirs[idx], n_neighbors=15, metric="cosine")
        line += f" | umap-learn {theirs_s:.1f} s, trust {t_theirs:.4f} | {theirs_s / ours_s:.1f}× |"
    print(line)


if __name__ == "__main__":
    sys.exit(main())
