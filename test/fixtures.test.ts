// The committed DICOM fixtures: each valid one passes dciodvfy, the manifest matches the files' headers, each
// malformed file carries exactly its defect, fixtures/ stays within its size budget, and the generator reproduces
// every file byte for byte when the IDRiD data is present. Pixel decoding is tested with the decoder, not here.
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../scripts/make-fixtures.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(REPO, 'fixtures');
const IDRID = path.resolve(REPO, '..', 'shared', 'data', 'idrid');
const SIZE_BUDGET = 10_000_000;

// The manifest's shape is the generator's (a type-only import: nothing of the generator runs).
type Entry = ManifestEntry;

const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { files: Entry[] };
const valid = manifest.files.filter((e) => e.valid);
const malformed = manifest.files.filter((e) => !e.valid);

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    return d.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

function read(entry: Entry): Buffer {
  return readFileSync(path.join(FIXTURES, entry.path));
}

function parse(bytes: Buffer, options?: Record<string, unknown>): dicomParser.DataSet {
  return dicomParser.parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), options);
}

/** The one frame of encapsulated Pixel Data, without the trailing pad byte of an odd-length stream. */
function singleFragment(ds: dicomParser.DataSet, bytes: Buffer): Buffer {
  const el = ds.elements['x7fe00010'];
  const fragments = el?.fragments;
  expect(fragments, 'encapsulated Pixel Data').toBeDefined();
  expect(fragments!.length).toBe(1);
  expect(el!.basicOffsetTable).toEqual([0]);
  const f = fragments![0]!;
  let data = bytes.subarray(f.position, f.position + f.length);
  // JPEG ends with EOI (FFD9), a JPEG 2000 codestream with EOC (FFD9) too: drop one zero pad byte after it.
  if (data.length >= 3 && data[data.length - 1] === 0 && data[data.length - 3] === 0xff && data[data.length - 2] === 0xd9) {
    data = data.subarray(0, data.length - 1);
  }
  return data;
}

describe('fixtures manifest', () => {
  it('lists exactly the files in fixtures/ (besides README.md and manifest.json), with their sizes and hashes', () => {
    const onDisk = walk(FIXTURES).filter((p) => p !== 'README.md' && p !== 'manifest.json').sort();
    expect(manifest.files.map((e) => e.path).sort()).toEqual(onDisk);
    for (const e of manifest.files) {
      const bytes = read(e);
      expect(bytes.length, e.path).toBe(e.sizeBytes);
      expect(sha256(bytes), e.path).toBe(e.sha256);
    }
  });

  it('covers both eyes, every encoding, a non-ophthalmic instance and the malformed cases', () => {
    const ophthalmic = valid.filter((e) => e.ophthalmic);
    expect(new Set(ophthalmic.map((e) => e.laterality))).toEqual(new Set(['R', 'L']));
    expect(new Set(ophthalmic.map((e) => e.encoding))).toEqual(
      new Set(['jpeg-baseline', 'rgb-planar0', 'rgb-planar1', 'ybr-full', 'j2k-lossless-rct']),
    );
    expect(valid.some((e) => !e.ophthalmic)).toBe(true);
    expect(malformed.map((e) => e.path).sort()).toEqual([
      'malformed/element-length-2gb.dcm',
      'malformed/missing-sop-instance-uid.dcm',
      'malformed/no-file-meta.dcm',
      'malformed/not-dicom-png.dcm',
      'malformed/truncated-pixel-data.dcm',
    ]);
    for (const e of malformed) expect(e.expectedRejection, e.path).toMatch(/\S/);
  });

  it('gives every instance its own SOP Instance UID and every patient a distinctive name and ID', () => {
    const uids = manifest.files.map((e) => e.sopInstanceUid).filter((u): u is string => u !== null);
    expect(new Set(uids).size).toBe(uids.length);
    for (const e of manifest.files.filter((f) => f.patientId !== null)) {
      expect(e.patientName).toMatch(/^OPHGATE\^/);
      expect(e.patientId).toMatch(/^OPHGATE-(FIX|BAD)-\d{4}$/);
    }
    // One patient per study.
    const byStudy = new Map<string, Set<string>>();
    for (const e of manifest.files.filter((f) => f.studyInstanceUid)) {
      byStudy.set(e.studyInstanceUid!, (byStudy.get(e.studyInstanceUid!) ?? new Set()).add(e.patientId!));
    }
    for (const ids of byStudy.values()) expect(ids.size).toBe(1);
  });

  it('says "lossless" exactly where the stored pixels give back the source RGB', () => {
    for (const e of valid.filter((f) => f.source)) {
      expect(e.lossless, e.path).toBe(e.rgbMaxAbsError === 0);
    }
    const lossless = valid.filter((e) => e.source && e.lossless).map((e) => e.encoding);
    expect(new Set(lossless)).toEqual(new Set(['rgb-planar0', 'rgb-planar1', 'j2k-lossless-rct']));
  });

  it('matches the header of every valid file (dicom-parser)', () => {
    for (const e of valid) {
      const bytes = read(e);
      const ds = parse(bytes);
      const str = (tag: string) => ds.string(tag) ?? null;
      expect(str('x00020010'), e.path).toBe(e.transferSyntaxUid);
      expect(str('x00020002'), e.path).toBe(e.sopClassUid);
      expect(str('x00020003'), e.path).toBe(e.sopInstanceUid);
      expect(str('x00080016'), e.path).toBe(e.sopClassUid);
      expect(str('x00080018'), e.path).toBe(e.sopInstanceUid);
      expect(str('x0020000d'), e.path).toBe(e.studyInstanceUid);
      expect(str('x0020000e'), e.path).toBe(e.seriesInstanceUid);
      expect(str('x00100010'), e.path).toBe(e.patientName);
      expect(str('x00100020'), e.path).toBe(e.patientId);
      expect(str('x00080050'), e.path).toBe(e.accessionNumber);
      expect(str('x00280004'), e.path).toBe(e.photometricInterpretation);
      expect(ds.uint16('x00280010'), e.path).toBe(e.rows);
      expect(ds.uint16('x00280011'), e.path).toBe(e.columns);
      expect(ds.uint16('x00280002'), e.path).toBe(e.samplesPerPixel);
      expect(ds.uint16('x00280006') ?? null, e.path).toBe(e.planarConfiguration);
      expect(str('x00200062'), e.path).toBe(e.laterality);
      if (e.ophthalmic) {
        expect(str('x00080060'), e.path).toBe('OP');
        expect(str('x00180015'), e.path).toBe('EYE');
      } else {
        expect(str('x00080060'), e.path).not.toBe('OP');
      }

      if (e.encoding === 'jpeg-baseline') {
        // The JPEG stream is the IDRiD file, byte for byte.
        expect(sha256(singleFragment(ds, bytes)), e.path).toBe(e.source!.jpegSha256);
      } else if (e.encoding === 'j2k-lossless-rct') {
        const codestream = singleFragment(ds, bytes);
        expect(codestream.readUInt16BE(0), e.path).toBe(0xff4f); // SOC: a raw codestream, no JP2 box
        const cod = codestream.indexOf(Buffer.from([0xff, 0x52]));
        expect(codestream[cod + 8], `${e.path}: multiple component transform`).toBe(1);
        expect(codestream[cod + 13], `${e.path}: 5/3 reversible wavelet`).toBe(1);
      } else {
        const el = ds.elements['x7fe00010']!;
        expect(el.length, e.path).toBe(e.rows! * e.columns! * e.samplesPerPixel!);
        expect(sha256(bytes.subarray(el.dataOffset, el.dataOffset + el.length)), e.path).toBe(e.pixelSha256);
      }
      if (e.encoding === 'rgb-planar0') expect(e.pixelSha256, e.path).toBe(e.source!.rgbSha256);
    }
  });
});

describe('malformed fixtures carry their defect', () => {
  const get = (p: string) => {
    const e = malformed.find((f) => f.path === p);
    expect(e, p).toBeDefined();
    return read(e!);
  };

  it('truncated-pixel-data: the header parses, the Pixel Data fragment runs past the end', () => {
    const bytes = get('malformed/truncated-pixel-data.dcm');
    const head = parse(bytes, { untilTag: 'x7fe00010' });
    expect(head.string('x00080018')).toMatch(/^2\.25\./);
    expect(() => parse(bytes)).toThrow();
  });

  it('not-dicom-png: a PNG, no DICM prefix', () => {
    const bytes = get('malformed/not-dicom-png.dcm');
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.subarray(128, 132).toString('latin1')).not.toBe('DICM');
  });

  it('missing-sop-instance-uid: no (0008,0018) and no (0002,0003)', () => {
    const ds = parse(get('malformed/missing-sop-instance-uid.dcm'));
    expect(ds.elements['x00080018']).toBeUndefined();
    expect(ds.elements['x00020003']).toBeUndefined();
    expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.77.1.5.1');
  });

  it('element-length-2gb: (0009,1001) OB declares 0x80000000 bytes in a small file', () => {
    const bytes = get('malformed/element-length-2gb.dcm');
    const header = Buffer.from([0x09, 0x00, 0x01, 0x10, 0x4f, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]);
    const at = bytes.indexOf(header);
    expect(at).toBeGreaterThan(132);
    expect(bytes.length).toBeLessThan(0x80000000);
    expect(() => parse(bytes)).toThrow();
  });

  it('no-file-meta: a bare implicit VR dataset, no preamble', () => {
    const bytes = get('malformed/no-file-meta.dcm');
    expect(bytes.subarray(128, 132).toString('latin1')).not.toBe('DICM');
    expect(bytes.readUInt16LE(0)).toBe(0x0008); // the first element is in group 0008
    expect(() => parse(bytes)).toThrow(/DICM/);
    // Read as a bare implicit VR little endian dataset it is complete and names itself.
    const ds = parse(bytes, { TransferSyntaxUID: '1.2.840.10008.1.2' });
    const e = malformed.find((f) => f.path === 'malformed/no-file-meta.dcm')!;
    expect(ds.string('x00080018')).toBe(e.sopInstanceUid);
    expect(ds.string('x00100020')).toBe(e.patientId);
  });
});

describe('dciodvfy', () => {
  it.each(valid.map((e) => e.path))('%s has no errors', (rel) => {
    const r = spawnSync('dciodvfy', [path.join(FIXTURES, rel)], { encoding: 'utf8' });
    expect(r.error, 'dciodvfy (dicom3tools) must be installed').toBeUndefined();
    const output = `${r.stdout}${r.stderr}`;
    const errors = output.split('\n').filter((line) => /^\s*Error/.test(line));
    expect(errors, output).toEqual([]);
  });
});

describe('size budget', () => {
  it(`fixtures/ holds at most ${SIZE_BUDGET} bytes`, () => {
    const total = walk(FIXTURES).reduce((n, p) => n + statSync(path.join(FIXTURES, p)).size, 0);
    expect(total).toBeLessThanOrEqual(SIZE_BUDGET);
  });
});

const haveData = existsSync(path.join(IDRID, 'segmentation', 'quarter', 'images', 'test'));
describe.skipIf(!haveData)(`regeneration${haveData ? '' : ' (skipped: ../shared/data/idrid not found beside the repo)'}`, () => {
  it('scripts/make-fixtures.ts reproduces every committed file byte for byte', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'ophgate-fixtures-'));
    try {
      const tsx = path.join(REPO, 'node_modules', '.bin', 'tsx');
      execFileSync(tsx, [path.join(REPO, 'scripts', 'make-fixtures.ts'), '--out', out, '--data', IDRID], { stdio: 'pipe' });
      const committed = walk(FIXTURES).filter((p) => p !== 'README.md').sort();
      expect(walk(out).sort()).toEqual(committed);
      for (const p of committed) {
        expect(sha256(readFileSync(path.join(out, p))), p).toBe(sha256(readFileSync(path.join(FIXTURES, p))));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
