#!/usr/bin/python3
"""Fixed, leak-free train/val/test splits for OphGate's fundus models.

Writes idrid_grading.csv, idrid_segmentation.csv, odir.csv, drishti.csv and SPLITS.md into --out.
Standard library only. Deterministic: every "random" choice orders items by SHA-256 of (seed, namespace, item),
so the output does not depend on the Python version, the platform or the order of directory listings.

Run from the repository root:
    /usr/bin/python3 models/train/splits.py --data ../shared/data --out models/train/splits

The policies (what counts as one photograph, what is excluded and why) are written into SPLITS.md by this
script, next to the counts it computes, so the summary can never drift from the files.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

SEED = 3
VAL_FRACTION = 0.15  # IDRiD (grading and segmentation) and Drishti-GS1: share of the training pool kept for validation
ODIR_FRACTIONS = (("train", 0.8), ("val", 0.1), ("test", 0.1))
COMMAND = "/usr/bin/python3 models/train/splits.py --data ../shared/data --out models/train/splits"

# IDRiD grading images that are byte-identical files (listed in ../shared/data/idrid/SOURCE.txt and README.md;
# this script re-checks each pair with SHA-256, and checks that any other identical files are pairs of the overlap list).
IDRID_GRADING_DUPLICATES = (
    ("train/IDRiD_118", "test/IDRiD_064"),
    ("train/IDRiD_021", "train/IDRiD_391"),
    ("train/IDRiD_028", "train/IDRiD_327"),
    ("train/IDRiD_045", "train/IDRiD_333"),
    ("train/IDRiD_073", "train/IDRiD_375"),
    ("train/IDRiD_079", "train/IDRiD_279"),
)

# Found by models/train/audit_duplicates.py, not listed in the data's README: a grading image and a segmentation
# image that are not the same file but show the same eye in the same sitting (mean absolute difference 1.8 grey
# levels at 64 px, against 0.0-0.44 for the listed overlaps and at least 3.0 for any two other photographs).
# Grouped as one identity so that they can never land on opposite sides of a split.
IDRID_SAME_SITTING = (("grading", "train/IDRiD_271", "segmentation", "train/IDRiD_39"),)

# ODIR-5K patient IDs whose photographs are near-identical copies of another ID's (both eyes in each case; found by
# models/train/audit_duplicates.py: RMSE at most 2.7 grey levels at 32 px against at least 3.4 for every other
# nearest pair, confirmed by eye). Each group is split as one patient.
ODIR_DUPLICATE_PATIENTS = (("352", "973"), ("2487", "3185"), ("398", "668"))

LESIONS = ("MA", "HE", "EX", "SE", "OD")
ODIR_LABELS = ("N", "D", "G", "C", "A", "H", "M", "O")
ODIR_LABEL_NAMES = {
    "N": "normal", "D": "diabetic retinopathy", "G": "glaucoma", "C": "cataract",
    "A": "age-related macular degeneration", "H": "hypertensive retinopathy", "M": "pathological myopia",
    "O": "other",
}


class DataError(Exception):
    pass


def order_key(namespace: str, item: str) -> str:
    return hashlib.sha256(f"{SEED}|{namespace}|{item}".encode()).hexdigest()


def round_half_up(x: float) -> int:
    return int(x + 0.5)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"missing {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def require(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"missing {path}")


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, x: str) -> None:
        self.parent.setdefault(x, x)

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return {k: sorted(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------------------------
# IDRiD
# ---------------------------------------------------------------------------------------------------------------

def short(kind: str, rel: str) -> str:
    """('grading', 'train/IDRiD_073') -> 'G-train-073'; ('segmentation', 'test/IDRiD_62') -> 'S-test-62'."""
    split, name = rel.split("/")
    return f"{'G' if kind == 'grading' else 'S'}-{split}-{name.removeprefix('IDRiD_')}"


def describe(member: str) -> str:
    kind, split, num = member.split("-")
    return f"{'grading' if kind == 'G' else 'segmentation'} {split} IDRiD_{num}"


def build_idrid(data: Path) -> tuple[list[dict[str, str]], list[dict[str, str]], dict]:
    root = data / "idrid"
    # --- grading images and labels
    grading: dict[str, dict[str, str]] = {}
    for split in ("train", "test"):
        for r in read_csv(root / "grading" / "labels" / f"{split}_labels.csv"):
            rel = f"{split}/{r['image']}"
            path = Path("idrid/grading/images_quarter") / f"{rel}.jpg"
            require(data / path)
            grading[short("grading", rel)] = {
                "image": path.as_posix(), "dr_grade": r["dr_grade"].strip(), "dme_risk": r["dme_risk"].strip(),
                "official_split": split, "name": r["image"],
            }
    n_official = Counter(g["official_split"] for g in grading.values())
    if n_official != Counter(train=413, test=103):
        raise DataError(f"IDRiD grading: expected 413 train / 103 test images, found {dict(n_official)}")

    # --- segmentation images and masks
    seg: dict[str, dict[str, str]] = {}
    for split in ("train", "test"):
        img_dir = root / "segmentation" / "quarter" / "images" / split
        for f in sorted(os.listdir(img_dir)):
            if not f.endswith(".jpg"):
                continue
            name = f[:-4]
            rel = f"{split}/{name}"
            entry = {"image": f"idrid/segmentation/quarter/images/{rel}.jpg", "official_split": split, "name": name}
            require(data / "idrid/segmentation/full/images" / f"{rel}.jpg")
            for lesion in LESIONS:
                mask = f"idrid/segmentation/quarter/masks/{split}/{lesion}/{name}_{lesion}.png"
                full = data / "idrid/segmentation/full/masks" / split / lesion / f"{name}_{lesion}.png"
                if (data / mask).is_file() != full.is_file():
                    raise DataError(f"IDRiD segmentation: quarter and full masks disagree for {name} {lesion}")
                entry[f"mask_{lesion}"] = mask if (data / mask).is_file() else ""
            seg[short("segmentation", rel)] = entry
    n_seg = Counter(s["official_split"] for s in seg.values())
    if n_seg != Counter(train=54, test=27):
        raise DataError(f"IDRiD segmentation: expected 54 train / 27 test images, found {dict(n_seg)}")

    # --- identities: union of shared photographs (overlap CSV), duplicates and the same-sitting pair
    uf = UnionFind()
    for k in list(grading) + list(seg):
        uf.add(k)
    overlap = read_csv(root / "seg_grading_overlap.csv")
    if len(overlap) != 60:
        raise DataError(f"seg_grading_overlap.csv: expected 60 pairs, found {len(overlap)}")
    seen_s: set[str] = set()
    seen_g: set[str] = set()
    overlap_of: dict[str, str] = {}
    for r in overlap:
        s, g = short("segmentation", r["segmentation_image"]), short("grading", r["grading_image"])
        if s not in seg or g not in grading:
            raise DataError(f"seg_grading_overlap.csv names an unknown image: {r}")
        if s in seen_s or g in seen_g:
            raise DataError(f"seg_grading_overlap.csv is not one-to-one at {r}")
        seen_s.add(s)
        seen_g.add(g)
        overlap_of[s], overlap_of[g] = g, s
        uf.union(s, g)
    # --- verify the duplicate list: each listed pair byte-identical, and every other pair of identical files among
    # all 597 images a pair of the overlap list (the same photograph exported once for each set)
    hashes: dict[str, list[str]] = defaultdict(list)
    for key, g in grading.items():
        hashes[sha256_file(data / g["image"])].append(key)
    for key, s in seg.items():
        hashes[sha256_file(data / s["image"])].append(key)
    identical = sorted(tuple(sorted(v)) for v in hashes.values() if len(v) > 1)
    listed = sorted(tuple(sorted((short("grading", a), short("grading", b)))) for a, b in IDRID_GRADING_DUPLICATES)
    missing = [p for p in listed if p not in identical]
    if missing:
        raise DataError(f"IDRiD: listed duplicates that are not identical files: {missing}")
    identical_overlap = [p for p in identical if p not in listed]
    unexplained = [p for p in identical_overlap if len(p) != 2 or overlap_of.get(p[0]) != p[1]]
    if unexplained:
        raise DataError(f"IDRiD: identical files neither in the duplicate list nor in the overlap list: {unexplained}")

    for a, b in IDRID_GRADING_DUPLICATES:
        uf.union(short("grading", a), short("grading", b))
    for ka, a, kb, b in IDRID_SAME_SITTING:
        uf.union(short(ka, a), short(kb, b))
    members_of = uf.groups()
    identity_of = {m: "+".join(ms) for ms in members_of.values() for m in ms}

    # --- conflicting / consistent duplicates (grading labels)
    excluded: dict[str, str] = {}
    dup_notes: dict[str, str] = {}
    conflicts, consistent = [], []
    for a, b in IDRID_GRADING_DUPLICATES:
        ka, kb = short("grading", a), short("grading", b)
        la = (grading[ka]["dr_grade"], grading[ka]["dme_risk"])
        lb = (grading[kb]["dr_grade"], grading[kb]["dme_risk"])
        if la != lb:
            conflicts.append((ka, la, kb, lb))
            for k, other, lo, lk in ((ka, kb, lb, la), (kb, ka, la, lb)):
                excluded[k] = (f"excluded: pixel-identical to {describe(other)} whose labels differ "
                               f"(DR/DME {lk[0]}/{lk[1]} here vs {lo[0]}/{lo[1]} there)")
        else:
            consistent.append((ka, kb, la))
            keep, drop = sorted((ka, kb), key=lambda k: int(k.rsplit("-", 1)[1]))
            if grading[keep]["official_split"] != grading[drop]["official_split"]:
                raise DataError("a consistent duplicate spans official train and test: policy undefined")
            excluded[drop] = f"excluded: pixel-identical copy of {describe(keep)} with the same labels (that copy is used)"
            dup_notes[keep] = f"pixel-identical copy {describe(drop)} is excluded"

    # --- identity split: any official test member makes the whole photograph test
    ident_split: dict[str, str] = {}
    for ms in members_of.values():
        iden = "+".join(ms)
        official = {(grading.get(m) or seg[m])["official_split"] for m in ms}
        ident_split[iden] = "test" if "test" in official else "pool"

    # --- validation, stage 1: segmentation pool, stratified by soft-exudate presence
    seg_pool = sorted({identity_of[k] for k in seg if ident_split[identity_of[k]] == "pool"})
    strata: dict[str, list[str]] = defaultdict(list)
    for iden in seg_pool:
        (s,) = [m for m in iden.split("+") if m.startswith("S-")]
        strata["SE" if seg[s]["mask_SE"] else "noSE"].append(iden)
    for name, idens in sorted(strata.items()):
        idens.sort(key=lambda i: order_key("idrid-seg-val", i))
        for iden in idens[: round_half_up(VAL_FRACTION * len(idens))]:
            ident_split[iden] = "val"

    # --- validation, stage 2: grading pool, stratified by DR grade; photographs already made val by stage 1 count
    usable_pool = [k for k in grading if k not in excluded and ident_split[identity_of[k]] != "test"]
    by_grade: dict[str, list[str]] = defaultdict(list)
    for k in usable_pool:
        by_grade[grading[k]["dr_grade"]].append(k)
    for grade, keys in sorted(by_grade.items()):
        want = round_half_up(VAL_FRACTION * len(keys))
        have = sum(ident_split[identity_of[k]] == "val" for k in keys)
        free = [k for k in keys if not any(m.startswith("S-") for m in identity_of[k].split("+"))
                and ident_split[identity_of[k]] == "pool"]
        free.sort(key=lambda k: order_key("idrid-grading-val", identity_of[k]))
        for k in free[: max(0, want - have)]:
            ident_split[identity_of[k]] = "val"
    for iden, sp in ident_split.items():
        if sp == "pool":
            ident_split[iden] = "train"

    # --- rows
    def notes_for(key: str, entry: dict[str, str]) -> list[str]:
        notes = []
        iden = identity_of[key]
        final = ident_split[iden]
        if key in excluded:
            notes.append(excluded[key])
        if key in dup_notes:
            notes.append(dup_notes[key])
        if key in overlap_of:
            notes.append(f"same photograph as {describe(overlap_of[key])}")
        for ka, a, kb, b in IDRID_SAME_SITTING:
            pair = (short(ka, a), short(kb, b))
            if key in pair:
                other = pair[1] if key == pair[0] else pair[0]
                notes.append(f"same eye and sitting as {describe(other)} (near-duplicate found by audit)")
        if key not in excluded and final == "test" and entry["official_split"] == "train":
            notes.append("moved from official train to test: its photograph is an official test image")
        return notes

    grading_rows = []
    for key in sorted(grading, key=lambda k: grading[k]["image"]):
        g = grading[key]
        split = "excluded" if key in excluded else ident_split[identity_of[key]]
        grading_rows.append({
            "image": g["image"], "dr_grade": g["dr_grade"], "dme_risk": g["dme_risk"], "split": split,
            "official_split": g["official_split"], "identity": identity_of[key],
            "notes": "; ".join(notes_for(key, g)),
        })
    seg_rows = []
    for key in sorted(seg, key=lambda k: seg[k]["image"]):
        s = seg[key]
        row = {"image": s["image"]}
        row.update({f"mask_{l}": s[f"mask_{l}"] for l in LESIONS})
        row.update({"split": ident_split[identity_of[key]], "official_split": s["official_split"],
                    "identity": identity_of[key], "notes": "; ".join(notes_for(key, s))})
        seg_rows.append(row)

    info = {"conflicts": conflicts, "consistent": consistent, "identities": len(members_of),
            "identical_overlap": identical_overlap}
    return grading_rows, seg_rows, info


# ---------------------------------------------------------------------------------------------------------------
# ODIR-5K
# ---------------------------------------------------------------------------------------------------------------

def build_odir(data: Path) -> list[dict[str, str]]:
    rows = read_csv(data / "odir5k" / "labels_per_eye.csv")
    if len(rows) != 6392:
        raise DataError(f"ODIR: expected 6392 eyes, found {len(rows)}")
    uf = UnionFind()
    for r in rows:
        require(data / "odir5k" / "images_256" / r["image"])
        uf.add(r["patient_id"])
    for group in ODIR_DUPLICATE_PATIENTS:
        for p in group:
            if p not in uf.parent:
                raise DataError(f"ODIR: duplicate-patient list names unknown patient {p}")
        for p in group[1:]:
            uf.union(group[0], p)
    group_of = {p: "+".join(sorted(ms, key=int)) for ms in uf.groups().values() for p in ms}
    n_patients = len(uf.parent)
    if n_patients != 3358:
        raise DataError(f"ODIR: expected 3358 patients, found {n_patients}")

    # per-group label counts (eyes)
    counts: dict[str, Counter] = defaultdict(Counter)
    eyes: Counter = Counter()
    for r in rows:
        g = group_of[r["patient_id"]]
        eyes[g] += 1
        for lab in ODIR_LABELS:
            counts[g][lab] += int(r[lab])
    total = Counter()
    for c in counts.values():
        total.update(c)
    n_eyes = len(rows)

    # iterative stratification over patient groups (rarest label first; each group goes where that label is most
    # wanted, then where the most eyes are wanted, then in the order train, val, test)
    names = [s for s, _ in ODIR_FRACTIONS]
    want = {s: {lab: f * total[lab] for lab in ODIR_LABELS} for s, f in ODIR_FRACTIONS}
    want_eyes = {s: f * n_eyes for s, f in ODIR_FRACTIONS}
    assigned: dict[str, str] = {}
    unassigned = sorted(set(group_of.values()), key=lambda g: order_key("odir", g))

    def place(g: str, lab: str | None) -> None:
        best = max(names, key=lambda s: ((want[s][lab] if lab else 0.0), want_eyes[s], -names.index(s)))
        assigned[g] = best
        for l2 in ODIR_LABELS:
            want[best][l2] -= counts[g][l2]
        want_eyes[best] -= eyes[g]

    while unassigned:
        remaining = Counter()
        for g in unassigned:
            remaining.update({lab: n for lab, n in counts[g].items() if n})
        if not remaining:
            for g in unassigned:
                place(g, None)
            break
        lab = min((l for l in ODIR_LABELS if remaining[l]), key=lambda l: (remaining[l], ODIR_LABELS.index(l)))
        for g in [g for g in unassigned if counts[g][lab]]:
            place(g, lab)
        unassigned = [g for g in unassigned if g not in assigned]

    out = []
    for r in sorted(rows, key=lambda r: (int(r["patient_id"]), r["eye"])):
        g = group_of[r["patient_id"]]
        note = ""
        if "+" in g:
            others = [p for p in g.split("+") if p != r["patient_id"]]
            note = f"photographs near-identical to patient {' and '.join(others)}: split together"
        row = {"image": f"odir5k/images_256/{r['image']}", "patient_id": r["patient_id"], "eye": r["eye"]}
        row.update({lab: r[lab] for lab in ODIR_LABELS})
        row.update({"dr_grade_from_keywords": r["dr_grade_from_keywords"], "quality_flag": r["quality_flag"],
                    "split": assigned[g], "patient_group": g, "notes": note})
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Drishti-GS1
# ---------------------------------------------------------------------------------------------------------------

def build_drishti(data: Path) -> list[dict[str, str]]:
    rows = read_csv(data / "drishti_gs1" / "labels.csv")
    n = Counter(r["split"] for r in rows)
    if n != Counter(train=50, test=51):
        raise DataError(f"Drishti-GS1: expected 50 train / 51 test images, found {dict(n)}")
    split = {r["image"]: r["split"] for r in rows}
    for diag in sorted({r["diagnosis_N_or_G"] for r in rows}):
        pool = sorted((r["image"] for r in rows if r["split"] == "train" and r["diagnosis_N_or_G"] == diag),
                      key=lambda i: order_key("drishti-val", i))
        for img in pool[: round_half_up(VAL_FRACTION * len(pool))]:
            split[img] = "val"
    out = []
    for r in sorted(rows, key=lambda r: r["image"]):
        sp, name = r["split"], r["image"]
        row = {
            "image": f"drishti_gs1/images_half/{sp}/{name}.jpg",
            "disc_softmap": f"drishti_gs1/softmaps_half/{sp}/{name}_ODsegSoftmap.png",
            "cup_softmap": f"drishti_gs1/softmaps_half/{sp}/{name}_cupsegSoftmap.png",
        }
        for p in row.values():
            require(data / p)
        for kind in ("OD", "cup"):
            require(data / f"drishti_gs1/softmaps_full/{sp}/{name}_{kind}segSoftmap.png")
        row.update({"diagnosis": r["diagnosis_N_or_G"], "split": split[name], "official_split": sp})
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------------------------
# SPLITS.md
# ---------------------------------------------------------------------------------------------------------------

def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


SPLIT_ORDER = ("train", "val", "test", "excluded")


def summary(grading: list[dict], seg: list[dict], odir: list[dict], drishti: list[dict], info: dict) -> str:
    # IDRiD grading
    g_rows = []
    for sp in SPLIT_ORDER:
        rs = [r for r in grading if r["split"] == sp]
        dr = Counter(r["dr_grade"] for r in rs)
        dme = Counter(r["dme_risk"] for r in rs)
        off = Counter(r["official_split"] for r in rs)
        g_rows.append([sp, len(rs)] + [dr[str(i)] for i in range(5)] + [dme[str(i)] for i in range(3)]
                      + [sum(int(r["dr_grade"]) >= 2 for r in rs), off["train"], off["test"]])
    g_rows.append(["all", len(grading)] + [""] * 11)
    grading_table = table(["split", "images", "DR 0", "DR 1", "DR 2", "DR 3", "DR 4", "DME 0", "DME 1", "DME 2",
                           "referable (DR>=2)", "from official train", "from official test"], g_rows)
    # IDRiD segmentation
    s_rows = []
    for sp in SPLIT_ORDER[:3]:
        rs = [r for r in seg if r["split"] == sp]
        off = Counter(r["official_split"] for r in rs)
        s_rows.append([sp, len(rs)] + [sum(bool(r[f"mask_{l}"]) for r in rs) for l in LESIONS]
                      + [off["train"], off["test"]])
    s_rows.append(["all", len(seg)] + [""] * 7)
    seg_table = table(["split", "images"] + [f"with {l}" for l in LESIONS] + ["from official train",
                                                                             "from official test"], s_rows)
    # ODIR
    o_rows = []
    for sp in SPLIT_ORDER[:3]:
        rs = [r for r in odir if r["split"] == sp]
        o_rows.append([sp, len({r["patient_id"] for r in rs}), len(rs)]
                      + [sum(int(r[l]) for r in rs) for l in ODIR_LABELS]
                      + [sum(r["quality_flag"] == "1" for r in rs)])
    o_rows.append(["all", len({r["patient_id"] for r in odir}), len(odir)]
                  + [sum(int(r[l]) for r in odir) for l in ODIR_LABELS] + [sum(r["quality_flag"] == "1" for r in odir)])
    odir_table = table(["split", "patients", "eyes"] + list(ODIR_LABELS) + ["quality_flag=1"], o_rows)
    share_rows = []
    for l in ODIR_LABELS:
        tot = sum(int(r[l]) for r in odir)
        share_rows.append([f"{l} ({ODIR_LABEL_NAMES[l]})", tot] + [
            f"{100 * sum(int(r[l]) for r in odir if r['split'] == sp) / tot:.1f}%" for sp in SPLIT_ORDER[:3]])
    share_table = table(["label", "eyes", "train", "val", "test"], share_rows)
    # Drishti
    d_rows = []
    for sp in SPLIT_ORDER[:3]:
        rs = [r for r in drishti if r["split"] == sp]
        dg = Counter(r["diagnosis"] for r in rs)
        d_rows.append([sp, len(rs), dg["N"], dg["G"]])
    d_rows.append(["all", len(drishti), sum(r["diagnosis"] == "N" for r in drishti),
                   sum(r["diagnosis"] == "G" for r in drishti)])
    drishti_table = table(["split", "images", "N (normal)", "G (glaucoma)"], d_rows)

    excluded = [r for r in grading if r["split"] == "excluded"]
    excluded_list = "\n".join(f"- `{r['image']}` (DR {r['dr_grade']}, DME {r['dme_risk']}): {r['notes']}"
                              for r in excluded)
    moved = [r for r in grading + seg if r["split"] == "test" and r["official_split"] == "train"]
    moved_list = "\n".join(f"- `{r['image']}`: {r['notes']}" for r in moved)
    n_grading_train_to_test = sum(1 for r in moved if "/grading/" in r["image"])
    excl_test_ids = [r["image"].rsplit("/", 1)[1][:-4] for r in grading if r["split"] == "excluded"
                     and r["official_split"] == "train" and "S-test" in r["identity"]]
    n_seg_train_to_test = sum(1 for r in moved if "/segmentation/" in r["image"])
    n_val_g = sum(r["split"] == "val" for r in grading)
    n_val_s = sum(r["split"] == "val" for r in seg)
    dup_ids = sorted({r["patient_group"] for r in odir if "+" in r["patient_group"]})

    return f"""# Fixed data splits for the fundus models

Generated by `models/train/splits.py`; do not edit by hand. Regenerate (byte for byte) from the repository root with

```
{COMMAND}
```

The script uses only the Python standard library. Its choices are deterministic: wherever something is picked
"at random" the candidates are ordered by SHA-256 of `{SEED}|<namespace>|<item>` (seed {SEED}), which does not depend on
the Python version, the platform or directory order. Paths in the CSVs are relative to `../shared/data` (the data
folder beside the repository); no image is stored in the repository. `test/models-splits.test.ts` checks the
invariants below and, when the data are present, that this command reproduces every file here.

Split values: `train`, `val` (for model selection and thresholds), `test` (held out: report metrics here only),
`excluded` (not used for training, validation or scoring; the `notes` column says why).

## IDRiD: one identity per physical photograph

IDRiD's segmentation set (81 images) and grading set (516 images) share photographs, and the grading set holds
byte-identical duplicates. An **identity** is one physical photograph (or one eye at one sitting), built as the
connected components of:

1. the 60 segmentation-image <-> grading-image pairs of `idrid/seg_grading_overlap.csv` (checked one-to-one);
2. the 6 duplicate grading pairs of the data README: train 118 = test 064; train 021 = 391, 028 = 327,
   045 = 333, 073 = 375, 079 = 279. **Verified**: the script hashes all 597 quarter-size IDRiD images (SHA-256 of
   the file bytes) and stops unless each of these 6 pairs is one file twice and every other group of identical
   files is a pair of the overlap list. Identical files found: the 6 pairs and {len(info['identical_overlap'])} overlap pairs
   ({", ".join(" = ".join(describe(m) for m in p) for p in info['identical_overlap'])}); nothing else.
   `models/train/audit_duplicates.py` hashed the decoded pixels as well and found the same groups;
3. one pair the README does not list, found by the audit's 64 px greyscale comparison of every image with every
   other: grading train IDRiD_271 and segmentation train IDRiD_39 are not the same file but show the same eye in the
   same sitting (mean absolute difference 1.8 grey levels, where the 68 known pairs lie at 0.0-0.44 and every other
   pair at 3.0 or more). The audit found every pair of the overlap list and no other match. Grouping it is the
   conservative choice; both images are official training images.

{info['identities']} identities result. The `identity` column names every member of the photograph's identity, e.g.
`G-train-073+G-train-375+S-test-62` = grading train IDRiD_073, grading train IDRiD_375 and segmentation test
IDRiD_62. An identity has exactly one split across both CSVs (rows marked `excluded` aside).

### Which split

- **Test wins**: an identity with any member in an official test set (grading test or segmentation test) is test
  for both models. The official test sets therefore stay test (all {sum(r['official_split'] == 'test' for r in seg)} segmentation
  and {sum(r['official_split'] == 'test' for r in grading)} grading images, less the excluded ones below), and no test
  photograph of either model is in the training or validation data of either model. This moves
  {n_grading_train_to_test} official grading-train images (photographs of segmentation-test images; the copies
  {", ".join(excl_test_ids)} of such photographs are excluded instead, see below) and {n_seg_train_to_test} official segmentation-train images (photographs of
  grading-test images) to test:

{moved_list}

  They are held-out, labelled photographs, so they stay in the test split (larger test sets, narrower confidence
  intervals) rather than being thrown away. The `official_split` column keeps the official assignment: for a
  figure comparable with published IDRiD results, also report the test rows with `official_split` = test.
- **Validation**, {int(VAL_FRACTION * 100)}% of the remaining training pool, chosen per identity in two stages so
  that a photograph shared by both sets is val for both models:
  1. segmentation: of the segmentation identities in the pool, {int(VAL_FRACTION * 100)}% of those with a soft-exudate
     mask and {int(VAL_FRACTION * 100)}% of those without (rounded half up), so that SE, the rarest lesion, is in
     both train and val; {n_val_s} images. Their grading photographs become val too;
  2. grading: per DR grade, {int(VAL_FRACTION * 100)}% of the usable pool images of that grade (rounded half up), the
     images already made val in stage 1 counting towards it and the rest drawn from grading-only identities;
     {n_val_g} grading images are val in all.
- Everything else in the pool is train.

### Duplicates with conflicting labels: excluded everywhere

Of the 6 duplicate pairs, {len(info['conflicts'])} carry different labels for the same pixels:
{", ".join(f"{describe(a)} (DR/DME {la[0]}/{la[1]}) vs {describe(b)} ({lb[0]}/{lb[1]})" for a, la, b, lb in info['conflicts'])}.
**Policy: both copies of a conflicting pair are excluded from training, validation and scoring** (split
`excluded`), including the test copy IDRiD_064. The same pixels cannot be both grades, so at least one label is
wrong and nothing tells which: training on either teaches label noise, and scoring against it can penalise a
correct prediction (train 118 says grade 0, test 064 says grade 3: referable or not). Keeping the test copy only
would keep a label that its own duplicate contradicts. The cost is small: {len(info['conflicts']) * 2} of 516 grading
images, one of them from the official test set. The photographs themselves stay in their identity, so the
segmentation image of the same photograph (segmentation test IDRiD_69 = grading train 028 = 327) keeps its masks,
which the conflict does not touch.

Duplicates with the **same** labels ({", ".join(f"{describe(a)} = {describe(b)}" for a, b, _ in info['consistent'])}):
the lower-numbered copy is used, the other is `excluded` so that the photograph is neither trained on twice
nor scored twice.

Excluded grading rows:

{excluded_list}

No segmentation image is excluded.

### Counts

`idrid_grading.csv` (columns: image, dr_grade, dme_risk, split, official_split, identity, notes):

{grading_table}

`idrid_segmentation.csv` (columns: image, mask_MA, mask_HE, mask_EX, mask_SE, mask_OD, split, official_split,
identity, notes). Paths are the quarter-size (1072x712) files; the full-size (4288x2848) image and masks have the
same names under `segmentation/full/` instead of `segmentation/quarter/`. An empty mask column means the lesion
is absent (no mask file, as in the official release):

{seg_table}

## ODIR-5K: by patient

`odir.csv` (columns: image, patient_id, eye, N, D, G, C, A, H, M, O, dr_grade_from_keywords, quality_flag, split,
patient_group, notes). The labels are the per-eye labels of `odir5k/labels_per_eye.csv`, derived there from each
eye's diagnostic keywords (the official labels are per patient). Both eyes of a patient always share a split.

The audit found {len(dup_ids)} pairs of patient IDs whose photographs are near-identical copies of each other, both eyes
each time ({", ".join(dup_ids)}; RMSE at most 2.7 grey levels at 32 px against at least 3.4 for every other
nearest pair; confirmed by eye). 352/973 and 2487/3185 share age, sex and keywords; 398/668 share keywords but
not age or sex. Each pair is split as one patient (`patient_group`), so no photograph is on both sides; none is
excluded (the labels agree). No two ODIR files are byte- or pixel-identical.

Split 80/10/10 over patient groups by iterative stratification on the per-eye label counts: the rarest label
still unplaced is taken first, and each patient group holding it goes to the split that still wants most of that
label, then most eyes, then in the order train, val, test; groups are visited in seeded-hash order. The
`quality_flag` column (lens dust, low quality, no fundus image, ...) is kept for the training session to use;
it does not affect the split.

{odir_table}

Share of each label's eyes per split:

{share_table}

## Drishti-GS1: official train/test kept

`drishti.csv` (columns: image, disc_softmap, cup_softmap, diagnosis, split, official_split). The official 50 train /
51 test images are kept; validation is {int(VAL_FRACTION * 100)}% of the training images of each diagnosis (rounded
half up), seeded. Paths are the half-size images and soft maps; full-size soft maps have the same names under
`softmaps_full/` (full-size images are not in the data folder). Drishti-GS1 comes from another hospital (Aravind,
Madurai) and shows disc-centred fields; it was not compared pixel by pixel with IDRiD or ODIR.

{drishti_table}

## Left for the training session

- Licences: IDRiD CC BY 4.0 (attribute Porwal et al., Data 3(3):25, 2018); ODIR-5K and Drishti-GS1 research use
  only: weights trained on them ship only with a model card saying so, never their images.
- IDRiD has no patient IDs: left and right eyes of one person may sit in different splits. Nothing in the data
  allows grouping them; say so in the model card.
- ODIR's per-eye labels come from keywords; `quality_flag` = 1 eyes may be dropped from training or reported
  separately.
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the shared data folder (../shared/data from the repo root)")
    ap.add_argument("--out", required=True, help="output folder (models/train/splits)")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    if not data.is_dir():
        print(f"splits.py: data folder {data} not found", file=sys.stderr)
        return 2
    try:
        grading, seg, info = build_idrid(data)
        odir = build_odir(data)
        drishti = build_drishti(data)
    except DataError as e:
        print(f"splits.py: {e}", file=sys.stderr)
        return 1
    files = {
        "idrid_grading.csv": csv_text(list(grading[0]), [list(r.values()) for r in grading]),
        "idrid_segmentation.csv": csv_text(list(seg[0]), [list(r.values()) for r in seg]),
        "odir.csv": csv_text(list(odir[0]), [list(r.values()) for r in odir]),
        "drishti.csv": csv_text(list(drishti[0]), [list(r.values()) for r in drishti]),
        "SPLITS.md": summary(grading, seg, odir, drishti, info),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_bytes(text.encode("utf-8"))
    for name in files:
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
