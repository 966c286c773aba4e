#!/usr/bin/python3
"""Independent reference for test/pixels: decodes DICOM files with pydicom (numpy, RLE and Pillow handlers) and
maps them to 8-bit RGB with the rules documented in src/dicom/pixels/README.md, written separately with numpy.

usage: pydicom_reference.py OUT_DIR FILE...
Writes OUT_DIR/<index>.rgb (all frames, interleaved RGB) and prints one JSON object per file on stdout:
{"file", "status": "ok"|"unavailable", "frames", "rows", "columns", "photometric", "detail"}.
"""
import json
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut, convert_color_space

warnings.simplefilter("ignore")


def first(v):
    if v is None:
        return None
    try:
        return float(v[0])
    except TypeError:
        return float(v)


def grey_params(ds, frame):
    """(slope, intercept, window) for one frame: top level, then shared, then per-frame functional groups."""
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
    window = None
    if "WindowCenter" in ds and "WindowWidth" in ds:
        window = (first(ds.WindowCenter), first(ds.WindowWidth), str(getattr(ds, "VOILUTFunction", "LINEAR") or "LINEAR").upper())
    groups = []
    if "SharedFunctionalGroupsSequence" in ds and len(ds.SharedFunctionalGroupsSequence):
        groups.append(ds.SharedFunctionalGroupsSequence[0])
    if "PerFrameFunctionalGroupsSequence" in ds and frame < len(ds.PerFrameFunctionalGroupsSequence):
        groups.append(ds.PerFrameFunctionalGroupsSequence[frame])
    for g in groups:
        if "PixelValueTransformationSequence" in g:
            it = g.PixelValueTransformationSequence[0]
            if "RescaleSlope" in it:
                slope = float(it.RescaleSlope)
            if "RescaleIntercept" in it:
                intercept = float(it.RescaleIntercept)
        if "FrameVOILUTSequence" in g:
            it = g.FrameVOILUTSequence[0]
            if "WindowCenter" in it and "WindowWidth" in it:
                window = (first(it.WindowCenter), first(it.WindowWidth), str(getattr(it, "VOILUTFunction", "LINEAR") or "LINEAR").upper())
    if window is not None:
        fn = window[2] if window[2] in ("LINEAR_EXACT", "SIGMOID") else "LINEAR"
        if (fn == "LINEAR" and window[1] < 1) or window[1] <= 0:
            window = None
        else:
            window = (window[0], window[1], fn)
    return slope, intercept, window


def grey_to_8(values, slope, intercept, window):
    x = values.astype(np.float64) * slope + intercept
    if window is not None:
        c, w, fn = window
        if fn == "SIGMOID":
            y = 255.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
        elif fn == "LINEAR_EXACT":
            y = np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 255.0, ((x - c) / w + 0.5) * 255.0))
        else:
            y = np.where(x <= c - 0.5 - (w - 1) / 2, 0.0, np.where(x > c - 0.5 + (w - 1) / 2, 255.0, ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0))
    else:
        lo, hi = x.min(), x.max()
        y = (x - lo) * 255.0 / (hi - lo) if hi > lo else np.zeros_like(x)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def to_rgb(ds):
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    arr = arr.reshape((frames, rows, cols, spp))
    pi = str(ds.PhotometricInterpretation).strip().upper()
    bs = int(getattr(ds, "BitsStored", ds.BitsAllocated))
    signed = int(getattr(ds, "PixelRepresentation", 0)) == 1
    plain8 = arr.dtype.itemsize == 1 and bs == 8 and not signed
    if spp == 3:
        if not plain8:
            v = arr.astype(np.int64)
            if signed:
                v = v + 2 ** (bs - 1)
            arr = np.floor(v * 255.0 / (2 ** bs - 1) + 0.5).astype(np.uint8)
        arr = arr.astype(np.uint8)
        if pi in ("YBR_FULL", "YBR_FULL_422"):
            arr = convert_color_space(arr, "YBR_FULL", "RGB", per_frame=True)
        return arr, pi, "colour"
    if pi == "PALETTE COLOR":
        lut = apply_color_lut(arr.reshape((frames, rows, cols)), ds)
        if lut.dtype.itemsize > 1:
            if lut.max() <= 255:
                lut = lut.astype(np.uint8)
            else:
                lut = np.floor(lut.astype(np.float64) * 255.0 / 65535.0 + 0.5).astype(np.uint8)
        return lut.reshape((frames, rows, cols, 3)), pi, "palette"
    out = np.empty((frames, rows, cols, 3), np.uint8)
    for f in range(frames):
        plane = arr[f, :, :, 0]
        if plain8:
            g = plane.astype(np.uint8)
        else:
            g = grey_to_8(plane, *grey_params(ds, f))
        if pi == "MONOCHROME1":
            g = 255 - g
        out[f] = g[:, :, None]
    return out, pi, "grey"


def prepare(ds):
    """Fills in what sloppy files omit so pydicom will try (the decoder under test applies the same defaults)."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        ds.file_meta = meta = pydicom.dataset.FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        if ds.is_implicit_VR:
            meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        elif ds.is_little_endian:
            meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        else:
            meta.TransferSyntaxUID = pydicom.uid.ExplicitVRBigEndian
    if "SamplesPerPixel" not in ds:
        ds.SamplesPerPixel = 3 if str(getattr(ds, "PhotometricInterpretation", "")).startswith(("RGB", "YBR")) else 1
    if "PixelRepresentation" not in ds:
        ds.PixelRepresentation = 0
    if "BitsStored" not in ds:
        ds.BitsStored = ds.BitsAllocated


def pillow_frames(ds):
    """Baseline/extended 8-bit JPEG frames through Pillow directly, whatever the transfer syntax claims (pydicom's
    own handler refuses mislabelled syntaxes and assumes one fragment per frame). Same colour rule as pydicom."""
    import io
    from PIL import Image
    from pydicom.encaps import generate_pixel_data_frame

    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    pi = str(ds.PhotometricInterpretation).strip().upper()
    out = []
    for data in generate_pixel_data_frame(ds.PixelData, frames):
        if not (data[:2] == b"\xff\xd8"):
            raise ValueError("not JPEG")
        im = Image.open(io.BytesIO(data))
        if pi == "RGB" and "adobe_transform" not in im.info:
            im.tile = [("jpeg", im.tile[0][1], im.tile[0][2], ("YCbCr", ""))]
        if "YBR" in pi:
            im.draft("YCbCr", im.size)
        a = np.asarray(im)
        out.append(a.reshape(a.shape[0], a.shape[1], -1))
    arr = np.stack(out)
    if arr.shape[3] == 3 and "YBR" in pi:
        arr = convert_color_space(arr, "YBR_FULL", "RGB", per_frame=True)
    if arr.shape[3] == 1:
        arr = np.repeat(arr, 3, axis=3)
    return arr, pi, "pillow-direct"


def main():
    out_dir = sys.argv[1]
    for i, path in enumerate(sys.argv[2:]):
        rec = {"file": path}
        try:
            ds = pydicom.dcmread(path, force=True)
            if "PixelData" not in ds:
                raise ValueError("no pixel data")
            prepare(ds)
            try:
                rgb, pi, kind = to_rgb(ds)
            except Exception as first_error:
                try:
                    rgb, pi, kind = pillow_frames(ds)
                except Exception:
                    raise first_error
            with open(os.path.join(out_dir, f"{os.getpid()}-{i}.rgb"), "wb") as fh:
                fh.write(np.ascontiguousarray(rgb).tobytes())
            rec.update(status="ok", frames=int(rgb.shape[0]), rows=int(rgb.shape[1]), columns=int(rgb.shape[2]), photometric=pi, detail=kind, out=f"{os.getpid()}-{i}.rgb")
        except Exception as e:  # pydicom lacks a handler, or the file is broken: not a reference
            rec.update(status="unavailable", detail=f"{type(e).__name__}: {e}"[:300])
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
