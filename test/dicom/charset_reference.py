#!/usr/bin/python3
"""Independent reference for test/dicom/charset.test.ts and test/report/fhir/patient.test.ts: pydicom's decoding of
the text values (SH, LO, UC, ST, LT, UT, PN) of DICOM files, in the character sets they declare.

usage: charset_reference.py FILE...
Prints one JSON object: {FILE: {"specificCharacterSet": [...], "elements": {PATH: {"vr", "values"}}}}. PATH is the
tag as 8 upper-case hex digits, nested items as "SEQTAG/INDEX/TAG". PN values are objects with the component groups
pydicom decodes (Alphabetic, Ideographic, Phonetic; empty groups left out); other values are strings.
"""
import json
import sys
import warnings

import pydicom
from pydicom.multival import MultiValue

warnings.simplefilter("ignore")

TEXT_VRS = {"SH", "LO", "UC", "ST", "LT", "UT", "PN"}
GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, MultiValue)):
        return list(value)
    return [value]


def pn_json(pn):
    return {GROUPS[i]: g for i, g in enumerate(pn.components[:3]) if g}


def walk(ds, prefix, out):
    for elem in ds:
        tag = f"{elem.tag.group:04X}{elem.tag.element:04X}"
        path = prefix + tag
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                walk(item, f"{path}/{i}/", out)
        elif elem.VR in TEXT_VRS:
            values = as_list(elem.value)
            out[path] = {"vr": elem.VR, "values": [pn_json(v) if elem.VR == "PN" else str(v) for v in values]}


def main(files):
    result = {}
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=True, force=True)
        out = {}
        walk(ds, "", out)
        scs = ds.get("SpecificCharacterSet")
        result[f] = {"specificCharacterSet": [str(v) for v in as_list(scs)], "elements": out}
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
