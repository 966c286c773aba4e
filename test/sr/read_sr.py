#!/usr/bin/python3
"""Reads OphGate Measurement Report SRs with pydicom (an independent DICOM parser) and prints, per file, what a
receiving system would take from them: document attributes and the TID 1500 content tree flattened into
measurement groups with their NUM, CODE and image references. test/sr/measurement-report.test.ts compares this
with the findings the SR was built from.

Usage: read_sr.py FILE... ; prints one JSON object {path: report}.
"""
import json
import sys

import pydicom


def code(seq):
    """"SCHEME:VALUE" of the single item of a code sequence, or None."""
    if not seq:
        return None
    item = seq[0]
    value = item.get('CodeValue') or item.get('LongCodeValue') or item.get('URNCodeValue')
    return f'{item.CodingSchemeDesignator}:{value}'


def meaning(seq):
    return seq[0].CodeMeaning if seq else None


def name(item):
    return code(item.get('ConceptNameCodeSequence'))


def image_ref(item):
    ref = item.ReferencedSOPSequence[0]
    frames = ref.get('ReferencedFrameNumber')
    segments = ref.get('ReferencedSegmentNumber')
    as_list = lambda v: None if v is None else [int(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v])]
    return {
        'sopClassUid': str(ref.ReferencedSOPClassUID),
        'sopInstanceUid': str(ref.ReferencedSOPInstanceUID),
        'frames': as_list(frames),
        'segments': as_list(segments),
    }


def num(item):
    measured = item.get('MeasuredValueSequence') or []
    out = {'concept': name(item), 'value': None, 'unit': None, 'text': None,
           'qualifier': code(item.get('NumericValueQualifierCodeSequence')), 'modifiers': []}
    if measured:
        mv = measured[0]
        out['text'] = str(mv.NumericValue)
        out['value'] = float(mv.FloatingPointValue) if 'FloatingPointValue' in mv else float(mv.NumericValue)
        out['unit'] = code(mv.MeasurementUnitsCodeSequence)
    for child in item.get('ContentSequence', []):
        if child.RelationshipType == 'HAS CONCEPT MOD' and child.ValueType == 'CODE':
            out['modifiers'].append({'concept': name(child), 'value': code(child.ConceptCodeSequence)})
    return out


def template(item):
    seq = item.get('ContentTemplateSequence')
    return str(seq[0].TemplateIdentifier) if seq else None


def observer(items):
    out = {}
    for it in items:
        if it.RelationshipType != 'HAS OBS CONTEXT':
            continue
        key = name(it)
        if it.ValueType == 'CODE':
            out[key] = code(it.ConceptCodeSequence)
        elif it.ValueType == 'UIDREF':
            out[key] = str(it.UID)
        elif it.ValueType == 'TEXT':
            out[key] = it.TextValue
    return out


def group(g):
    out = {'template': template(g), 'trackingId': None, 'trackingUid': None, 'finding': None, 'findingSite': None,
           'laterality': None, 'algorithm': {}, 'source': None, 'segment': None, 'segmentationSource': None,
           'nums': [], 'codes': []}
    for it in g.ContentSequence:
        n, rel, vt = name(it), it.RelationshipType, it.ValueType
        if n == 'DCM:112039':
            out['trackingId'] = it.TextValue
        elif n == 'DCM:112040':
            out['trackingUid'] = str(it.UID)
        elif n == 'DCM:121071' and vt == 'CODE':
            out['finding'] = code(it.ConceptCodeSequence)
        elif n == 'SCT:363698007':
            out['findingSite'] = code(it.ConceptCodeSequence)
            for m in it.get('ContentSequence', []):
                if name(m) == 'SCT:272741003':
                    out['laterality'] = code(m.ConceptCodeSequence)
        elif n in ('DCM:111001', 'DCM:111003') and rel == 'HAS CONCEPT MOD':
            out['algorithm']['name' if n == 'DCM:111001' else 'version'] = it.TextValue
        elif vt == 'IMAGE' and n == 'SCT:260753009':
            out['source'] = image_ref(it)
        elif vt == 'IMAGE' and n == 'DCM:121214':
            out['segment'] = image_ref(it)
        elif vt == 'IMAGE' and n == 'DCM:121233':
            out['segmentationSource'] = image_ref(it)
        elif vt == 'NUM':
            out['nums'].append(num(it))
        elif vt == 'CODE' and rel == 'CONTAINS':
            out['codes'].append({'concept': n, 'value': code(it.ConceptCodeSequence)})
        else:
            out.setdefault('other', []).append(f'{rel} {vt} {n}')
    return out


def hierarchical(seq):
    refs = []
    for study in seq or []:
        for series in study.ReferencedSeriesSequence:
            for sop in series.ReferencedSOPSequence:
                refs.append({'studyUid': str(study.StudyInstanceUID), 'seriesUid': str(series.SeriesInstanceUID),
                             'sopClassUid': str(sop.ReferencedSOPClassUID), 'sopInstanceUid': str(sop.ReferencedSOPInstanceUID)})
    return refs


def read(path):
    ds = pydicom.dcmread(path)
    report = {
        'sopClassUid': str(ds.SOPClassUID), 'sopInstanceUid': str(ds.SOPInstanceUID),
        'studyUid': str(ds.StudyInstanceUID), 'seriesUid': str(ds.SeriesInstanceUID), 'modality': ds.Modality,
        'patientId': str(ds.get('PatientID', '')), 'specificCharacterSet': ds.get('SpecificCharacterSet'),
        'completion': ds.CompletionFlag, 'verification': ds.VerificationFlag,
        'verifyingObservers': [{'name': str(v.VerifyingObserverName), 'organization': v.VerifyingOrganization,
                                'dateTime': str(v.VerificationDateTime)} for v in ds.get('VerifyingObserverSequence', [])],
        'predecessors': hierarchical(ds.get('PredecessorDocumentsSequence')),
        'evidence': hierarchical(ds.get('CurrentRequestedProcedureEvidenceSequence')),
        'performedProcedureCodes': len(ds.PerformedProcedureCodeSequence),
        'codingSchemes': [s.CodingSchemeDesignator for s in ds.get('CodingSchemeIdentificationSequence', [])],
        'title': code(ds.ConceptNameCodeSequence), 'template': template(ds),
        'language': None, 'procedure': None, 'observer': observer(ds.ContentSequence),
        'library': [], 'groups': [], 'narrative': None, 'other': [],
    }
    for it in ds.ContentSequence:
        n = name(it)
        if n == 'DCM:121049':
            report['language'] = code(it.ConceptCodeSequence)
        elif n == 'DCM:121058':
            report['procedure'] = code(it.ConceptCodeSequence)
        elif n == 'DCM:111028':
            report['libraryTemplate'] = template(it)
            for grp in it.ContentSequence:
                for entry in grp.ContentSequence:
                    if entry.ValueType != 'IMAGE':
                        continue
                    e = image_ref(entry)
                    for d in entry.get('ContentSequence', []):
                        e['DCM:121139' == name(d) and 'modality' or 'laterality'] = code(d.ConceptCodeSequence)
                    report['library'].append(e)
        elif n == 'DCM:126010':
            report['groups'] = [group(g) for g in it.get('ContentSequence', [])]
        elif n == 'UMLS:C0034375':
            texts = [c for c in it.ContentSequence if c.ValueType == 'TEXT' and c.RelationshipType == 'CONTAINS']
            report['narrative'] = {'concept': name(texts[0]), 'text': texts[0].TextValue, 'observer': observer(it.ContentSequence)}
        elif it.RelationshipType != 'HAS OBS CONTEXT':
            report['other'].append(n)
    return report


if __name__ == '__main__':
    print(json.dumps({p: read(p) for p in sys.argv[1:]}))
