"""Reference for test/inference/pil-resample.test.ts: resizes raw 8-bit RGB files with PIL, as models/train/data.py
does (Image.resize((w, h), filter), no box, no reducing_gap). Run with /usr/bin/python3 (Debian's Pillow).

Usage: pil_resize.py JOBS.json, a list of {"input", "width", "height", "out_width", "out_height", "filter",
"output"}; each input holds width * height * 3 bytes (R, G, B interleaved, rows top to bottom), each output gets
out_width * out_height * 3. Prints the Pillow version.
"""
import json
import sys

from PIL import Image, __version__

FILTERS = {"lanczos": Image.LANCZOS, "bilinear": Image.BILINEAR, "box": Image.BOX}

for job in json.load(open(sys.argv[1])):
    with open(job["input"], "rb") as f:
        im = Image.frombytes("RGB", (job["width"], job["height"]), f.read())
    out = im.resize((job["out_width"], job["out_height"]), FILTERS[job["filter"]])
    with open(job["output"], "wb") as f:
        f.write(out.tobytes())
print(__version__)
