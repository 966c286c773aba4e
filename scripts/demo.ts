// `npm run demo`: starts the gateway with embedded defaults, sends the sample study (and a chest image that
// must be ignored) over real HTTP STOW-RS, waits for assembly, routing, decoding and the models' findings,
// and prints what happened.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log/logger.js';
import { Gateway } from '../src/gateway.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import type { ManifestEntry } from './make-fixtures.js';
import type { FindingResult } from '../src/inference/finding-result.js';

type ManifestFile = Pick<ManifestEntry, 'path' | 'valid' | 'ophthalmic' | 'studyInstanceUid' | 'laterality' | 'encoding'>;

const keepRunning = process.argv.includes('--keep-running');
// The demo loads the bundled chat model to show the narrative and the case dialogue, although the gateway's default
// leaves it off (it misses some evaluation targets, models/llm/MODEL_CARD.md); --no-llm shows the gateway's default.
const withLlm = !process.argv.includes('--no-llm');
const fixtures = path.join(PROJECT_ROOT, 'fixtures');
const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as { files: ManifestFile[] };
const sample = manifest.files.filter((f) => f.valid && f.path.startsWith('op-jpeg-baseline-idrid'));
const chest = manifest.files.filter((f) => f.valid && !f.ophthalmic);
const dataDir = path.join(PROJECT_ROOT, 'data', 'demo');
rmSync(dataDir, { recursive: true, force: true });

// A one-off API key for this run (OphGate keeps only its SHA-256): it reads the report and signs it as a demo clinician.
const demoKey = randomBytes(24).toString('base64url');
const config = loadConfig({
  overrides: {
    dataDir, 'http.port': Number(process.env.OPHGATE_HTTP__PORT ?? 0), 'dimse.port': 0, 'assembly.settleSeconds': 2, 'log.level': 'warn',
    ...(withLlm ? { 'llm.enabled': true } : {}),
    'auth.apiKeys': [{
      name: 'demo-clinician', sha256: createHash('sha256').update(demoKey).digest('hex'), scopes: ['report:read', 'report:sign', 'case:dialogue'],
      practitioner: { name: 'Demo Ophthalmologist (not a real clinician)', identifierValue: 'demo-0001' },
    }],
  },
});
const gateway = await Gateway.start(config, { logger: createLogger('warn', process.stderr) });
const base = gateway.baseUrl;
const say = (s = '') => console.log(s);
say(`OphGate is running: HTTP ${base}, DIMSE ${config.dimse.host}:${gateway.dimsePort} (AE ${config.dimse.aeTitle}), data in ${path.relative(process.cwd(), dataDir)}/`);

// 1. STOW-RS: one multipart/related request carrying every file.
const files = [...sample, ...chest];
const boundary = `ophgate-demo-${randomUUID()}`;
const parts: Buffer[] = [];
for (const f of files) {
  parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), readFileSync(path.join(fixtures, f.path)), Buffer.from('\r\n'));
}
parts.push(Buffer.from(`--${boundary}--\r\n`));
const stow = await fetch(`${base}/dicomweb/studies`, {
  method: 'POST',
  headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: 'application/dicom+json' },
  body: Buffer.concat(parts),
});
const stowBody = (await stow.json()) as Record<string, { Value?: Array<Record<string, { Value?: unknown[] }>> }>;
const referenced = stowBody['00081199']?.Value ?? [];
const failed = stowBody['00081198']?.Value ?? [];
say();
say(`1. STOW-RS POST ${base}/dicomweb/studies with ${files.length} instances -> HTTP ${stow.status}: ${referenced.length} stored, ${failed.length} failed`);
for (const f of files) say(`     ${f.path}  (${f.ophthalmic ? `ophthalmic, ${f.laterality === 'R' ? 'right' : 'left'} eye, ${f.encoding}` : 'not ophthalmic'})`);

// 2. Assembly, routing and the pipeline.
const studyUids = [...new Set(files.map((f) => f.studyInstanceUid!))];
const deadline = Date.now() + 120_000;
type Job = { id: number; studyInstanceUid: string; state: string; stage: string | null; lastError: string | null };
let jobs: Job[] = [];
for (;;) {
  const studies = studyUids.map((u) => gateway.ctx.store.getStudy(u));
  jobs = (await (await fetch(`${base}/api/jobs`)).json()) as Job[];
  const settled = studies.every((s) => s?.state === 'settled');
  const ophthalmic = studies.filter((s) => s?.routing === 'ophthalmic').map((s) => s!.study_uid);
  if (settled && ophthalmic.every((u) => jobs.some((j) => j.studyInstanceUid === u && (j.state === 'done' || j.state === 'dead')))) break;
  if (Date.now() > deadline) throw new Error('the demo study was not processed within 2 minutes');
  await new Promise((r) => setTimeout(r, 200));
}
say();
say(`2. Studies assembled after ${config.assembly.settleSeconds} s without new instances, then routed by mappings/routing-rules.json:`);
for (const uid of studyUids) {
  const s = (await (await fetch(`${base}/api/studies/${uid}`)).json()) as { routing: string; routingReason: string; instances: number };
  say(`     study ${uid}: ${s.instances} instance(s), ${s.routing}: ${s.routingReason}`);
}

say();
say('3. Pipeline jobs:');
for (const j of jobs) {
  const detail = (await (await fetch(`${base}/api/jobs/${j.id}`)).json()) as { state: string; lastError: string | null; stages: Array<{ stage: string; durationMs: number; result: { images?: Array<{ sopInstanceUid: string; codestream?: string; sourcePhotometric: string; frames: Array<{ rows: number; columns: number; file: string }> }> } }> };
  say(`     job ${j.id} for study ${j.studyInstanceUid}: ${detail.state}${detail.lastError ? ` (${detail.lastError})` : ''}`);
  for (const s of detail.stages) {
    say(`       stage ${s.stage} (${s.durationMs} ms)${s.stage === 'decode' ? ':' : ''}`);
    if (s.stage !== 'decode') continue;
    for (const img of s.result.images ?? []) {
      const f = img.frames[0]!;
      say(`         ${img.sopInstanceUid}: ${img.sourcePhotometric} ${img.codestream ?? ''} -> ${f.columns}x${f.rows} RGB, ${path.join(path.relative(process.cwd(), dataDir), f.file)}`);
    }
  }
}

// 4. Findings, as GET /api/studies/{study}/findings serves them.
say();
say('4. Findings (research models; not for clinical use):');
for (const uid of studyUids) {
  const url = `${base}/api/studies/${uid}/findings`;
  const f = (await (await fetch(url)).json()) as FindingsBody;
  if (f.status === 'not analysed') continue;
  say(`     GET ${url} -> ${f.status}; models: ${f.models.map((m) => `${m.name} ${m.version} (${m.provider})`).join(', ') || 'none loaded'}`);
  for (const img of f.images) {
    const eye = img.results[0]?.laterality === 'R' ? 'right eye' : img.results[0]?.laterality === 'L' ? 'left eye' : 'eye not stated';
    say(`       image ${img.sopInstanceUid} (${eye}):`);
    for (const r of img.results) for (const line of describeFinding(r)) say(`         ${line}`);
  }
}

// 5. The DICOM results (SEG, SR), as GET /api/studies/{study}/results lists them; no export destination is
// configured in the demo, so they stay in OphGate, served by its own QIDO-RS and WADO-RS.
say();
say('5. DICOM results written into the source studies (IHE AI Results):');
for (const uid of studyUids) {
  const r = (await (await fetch(`${base}/api/studies/${uid}/results`)).json()) as { qidoRs: string; results: Array<{ kind: string; sopInstanceUid: string; seriesInstanceUid: string; source?: { sopInstanceUid: string } }> };
  if (r.results.length === 0) continue;
  say(`     study ${uid}:`);
  for (const x of r.results) say(`       ${x.kind === 'SEG' ? 'SEG' : 'SR '} ${x.sopInstanceUid}${x.source ? `  (of image ${x.source.sopInstanceUid})` : '  (TID 1500 measurement report)'}`);
  const series = [...new Set(r.results.map((x) => x.seriesInstanceUid))];
  for (const s of series) {
    const url = `${base}/dicomweb/studies/${uid}/series/${s}/instances`;
    const n = ((await (await fetch(url)).json()) as unknown[]).length;
    say(`       QIDO-RS ${url} -> ${n} instance(s)`);
  }
}

// 6. The FHIR report: the DiagnosticReport (preliminary, served under /fhir; no EHR is configured in the demo), its
// conclusion, and a clinician's sign-off that makes it final.
say();
say('6. FHIR R4 report (DiagnosticReport with Observations, ImagingStudy, Patient, Device, Provenance):');
const auth = { authorization: `Bearer ${demoKey}` };
for (const uid of studyUids) {
  const res = await fetch(`${base}/api/studies/${uid}/report`, { headers: auth });
  if (res.status === 404) continue;
  const report = (await res.json()) as { status: string; fhir: string; conclusion: string; narrativeProducedBy: string };
  say(`     GET ${report.fhir} -> ${report.status}, narrative by ${report.narrativeProducedBy}; conclusion:`);
  for (const line of report.conclusion.split('\n')) say(`       | ${line}`);
  const signed = (await (await fetch(`${base}/api/studies/${uid}/report/sign`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).json()) as { outcome: string; status: string; versionId: number; signer: string };
  say(`     POST ${base}/api/studies/${uid}/report/sign (API key with scope report:sign) -> ${signed.outcome}: ${signed.status}, version ${signed.versionId}, signed by ${signed.signer}`);
  say(`     Versions: GET ${report.fhir}/_history`);
  // Turns of the case dialogue: two the local LLM answers from this case's findings and report (given the question
  // router's canonical question; an answer that fails the grounding guard is replaced), a general question the
  // knowledge base answers with its sources, and one the scope gate keeps from the model (a dose).
  let conversationId: string | undefined;
  for (const question of ['What grade of retinopathy was found?', 'Which eye needs attention, and how soon?', 'How is proliferative retinopathy treated?', 'How many units of insulin should I take?']) {
    const turn = await fetch(`${base}/api/cases/${uid}/dialogue`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ message: question, ...(conversationId ? { conversationId } : {}) }) });
    const answer = (await turn.json()) as { conversationId?: string; answer?: string; model?: string; replaced?: boolean; gate?: string; route?: { question: string }; error?: string };
    conversationId ??= answer.conversationId;
    say(`     POST ${base}/api/cases/${uid}/dialogue {"message": "${question}"} -> HTTP ${turn.status}`);
    const how = [
      answer.gate && answer.gate !== 'answer' ? `scope gate: ${answer.gate}` : '',
      answer.route && answer.model !== 'knowledge-base' ? `asked as "${answer.route.question}"` : '',
      answer.replaced ? 'its answers failed the grounding guard; replaced' : '',
    ].filter(Boolean).join('; ');
    if (answer.answer) say(`       ${answer.model}${how ? ` (${how})` : ''}: ${answer.answer.replace(/\n+/g, ' ')}`);
    else say(`       ${answer.error}`);
  }
}

// 7. Where to look.
const qido = `${base}/dicomweb/studies?PatientName=OPHGATE*&includefield=ModalitiesInStudy`;
const found = (await (await fetch(qido)).json()) as unknown[];
say();
say(`7. QIDO-RS ${qido} finds ${found.length} studies.`);
if (keepRunning) {
  say(`   Look further (running until Ctrl-C):`);
  say(`     curl '${base}/dicomweb/studies'   curl '${base}/api/jobs'   curl '${base}/metrics'`);
  process.on('SIGINT', () => void gateway.stop().then(() => process.exit(0)));
} else {
  await gateway.stop();
  const dir = path.relative(process.cwd(), dataDir);
  const served = 'http://127.0.0.1:8042';
  say('   The demo gateway has stopped. To look further, serve its data and ask it:');
  say(`     npm run ophgate -- serve --data-dir ${dir}`);
  say(`     curl '${served}/dicomweb/studies'                         # QIDO-RS`);
  say(`     curl '${served}/dicomweb/studies/${sample[0]!.studyInstanceUid}/metadata'   # WADO-RS metadata`);
  say(`     curl '${served}/api/jobs'   curl '${served}/metrics'   curl '${served}/readyz'`);
  say(`     curl '${served}/api/studies/${sample[0]!.studyInstanceUid}/findings'`);
  say(`     curl '${served}/fhir/DiagnosticReport?status=final'   curl '${served}/fhir/metadata'`);
  say(`   Decoded images and lesion masks: ${dir}/derived/ ; stored DICOM files: ${dir}/blobs/ (content-addressed)`);
}

type FindingsBody = { status: string; models: Array<{ name: string; version: string; provider: string }>; images: Array<{ sopInstanceUid: string; results: FindingResult[] }> };

/** A few readable lines per model result: decisions first, then the numbers behind them. */
function describeFinding(r: FindingResult): string[] {
  const pct = (p: number) => `${(100 * p).toFixed(1)}%`;
  const lines: string[] = [];
  const positive = r.labels.filter((l) => l.positive).map((l) => `${l.name} ${pct(l.probability)}`);
  if (r.labels.length > 0) lines.push(`${r.model.name}: positive: ${positive.join(', ') || 'none'}`);
  for (const g of r.grades) lines.push(`  ${g.output}: ${g.predicted.key} ${g.predicted.name} (${pct(g.predicted.probability)})`);
  for (const d of r.derived) lines.push(`  ${d.name}: ${pct(d.probability)}${d.threshold !== undefined ? ` (threshold ${pct(d.threshold)}: ${d.positive ? 'yes' : 'no'})` : ''}`);
  if (r.lesions.length > 0) {
    lines.push(`${r.model.name}: ${r.lesions.map((l) => `${l.name} ${l.areaPx} px${l.components !== null ? ` in ${l.components}` : ''}`).join('; ')}`);
  }
  for (const m of r.measurements) lines.push(`  ${m.name.replaceAll('_', ' ')}: ${m.value === null ? 'not measurable (no disc found)' : m.value.toFixed(2)}`);
  return lines;
}
