// The DiagnosticReport of a study: the report the EHR lists, pointing to the Observations and the ImagingStudy,
// with the narrative as conclusion and as attachments (text/plain and a simple HTML rendering).
import type { Attachment, CodeableConcept, DiagnosticReport, Identifier } from '@medplum/fhirtypes';
import type { FindingResult } from '../../inference/finding-result.js';
import { SNOMED_CT, resolveCodeRef } from '../codes.js';
import { OPHGATE_ID, codingOf, eyeOf, keyOf, mappingRef, ref } from './common.js';

export const V2_0074 = 'http://terminology.hl7.org/CodeSystem/v2-0074';

/** Positive outputs that are not findings to conclude on: a normal fundus, and anatomy the segmenter outlines. */
const NOT_A_FINDING = new Set(['normal', 'optic-disc', 'optic-cup']);

export interface ReportRefs {
  patient: string;
  imagingStudy: string;
  observations: string[];
}

export interface ReportInput {
  studyUid: string;
  /** The study's date and time (FHIR dateTime). */
  effective?: string;
  /** When OphGate produced the report (FHIR instant). */
  issued: string;
  /** The narrative, as written by whoever wrote it. */
  narrative: string;
  /** Who wrote the narrative ("deterministic", or an LLM's name), shown in the attachments' titles. */
  narrativeSource?: string;
  /** Every model's findings on every image of the study, each with its image's laterality. */
  findings: FindingResult[];
}

export function reportIdentifier(studyUid: string): Identifier {
  return { system: OPHGATE_ID.diagnosticReport, value: studyUid };
}

/**
 * SNOMED CT codes of the positive findings of the study (any eye), once each, in a stable order. Local codes and
 * LOINC grades are left out: conclusionCode is for the clinical findings a receiver can code on.
 */
export function conclusionCodes(findings: FindingResult[]): CodeableConcept[] {
  const seen = new Map<string, CodeableConcept>();
  for (const f of findings) {
    for (const p of f.positive) {
      if (NOT_A_FINDING.has(keyOf(p.code))) continue;
      const r = resolveCodeRef(p.code);
      if (r.system !== SNOMED_CT || seen.has(r.code)) continue;
      seen.set(r.code, { coding: [codingOf(r)], text: r.display });
    }
  }
  return [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, c]) => c);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained HTML page: the narrative's paragraphs and the positive findings per eye, everything escaped. */
export function renderReportHtml(input: ReportInput): string {
  const paragraphs = input.narrative.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`);
  const rows: string[] = [];
  for (const f of input.findings) {
    const eye = eyeOf(f.laterality);
    const eyeText = eye === 'R' ? 'right eye' : eye === 'L' ? 'left eye' : eye === 'B' ? 'both eyes' : 'eye not known';
    for (const p of f.positive) {
      if (NOT_A_FINDING.has(keyOf(p.code))) continue;
      rows.push(`<tr><td>${escapeHtml(eyeText)}</td><td>${escapeHtml(resolveCodeRef(p.code).display)}</td><td>${escapeHtml(`${f.model.name} ${f.model.version}`)}</td></tr>`);
    }
  }
  const table = rows.length
    ? `<table><thead><tr><th>Eye</th><th>Finding</th><th>Model</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p>No positive findings.</p>';
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Fundus photograph analysis</title></head><body>`
    + `<h1>Fundus photograph analysis (preliminary, AI-generated)</h1>${paragraphs.join('')}<h2>Positive findings</h2>${table}`
    + `<p>Research software, not for clinical use.</p></body></html>`;
}

export function buildDiagnosticReport(input: ReportInput, refs: ReportRefs): DiagnosticReport {
  const by = input.narrativeSource ? ` (narrative: ${input.narrativeSource})` : '';
  const attachment = (contentType: string, text: string, title: string): Attachment => ({
    contentType, language: 'en', data: Buffer.from(text, 'utf8').toString('base64'), title, creation: input.issued,
  });
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    identifier: [reportIdentifier(input.studyUid)],
    // Preliminary until a clinician signs (issue 5 item 8).
    status: 'preliminary',
    // v2-0074 IMG "Diagnostic Imaging" rather than RAD "Radiology": fundus photography is imaging, not radiology.
    category: [{ coding: [{ system: V2_0074, code: 'IMG', display: 'Diagnostic Imaging' }], text: 'Imaging' }],
    // No LOINC code for a fundus photography report was found (README, Codes): the SNOMED CT procedure "Ocular
    // fundus photography" from the mapping names what was reported on; the binding here is only preferred.
    code: { coding: [codingOf(resolveCodeRef(mappingRef('fundus-photography')))], text: 'Fundus photography AI analysis report' },
    subject: ref(refs.patient),
    ...(input.effective ? { effectiveDateTime: input.effective } : {}),
    issued: input.issued,
    imagingStudy: [ref(refs.imagingStudy)],
    conclusion: input.narrative,
  };
  if (refs.observations.length) report.result = refs.observations.map((o) => ref(o));
  const codes = conclusionCodes(input.findings);
  if (codes.length) report.conclusionCode = codes;
  report.presentedForm = [
    attachment('text/plain; charset=utf-8', input.narrative, `Fundus photograph analysis${by}`),
    attachment('text/html; charset=utf-8', renderReportHtml(input), `Fundus photograph analysis, HTML${by}`),
  ];
  return report;
}
