"""Data for the fundus models: records from the fixed split CSVs, targets, the fundus border crop, and the
pre-decoded image caches the training loops read.

Everything here is shared by training, evaluation and export, so the preprocessing the models are trained with is
written down once (PREPROCESSING below) and copied verbatim into each model's manifest for the gateway.

Targets
-------
Classifier (one row per image; every target has a 0/1 "known" mask, and the losses and metrics ignore unknown
entries):
  multilabel N D G C A H M O
    ODIR: the per-eye labels of odir.csv, all eight known.
    IDRiD grading: only what the grades imply. D = 1 if DR grade >= 1 else 0 (the grade is a DR grading, so DR
      present/absent is known either way). N = 0 when DR grade >= 1 or DME risk >= 1 (the eye has a finding, so it
      is not normal); when both are 0, N is unknown, because IDRiD was graded for DR and DME only and other
      diseases (cataract, glaucoma, ...) were not recorded. G C A H M O are unknown.
  dr_grade 0-4
    IDRiD: the official grade. ODIR: dr_grade_from_keywords when the CSV gives one (0 for "normal fundus" eyes,
      1-4 from the mild/moderate/severe NPDR and PDR keywords); unknown when blank (not DR-graded, or DR of
      unspecified grade).
  dme_risk 0-2
    IDRiD only; unknown for ODIR (no DME keywords).
  quality (ODIR quality_flag: lens dust, low image quality, optic disc invisible, image offset, no fundus image,
    anterior segment image)
    ODIR: the flag. IDRiD: 0 (every IDRiD image was accepted for grading; treated as a known negative).

Segmenter channels MA HE EX SE OD cup (independent sigmoids):
  IDRiD segmentation: MA HE EX SE OD from the quarter-size masks; an empty mask column (no mask file) means the
    lesion is absent, so the channel is known and all zero. cup is unknown (IDRiD has no cup annotation).
  Drishti-GS1: OD and cup from the expert soft maps, binarised at >= 128 (at least 2 of the 4 annotators; the maps
    hold 0/64/128/191/255). MA HE EX SE are unknown (Drishti was not annotated for lesions): the loss ignores them.

Caches
------
Images are decoded once, border-cropped, padded to a square and resized to the model input side, then stored as
uint8 NumPy arrays under models/train/.cache/ (git-ignored), one folder per task and side. Segmentation masks are
resized by area averaging (PIL BOX), so a cached mask pixel holds the fraction of it covered by the lesion: tiny
microaneurysms survive as soft values instead of vanishing, and the loss uses the fractions as soft targets.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_DIR = Path(__file__).resolve().parent
REPO = TRAIN_DIR.parent.parent
SPLITS_DIR = TRAIN_DIR / "splits"
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_CACHE = TRAIN_DIR / ".cache"

ODIR_LABELS = ("N", "D", "G", "C", "A", "H", "M", "O")
ODIR_LABEL_NAMES = {
    "N": "normal", "D": "diabetic retinopathy", "G": "glaucoma", "C": "cataract",
    "A": "age-related macular degeneration", "H": "hypertensive retinopathy", "M": "pathological myopia",
    "O": "other disease or abnormality",
}
LESIONS = ("MA", "HE", "EX", "SE", "OD")
SEG_CHANNELS = ("MA", "HE", "EX", "SE", "OD", "cup")
SEG_CHANNEL_NAMES = {
    "MA": "microaneurysms", "HE": "haemorrhages", "EX": "hard exudates", "SE": "soft exudates",
    "OD": "optic disc", "cup": "optic cup",
}
DRISHTI_THRESHOLD = 128  # soft-map value: 0/64/128/191/255 = 0-4 of 4 experts; >= 128 means at least 2 of 4

# Fundus border crop (the gateway repeats these steps exactly; they go into every manifest).
CROP_THRESHOLD = 25       # a pixel is inside the field of view when max(R, G, B) > 25 (8-bit)
CROP_MIN_FRACTION = 0.02  # a row (column) belongs to the field when > 2% of its pixels are inside
CROP_MIN_SIDE = 0.25      # if the box is narrower or lower than 25% of the image, do not crop (keep the image)
CACHE_VERSION = 1         # bump when anything that changes cached pixels changes


def preprocessing_steps(size: int) -> list[dict]:
    """The image preprocessing, as data for the manifest; the training caches are made by exactly these steps."""
    return [
        {"op": "decode", "output": "RGB, 8 bits per channel; alpha dropped; greyscale expanded to 3 channels"},
        {"op": "fundus_crop",
         "description": "field-of-view bounding box: a pixel is inside when max(R,G,B) > threshold; rows "
                        "(columns) with more than min_fraction of their pixels inside are kept; the box runs from "
                        "the first to the last kept row and column. If the box is smaller than min_side of the "
                        "image in either direction (or empty), the whole image is used.",
         "threshold": CROP_THRESHOLD, "min_fraction": CROP_MIN_FRACTION, "min_side": CROP_MIN_SIDE},
        {"op": "pad_square",
         "description": "pad the box to a square of side max(w, h), centred: left = (side - w) // 2, "
                        "top = (side - h) // 2, filled with black",
         "fill": [0, 0, 0]},
        {"op": "resize", "width": size, "height": size, "kernel": "lanczos3",
         "description": "Lanczos (a = 3) with antialiasing, as PIL's LANCZOS and sharp's default lanczos3"},
        {"op": "to_float", "scale": 1 / 255},
        {"op": "normalize", "description": "(x - mean) / std per channel, then NCHW float32"},
    ]


# ---------------------------------------------------------------------------------------------------------------
# The border crop
# ---------------------------------------------------------------------------------------------------------------

def fundus_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """Field-of-view bounding box (x0, y0, x1, y1), end-exclusive, of an HxWx3 uint8 array."""
    h, w = rgb.shape[:2]
    inside = rgb.max(axis=2) > CROP_THRESHOLD
    rows = np.nonzero(inside.sum(axis=1) > CROP_MIN_FRACTION * w)[0]
    cols = np.nonzero(inside.sum(axis=0) > CROP_MIN_FRACTION * h)[0]
    if len(rows) == 0 or len(cols) == 0:
        return 0, 0, w, h
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    if (x1 - x0) < CROP_MIN_SIDE * w or (y1 - y0) < CROP_MIN_SIDE * h:
        return 0, 0, w, h
    return x0, y0, x1, y1


@dataclass
class Geometry:
    """Where the model input sits in the source image: box (x0, y0, x1, y1) and the square around it."""
    source_w: int
    source_h: int
    box: tuple[int, int, int, int]
    side: int   # square side in source pixels
    left: int   # square origin in source coordinates (may be negative: padding)
    top: int

    @staticmethod
    def of(source_w: int, source_h: int, box: tuple[int, int, int, int]) -> "Geometry":
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        side = max(w, h)
        return Geometry(source_w, source_h, tuple(box), side, x0 - (side - w) // 2, y0 - (side - h) // 2)


def square_crop(img: Image.Image, g: Geometry, fill: int | tuple = 0) -> Image.Image:
    """The padded square of the box; outside the box (the padding) is fill, whatever the source holds there."""
    x0, y0, x1, y1 = g.box
    inner = img.crop((x0, y0, x1, y1))
    out = Image.new(img.mode, (g.side, g.side), fill)
    out.paste(inner, (x0 - g.left, y0 - g.top))
    return out


def to_model_input(img: Image.Image, size: int) -> tuple[np.ndarray, Geometry]:
    """Decoded image -> (size x size x 3 uint8 array, geometry). The crop uses the image's own pixels."""
    rgb = img.convert("RGB")
    a = np.asarray(rgb)
    g = Geometry.of(rgb.width, rgb.height, fundus_box(a))
    sq = square_crop(rgb, g, (0, 0, 0)).resize((size, size), Image.LANCZOS)
    return np.asarray(sq, dtype=np.uint8), g


def mask_to_model(mask: Image.Image, g: Geometry, size: int) -> np.ndarray:
    """Binary L mask (0/255) in source coordinates -> size x size uint8 area fractions (0..255)."""
    sq = square_crop(mask.convert("L"), g, 0)
    return np.asarray(sq.resize((size, size), Image.BOX), dtype=np.uint8)


def model_to_source(prob: np.ndarray, g: Geometry) -> np.ndarray:
    """size x size float map -> source_h x source_w float map (bilinear), zero outside the box."""
    side = g.side
    im = Image.fromarray(prob.astype(np.float32), mode="F").resize((side, side), Image.BILINEAR)
    sq = np.asarray(im)
    out = np.zeros((g.source_h, g.source_w), dtype=np.float32)
    x0, y0, x1, y1 = g.box
    out[y0:y1, x0:x1] = sq[y0 - g.top:y1 - g.top, x0 - g.left:x1 - g.left]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class ClsRecord:
    image: str
    source: str   # odir | idrid
    split: str
    group: str    # bootstrap cluster: ODIR patient group, IDRiD identity
    multilabel: list[float]
    multilabel_known: list[float]
    dr_grade: int     # -1 unknown
    dme_risk: int     # -1 unknown
    quality: int      # -1 unknown
    official_split: str = ""


@dataclass
class SegRecord:
    image: str
    source: str   # idrid | drishti
    split: str
    group: str
    masks: dict[str, str]          # channel -> mask path ("" = absent lesion: all zero)
    known: list[float]             # per SEG_CHANNELS
    cdr_expert: float | None = None  # Drishti: mean of the experts' cup-to-disc ratios
    official_split: str = ""
    extra: dict = field(default_factory=dict)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def classifier_records(splits_dir: Path = SPLITS_DIR) -> list[ClsRecord]:
    out: list[ClsRecord] = []
    for r in read_csv(splits_dir / "odir.csv"):
        if r["split"] == "excluded":
            continue
        g = r["dr_grade_from_keywords"].strip()
        out.append(ClsRecord(
            image=r["image"], source="odir", split=r["split"], group="odir:" + r["patient_group"],
            multilabel=[float(r[k]) for k in ODIR_LABELS], multilabel_known=[1.0] * len(ODIR_LABELS),
            dr_grade=int(g) if g else -1, dme_risk=-1, quality=int(r["quality_flag"]),
            official_split=""))
    for r in read_csv(splits_dir / "idrid_grading.csv"):
        if r["split"] == "excluded":
            continue
        dr, dme = int(r["dr_grade"]), int(r["dme_risk"])
        ml = [0.0] * len(ODIR_LABELS)
        known = [0.0] * len(ODIR_LABELS)
        iD, iN = ODIR_LABELS.index("D"), ODIR_LABELS.index("N")
        ml[iD], known[iD] = float(dr >= 1), 1.0
        if dr >= 1 or dme >= 1:
            ml[iN], known[iN] = 0.0, 1.0
        out.append(ClsRecord(
            image=r["image"], source="idrid", split=r["split"], group="idrid:" + r["identity"],
            multilabel=ml, multilabel_known=known, dr_grade=dr, dme_risk=dme, quality=0,
            official_split=r["official_split"]))
    return out


def defective_masks(file: Path = TRAIN_DIR / "defective_masks.csv") -> dict[tuple[str, str], str]:
    """(image, channel) -> reason, from models/train/defective_masks.csv: reference masks that are not annotations
    (e.g. IDRiD_81's exudate mask covers the whole image). Such a channel counts as not annotated for that image.
    Kept beside the splits, not in splits/ (those files are exactly what splits.py writes)."""
    f = file
    return {(r["image"], r["channel"]): r["reason"] for r in read_csv(f)} if f.is_file() else {}


def segmenter_records(splits_dir: Path = SPLITS_DIR, data: Path = DEFAULT_DATA) -> list[SegRecord]:
    out: list[SegRecord] = []
    defective = defective_masks()
    for r in read_csv(splits_dir / "idrid_segmentation.csv"):
        masks = {l: r[f"mask_{l}"] for l in LESIONS}
        known = [0.0 if (r["image"], ch) in defective else 1.0 for ch in SEG_CHANNELS[:5]] + [0.0]
        out.append(SegRecord(
            image=r["image"], source="idrid", split=r["split"], group="idrid:" + r["identity"], masks=masks,
            known=known, official_split=r["official_split"]))
    cdr: dict[str, float] = {}
    labels = data / "drishti_gs1" / "labels.csv"
    if labels.is_file():
        for r in read_csv(labels):
            vals = [float(v) for v in r["cdr_expert_values"].split()]
            cdr[r["image"]] = float(np.mean(vals)) if vals else float("nan")
    for r in read_csv(splits_dir / "drishti.csv"):
        name = Path(r["image"]).stem
        out.append(SegRecord(
            image=r["image"], source="drishti", split=r["split"], group="drishti:" + name,
            masks={"OD": r["disc_softmap"], "cup": r["cup_softmap"]},
            known=[0.0, 0.0, 0.0, 0.0, 1.0, 1.0], cdr_expert=cdr.get(name), official_split=r["official_split"],
            extra={"diagnosis": r["diagnosis"]}))
    return out


def load_source_mask(data: Path, rec: SegRecord, channel: str) -> Image.Image | None:
    """Binary (0/255) L mask at source resolution, or None when the channel is not annotated for this image.
    A known channel without a file is an absent lesion: an all-zero mask of the image's size."""
    if not rec.known[SEG_CHANNELS.index(channel)]:
        return None
    path = rec.masks.get(channel, "")
    if not path:
        with Image.open(data / rec.image) as im:
            return Image.new("L", im.size, 0)
    with Image.open(data / path) as m:
        a = np.asarray(m.convert("L"))
    thr = DRISHTI_THRESHOLD if rec.source == "drishti" else 128
    return Image.fromarray(np.where(a >= thr, 255, 0).astype(np.uint8), mode="L")


# ---------------------------------------------------------------------------------------------------------------
# Caches
# ---------------------------------------------------------------------------------------------------------------

def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


class CachedSplit:
    """One split of one task at one side: images [N, S, S, 3] uint8 (memory-mapped), optional masks
    [N, C, S, S] uint8, the records and their geometries."""

    def __init__(self, folder: Path, split: str) -> None:
        self.folder = folder
        self.split = split
        meta = json.loads((folder / f"{split}.json").read_text())
        self.meta = meta
        self.size = meta["size"]
        self.records = meta["records"]
        self.geometries = [Geometry(**g) for g in meta["geometries"]]
        self.images = np.load(folder / f"{split}_images.npy", mmap_mode="r")
        masks = folder / f"{split}_masks.npy"
        self.masks = np.load(masks, mmap_mode="r") if masks.is_file() else None

    def __len__(self) -> int:
        return len(self.records)


def _cache_folder(cache: Path, task: str, size: int) -> Path:
    return cache / f"{task}-{size}-v{CACHE_VERSION}"


def build_cache(task: str, size: int, data: Path = DEFAULT_DATA, cache: Path = DEFAULT_CACHE,
                splits: tuple[str, ...] = ("train", "val", "test"), limit: int | None = None,
                splits_dir: Path = SPLITS_DIR, log=print) -> Path:
    """Decode, crop and resize every image of the task's splits once. Rebuilt only when the record list, side or
    CACHE_VERSION changes. limit keeps the first N records of each source per split (smoke runs)."""
    if not data.is_dir():
        raise SystemExit(f"data folder {data} not found: the recipe needs ../shared/data (see data/README.md)")
    folder = _cache_folder(cache, task, size)
    folder.mkdir(parents=True, exist_ok=True)
    recs_all = classifier_records(splits_dir) if task == "classifier" else segmenter_records(splits_dir, data)
    for split in splits:
        recs = [r for r in recs_all if r.split == split]
        if limit:
            by_source: dict[str, list] = {}
            for r in recs:
                by_source.setdefault(r.source, []).append(r)
            recs = [r for rs in by_source.values() for r in rs[:limit]]
        key = _digest([json.dumps(asdict(r), sort_keys=True) for r in recs] + [str(size), str(CACHE_VERSION)])
        meta_path = folder / f"{split}.json"
        if meta_path.is_file() and json.loads(meta_path.read_text()).get("key") == key:
            continue
        t0 = time.time()
        n = len(recs)
        img_tmp = folder / f"{split}_images.npy.tmp"
        images = np.lib.format.open_memmap(img_tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
        masks = None
        if task == "segmenter":
            mask_tmp = folder / f"{split}_masks.npy.tmp"
            masks = np.lib.format.open_memmap(mask_tmp, mode="w+", dtype=np.uint8,
                                              shape=(n, len(SEG_CHANNELS), size, size))
        geoms = []
        for i, r in enumerate(recs):
            with Image.open(data / r.image) as im:
                arr, g = to_model_input(im, size)
            images[i] = arr
            geoms.append(asdict(g))
            if masks is not None:
                for c, ch in enumerate(SEG_CHANNELS):
                    m = load_source_mask(data, r, ch)
                    masks[i, c] = 0 if m is None else mask_to_model(m, g, size)
            if (i + 1) % 500 == 0:
                log(f"  cache {task} {split}: {i + 1}/{n}")
        images.flush()
        del images
        os.replace(img_tmp, folder / f"{split}_images.npy")
        if masks is not None:
            masks.flush()
            del masks
            os.replace(folder / f"{split}_masks.npy.tmp", folder / f"{split}_masks.npy")
        else:
            (folder / f"{split}_masks.npy").unlink(missing_ok=True)
        meta = {"key": key, "task": task, "size": size, "split": split, "records": [asdict(r) for r in recs],
                "geometries": geoms, "version": CACHE_VERSION}
        meta_path.write_text(json.dumps(meta))
        log(f"cache {task} {split}: {n} images at {size} px in {time.time() - t0:.1f} s -> {folder}")
    return folder


def load_cache(task: str, size: int, cache: Path = DEFAULT_CACHE) -> dict[str, CachedSplit]:
    folder = _cache_folder(cache, task, size)
    return {s: CachedSplit(folder, s) for s in ("train", "val", "test") if (folder / f"{s}.json").is_file()}


def channel_stats(images: np.ndarray, max_images: int = 512) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (0..1 scale) over an evenly spaced subset of cached training images."""
    idx = np.linspace(0, len(images) - 1, min(max_images, len(images))).astype(int)
    s = np.zeros(3)
    s2 = np.zeros(3)
    n = 0
    for i in idx:
        a = images[i].reshape(-1, 3).astype(np.float64) / 255.0
        s += a.sum(0)
        s2 += (a * a).sum(0)
        n += a.shape[0]
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 1e-12))
    return [round(float(v), 4) for v in mean], [round(float(v), 4) for v in std]
