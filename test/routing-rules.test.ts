import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { loadRoutingRules, routeStudy } from '../src/ingest/routing-rules.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import type { DicomJson } from '../src/dicom/json-model.js';

const rules = loadRoutingRules(path.join(PROJECT_ROOT, 'mappings', 'routing-rules.json'));
const cs = (v: string) => ({ vr: 'CS', Value: [v] });
const ui = (v: string) => ({ vr: 'UI', Value: [v] });
const code = (value: string, scheme: string) => ({ vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: [value] }, '00080102': { vr: 'SH', Value: [scheme] } }] });

describe('routing rules (mappings/routing-rules.json)', () => {
  it('routes Modality OP as ophthalmic', () => {
    const d = routeStudy(rules, [{ '00080060': cs('OP'), '00080016': ui('1.2.840.10008.5.1.4.1.1.77.1.5.1') } as DicomJson]);
    expect(d).toMatchObject({ ophthalmic: true, rule: 'modality-op' });
  });

  it('routes a VL Photographic image whose anatomic region is the retina (legacy SRT code)', () => {
    const d = routeStudy(rules, [{ '00080060': cs('XC'), '00080016': ui('1.2.840.10008.5.1.4.1.1.77.1.4'), '00082218': code('T-AA610', 'SRT') } as DicomJson]);
    expect(d).toMatchObject({ ophthalmic: true, rule: 'anatomic-region-eye' });
  });

  it('routes a Secondary Capture with an SCT eye code or BodyPartExamined EYE', () => {
    expect(routeStudy(rules, [{ '00080060': cs('OT'), '00082218': code('81745001', 'SCT') } as DicomJson]).rule).toBe('anatomic-region-eye');
    expect(routeStudy(rules, [{ '00080060': cs('OT'), '00180015': cs('eye') } as DicomJson]).rule).toBe('body-part-eye');
  });

  it('ignores a chest Secondary Capture and says why', () => {
    const d = routeStudy(rules, [{ '00080060': cs('OT'), '00180015': cs('CHEST'), '00082218': code('51185008', 'SCT') } as DicomJson]);
    expect(d.ophthalmic).toBe(false);
    expect(d.rule).toBeNull();
    expect(d.reason).toMatch(/no instance matched .*modalities: OT/);
  });

  it('does not route a study that holds only derived objects (SEG, SR), even of the eye', () => {
    const d = routeStudy(rules, [{ '00080060': cs('SEG'), '00180015': cs('EYE') } as DicomJson, { '00080060': cs('SR') } as DicomJson]);
    expect(d.ophthalmic).toBe(false);
    expect(d.reason).toMatch(/2 ignored as derived objects/);
  });

  it('refuses a rules file with a bad tag, naming the path', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-rules-'));
    const f = path.join(dir, 'r.json');
    writeFileSync(f, JSON.stringify({ rules: [{ id: 'x', description: 'x', when: { attribute: '0008006', in: ['OP'] } }] }));
    expect(() => loadRoutingRules(f)).toThrow(/r\.json: rules\.0\.when/);
  });
});
