// The DiagnosticReport of a study: the report the EHR lists, pointing to the Observations and the ImagingStudy,
// with the narrative as conclusion and as attachments (text/plain, an HTML rendering with the key images, and each
// key image as PNG).
import type { Attachment, CodeableConcept, DiagnosticReport, Identifier } from '@medplum/fhirtypes';
import type { FindingResult } from '../../inference/finding-result.js';
import { SNOMED_CT, resolveCodeRef } from '../codes.js';
import { FhirBuildError, OPHGATE_ID, codingOf, eyeOf, keyOf, mappingRef, ref } from './common.js';

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
  /** Key images with the AI lesion overlay (src/report/key-image.ts), at most one per eye. */
  keyImages?: KeyImage[];
}

/** One key image: a PNG of the photograph with the lesion overlay, and what its colours mean. */
export interface KeyImage {
  eye: 'R' | 'L' | 'unknown';
  caption: string;
  png: Buffer;
  legend: Array<{ label: string; colour: [number, number, number] }>;
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

const EYE_TEXT = { R: 'right eye', L: 'left eye', unknown: 'eye not stated' } as const;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Refuses what would make a broken or unsafe page: not a PNG, an unknown eye, a colour outside 0..255. */
function checkKeyImage(k: KeyImage, i: number): void {
  const what = `keyImages[${i}]`;
  if (!(k.eye in EYE_TEXT)) throw new FhirBuildError(`${what}: eye must be R, L or unknown, got ${JSON.stringify(k.eye)}`);
  if (!Buffer.isBuffer(k.png) || k.png.length < 24 || !k.png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new FhirBuildError(`${what}: png is not a PNG file`);
  for (const l of k.legend) {
    if (l.colour.length !== 3 || l.colour.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) {
      throw new FhirBuildError(`${what}: legend colour of "${l.label}" must be three integers 0..255, got ${JSON.stringify(l.colour)}`);
    }
  }
}

const hex = (c: [number, number, number]) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const keyImageAlt = (k: KeyImage) => `Fundus photograph of the ${EYE_TEXT[k.eye]} with the AI lesion overlay`;

/** A figure with the PNG inline (data: URL, so the page needs nothing else), its caption and colour legend. */
function keyImageFigure(k: KeyImage): string {
  // Width and height from the PNG header (IHDR), so the page lays out before the image decodes.
  const size = ` width="${k.png.readUInt32BE(16)}" height="${k.png.readUInt32BE(20)}"`;
  const legend = k.legend.length
    ? `<ul>${k.legend.map((l) => `<li><span style="display:inline-block;width:1em;height:1em;background:${hex(l.colour)}"></span> ${escapeHtml(l.label)}</li>`).join('')}</ul>`
    : '';
  return `<figure><img src="data:image/png;base64,${k.png.toString('base64')}" alt="${escapeHtml(keyImageAlt(k))}"${size} style="max-width:100%;height:auto">`
    + `<figcaption>${escapeHtml(k.caption)}</figcaption>${legend}</figure>`;
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
  (input.keyImages ?? []).forEach(checkKeyImage);
  const figures = input.keyImages?.length
    ? `<h2>Key images (AI lesion overlay)</h2>${input.keyImages.map(keyImageFigure).join('')}`
    : '';
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Fundus photograph analysis</title></head><body>`
    + `<h1>Fundus photograph analysis (preliminary, AI-generated)</h1>${paragraphs.join('')}<h2>Positive findings</h2>${table}${figures}`
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
    // The key images also on their own, for a receiver that shows attachments but not HTML.
    ...(input.keyImages ?? []).map((k): Attachment => ({
      contentType: 'image/png', data: k.png.toString('base64'), size: k.png.length,
      title: `Key image, ${EYE_TEXT[k.eye]}: AI lesion overlay (not for clinical use)`, creation: input.issued,
    })),
  ];
  return report;
}
