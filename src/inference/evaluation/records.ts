// The evaluation records of models/train/data.py, read from the same fixed split CSVs (models/train/splits/) with
// the same targets: classifier_records (ODIR eyes and IDRiD grading images), segmenter_records (IDRiD
// segmentation images and Drishti-GS1), the --limit rule of build_cache (the first N records of each source per
// split), and load_source_mask (the reference masks at the source image's resolution). Image and mask paths are
// relative to the data folder (../shared/data).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../project-root.js';

export const SPLITS_DIR = path.join(PROJECT_ROOT, 'models', 'train', 'splits');
export const DEFAULT_DATA_DIR = path.resolve(PROJECT_ROOT, '..', 'shared', 'data');

export const ODIR_LABELS = ['N', 'D', 'G', 'C', 'A', 'H', 'M', 'O'] as const;
export const LESIONS = ['MA', 'HE', 'EX', 'SE', 'OD'] as const;
export const SEG_CHANNELS = ['MA', 'HE', 'EX', 'SE', 'OD', 'cup'] as const;
export type SegChannel = (typeof SEG_CHANNELS)[number];
/** Drishti-GS1 soft maps hold 0/64/128/191/255 (0-4 of 4 experts): >= 128 is at least 2 of 4. */
export const DRISHTI_THRESHOLD = 128;

export interface ClsRecord {
  image: string;
  source: 'odir' | 'idrid';
  split: string;
  /** Bootstrap cluster: ODIR patient group, IDRiD identity. */
  group: string;
  multilabel: number[];
  multilabelKnown: number[];
  /** -1 unknown. */
  drGrade: number;
  dmeRisk: number;
  quality: number;
  officialSplit: string;
}

export interface SegRecord {
  image: string;
  source: 'idrid' | 'drishti';
  split: string;
  group: string;
  /** channel -> mask path ('' = absent lesion: all zero). */
  masks: Partial<Record<SegChannel, string>>;
  /** Per SEG_CHANNELS: 1 when the source annotates the channel. */
  known: number[];
  /** Drishti: mean of the experts' cup-to-disc ratios (NaN when none were given); null when not listed. */
  cdrExpert: number | null;
  officialSplit: string;
  diagnosis?: string;
}

/** RFC 4180 CSV (as Python's csv module reads it) as rows of fields: quoted fields, "" inside quotes, line breaks
 * inside quotes, \n or \r\n line ends. */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** The same CSV as records keyed by the header row; blank lines skipped. */
export function parseCsv(text: string): Record<string, string>[] {
  const [header, ...body] = parseCsvRows(text).filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, k) => [h, r[k] ?? ''])));
}

function readCsv(file: string): Record<string, string>[] {
  return parseCsv(readFileSync(file, 'utf8'));
}

/** data.py classifier_records: ODIR eyes, then IDRiD grading images; excluded rows dropped. */
export function classifierRecords(splitsDir = SPLITS_DIR): ClsRecord[] {
  const out: ClsRecord[] = [];
  for (const r of readCsv(path.join(splitsDir, 'odir.csv'))) {
    if (r.split === 'excluded') continue;
    const g = r.dr_grade_from_keywords!.trim();
    out.push({
      image: r.image!, source: 'odir', split: r.split!, group: `odir:${r.patient_group}`,
      multilabel: ODIR_LABELS.map((k) => Number(r[k])), multilabelKnown: ODIR_LABELS.map(() => 1),
      drGrade: g ? Number.parseInt(g, 10) : -1, dmeRisk: -1, quality: Number.parseInt(r.quality_flag!, 10), officialSplit: '',
    });
  }
  const iD = ODIR_LABELS.indexOf('D');
  const iN = ODIR_LABELS.indexOf('N');
  for (const r of readCsv(path.join(splitsDir, 'idrid_grading.csv'))) {
    if (r.split === 'excluded') continue;
    const dr = Number.parseInt(r.dr_grade!, 10);
    const dme = Number.parseInt(r.dme_risk!, 10);
    const ml = ODIR_LABELS.map(() => 0);
    const known = ODIR_LABELS.map(() => 0);
    ml[iD] = dr >= 1 ? 1 : 0;
    known[iD] = 1;
    // N = 0 when the eye has DR or DME risk; when both are 0, N is unknown (IDRiD graded DR and DME only).
    if (dr >= 1 || dme >= 1) known[iN] = 1;
    out.push({
      image: r.image!, source: 'idrid', split: r.split!, group: `idrid:${r.identity}`, multilabel: ml,
      multilabelKnown: known, drGrade: dr, dmeRisk: dme, quality: 0, officialSplit: r.official_split!,
    });
  }
  return out;
}

/** data.py segmenter_records: IDRiD segmentation images, then Drishti-GS1 (expert CDRs from its labels.csv). */
/** models/train/defective_masks.csv (data.py defective_masks): "image|channel" -> reason. */
export function defectiveMasks(file = path.join(PROJECT_ROOT, 'models', 'train', 'defective_masks.csv')): Map<string, string> {
  return new Map(existsSync(file) ? readCsv(file).map((r) => [`${r.image}|${r.channel}`, r.reason!]) : []);
}

export function segmenterRecords(splitsDir = SPLITS_DIR, data = DEFAULT_DATA_DIR): SegRecord[] {
  const out: SegRecord[] = [];
  const defective = defectiveMasks();
  for (const r of readCsv(path.join(splitsDir, 'idrid_segmentation.csv'))) {
    out.push({
      image: r.image!, source: 'idrid', split: r.split!, group: `idrid:${r.identity}`,
      masks: Object.fromEntries(LESIONS.map((l) => [l, r[`mask_${l}`] ?? ''])),
      known: [...SEG_CHANNELS.slice(0, 5).map((ch) => (defective.has(`${r.image}|${ch}`) ? 0 : 1)), 0], cdrExpert: null, officialSplit: r.official_split!,
    });
  }
  const cdr = new Map<string, number>();
  const labels = path.join(data, 'drishti_gs1', 'labels.csv');
  if (existsSync(labels)) {
    for (const r of readCsv(labels)) {
      const vals = r.cdr_expert_values!.split(/\s+/).filter((v) => v !== '').map(Number);
      cdr.set(r.image!, vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN);
    }
  }
  for (const r of readCsv(path.join(splitsDir, 'drishti.csv'))) {
    const name = path.parse(r.image!).name;
    out.push({
      image: r.image!, source: 'drishti', split: r.split!, group: `drishti:${name}`,
      masks: { OD: r.disc_softmap!, cup: r.cup_softmap! }, known: [0, 0, 0, 0, 1, 1],
      cdrExpert: cdr.has(name) ? cdr.get(name)! : null, officialSplit: r.official_split!, diagnosis: r.diagnosis!,
    });
  }
  return out;
}

/** The records of one split; with a limit, the first `limit` of each source (data.py build_cache's rule). */
export function splitRecords<R extends { split: string; source: string }>(records: R[], split: string, limit?: number): R[] {
  const recs = records.filter((r) => r.split === split);
  if (!limit) return recs;
  const bySource = new Map<string, R[]>(); // sources in order of first appearance, as the dict in build_cache
  for (const r of recs) {
    if (!bySource.has(r.source)) bySource.set(r.source, []);
    bySource.get(r.source)!.push(r);
  }
  return [...bySource.values()].flatMap((rs) => rs.slice(0, limit));
}

/** A single-channel 8-bit mask at the source resolution, row-major. */
export interface SourceMask { data: Uint8Array; width: number; height: number }

/** Decodes an image to 8-bit greyscale as PIL's convert('L') does (ITU-R 601-2 luma for colour images). */
async function readGrey(file: string): Promise<SourceMask> {
  const { data, info } = await sharp(file).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const out = new Uint8Array(n);
  const c = info.channels;
  if (c <= 2) for (let p = 0; p < n; p++) out[p] = data[p * c]!;
  else for (let p = 0; p < n; p++) out[p] = (data[p * c]! * 19595 + data[p * c + 1]! * 38470 + data[p * c + 2]! * 7471 + 0x8000) >> 16;
  return { data: out, width: info.width, height: info.height };
}

/**
 * data.py load_source_mask, as evaluate.py uses it (`> 0` after binarising): 1 inside the reference, 0 outside, at
 * the source resolution (IDRiD quarter size, max-pooled masks; Drishti-GS1 half size, soft maps >= 128). null when
 * the source does not annotate the channel; a known channel without a file is an all-zero mask of the image's size.
 */
export async function loadSourceMask(data: string, rec: SegRecord, channel: SegChannel): Promise<SourceMask | null> {
  if (!rec.known[SEG_CHANNELS.indexOf(channel)]) return null;
  const file = rec.masks[channel] ?? '';
  if (!file) {
    const meta = await sharp(path.join(data, rec.image)).metadata();
    return { data: new Uint8Array(meta.width! * meta.height!), width: meta.width!, height: meta.height! };
  }
  const m = await readGrey(path.join(data, file));
  const thr = rec.source === 'drishti' ? DRISHTI_THRESHOLD : 128;
  for (let p = 0; p < m.data.length; p++) m.data[p] = m.data[p]! >= thr ? 1 : 0;
  return m;
}
