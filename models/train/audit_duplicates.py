#!/usr/bin/python3
"""Re-derive the duplicate and near-duplicate findings that splits.py hard-codes, from the pixels.

    /usr/bin/python3 models/train/audit_duplicates.py --data ../shared/data

Needs numpy and PIL (Debian: python3-numpy python3-pil). Takes about a minute on one core; not run by the tests.
Checks, and exits 1 when a finding differs from splits.py's constants:
  IDRiD (all 516 grading + 81 segmentation quarter-size images):
    - groups of images with identical decoded pixels;
    - every pair closer than NEAR_IDRID in mean absolute difference of 64x43 greyscale copies: these must be the
      pairs of seg_grading_overlap.csv, the duplicate list (and pairs they imply), and IDRID_SAME_SITTING;
      prints the closest pairs above that threshold to show the gap.
  ODIR-5K (6392 images): groups of identical decoded pixels, and each image's nearest neighbour by RMSE of 32x32
    greyscale copies; pairs of different patients closer than NEAR_ODIR must be ODIR_DUPLICATE_PATIENTS.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.dont_write_bytecode = True  # keep models/train/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
import splits  # noqa: E402  (the constants under audit)

NEAR_IDRID = 2.5  # grey levels, 64x43 greyscale, mean absolute difference
NEAR_ODIR = 3.0  # grey levels, 32x32 greyscale, RMSE


def load_grey(path: Path, size: tuple[int, int]) -> tuple[str, np.ndarray]:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        digest = hashlib.sha256(np.asarray(rgb).tobytes()).hexdigest()
        small = np.asarray(rgb.convert("L").resize(size, Image.BILINEAR), dtype=np.float32).ravel()
    return digest, small


def audit_idrid(data: Path) -> list[str]:
    problems: list[str] = []
    keys, vecs, by_hash = [], [], defaultdict(list)
    for kind, pattern in (("grading", "idrid/grading/images_quarter/*/*.jpg"),
                          ("segmentation", "idrid/segmentation/quarter/images/*/*.jpg")):
        for p in sorted(data.glob(pattern)):
            key = splits.short(kind, f"{p.parent.name}/{p.stem}")
            digest, v = load_grey(p, (64, 43))
            keys.append(key)
            vecs.append(v)
            by_hash[digest].append(key)
    print(f"IDRiD: {len(keys)} images")
    pixel_groups = sorted(sorted(v) for v in by_hash.values() if len(v) > 1)
    print("  identical decoded pixels:", ", ".join("=".join(g) for g in pixel_groups))

    # expected matches: transitive closure of overlap + duplicates + same-sitting
    uf = splits.UnionFind()
    for k in keys:
        uf.add(k)
    with open(data / "idrid" / "seg_grading_overlap.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            uf.union(splits.short("segmentation", r["segmentation_image"]), splits.short("grading", r["grading_image"]))
    for a, b in splits.IDRID_GRADING_DUPLICATES:
        uf.union(splits.short("grading", a), splits.short("grading", b))
    for ka, a, kb, b in splits.IDRID_SAME_SITTING:
        uf.union(splits.short(ka, a), splits.short(kb, b))

    m = np.stack(vecs)
    near, above = [], []
    for i in range(len(keys)):
        d = np.abs(m[i + 1:] - m[i]).mean(axis=1)
        for j in np.nonzero(d < NEAR_IDRID)[0]:
            near.append((float(d[j]), keys[i], keys[i + 1 + j]))
        for j in np.argsort(d)[:3]:
            if d[j] >= NEAR_IDRID:
                above.append((float(d[j]), keys[i], keys[i + 1 + j]))
    near.sort()
    found = {tuple(sorted((a, b))) for _, a, b in near}
    expected = {tuple(sorted((a, b))) for a in keys for b in keys if a < b and uf.find(a) == uf.find(b)}
    print(f"  pairs closer than {NEAR_IDRID}: {len(near)} (max {max(d for d, _, _ in near):.2f}); "
          f"expected from the lists: {len(expected)}")
    for d, a, b in near:
        if d > 1.0:
            print(f"    {d:.2f} {a} {b}")
    print("  closest pairs above the threshold:", ", ".join(f"{d:.2f} {a}~{b}" for d, a, b in sorted(above)[:3]))
    if found != expected:
        problems.append(f"IDRiD near pairs not expected: {sorted(found - expected)}; "
                        f"expected but not near: {sorted(expected - found)}")
    listed = sorted(sorted((splits.short("grading", a), splits.short("grading", b)))
                    for a, b in splits.IDRID_GRADING_DUPLICATES)
    for g in pixel_groups:
        if g not in listed and not (len(g) == 2 and uf.find(g[0]) == uf.find(g[1])):
            problems.append(f"IDRiD pixel-identical group outside the lists: {g}")
    return problems


def audit_odir(data: Path) -> list[str]:
    problems: list[str] = []
    paths = sorted((data / "odir5k" / "images_256").glob("*.jpg"))
    names, vecs, by_hash = [], [], defaultdict(list)
    for p in paths:
        digest, v = load_grey(p, (32, 32))
        names.append(p.stem)
        vecs.append(v)
        by_hash[digest].append(p.stem)
    groups = [v for v in by_hash.values() if len(v) > 1]
    print(f"ODIR-5K: {len(names)} images; identical decoded pixels: {groups or 'none'}")
    if groups:
        problems.append(f"ODIR pixel-identical images: {groups}")
    x = np.stack(vecs).astype(np.float64)
    sq = (x * x).sum(axis=1)
    patient = [n.split("_")[0] for n in names]
    eyes_of: dict[str, list[int]] = defaultdict(list)
    for i, pid in enumerate(patient):
        eyes_of[pid].append(i)
    pairs: dict[tuple[str, str], float] = {}
    nearest_other: list[float] = []
    for s in range(0, len(names), 500):
        d2 = sq[s:s + 500, None] + sq[None, :] - 2.0 * x[s:s + 500] @ x.T
        d = np.sqrt(np.maximum(d2, 0.0) / x.shape[1])
        for i in range(d.shape[0]):
            gi = s + i
            d[i, eyes_of[patient[gi]]] = np.inf
            j = int(d[i].argmin())
            if d[i, j] < NEAR_ODIR:
                pair = tuple(sorted((patient[gi], patient[j]), key=int))
                pairs[pair] = max(float(d[i, j]), pairs.get(pair, 0.0))
            else:
                nearest_other.append(float(d[i, j]))
    print(f"  patient pairs with an image closer than {NEAR_ODIR}: "
          + ", ".join(f"{a}+{b} (up to {v:.2f})" for (a, b), v in sorted(pairs.items())))
    print(f"  smallest nearest-neighbour distance between other patients: {min(nearest_other):.2f}")
    expected = {tuple(sorted(g, key=int)) for g in splits.ODIR_DUPLICATE_PATIENTS}
    if set(pairs) != expected:
        problems.append(f"ODIR near-duplicate patients {sorted(pairs)} differ from splits.py {sorted(expected)}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    data = Path(ap.parse_args().data)
    problems = audit_idrid(data) + audit_odir(data)
    for p in problems:
        print("MISMATCH:", p)
    print("audit: findings match splits.py" if not problems else "audit: findings differ from splits.py")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
