// The streaming multipart parser at every chunk boundary, and STOW-RS fed the malformed DICOM corpus (the project's
// fixtures/malformed and ../shared/interop/malformed): each broken file is one failed item whose reason names the
// problem, and nothing broken is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { MultipartParser, MultipartError, parseMediaType, checkBoundary, type MultipartEvent } from '../src/http/dicomweb/multipart.js';
import { startTestGateway, FIXTURES_DIR, type TestGateway } from './helpers/gateway.js';
import { badFiles, multipartBody, post, readResponse, SHARED_MALFORMED, type BadFile } from './helpers/stow.js';

const B = 'xYz-42';

interface Parsed { parts: Array<{ headers: Record<string, string>; content: Buffer }>; done: boolean }

function parseIn(body: Buffer, chunkSizes: (i: number) => number): Parsed {
  const parser = new MultipartParser(B);
  const out: Parsed = { parts: [], done: false };
  let current: Buffer[] | undefined;
  const apply = (events: MultipartEvent[]) => {
    for (const ev of events) {
      if (ev.type === 'part') {
        out.parts.push({ headers: ev.headers, content: Buffer.alloc(0) });
        current = [];
      } else if (ev.type === 'data') current!.push(Buffer.from(ev.chunk));
      else if (ev.type === 'part-end') out.parts.at(-1)!.content = Buffer.concat(current!);
      else if (ev.type === 'done') out.done = true;
      else throw ev.error;
    }
  };
  for (let pos = 0, i = 0; pos < body.length; i++) {
    const n = Math.max(1, chunkSizes(i));
    apply(parser.push(body.subarray(pos, pos + n)));
    pos += n;
  }
  parser.finish();
  return out;
}

const tricky = [
  Buffer.from(`\r\n--${B.slice(0, 3)}`), // a delimiter prefix inside the content
  Buffer.from(`a\r\r\n-\r\n--${B.slice(0, -1)}`), // content that ends in most of a delimiter
  Buffer.alloc(0), // empty part
  Buffer.from('ends with CR\r'),
  Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff)),
];

function body(parts: Buffer[], opts: { preamble?: string; epilogue?: string; padding?: string } = {}): Buffer {
  return Buffer.concat([
    Buffer.from(opts.preamble ?? ''),
    ...parts.map((p, i) => Buffer.concat([Buffer.from(`--${B}${opts.padding ?? ''}\r\n${i === 2 ? '' : `Content-Type: application/dicom\r\nX-Part: ${i + 1}\r\n`}\r\n`), p, Buffer.from('\r\n')])),
    Buffer.from(`--${B}--${opts.epilogue ?? ''}`),
  ]);
}

describe('streaming multipart parser', () => {
  it('gives back every part byte for byte whatever the chunking', () => {
    const b = body(tricky, { preamble: 'ignored preamble\r\n', epilogue: '\r\nignored epilogue', padding: ' \t' });
    const sizes: Array<[string, (i: number) => number]> = [
      ['1 byte', () => 1], ['2 bytes', () => 2], ['3 bytes', () => 3], ['7 bytes', () => 7], ['whole', () => b.length],
      ['varying', (i) => [1, 5, 11, 2, 64, 3][i % 6]!],
    ];
    for (const [what, size] of sizes) {
      const r = parseIn(b, size);
      expect(r.done, what).toBe(true);
      expect(r.parts.map((p) => p.content.toString('hex')), what).toEqual(tricky.map((p) => p.toString('hex')));
      expect(r.parts[0]!.headers, what).toEqual({ 'content-type': 'application/dicom', 'x-part': '1' });
      expect(r.parts[2]!.headers, what).toEqual({});
    }
    for (let cut = 1; cut < b.length; cut++) {
      const r = parseIn(b, (i) => (i === 0 ? cut : b.length));
      expect(r.parts.map((p) => p.content.toString('hex')), `split at ${cut}`).toEqual(tricky.map((p) => p.toString('hex')));
    }
  });

  it('never carries more than a delimiter of content between chunks', () => {
    const parser = new MultipartParser(B);
    parser.push(Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`));
    let emitted = 0;
    for (let i = 0; i < 100; i++) {
      for (const ev of parser.push(Buffer.alloc(65536, 0x41))) if (ev.type === 'data') emitted += ev.chunk.length;
    }
    expect(emitted).toBe(100 * 65536);
  });

  const failures: Array<[string, Buffer, RegExp]> = [
    ['no closing delimiter', Buffer.from(`--${B}\r\n\r\nabc`), /ends inside part 1 without a closing delimiter.*truncated/],
    ['cut after a delimiter', Buffer.from(`--${B}\r\n\r\nabc\r\n--${B}`), /ends after a delimiter/],
    ['cut inside headers', Buffer.from(`--${B}\r\nContent-Type: appl`), /ends inside the headers of part 1/],
    ['junk after a delimiter', Buffer.from(`--${B}junk\r\n\r\nabc\r\n--${B}--`), /before part 1 is followed by "ju.*instead of a line break/],
    ['garbage header line', Buffer.from(`--${B}\r\n\u0001\u0002garbage\r\n\r\nabc\r\n--${B}--`, 'latin1'), /part 1 has a malformed header line: bytes 01 02/],
    ['header with no colon', Buffer.from(`--${B}\r\nContent-Type application/dicom\r\n\r\nabc\r\n--${B}--`), /part 1 has a malformed header line: "Content-Type application\/dicom"/],
    ['no blank line after headers', Buffer.concat([Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n`), Buffer.alloc(20000, 0x41)]), /headers of part 1 exceed 16384 bytes or lack the blank line/],
    ['other boundary', Buffer.concat([Buffer.from('--other\r\n\r\n'), Buffer.alloc(20000, 0x41)]), /no delimiter "--xYz-42" in the first 16384 bytes/],
    ['other boundary, short body', Buffer.from('--other\r\n\r\nabc\r\n--other--'), /no delimiter "--xYz-42" in the body/],
    ['empty body', Buffer.alloc(0), /empty: no parts/],
  ];
  for (const [what, b, message] of failures) {
    it(`reports ${what}`, () => {
      let error: unknown;
      try {
        parseIn(b, () => 5);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MultipartError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('hands back the parts completed before an error, then the error', () => {
    const parser = new MultipartParser(B);
    const events = parser.push(Buffer.from(`--${B}\r\n\r\nfirst\r\n--${B}\r\nbad header\r\n\r\nx`));
    expect(events.map((e) => e.type)).toEqual(['part', 'data', 'part-end', 'error']);
    expect(() => parser.push(Buffer.from('more'))).toThrow(MultipartError);
    expect(() => parser.finish()).toThrow(MultipartError);
  });

  it('parses media types with quoted and unquoted parameters', () => {
    expect(parseMediaType('Multipart/Related; Type="application/dicom"; boundary=abc')).toEqual({ type: 'multipart/related', params: { type: 'application/dicom', boundary: 'abc' } });
    expect(parseMediaType('multipart/related;type=application/dicom;boundary="a b\\"c"')).toEqual({ type: 'multipart/related', params: { type: 'application/dicom', boundary: 'a b"c' } });
    expect(parseMediaType('multipart/related; boundary=abc;')).toEqual({ type: 'multipart/related', params: { boundary: 'abc' } });
    expect(parseMediaType('multipart')).toBeUndefined();
    expect(parseMediaType('multipart/related; boundary')).toBeUndefined();
    expect(checkBoundary('')).toMatch(/empty/);
    expect(checkBoundary('x'.repeat(257))).toMatch(/at most 256/);
    expect(checkBoundary(`${'a'.repeat(36)}-${'b'.repeat(36)}`)).toBeUndefined(); // Orthanc's 73-character boundary
    expect(checkBoundary('ends with space ')).toMatch(/characters/);
    expect(checkBoundary("gc0pJq0M:08jU534c0p'()+_,-./=?")).toBeUndefined();
  });
});

// ---- the malformed DICOM corpus through STOW-RS ----------------------------------------------------------------

/** What the header gate must say about the files it has to refuse; files not listed here may be stored or refused. */
const EXPECTED: Record<string, RegExp> = {
  // fixtures/malformed (see fixtures/manifest.json expectedRejection)
  'element-length-2gb.dcm': /length|bytes/,
  'missing-sop-instance-uid.dcm': /missing SOP Instance UID/,
  'no-file-meta.dcm': /File Meta|DICM/,
  'not-dicom-png.dcm': /DICM/,
  'truncated-pixel-data.dcm': /truncated/,
  // ../shared/interop/malformed (see its README)
  'dcm4che__3gb-bulk-data-truncated': /declares \d+ bytes|length|truncated/,
  'dcm4che__no_preamble_dicm_in_data': /File Meta/,
  'dcmjs__sample-op.lei': /DICM|File Meta/,
  'fo-dicom__CR-MONO1-10-chest': /DICM|File Meta/,
  'fo-dicom__GH340.dcm': /DICM|File Meta/,
  'orthanc-tests__Issue111.dump': /DICM/,
  'orthanc-tests__Issue196.dcm': /missing Study Instance UID/,
  'orthanc-tests__Issue196.dump': /DICM/,
  'pydicom-data__OT-PAL-8-face.dcm': /DICM|File Meta/,
  'pydicom-data__emri_small_jpeg_2k_lossless_too_short.dcm': /truncated/,
  'pydicom__ExplVR_BigEndNoMeta.dcm': /DICM|File Meta/,
  'pydicom__MR_truncated.dcm': /truncated|short/,
  'pydicom__no_meta.dcm': /DICM|File Meta/,
  'pydicom__zipMR.gz': /DICM/,
  'pydicom__empty_charset_LEI.dcm': /missing/,
  'pydicom__no_meta_group_length.dcm': /missing|File Meta/,
  'fo-dicom__GH177_D_CLUNIE_CT1_IVRLE_BigEndian_ELE_undefinded_length.dcm': /missing|length/,
  'fo-dicom__GH626.dcm': /missing|length|parse/,
  'dcmjs__no-meta-length-test.dcm': /UID|File Meta|length/,
  'pydicom__nested_priv_SQ.dcm': /parse|length|truncated|missing/,
};
const GENERIC = /^(error|failed|invalid|unknown|internal error)\.?$/i;

const corpus: BadFile[] = [...badFiles(path.join(FIXTURES_DIR, 'malformed')), ...badFiles(SHARED_MALFORMED)];
if (corpus.length === 0) console.warn('[test] neither fixtures/malformed nor ../shared/interop/malformed is present: the malformed-corpus STOW-RS test is skipped');

describe.skipIf(corpus.length === 0)('STOW-RS with the malformed corpus', () => {
  let tg: TestGateway;
  beforeAll(async () => {
    tg = await startTestGateway({ 'dimse.enabled': false, 'pipeline.enabled': false });
  });
  afterAll(async () => {
    await tg?.stop();
  });

  it('answers every part: broken files fail with a specific reason, nothing broken is stored', async () => {
    const res = await post(`${tg.baseUrl}/dicomweb/studies`, multipartBody(corpus.map((f) => f.bytes)));
    expect([202, 409], res.text).toContain(res.status);
    const r = readResponse(res.json);
    const byPart = new Map<number, { stored: boolean; reason?: string; failureReason?: number }>();
    for (const i of r.referenced) byPart.set(i.part!, { stored: true });
    for (const i of r.failed) byPart.set(i.part!, { stored: false, reason: i.reason, failureReason: i.failureReason });
    expect(byPart.size).toBe(corpus.length);
    const report: string[] = [];
    for (const [n, f] of corpus.entries()) {
      const outcome = byPart.get(n + 1)!;
      report.push(`${f.name}: ${outcome.stored ? 'stored' : `0x${outcome.failureReason!.toString(16)} ${outcome.reason}`}`);
      const expected = EXPECTED[f.name];
      if (expected) {
        expect(outcome.stored, `${f.name} must be refused`).toBe(false);
        expect(outcome.reason, f.name).toMatch(expected);
      }
      if (!outcome.stored) {
        expect(outcome.reason && outcome.reason.length > 15 && !GENERIC.test(outcome.reason), `${f.name}: reason "${outcome.reason}"`).toBe(true);
        expect([0x0110, 0x0111, 0x0122, 0xa700, 0xa900, 0xc000]).toContain(outcome.failureReason);
      }
    }
    console.info(`[test] malformed corpus through STOW-RS:\n  ${report.join('\n  ')}`);
    expect(readdirSync(tg.gateway.ctx.store.blobs.tmpDir)).toEqual([]);
  });

  it('stores good parts sent after broken ones in the same request', async () => {
    const bad = corpus.filter((f) => EXPECTED[f.name]).slice(0, 3);
    const good = corpus.find((f) => !EXPECTED[f.name]);
    if (!good) return;
    const res = await post(`${tg.baseUrl}/dicomweb/studies`, multipartBody([...bad.map((f) => f.bytes), good.bytes]));
    expect([200, 202], res.text).toContain(res.status);
    const r = readResponse(res.json);
    expect(r.failed.map((i) => i.part)).toEqual(bad.map((_, i) => i + 1));
    expect(r.referenced.map((i) => i.part)).toEqual([bad.length + 1]);
  });
});
