import { describe, expect, it } from 'vitest';
import type { Observation } from '@medplum/fhirtypes';
import { buildEndpoint, buildImagingStudy, seriesEye } from '../../../src/report/fhir/imaging-study.js';
import { buildDevice } from '../../../src/report/fhir/device.js';
import { buildObservations } from '../../../src/report/fhir/observations.js';
import { buildDiagnosticReport, conclusionCodes, renderReportHtml } from '../../../src/report/fhir/diagnostic-report.js';
import { buildProvenance } from '../../../src/report/fhir/provenance.js';
import { fhirDateTime, stableUuid, tokenParam } from '../../../src/report/fhir/common.js';
import { validate } from './validator.js';
import { LEFT_UID, OP_SOP_CLASS, RIGHT_UID, SERIES_UID, STUDY_UID, bundleInput, ctx } from './study.js';

const P = 'urn:uuid:00000000-0000-4000-8000-000000000001';
const S = 'urn:uuid:00000000-0000-4000-8000-000000000002';
const E = 'urn:uuid:00000000-0000-4000-8000-000000000003';
const devices = { 'fundus-classifier@0.1.0': 'urn:uuid:00000000-0000-4000-8000-00000000000a', 'fundus-segmenter@0.1.0': 'urn:uuid:00000000-0000-4000-8000-00000000000b' };
const obsCtx = { studyUid: STUDY_UID, effective: '2024-03-15T14:25:30.25+01:00', issued: '2024-03-15T14:40:00.000Z', refs: { patient: P, imagingStudy: S, devices } };
const input = bundleInput();
const [right, left] = input.images as [typeof input.images[0], typeof input.images[0]];
const byCode = (obs: Observation[], code: string) => obs.filter((o) => o.code.coding?.some((c) => c.code === code));

describe('DICOM dates and times', () => {
  it('gives a FHIR dateTime with the study time zone, or the date alone without one', () => {
    expect(fhirDateTime('20240315', '142530.25', '+0100')).toBe('2024-03-15T14:25:30.25+01:00');
    expect(fhirDateTime('20240315', '1425', '-0500')).toBe('2024-03-15T14:25:00-05:00');
    expect(fhirDateTime('20240315', '142530', undefined)).toBe('2024-03-15');
    expect(fhirDateTime('2024', undefined, undefined)).toBeUndefined();
  });
});

describe('ImagingStudy and Endpoint', () => {
  it('names the study by urn:dicom:uid, lists series and instances, points to the WADO-RS endpoint, and validates', () => {
    const endpoint = buildEndpoint(ctx);
    validate(endpoint);
    expect(endpoint.address).toBe('https://ophgate.example.org/dicomweb');
    expect(endpoint.connectionType.code).toBe('dicom-wado-rs');
    const study = buildImagingStudy(input.study, { patient: P, endpoint: E });
    validate(study);
    expect(study.identifier?.[0]).toEqual({ system: 'urn:dicom:uid', value: `urn:oid:${STUDY_UID}` });
    expect(study.identifier?.[1]?.value).toBe('ACC-77');
    expect(study.status).toBe('available');
    expect(study.started).toBe('2024-03-15T14:25:30.25+01:00');
    expect(study.subject.reference).toBe(P);
    expect(study.endpoint).toEqual([{ reference: E }]);
    const series = study.series![0]!;
    expect(series.uid).toBe(SERIES_UID);
    expect(series.modality).toEqual({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'OP' });
    expect(series.number).toBe(1);
    // The series holds both eyes: no series laterality, the Observations carry each image's eye.
    expect(series.laterality).toBeUndefined();
    expect(series.instance).toEqual([
      { uid: RIGHT_UID, sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${OP_SOP_CLASS}` }, number: 1 },
      { uid: LEFT_UID, sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${OP_SOP_CLASS}` }, number: 2 },
    ]);
  });

  it('gives a one-eye series its SNOMED laterality and eye', () => {
    const one = { ...input.study.series[0]!, instances: input.study.series[0]!.instances.slice(0, 1) };
    expect(seriesEye(one)).toBe('R');
    const study = buildImagingStudy({ ...input.study, series: [one] }, { patient: P, endpoint: E });
    validate(study);
    expect(study.series![0]!.laterality).toEqual({ system: 'http://snomed.info/sct', code: '24028007', display: 'Right' });
    expect(study.series![0]!.bodySite?.code).toBe('18944008');
  });
});

describe('Device', () => {
  it('names the model and its version', () => {
    const d = buildDevice({ name: 'fundus-classifier', version: '0.1.0' });
    validate(d);
    expect(d.deviceName).toEqual([{ name: 'fundus-classifier', type: 'model-name' }]);
    expect(d.version).toEqual([{ value: '0.1.0' }]);
  });
});

describe('Observations', () => {
  const obsR = buildObservations(right, obsCtx);
  const obsL = buildObservations(left, obsCtx);

  it('all validate, are preliminary imaging results derived from the study, with subject, device and time', () => {
    for (const o of [...obsR, ...obsL]) {
      validate(o);
      expect(o.status).toBe('preliminary');
      expect(o.category?.[0]?.coding?.[0]?.code).toBe('imaging');
      expect(o.derivedFrom).toEqual([{ reference: S }]);
      expect(o.subject?.reference).toBe(P);
      expect(o.effectiveDateTime).toBe(obsCtx.effective);
      expect(Object.values(devices)).toContain(o.device?.reference);
    }
    // 9 labels + 1 derived + 2 grades per classifier; 6 channels + 1 measurement per segmenter.
    expect(obsR).toHaveLength(19);
  });

  it('puts the eye in bodySite (SNOMED right / left eye structure)', () => {
    expect(new Set(obsR.map((o) => o.bodySite?.coding?.[0]?.code))).toEqual(new Set(['18944008']));
    expect(new Set(obsL.map((o) => o.bodySite?.coding?.[0]?.code))).toEqual(new Set(['8966001']));
  });

  it('codes the DR grade with the LOINC severity term of the eye and the LOINC answer', () => {
    const [r] = byCode(obsR, '71491-5');
    const [l] = byCode(obsL, '71490-7');
    expect(r?.valueCodeableConcept?.coding).toEqual([{ system: 'http://loinc.org', code: 'LA18645-4', display: 'Moderate non-proliferative retinopathy' }]);
    expect(l?.valueCodeableConcept?.coding?.[0]?.code).toBe('LA18643-9');
    expect(r?.component?.map((c) => c.code.coding?.[0]?.code)).toEqual(['LA18643-9', 'LA18644-7', 'LA18645-4', 'LA18646-2', 'LA18648-8']);
    expect(r?.component?.[2]?.valueQuantity).toEqual({ value: 0.4, unit: '1', system: 'http://unitsofmeasure.org', code: '1' });
  });

  it('codes the DME risk grade with the mapped (local) grade code', () => {
    const dme = obsR.find((o) => o.code.text === 'dme risk');
    expect(dme?.valueCodeableConcept?.coding?.[0]).toMatchObject({ system: 'urn:ophgate:codes', code: 'DME-RISK-0' });
  });

  it('gives a disease presence with its probability and threshold as fractions', () => {
    const [dr] = byCode(obsR, '4855003');
    const label = right.findings[0]!.labels.find((l) => l.key === 'D')!;
    expect(dr?.valueCodeableConcept?.coding?.[0]?.code).toBe(label.positive ? '52101004' : '272519000');
    expect(dr?.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.value])).toEqual([['122157', label.probability], ['122411', label.threshold]]);
  });

  it('gives lesion areas in pixels and counts, structures without counts, and the cup-to-disc ratio', () => {
    const [ma] = byCode(obsR, '34037000');
    expect(ma?.valueCodeableConcept?.coding?.[0]?.code).toBe('52101004');
    expect(ma?.component?.map((c) => c.valueQuantity)).toEqual([
      { value: 120, unit: 'pixels', system: 'http://unitsofmeasure.org', code: '{pixels}' },
      { value: 3, unit: 'count', system: 'http://unitsofmeasure.org', code: '{count}' },
    ]);
    const [disc] = byCode(obsR, '81016008');
    expect(disc?.component).toHaveLength(1);
    const [cdrR] = byCode(obsR, '131257');
    expect(cdrR?.valueQuantity?.value).toBe(0.41);
    const [cdrL] = byCode(obsL, '131257');
    expect(cdrL?.valueQuantity).toBeUndefined();
    expect(cdrL?.dataAbsentReason?.coding?.[0]?.code).toBe('unknown');
  });

  it('has identifiers unique within the study and equal on a rebuild', () => {
    const ids = [...obsR, ...obsL].map((o) => o.identifier![0]!.value);
    expect(new Set(ids).size).toBe(ids.length);
    expect(buildObservations(right, obsCtx).map((o) => o.identifier![0]!.value)).toEqual(obsR.map((o) => o.identifier![0]!.value));
    expect(ids[0]).toBe(`${STUDY_UID}/${RIGHT_UID}/1/fundus-classifier/label/multilabel/N`);
  });
});

describe('DiagnosticReport and Provenance', () => {
  const findings = input.images.flatMap((i) => i.findings);
  const report = buildDiagnosticReport(
    { studyUid: STUDY_UID, effective: obsCtx.effective, issued: obsCtx.issued, narrative: input.narrative, narrativeSource: 'deterministic', findings },
    { patient: P, imagingStudy: S, observations: ['urn:uuid:00000000-0000-4000-8000-0000000000f1'] },
  );

  it('is a preliminary imaging report with the narrative as conclusion and as text and HTML, and validates', () => {
    validate(report);
    expect(report.status).toBe('preliminary');
    expect(report.category?.[0]?.coding?.[0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'IMG', display: 'Diagnostic Imaging' });
    expect(report.code.coding?.[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '20067007' });
    expect(report.conclusion).toBe(input.narrative);
    expect(report.imagingStudy).toEqual([{ reference: S }]);
    expect(report.effectiveDateTime).toBe(obsCtx.effective);
    expect(report.issued).toBe(obsCtx.issued);
    const [text, html] = report.presentedForm!;
    expect(text?.contentType).toBe('text/plain; charset=utf-8');
    expect(Buffer.from(text!.data!, 'base64').toString('utf8')).toBe(input.narrative);
    const page = Buffer.from(html!.data!, 'base64').toString('utf8');
    expect(page).toContain('microaneurysms &amp; haemorrhages');
    expect(page).toContain('referable &lt;DR&gt;');
    expect(page).not.toContain('<DR>');
  });

  it('has SNOMED CT conclusion codes for the positive findings only, once each', () => {
    const codes = conclusionCodes(findings).map((c) => c.coding![0]!);
    expect(codes.every((c) => c.system === 'http://snomed.info/sct')).toBe(true);
    const all = codes.map((c) => c.code);
    expect(all).toEqual([...new Set(all)]);
    expect(all).toEqual(expect.arrayContaining(['34037000', '28998008']));
    // Anatomy outlined by the segmenter and "normal" are not findings to conclude on.
    expect(all).not.toContain('81016008');
    expect(all).not.toContain('17621005');
    expect(renderReportHtml({ studyUid: STUDY_UID, issued: obsCtx.issued, narrative: 'x', findings: [] })).toContain('No positive findings');
  });

  it('Provenance names each AI device and version and validates', () => {
    const prov = buildProvenance(obsCtx.issued, {
      targets: ['urn:uuid:00000000-0000-4000-8000-0000000000f1'], imagingStudy: S,
      devices: [{ model: { name: 'fundus-classifier', version: '0.1.0' }, fullUrl: devices['fundus-classifier@0.1.0'] }],
    });
    validate(prov);
    expect(prov.agent[0]!.who).toEqual({ reference: devices['fundus-classifier@0.1.0'], display: 'fundus-classifier 0.1.0' });
  });
});

describe('helpers', () => {
  it('stable UUIDs are valid RFC 9562 version-8 UUIDs, equal for equal parts', () => {
    expect(stableUuid('a', 'b')).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableUuid('a', 'b')).toBe(stableUuid('a', 'b'));
    expect(stableUuid('a', 'b')).not.toBe(stableUuid('ab', ''));
  });
  it('token search parameters escape FHIR separators and URL-encode', () => {
    expect(tokenParam('urn:dicom:uid', 'urn:oid:1.2')).toBe('urn%3Adicom%3Auid|urn%3Aoid%3A1.2');
    expect(tokenParam('s', 'a|b,c')).toBe('s|a%5C%7Cb%5C%2Cc');
  });
});
