// WADO-RS (PS3.18 10.4) against a real gateway filled through the ingest door: original bytes in multipart/related,
// transfer-syntax negotiation (no transcoding), metadata with working BulkDataURIs, frames, rendered images, and
// 404s that name the UID.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFile, startTestGateway, SHARED_DIR, FIXTURES_DIR, type TestGateway } from './helpers/gateway.js';
import type { DicomJson } from '../src/dicom/json-model.js';

interface Inst { file: string; name: string; study: string; series: string; sop: string; ts: string; sha256: string; attrs: DicomJson }

const INTEROP = path.join(SHARED_DIR, 'interop');
const SHARED_FILES = [
  'real-dicom/ophthalmic-vl/dicom4ortho__test.dcm',
  'real-dicom/charset/orthanc-tests__Lena-latin1.dcm',
  'seg-reference/highdicom__ct_image.dcm',
  'seg-reference/highdicom__seg_image_ct_binary_single_frame.dcm',
  'seg-reference/highdicom__sm_image.dcm',
  'seg-reference/highdicom__seg_image_sm_control_labelmap_palette_color.dcm',
].map((f) => path.join(INTEROP, f)).filter((f) => fs.existsSync(f));
const FIXTURES = ['op-jpeg-baseline-idrid55-L.dcm', 'op-jpeg-baseline-idrid56-L.dcm', 'op-jpeg-baseline-idrid57-R.dcm', 'op-rgb-planar0-idrid70-R.dcm', 'op-j2k-lossless-rct-idrid64-L.dcm']
  .map((f) => path.join(FIXTURES_DIR, f)).filter((f) => fs.existsSync(f));
const FILES = [...FIXTURES, ...SHARED_FILES];
if (SHARED_FILES.length === 0) console.warn(`[test] ${INTEROP} is absent: WADO-RS tests on third-party files are skipped`);
if (FIXTURES.length === 0) console.warn(`[test] ${FIXTURES_DIR} holds no fixtures: WADO-RS tests on fixtures are skipped`);
const has = (name: string) => FILES.some((f) => path.basename(f) === name);

interface Part { headers: Record<string, string>; body: Buffer }

/** A small RFC 2046 multipart parser: enough to check what the gateway writes, written independently of it. */
function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new Error(`no boundary in ${contentType}`);
  const boundary = m[1] ?? m[2]!;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos !== 0) throw new Error('body does not start with the boundary');
  for (;;) {
    pos += delimiter.length;
    const after = body.subarray(pos, pos + 2).toString('latin1');
    if (after === '--') break;
    if (after !== '\r\n') throw new Error(`boundary not followed by CRLF at ${pos}`);
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos, headerEnd).toString('latin1').split('\r\n')) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const start = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start);
    if (next < 0) throw new Error('unterminated part');
    parts.push({ headers, body: body.subarray(start, next) });
    pos = next + 2;
  }
  return parts;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(FILES.length === 0)('WADO-RS', () => {
  let tg: TestGateway;
  const corpus: Inst[] = [];
  const byName = (n: string) => corpus.find((i) => i.name === n)!;
  const url = (i: Inst, suffix = '') => `/studies/${i.study}/series/${i.series}/instances/${i.sop}${suffix}`;

  async function get(p: string, headers: Record<string, string> = {}) {
    const res = await fetch(p.startsWith('http') ? p : `${tg.baseUrl}/dicomweb${p}`, { headers });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, text: () => body.toString('utf8'), type: res.headers.get('content-type') ?? '' };
  }

  beforeAll(async () => {
    tg = await startTestGateway({ 'pipeline.enabled': false, 'dimse.enabled': false });
    for (const file of FILES) {
      const { header, outcome } = await ingestFile(tg, file);
      if (outcome.status !== 'stored') continue;
      corpus.push({
        file, name: path.basename(file), study: header.studyInstanceUid, series: header.seriesInstanceUid, sop: header.sopInstanceUid,
        ts: header.transferSyntaxUid, sha256: sha(fs.readFileSync(file)), attrs: header.attributes,
      });
    }
    expect(corpus.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await tg?.stop();
  });

  it('retrieves an instance as multipart/related application/dicom with the original bytes', async () => {
    for (const inst of corpus) {
      const r = await get(url(inst));
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^multipart\/related;\s*type="application\/dicom";.*boundary=/);
      const parts = parseMultipart(r.body, r.type);
      expect(parts).toHaveLength(1);
      expect(parts[0]!.headers['content-type']).toBe(`application/dicom; transfer-syntax=${inst.ts}`);
      expect(sha(parts[0]!.body), inst.name).toBe(inst.sha256);
    }
  });

  it('retrieves whole series and studies (Accept with transfer-syntax=*, */*, or none)', async () => {
    const studies = [...new Set(corpus.map((i) => i.study))];
    for (const s of studies) {
      const mine = corpus.filter((i) => i.study === s);
      for (const accept of [undefined, '*/*', 'multipart/related; type="application/dicom"; transfer-syntax=*']) {
        const r = await get(`/studies/${s}`, accept ? { accept } : {});
        expect(r.status, accept).toBe(200);
        expect(parseMultipart(r.body, r.type).map((p) => sha(p.body)).sort()).toEqual(mine.map((i) => i.sha256).sort());
      }
      const se = mine[0]!.series;
      const r = await get(`/studies/${s}/series/${se}`, { accept: 'multipart/related; type=application/dicom' });
      expect(r.status).toBe(200);
      expect(parseMultipart(r.body, r.type).map((p) => sha(p.body)).sort()).toEqual(mine.filter((i) => i.series === se).map((i) => i.sha256).sort());
    }
  });

  it('never transcodes: another transfer syntax is 406, the stored one (or a later q) is fine', async () => {
    const inst = corpus[0]!;
    const other = inst.ts === '1.2.840.10008.1.2.1' ? '1.2.840.10008.1.2.4.50' : '1.2.840.10008.1.2.1';
    const refused = await get(url(inst), { accept: `multipart/related; type="application/dicom"; transfer-syntax=${other}` });
    expect(refused.status).toBe(406);
    expect(refused.text()).toContain('transcode');
    expect(refused.text()).toContain(inst.sop);
    const same = await get(url(inst), { accept: `multipart/related; type="application/dicom"; transfer-syntax=${inst.ts}` });
    expect(same.status).toBe(200);
    const fallback = await get(url(inst), { accept: `multipart/related; type="application/dicom"; transfer-syntax=${other}, multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5` });
    expect(fallback.status).toBe(200);
    expect(sha(parseMultipart(fallback.body, fallback.type)[0]!.body)).toBe(inst.sha256);
    for (const accept of ['application/dicom', 'text/html', 'multipart/related; type="application/dicom+xml"']) {
      expect((await get(url(inst), { accept })).status, accept).toBe(406);
    }
  });

  it('metadata of studies, series and instances: full attributes, UIDs, absolute BulkDataURIs', async () => {
    for (const s of [...new Set(corpus.map((i) => i.study))]) {
      const mine = corpus.filter((i) => i.study === s);
      const r = await get(`/studies/${s}/metadata`);
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^application\/dicom\+json/);
      expect(r.text()).not.toContain('"bulk:');
      const list = JSON.parse(r.text()) as DicomJson[];
      expect(list.map((x) => String(x['00080018']!.Value![0])).sort()).toEqual(mine.map((i) => i.sop).sort());
      for (const x of list) {
        const inst = mine.find((i) => i.sop === x['00080018']!.Value![0])!;
        expect(x['0020000D']!.Value).toEqual([s]);
        expect(x['0020000E']!.Value).toEqual([inst.series]);
        expect(x['00083002']!.Value).toEqual([inst.ts]);
        expect(x['7FE00010']).toBeUndefined();
      }
      const se = mine[0]!.series;
      const sr = JSON.parse((await get(`/studies/${s}/series/${se}/metadata`)).text()) as DicomJson[];
      expect(sr.length).toBe(mine.filter((i) => i.series === se).length);
    }
    const one = corpus[0]!;
    const ir = await get(url(one, '/metadata'), { accept: 'application/json' });
    expect(ir.status).toBe(200);
    expect(ir.type).toMatch(/^application\/json/);
    expect((JSON.parse(ir.text()) as DicomJson[])[0]!['00080018']!.Value).toEqual([one.sop]);
    expect((await get(url(one, '/metadata'), { accept: 'application/dicom+xml' })).status).toBe(406);
  });

  it.skipIf(!has('highdicom__ct_image.dcm') && !has('highdicom__sm_image.dcm'))('BulkDataURIs resolve to the element bytes of the stored file (top level and nested)', async () => {
    let checked = 0;
    for (const name of ['highdicom__ct_image.dcm', 'highdicom__sm_image.dcm', 'highdicom__seg_image_sm_control_labelmap_palette_color.dcm']) {
      if (!has(name)) continue;
      const inst = byName(name);
      const md = (JSON.parse((await get(url(inst, '/metadata'))).text()) as DicomJson[])[0]!;
      const uris = JSON.stringify(md).match(/"BulkDataURI":"([^"]+)"/g)!.map((m) => m.slice('"BulkDataURI":"'.length, -1));
      expect(uris.length).toBeGreaterThan(0);
      const ds = dicomParser.parseDicom(new Uint8Array(fs.readFileSync(inst.file)));
      for (const uri of uris) {
        expect(uri.startsWith(`${tg.baseUrl}/dicomweb${url(inst, '/bulk/')}`)).toBe(true);
        const segments = uri.split('/bulk/')[1]!.split('/');
        let cur = ds;
        for (let i = 0; i < segments.length - 1; i += 2) cur = cur.elements[`x${segments[i]!.toLowerCase()}`]!.items![Number(segments[i + 1])]!.dataSet!;
        const el = cur.elements[`x${segments.at(-1)!.toLowerCase()}`]!;
        const expected = Buffer.from(cur.byteArray.subarray(el.dataOffset, el.dataOffset + el.length));
        const r = await get(uri);
        expect(r.status).toBe(200);
        expect(r.type).toMatch(/^multipart\/related;\s*type="application\/octet-stream"/);
        const parts = parseMultipart(r.body, r.type);
        expect(parts).toHaveLength(1);
        expect(parts[0]!.headers['content-type']).toBe('application/octet-stream');
        expect(parts[0]!.body.equals(expected)).toBe(true);
        const single = await get(uri, { accept: 'application/octet-stream' });
        expect(single.status).toBe(200);
        expect(single.body.equals(expected)).toBe(true);
        checked++;
      }
      expect((await get(url(inst, '/bulk/7FE00099'))).status).toBe(404);
      expect((await get(url(inst, '/bulk/not-a-tag'))).status).toBe(404);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('404s name the unknown or misplaced UID', async () => {
    const [a] = corpus;
    const b = corpus.find((i) => i.study !== a!.study);
    const cases: Array<[string, string]> = [
      ['/studies/1.2.3.999', '1.2.3.999'],
      [`/studies/${a!.study}/series/1.2.3.998`, '1.2.3.998'],
      [`/studies/${a!.study}/series/${a!.series}/instances/1.2.3.997`, '1.2.3.997'],
      ['/studies/1.2.3.999/metadata', '1.2.3.999'],
      [`/studies/${a!.study}/series/${a!.series}/instances/1.2.3.997/rendered`, '1.2.3.997'],
      [`/studies/${a!.study}/series/${a!.series}/instances/1.2.3.997/metadata`, '1.2.3.997'],
    ];
    if (b) {
      cases.push([`/studies/${a!.study}/series/${b.series}`, b.series]);
      cases.push([`/studies/${b.study}/series/${b.series}/instances/${a!.sop}`, a!.sop]);
    }
    for (const [p, uid] of cases) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(JSON.parse(r.text()).error, p).toContain(uid);
    }
    expect((await get('/studies/not-a-uid')).status).toBe(404);
  });

  it.skipIf(!FIXTURES.length && !has('dicom4ortho__test.dcm'))('renders JPEG by default and PNG on request, at the image size or fitted to a viewport', async () => {
    const candidates = corpus.filter((i) => ['op-jpeg-baseline-idrid55-L.dcm', 'op-rgb-planar0-idrid70-R.dcm', 'op-j2k-lossless-rct-idrid64-L.dcm', 'dicom4ortho__test.dcm', 'orthanc-tests__Lena-latin1.dcm'].includes(i.name));
    expect(candidates.length).toBeGreaterThan(0);
    for (const inst of candidates) {
      const rows = Number(inst.attrs['00280010']!.Value![0]);
      const columns = Number(inst.attrs['00280011']!.Value![0]);
      const jpeg = await get(url(inst, '/rendered'));
      expect(jpeg.status, `${inst.name}: ${jpeg.status === 200 ? '' : jpeg.text()}`).toBe(200);
      expect(jpeg.type).toBe('image/jpeg');
      const jm = await sharp(jpeg.body).metadata();
      expect([jm.format, jm.width, jm.height], inst.name).toEqual(['jpeg', columns, rows]);
      const png = await get(url(inst, '/frames/1/rendered'), { accept: 'image/png' });
      expect(png.status).toBe(200);
      expect(png.type).toBe('image/png');
      const pm = await sharp(png.body).metadata();
      expect([pm.format, pm.width, pm.height]).toEqual(['png', columns, rows]);
      const small = await get(url(inst, '/rendered?viewport=64,64&quality=50'));
      const sm = await sharp(small.body).metadata();
      expect(Math.max(sm.width!, sm.height!)).toBe(64);
      expect(Math.abs(sm.width! / sm.height! - columns / rows)).toBeLessThan(0.1);
    }
    const inst = candidates[0]!;
    expect((await get(url(inst, '/frames/2/rendered'))).status).toBe(404);
    expect((await get(url(inst, '/rendered'), { accept: 'image/gif' })).status).toBe(406);
    expect((await get(url(inst, '/rendered?zoom=2'))).status).toBe(400);
    expect((await get(url(inst, '/rendered?quality=0'))).status).toBe(400);
    expect((await get(url(inst, '/rendered?viewport=10'))).status).toBe(400);
    const warned = await get(url(inst, '/rendered?window=40,400,linear'));
    expect(warned.status).toBe(200);
    expect(warned.headers.get('warning')).toMatch(/^299 .*window/);
  });

  it.skipIf(!has('highdicom__sm_image.dcm'))('serves uncompressed frames of a multi-frame instance', async () => {
    const inst = byName('highdicom__sm_image.dcm');
    const ds = dicomParser.parseDicom(new Uint8Array(fs.readFileSync(inst.file)));
    const el = ds.elements.x7fe00010!;
    const frameSize = ds.uint16('x00280010')! * ds.uint16('x00280011')! * ds.uint16('x00280002')! * (ds.uint16('x00280100')! / 8);
    const r = await get(url(inst, '/frames/1,3'));
    expect(r.status).toBe(200);
    const parts = parseMultipart(r.body, r.type);
    expect(parts).toHaveLength(2);
    for (const [i, f] of [[0, 1], [1, 3]] as const) {
      const start = el.dataOffset + (f - 1) * frameSize;
      expect(parts[i]!.body.equals(Buffer.from(ds.byteArray.subarray(start, start + frameSize)))).toBe(true);
      expect(parts[i]!.headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
    }
    expect((await get(url(inst, '/frames/26'))).status).toBe(404);
    expect((await get(url(inst, '/frames/0'))).status).toBe(400);
    const rendered = await get(url(inst, '/frames/25/rendered'), { accept: 'image/png' });
    expect(rendered.status).toBe(200);
  });

  it.skipIf(!has('op-jpeg-baseline-idrid55-L.dcm'))('serves compressed frames only as stored (transfer-syntax=*)', async () => {
    const inst = byName('op-jpeg-baseline-idrid55-L.dcm');
    const r = await get(url(inst, '/frames/1'), { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' });
    expect(r.status).toBe(200);
    const [part] = parseMultipart(r.body, r.type);
    expect(part!.headers['content-type']).toBe(`application/octet-stream; transfer-syntax=${inst.ts}`);
    expect(part!.body.subarray(0, 2).toString('hex')).toBe('ffd8');
    const refused = await get(url(inst, '/frames/1'), { accept: 'multipart/related; type="application/octet-stream"' });
    expect(refused.status).toBe(406);
    expect(refused.text()).toContain('transcode');
  });

  it('survives a client that hangs up in the middle of a study', async () => {
    const big = [...new Set(corpus.map((i) => i.study))].sort((x, y) => corpus.filter((i) => i.study === y).length - corpus.filter((i) => i.study === x).length)[0]!;
    const ac = new AbortController();
    const res = await fetch(`${tg.baseUrl}/dicomweb/studies/${big}`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.cancel().catch(() => undefined);
    const again = await get(`/studies/${big}`);
    expect(again.status).toBe(200);
    expect(parseMultipart(again.body, again.type).length).toBe(corpus.filter((i) => i.study === big).length);
  });
});
