// The DICOM half of `npm run eval`: every SEG and SR OphGate writes must pass dicom3tools' dciodvfy (IOD) and
// dcentvfy (entity consistency with its sources) without an Error. For each IDRiD test image the eval visits, the
// JPEG is wrapped as an Ophthalmic Photography instance (src/dicom/op-wrapper.ts, as the fixtures are), every model
// the registry loaded runs on the image (as the gateway's findings stage runs them), the findings become
// FindingResults (toFindingResult) and then a SEG per segmenting model and one SR through the results stage's own
// code (src/report/dicom-results.ts), under the gateway's default results settings. Each image is a study of its
// own (patient OPHGATE^EVAL); the files go to a temporary folder, kept when something failed.
//
// Counted: Error lines (any one fails the check), Warning lines by kind, with the one warning OphGate expects
// ("Unrecognized defined term <99OPHGATE>": OphGate's private coding scheme, which dciodvfy cannot know) apart.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../config/schema.js';
import { OPHGATE_IMPLEMENTATION_CLASS_UID, OPHGATE_IMPLEMENTATION_VERSION_NAME } from '../../dicom/dimse/implementation.js';
import { firstString } from '../../dicom/json-model.js';
import {
  baselineYbr422FrameInfo, jpegBaselinePixels, lateralityFromDisc, nameBasedUid, opticDiscCentroid, part10, photoDataset,
} from '../../dicom/op-wrapper.js';
import { readInstanceHeader } from '../../dicom/part10-header.js';
import { deriveUid } from '../../dicom/uid.js';
import { buildDicomResults, type ResultObject } from '../../report/dicom-results.js';
import { toFindingResult } from '../finding-result.js';
import type { ImageInference, Inference } from '../model-registry.js';
import { parseCsv, SEG_CHANNELS, type ClsRecord, type SegRecord } from './records.js';

export const DICOM_TOOLS = ['dciodvfy', 'dcentvfy'] as const;
/** OphGate's private coding scheme (mappings/): dciodvfy warns that it does not know it, as it must. */
export const ALLOWED_WARNING = /Unrecognized defined term <99OPHGATE>/;
/** Namespace of the eval's source UIDs (name-based, as the fixtures'); an arbitrary fixed UUID. */
const EVAL_NAMESPACE = '0b7d4c1e-7f53-4c55-a0b4-3e2f9d8a61c7';
const STUDY_DATE = '20240311';

/** The dicom3tools programs that are not on the PATH. */
export function missingDicomTools(): string[] {
  return DICOM_TOOLS.filter((tool) => (spawnSync(tool, [], { stdio: 'ignore' }).error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT');
}

export interface ObjectCounts { OP: number; SEG: number; SR: number }

export interface DicomCheckSummary {
  ok: boolean;
  images: number;
  /** Objects written: the wrapped sources and what OphGate made of them. */
  written: ObjectCounts;
  /** Files dciodvfy checked, and dcentvfy runs (each SEG with its source, each SR with its sources). */
  checked: { dciodvfy: number; dcentvfy: number };
  /** Error lines of the SEGs and SRs (dciodvfy and dcentvfy). */
  errors: number;
  /** Warning lines other than the allowed one. */
  warnings: number;
  allowedWarnings: number;
  /** Error / Warning lines by kind (UIDs, item indexes and folder left out), with how often each came. */
  errorsByKind: Record<string, number>;
  warningsByKind: Record<string, number>;
  /** Errors of the wrapped OP sources (the check's own input; any one also fails the check). */
  sourceErrors: number;
  sourceErrorsByKind: Record<string, number>;
  /** Images whose objects could not be built (OphGate refused its own input), with the reason. */
  buildFailures: { image: string; error: string }[];
  /** Models whose findings were left out of the objects, with the reason. */
  notReported: Record<string, string>;
  /** The first few failing files with their lines. */
  examples: { file: string; tool: string; lines: string[] }[];
  /** Where the files are (kept only when the check failed). */
  dir: string | null;
}

function countBy(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

/** The line as a kind: no UIDs, item indexes, file names or folder, so the same fault on every image counts once. */
function kindOf(line: string, dir: string): string {
  return line.split(dir).join('')
    .replace(/\b\d+(\.\d+){3,}\b/g, '<uid>')
    .replace(/\[\d+\]/g, '[n]')
    .replace(/[\w./-]*\.dcm\b/g, '<file>')
    .trim();
}

function run(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${tool} could not run: ${r.error.message}`);
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/**
 * IDRiD gives no laterality; as scripts/make-fixtures.ts does, it is read off the optic disc (its side of the
 * image): the reference disc mask of a segmentation image, the published disc centre of a grading image. null when
 * neither is there or the disc is too central to tell.
 */
export async function idridLaterality(dataDir: string, rec: SegRecord | ClsRecord, width: number): Promise<'R' | 'L' | null> {
  try {
    if ('masks' in rec) {
      const od = rec.masks.OD;
      if (!od || !rec.known[SEG_CHANNELS.indexOf('OD')]) return null;
      return lateralityFromDisc((await opticDiscCentroid(path.join(dataDir, od))).x, width);
    }
    const name = path.parse(rec.image).name;
    for (const split of [rec.officialSplit, 'test', 'train']) {
      const file = path.join(dataDir, 'idrid', 'localization', `optic_disc_center_${split}_fullres.csv`);
      const row = existsSync(file) ? parseCsv(readFileSync(file, 'utf8')).find((r) => r.image === name) : undefined;
      // The centres are given at full size (4288 wide); the images are quarter size.
      if (row) return lateralityFromDisc(Number(row.x) / 4, width);
    }
  } catch {
    // a disc too central to decide, or no disc in the mask: unknown (the OP says U)
  }
  return null;
}

export class DicomResultsCheck {
  private readonly settings = configSchema.parse({});
  private images = 0;
  private readonly written: ObjectCounts = { OP: 0, SEG: 0, SR: 0 };
  private readonly checked = { dciodvfy: 0, dcentvfy: 0 };
  private errors = 0;
  private warnings = 0;
  private allowedWarnings = 0;
  private sourceErrors = 0;
  private readonly errorsByKind: Record<string, number> = {};
  private readonly warningsByKind: Record<string, number> = {};
  private readonly sourceErrorsByKind: Record<string, number> = {};
  private readonly buildFailures: { image: string; error: string }[] = [];
  private readonly notReported: Record<string, string> = {};
  private readonly examples: DicomCheckSummary['examples'] = [];
  /** Seconds spent here (wrapping, the other models, building, the validators), for the eval's timing figures. */
  seconds = 0;

  private constructor(readonly dir: string, private readonly dataDir: string, private readonly registry: Inference) {}

  static create(dataDir: string, registry: Inference): DicomResultsCheck {
    return new DicomResultsCheck(mkdtempSync(path.join(os.tmpdir(), 'ophgate-eval-dicom-')), dataDir, registry);
  }

  /**
   * Checks one IDRiD test image (the record's image, relative to the data folder). `have` holds results the eval
   * already has for this image; every other loaded model is run here, so the image gets every model's findings, in
   * the registry's order.
   */
  async checkImage(rec: SegRecord | ClsRecord, have: Record<string, ImageInference> = {}): Promise<void> {
    const t0 = performance.now();
    try {
      await this.checkOne(rec, have);
    } finally {
      this.seconds += (performance.now() - t0) / 1000;
    }
  }

  private async checkOne(rec: SegRecord | ClsRecord, have: Record<string, ImageInference>): Promise<void> {
    const image = rec.image;
    const n = ++this.images;
    const stem = `${String(n).padStart(4, '0')}-${path.parse(image).name}`;
    const folder = path.join(this.dir, stem);
    mkdirSync(folder, { recursive: true });
    const jpegFile = path.join(this.dataDir, image);
    const jpeg = readFileSync(jpegFile);
    const frame = baselineYbr422FrameInfo(jpeg, image);
    const laterality = await idridLaterality(this.dataDir, rec, frame.width);
    const uid = (what: string) => nameBasedUid(EVAL_NAMESPACE, `${image}/${what}`);
    const op = part10(photoDataset({
      study: {
        uid: uid('study'), date: STUDY_DATE, time: '120000', accession: `EVAL${String(n).padStart(6, '0')}`, studyId: String(n),
        description: 'OphGate npm run eval: IDRiD test image', referrer: '',
        patient: { name: 'OPHGATE^EVAL', id: 'OPHGATE-EVAL', birthDate: '', sex: '' },
      },
      series: { uid: uid('series'), number: 1, description: 'IDRiD test image' },
      sopInstanceUid: uid('instance'), instanceNumber: 1, contentTime: '120100',
      equipment: { manufacturer: 'OphGate npm run eval', modelName: 'eval-models' },
      comments: `IDRiD ${image} (CC BY 4.0, Porwal et al., Data 3(3):25, 2018), wrapped as DICOM by OphGate npm run eval`,
      rows: frame.height, columns: frame.width, laterality: laterality ?? 'U', pixels: jpegBaselinePixels(jpeg),
      jpegRatio: ((frame.width * frame.height * 3) / jpeg.length).toFixed(2),
    }), jpegBaselinePixels(jpeg).transferSyntax, { classUid: OPHGATE_IMPLEMENTATION_CLASS_UID, versionName: OPHGATE_IMPLEMENTATION_VERSION_NAME });
    const opFile = path.join(folder, 'op.dcm');
    writeFileSync(opFile, op);
    this.written.OP++;
    this.checkFile(opFile, 'OP');
    // The source's attributes as the gateway stores them (the PS3.10 header gate), and its laterality as the
    // findings stage reads it.
    const header = await readInstanceHeader(opFile, op.length);
    const attrs = header.attributes;
    const findingLaterality = firstString(attrs, '00200062') ?? null;

    const masks = new Map<string, Uint8Array>();
    const findings = [];
    for (const model of this.registry.models) {
      const r = have[model.name] ?? (await this.registry.run(model.name, [jpegFile]))[0]!;
      const refs: Record<string, string> = {};
      for (const o of Object.values(r.outputs)) {
        if (o.kind !== 'masks') continue;
        for (const c of o.channels) {
          // The gateway writes masks as PNG files and names them in the finding; here the name points into memory.
          const ref = `${model.name}/${o.name}/${c.key}`;
          masks.set(ref, c.mask);
          refs[`${o.name}/${c.key}`] = ref;
        }
      }
      findings.push(toFindingResult(r, refs, findingLaterality));
    }

    const objects: ResultObject[] = [];
    try {
      const outcome = await buildDicomResults({
        images: [{ source: { sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid, seriesUid: header.seriesInstanceUid, attributes: attrs }, frame: 1, findings }],
        uid: (...parts) => deriveUid(this.settings.dicom.uidRoot, 'ophgate-eval', image, ...parts),
        contentDateTime: new Date(),
        settings: this.settings.results,
        readMask: async (ref, width, height) => {
          const m = masks.get(ref);
          if (!m || m.length !== width * height) throw new Error(`mask ${ref} is not a ${width}x${height} mask of this image`);
          return m;
        },
      }, async (o) => { objects.push(o); });
      Object.assign(this.notReported, outcome.notReported);
    } catch (err) {
      this.buildFailures.push({ image, error: (err as Error).message });
      return;
    }
    const files: Record<string, string> = {};
    let segs = 0;
    for (const o of objects) {
      const file = path.join(folder, o.kind === 'SEG' ? `seg-${++segs}.dcm` : 'sr.dcm');
      writeFileSync(file, o.bytes);
      files[o.sopInstanceUid] = file;
      this.written[o.kind]++;
      // Every object of this study has the one source, so "with its sources" is the OP file for the SR too.
      this.checkFile(file, o.kind, [opFile]);
    }
  }

  /** dciodvfy on `file`, and dcentvfy on it with its `sources` when there are any; counted in the summary. */
  checkFile(file: string, kind: 'OP' | 'SEG' | 'SR', sources: string[] = []): void {
    this.checked.dciodvfy++;
    this.tally(file, 'dciodvfy', kind, run('dciodvfy', [file]).split('\n'));
    if (sources.length === 0) return;
    this.checked.dcentvfy++;
    this.tally([file, ...sources].join(' '), 'dcentvfy', kind, run('dcentvfy', [file, ...sources]).split('\n'));
  }

  private tally(file: string, tool: string, kind: 'OP' | 'SEG' | 'SR', lines: string[]): void {
    const errors = lines.filter((l) => l.startsWith('Error'));
    const warnings = lines.filter((l) => l.startsWith('Warning'));
    for (const e of errors) {
      const k = `${kind} ${tool}: ${kindOf(e, this.dir)}`;
      if (kind === 'OP') {
        this.sourceErrors++;
        countBy(this.sourceErrorsByKind, k);
      } else {
        this.errors++;
        countBy(this.errorsByKind, k);
      }
    }
    const other = warnings.filter((w) => !ALLOWED_WARNING.test(w));
    this.allowedWarnings += warnings.length - other.length;
    for (const w of other) {
      this.warnings++;
      countBy(this.warningsByKind, `${kind} ${tool}: ${kindOf(w, this.dir)}`);
    }
    if ((errors.length || other.length) && this.examples.length < 5) {
      const rel = (text: string) => text.split(this.dir + path.sep).join('');
      this.examples.push({ file: rel(file), tool, lines: [...errors, ...other].slice(0, 20).map(rel) });
    }
  }

  get ok(): boolean {
    return this.errors === 0 && this.sourceErrors === 0 && this.buildFailures.length === 0 && Object.keys(this.notReported).length === 0;
  }

  /** The summary; removes the files when the check passed (they are kept for a look when it did not). */
  finish(): DicomCheckSummary {
    const ok = this.ok;
    if (ok) rmSync(this.dir, { recursive: true, force: true });
    return {
      ok, images: this.images, written: { ...this.written }, checked: { ...this.checked },
      errors: this.errors, warnings: this.warnings, allowedWarnings: this.allowedWarnings,
      errorsByKind: this.errorsByKind, warningsByKind: this.warningsByKind,
      sourceErrors: this.sourceErrors, sourceErrorsByKind: this.sourceErrorsByKind,
      buildFailures: this.buildFailures, notReported: this.notReported, examples: this.examples,
      dir: ok ? null : this.dir,
    };
  }
}

/** The summary as the eval prints it. */
export function formatDicomSummary(s: DicomCheckSummary): string[] {
  const out = [
    `DICOM check: ${s.images} IDRiD test images wrapped as OP; written ${s.written.SEG} SEG and ${s.written.SR} SR; ` +
    `dciodvfy on ${s.checked.dciodvfy} files (sources included), dcentvfy ${s.checked.dcentvfy} times`,
    `DICOM check: ${s.errors} errors in SEG/SR, ${s.warnings} other warnings, ${s.allowedWarnings} allowed warnings (Unrecognized defined term <99OPHGATE>)` +
    `${s.sourceErrors ? `; ${s.sourceErrors} errors in the wrapped OP sources` : ''}`,
  ];
  const list = (title: string, by: Record<string, number>) => {
    const rows = Object.entries(by).sort((a, b) => b[1] - a[1]);
    if (rows.length) out.push(`  ${title}:`, ...rows.map(([k, v]) => `    ${String(v).padStart(5)}  ${k}`));
  };
  list('errors by kind', s.errorsByKind);
  list('warnings by kind', s.warningsByKind);
  list('OP source errors by kind', s.sourceErrorsByKind);
  for (const f of s.buildFailures) out.push(`  could not build the objects of ${f.image}: ${f.error}`);
  for (const [m, why] of Object.entries(s.notReported)) out.push(`  ${m}: findings not in the SEG/SR: ${why}`);
  if (s.dir) out.push(`  the files are kept in ${s.dir}`);
  out.push(s.ok ? 'DICOM check: passed' : 'DICOM check: FAILED');
  return out;
}
