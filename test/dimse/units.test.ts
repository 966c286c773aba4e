// Unit tests of the DIMSE helpers: presentation context policy, File Meta writer and reader.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decidePresentationContext, isStorageSopClass } from '../../src/ingest/dimse/presentation-context-policy.js';
import { buildPart10Header, isValidAeTitle } from '../../src/ingest/dimse/file-meta.js';
import { readFileMeta, FileMetaError } from '../../src/dicom/dimse/part10.js';
import { OPHGATE_IMPLEMENTATION_CLASS_UID } from '../../src/dicom/dimse/implementation.js';
import { FIXTURES, dcmdumpValue, run, sharedDir } from './helpers.js';

const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

describe('presentation context policy', () => {
  it('accepts verification and every storage class, SEG, label map SEG, SR and ophthalmic included', () => {
    for (const uid of ['1.2.840.10008.1.1', '1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.66.7', '1.2.840.10008.5.1.4.1.1.88.11',
      '1.2.840.10008.5.1.4.1.1.88.22', '1.2.840.10008.5.1.4.1.1.88.33', '1.2.840.10008.5.1.4.1.1.77.1.5.1', '1.2.840.10008.5.1.4.1.1.77.1.5.4']) {
      expect(decidePresentationContext(uid, [IMPLICIT]), uid).toEqual({ result: 'accept', transferSyntaxUid: IMPLICIT });
    }
  });

  it('rejects other abstract syntaxes, including look-alikes of the storage root', () => {
    for (const uid of ['1.2.840.10008.5.1.4.1.2.2.1', '1.2.840.10008.5.1.4.31', '1.2.840.10008.1.20.1', '1.2.840.10008.5.1.4.1.1', '1.2.840.10008.5.1.4.1.10', '1.2.840.10008.5.1.4.1.1.x']) {
      expect(decidePresentationContext(uid, [IMPLICIT]), uid).toEqual({ result: 'reject-abstract-syntax' });
    }
    expect(isStorageSopClass('1.2.840.10008.5.1.4.1.1.2')).toBe(true);
  });

  it("takes the SCU's first supported transfer syntax, and rejects contexts with none", () => {
    const ct = '1.2.840.10008.5.1.4.1.1.2';
    expect(decidePresentationContext(ct, [JPEG_BASELINE, EXPLICIT, IMPLICIT])).toEqual({ result: 'accept', transferSyntaxUid: JPEG_BASELINE });
    expect(decidePresentationContext(ct, ['1.2.840.10008.1.2.4.53', IMPLICIT, EXPLICIT])).toEqual({ result: 'accept', transferSyntaxUid: IMPLICIT });
    expect(decidePresentationContext(ct, ['1.2.840.10008.1.2.4.53', '1.2.840.10008.1.2.4.100'])).toEqual({ result: 'reject-transfer-syntaxes' });
    expect(decidePresentationContext(ct, [])).toEqual({ result: 'reject-transfer-syntaxes' });
  });
});

describe('File Meta writer and reader', () => {
  it('writes a header dcmdump reads, and readFileMeta finds where the dataset starts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ophgate-meta-'));
    try {
      const source = readFileSync(path.join(FIXTURES, 'sc-chest-ot.dcm'));
      const srcMeta = readFileMeta(source);
      const dataset = source.subarray(srcMeta.datasetOffset);
      const header = buildPart10Header({
        mediaStorageSopClassUid: srcMeta.mediaStorageSopClassUid!,
        mediaStorageSopInstanceUid: srcMeta.mediaStorageSopInstanceUid!,
        transferSyntaxUid: srcMeta.transferSyntaxUid!,
        sourceApplicationEntityTitle: 'MODALITY1',
      });
      const file = path.join(dir, 'x.dcm');
      writeFileSync(file, Buffer.concat([header, dataset]));
      const meta = readFileMeta(readFileSync(file));
      expect(meta).toMatchObject({ hasPreamble: true, hasFileMeta: true, datasetOffset: header.length, transferSyntaxUid: EXPLICIT,
        mediaStorageSopInstanceUid: srcMeta.mediaStorageSopInstanceUid });
      expect(header.length % 2).toBe(0);
      const dump = await run('dcmdump', ['-q', '-M', file]);
      expect(dump.code, dump.output).toBe(0);
      expect(await dcmdumpValue(file, '0002,0012')).toBe(OPHGATE_IMPLEMENTATION_CLASS_UID);
      expect(await dcmdumpValue(file, '0002,0016')).toBe('MODALITY1');
      expect(await dcmdumpValue(file, '0002,0003')).toBe(srcMeta.mediaStorageSopInstanceUid);
      // dcmtk agrees with the group length OphGate wrote.
      const groupLength = header.readUInt32LE(132 + 8);
      expect(groupLength).toBe(header.length - 132 - 12);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves out an AE title that is not valid', () => {
    const h = buildPart10Header({ mediaStorageSopClassUid: '1.2.3', mediaStorageSopInstanceUid: '1.2.3.4', transferSyntaxUid: IMPLICIT, sourceApplicationEntityTitle: 'BAD\\AE' });
    expect(h.includes(Buffer.from('BAD'))).toBe(false);
    expect(isValidAeTitle('OPHGATE')).toBe(true);
    expect(isValidAeTitle('')).toBe(false);
    expect(isValidAeTitle('X'.repeat(17))).toBe(false);
  });

  it('reports a bare dataset (no File Meta) as such', () => {
    const meta = readFileMeta(readFileSync(path.join(FIXTURES, 'malformed/no-file-meta.dcm')));
    expect(meta).toEqual({ hasPreamble: false, hasFileMeta: false, datasetOffset: 0 });
  });

  it('throws on a File Meta element that runs past the data', () => {
    const h = buildPart10Header({ mediaStorageSopClassUid: '1.2.3', mediaStorageSopInstanceUid: '1.2.3.4', transferSyntaxUid: IMPLICIT });
    expect(() => readFileMeta(h.subarray(0, h.length - 3))).toThrow(FileMetaError);
  });

  const malformed = sharedDir('malformed');
  it.skipIf(!malformed)('walks a File Meta without group length, and stops at the first non-0002 element', () => {
    const noLength = readFileMeta(readFileSync(path.join(malformed!, 'dcmjs__no-meta-length-test.dcm')));
    expect(noLength.hasFileMeta).toBe(true);
    expect(noLength.transferSyntaxUid).toBe(EXPLICIT);
    const tsDir = path.join(path.dirname(malformed!), 'real-dicom/transfer-syntax');
    // Its (0002,0000) wrongly covers a (0008,0000) element: the dataset starts at that element.
    const buf = readFileSync(path.join(tsDir, 'orthanc-tests__1.2.840.10008.1.2.4.50.dcm'));
    const m = readFileMeta(buf);
    expect(buf.readUInt16LE(m.datasetOffset)).toBe(0x0008);
    expect(buf.readUInt16LE(m.datasetOffset + 2)).toBe(0x0000);
  });
});
