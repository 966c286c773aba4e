#!/usr/bin/env python3
"""pydicom's reading of DICOM files, as JSON on stdout, for OphGate's SEG tests (test/seg/*.test.ts).

For each path: the SOP class, and for a Segmentation its size, type, segments (number, label, codes, algorithm
type) and per frame the segment number(s) from the Segment Identification Sequence (per-frame functional groups,
else shared), the source references from the Derivation Image Sequence, and a SHA-256 of the frame's pixels as
pydicom decodes them (ds.pixel_array: uint8, or little-endian uint16 for Bits Allocated 16), so the TypeScript
side can compare frames without shipping arrays.

Usage: read_seg.py FILE...
"""
import hashlib
import json
import sys

import numpy as np
import pydicom
from pydicom.multival import MultiValue


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (MultiValue, list, tuple)):
        return [int(v) for v in value]
    return [int(value)]


def code(seq):
    if not seq:
        return None
    item = seq[0]
    value = item.get('CodeValue') or item.get('LongCodeValue') or item.get('URNCodeValue')
    return {'value': str(value), 'scheme': str(item.get('CodingSchemeDesignator', '')), 'meaning': str(item.get('CodeMeaning', ''))}


def first_item(ds, keyword):
    seq = ds.get(keyword) if ds is not None else None
    return seq[0] if seq else None


def frame_groups(ds, i):
    per_frame = ds.get('PerFrameFunctionalGroupsSequence')
    groups = per_frame[i] if per_frame is not None and i < len(per_frame) else None
    shared = first_item(ds, 'SharedFunctionalGroupsSequence')
    ident = first_item(groups, 'SegmentIdentificationSequence') or first_item(shared, 'SegmentIdentificationSequence')
    derivation = None
    if groups is not None and 'DerivationImageSequence' in groups:
        derivation = groups.DerivationImageSequence
    elif shared is not None and 'DerivationImageSequence' in shared:
        derivation = shared.DerivationImageSequence
    sources = []
    for d in derivation or []:
        for ref in d.get('SourceImageSequence') or []:
            sources.append({
                'sopInstanceUid': str(ref.get('ReferencedSOPInstanceUID', '')),
                'frameNumbers': as_list(ref.get('ReferencedFrameNumber')),
            })
    return {
        'segmentNumbers': as_list(ident.get('ReferencedSegmentNumber')) if ident is not None else [],
        'sources': sources,
    }


def read(path):
    ds = pydicom.dcmread(path)
    out = {'path': path, 'sopClassUid': str(ds.SOPClassUID), 'modality': str(ds.get('Modality', ''))}
    if 'SegmentSequence' not in ds:
        return out
    rows, columns = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get('NumberOfFrames', 1))
    pixels = ds.pixel_array.reshape((frames, rows, columns))
    dtype = '<u2' if int(ds.BitsAllocated) == 16 else 'u1'
    out.update({
        'transferSyntaxUid': str(ds.file_meta.TransferSyntaxUID),
        'rows': rows,
        'columns': columns,
        'segmentationType': str(ds.SegmentationType),
        'patientName': str(ds.get('PatientName', '')),
        'imageLaterality': str(ds.get('ImageLaterality', '')),
        'specificCharacterSet': str(ds.get('SpecificCharacterSet', '')),
        'segments': [{
            'number': int(s.SegmentNumber),
            'label': str(s.SegmentLabel),
            'algorithmType': str(s.SegmentAlgorithmType),
            'category': code(s.get('SegmentedPropertyCategoryCodeSequence')),
            'type': code(s.get('SegmentedPropertyTypeCodeSequence')),
            'anatomicRegion': code(s.get('AnatomicRegionSequence')),
            'anatomicRegionModifier': code(s.AnatomicRegionSequence[0].get('AnatomicRegionModifierSequence')) if s.get('AnatomicRegionSequence') else None,
            'colourLab': [int(v) for v in s.get('RecommendedDisplayCIELabValue', [])],
        } for s in ds.SegmentSequence],
        'frames': [dict(frame_groups(ds, i), **{
            'sha256': hashlib.sha256(np.ascontiguousarray(pixels[i].astype(dtype)).tobytes()).hexdigest(),
            'nonzero': int(np.count_nonzero(pixels[i])),
        }) for i in range(frames)],
    })
    return out


if __name__ == '__main__':
    json.dump([read(p) for p in sys.argv[1:]], sys.stdout)
