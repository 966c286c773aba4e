// Stage 3: the report. The findings become a per-eye screening summary (src/report/eye-summary.ts), compared with
// the patient's previous analysed study when OphGate holds one; the summary becomes the narrative
// (src/llm/narrative-writer.ts: the LLM's text when a model is loaded and its text passes the grounding guard,
// else src/report/narrative.ts, the deterministic writer); and everything becomes FHIR R4 resources (src/report/fhir/), kept in the store
// (served read-only under /fhir) for the fhir-export stage to send.
//
// A report a clinician has signed is never put back to preliminary: a re-analysis that changes it makes it
// "amended" and drops the signer, so it needs signing again (docs/conformance.md, FHIR report).
import type { DiagnosticReport, Resource } from '@medplum/fhirtypes';
import { z } from 'zod';
import { compareWithPrior, summariseStudy, type PriorComparison, type StudySummary } from '../../report/eye-summary.js';
import { writeNarrative, type Narrative } from '../../report/narrative.js';
import { writeNarrativeWithLlm, type WrittenNarrative } from '../../llm/narrative-writer.js';
import { keyImagesForStudy } from '../../report/key-image.js';
import type { KeyImage } from '../../report/fhir/diagnostic-report.js';
import { buildReportBundle } from '../../report/fhir/bundle.js';
import { FhirBuildError } from '../../report/fhir/common.js';
import { imagesOfJob, studyInputOf, StoredFindingError } from '../../report/study-input.js';
import { fhirContextOf, reportResourceId } from '../../report/fhir/context.js';
import { toLocalResources } from '../../report/fhir/local-resources.js';
import type { StudyRow } from '../../store/rows.js';
import type { FindingResult } from '../../inference/finding-result.js';
import { unresolvedCodes } from '../../report/dicom-results.js';
import type { Stage, StageContext } from '../stage.js';
import { PermanentStageError } from '../stage.js';

const ISSUER = '00100021';

export const reportStage: Stage = {
  name: 'report',
  async run(ctx: StageContext) {
    const rows = ctx.store.findingsOfJob(ctx.job.id);
    if (rows.length === 0) return { note: 'no findings: no report' };
    const series = ctx.store.seriesOfStudy(ctx.study.study_uid);
    let images;
    try {
      images = imagesOfJob(rows, ctx.instances, series, ctx.study.study_date);
    } catch (err) {
      if (err instanceof StoredFindingError) throw new PermanentStageError(err.message);
      throw err;
    }
    // A model whose codes OphGate cannot resolve (a site model without its mapping) is left out, as in the SEG/SR.
    const notReported: Record<string, string> = {};
    const reportable = (f: FindingResult) => {
      const missing = unresolvedCodes(f);
      if (missing.length) notReported[f.model.name] = `code references that do not resolve (${missing.slice(0, 3).join(', ')})`;
      return missing.length === 0;
    };
    images = {
      images: images.images.map((i) => ({ ...i, findings: i.findings.filter(reportable) })).filter((i) => i.findings.length),
      studyImages: images.studyImages.map((i) => ({ ...i, findings: i.findings.filter((f) => unresolvedCodes(f).length === 0) })).filter((i) => i.findings.length),
    };
    if (images.images.length === 0) return { note: 'no model\'s findings can be coded: no report', notReported };
    const summary = summariseStudy(images.studyImages);
    const prior = priorSummary(ctx);
    const comparison: PriorComparison | undefined = prior ? compareWithPrior(summary, prior.summary) : undefined;
    const deterministic = writeNarrative(summary, comparison);
    const narrative = await narrativeOf(ctx, summary, deterministic, comparison);

    // Per eye the most telling gradable photograph with its lesions drawn on it, for the rendered report. 640 pixels
    // wide keeps a two-eye report near 1 MB, carried in the HTML and as its own attachment.
    // A picture that cannot be made costs the report its picture, not the report.
    let keyImages: KeyImage[] = [];
    let keyImageError: string | undefined;
    try {
      keyImages = await keyImagesForStudy({
        images: images.images.map((img, i) => {
          const instance = ctx.instances.find((x) => x.sop_instance_uid === img.sopInstanceUid)!;
          return { dicomPath: ctx.store.blobPath(instance), frame: img.frame, laterality: images.studyImages[i]!.laterality, findings: img.findings };
        }),
        dataDir: ctx.store.dataDir, decode: (file) => ctx.services.decode(file), maxWidth: 640,
      });
    } catch (err) {
      keyImageError = (err as Error).message;
      ctx.logger.warn({ error: keyImageError }, 'no key images for the report');
    }

    // Issued = when the findings were made, so a retried stage builds the same resources.
    const issued = new Date(Math.max(...rows.map((r) => r.created_at))).toISOString();
    let resources: Resource[];
    try {
      const bundle = buildReportBundle({
        study: studyInputOf(ctx.study, series, ctx.instances),
        images: images.images, narrative: narrative.text, narrativeSource: narrative.producedBy, issued,
        ...(comparison && prior ? { comparison: { comparison, priorStudyUid: prior.studyUid } } : {}),
        ...(keyImages.length ? { keyImages } : {}),
      }, fhirContextOf(ctx.services.config, ctx.services.publicBaseUrl()));
      resources = toLocalResources(bundle);
    } catch (err) {
      // No PatientID, or a code that does not resolve: retrying will not mend it.
      if (err instanceof FhirBuildError) throw new PermanentStageError(err.message);
      throw err;
    }
    const reportId = reportResourceId(ctx.study.study_uid);
    resources = resources.map((r) => (r.resourceType === 'DiagnosticReport' && r.id === reportId ? keepSignedStatus(ctx, r) : r));
    const saved = ctx.store.fhir.save(ctx.study.study_uid, resources);

    const report = saved.find((s) => s.resourceType === 'DiagnosticReport');
    ctx.logger.info({ diagnosticReport: report ? `DiagnosticReport/${report.id}` : null, resources: saved.length, prior: prior?.studyUid ?? null }, 'report written');
    return {
      narrative: {
        text: narrative.text, producedBy: narrative.producedBy, sections: deterministic.sections,
        ...(narrative.attempts.length ? { attempts: narrative.attempts } : {}),
        ...(narrative.fallbackReason ? { fallbackReason: narrative.fallbackReason } : {}),
      },
      summary,
      ...(comparison && prior ? { comparison, priorStudyUid: prior.studyUid } : {}),
      keyImages: keyImages.map((k) => ({ eye: k.eye, caption: k.caption, bytes: k.png.length })),
      ...(keyImageError ? { keyImageError } : {}),
      diagnosticReport: report ? { id: report.id, versionId: report.versionId, outcome: report.outcome } : null,
      ...(Object.keys(notReported).length ? { notReported } : {}),
      resources: saved.map((s) => ({ type: s.resourceType, id: s.id, versionId: s.versionId, outcome: s.outcome })),
    };
  },
};

/**
 * The narrative: the LLM's when one is loaded and its text passes the grounding guard, else the deterministic one.
 * A model that fails (timeout, busy, error) costs the report its LLM text, never the report.
 */
async function narrativeOf(ctx: StageContext, summary: StudySummary, deterministic: Narrative, comparison?: PriorComparison): Promise<WrittenNarrative> {
  const llm = ctx.services.llm;
  if (!llm) return { text: deterministic.text, producedBy: deterministic.producedBy, attempts: [] };
  try {
    const written = await writeNarrativeWithLlm(llm, summary, deterministic, ctx.services.config.llm.narrativeFormat, { signal: ctx.signal, ...(comparison ? { comparison } : {}) });
    if (written.fallbackReason) ctx.logger.warn({ attempts: written.attempts.map((a) => a.guard.violations.map((v) => v.kind)) }, 'LLM narrative failed the guard: deterministic narrative used');
    return written;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.logger.warn({ error: (err as Error).message }, 'LLM narrative failed: deterministic narrative used');
    return { text: deterministic.text, producedBy: deterministic.producedBy, attempts: [], fallbackReason: `the language model failed: ${(err as Error).message}` };
  }
}

/**
 * A DiagnosticReport already signed (final or amended) stays as it is when the new one says the same; when it
 * says something else it becomes "amended" without the signer, who signed what it said before.
 */
function keepSignedStatus(ctx: StageContext, next: Resource): Resource {
  const dr = next as DiagnosticReport;
  const current = ctx.store.fhir.read('DiagnosticReport', dr.id!);
  if (!current || (current.status !== 'final' && current.status !== 'amended')) return dr;
  const content = (r: DiagnosticReport) => JSON.stringify([r.conclusion, r.conclusionCode ?? [], r.result ?? [], r.imagingStudy ?? []]);
  if (content(current) === content(dr)) {
    const { meta: _meta, ...kept } = current;
    return kept as Resource;
  }
  return { ...dr, status: 'amended' };
}

const storedSummary = z.object({
  summary: z.object({
    studyDate: z.string().nullable(),
    eyes: z.object({ R: z.object({ status: z.string() }).passthrough(), L: z.object({ status: z.string() }).passthrough() }).passthrough(),
  }).passthrough(),
}).passthrough();

/**
 * The summary of this patient's newest earlier study OphGate has reported on: same PatientID and the same
 * IssuerOfPatientID (both absent counts as the same), an earlier study date (and time), a report stage result.
 */
function priorSummary(ctx: StageContext): { studyUid: string; summary: StudySummary } | undefined {
  const me = ctx.study;
  if (!me.patient_id || !me.study_date) return undefined;
  const issuer = issuerOf(me);
  const key = (s: StudyRow) => `${s.study_date ?? ''}|${(s.study_time ?? '').padEnd(13, '0')}`;
  const earlier = ctx.store.studiesOfPatient(me.patient_id)
    .filter((s) => s.study_uid !== me.study_uid && s.study_date && issuerOf(s) === issuer && key(s) < key(me))
    .sort((a, b) => (key(a) < key(b) ? 1 : -1));
  for (const s of earlier) {
    const stored = ctx.store.latestStageResult(s.study_uid, 'report');
    const parsed = storedSummary.safeParse(stored?.result);
    if (parsed.success) return { studyUid: s.study_uid, summary: parsed.data.summary as unknown as StudySummary };
  }
  return undefined;
}

function issuerOf(s: StudyRow): string {
  const v = (s.attributes as Record<string, { Value?: unknown[] }>)[ISSUER]?.Value?.[0];
  return typeof v === 'string' ? v.trim() : '';
}
