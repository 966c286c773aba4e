// STOW-RS against a real gateway on loopback: what is stored, what the response says, and how bad requests are
// refused without losing anything accepted before them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import dicomParser from 'dicom-parser';
import { startTestGateway, waitFor, type TestGateway } from './helpers/gateway.js';
import {
  BOUNDARY, MULTIPART, capturingLogger, chunksOf, closing, multipartBody, partBytes, post, readResponse, sha256, validFiles, withNewSopUid, type DicomFile,
} from './helpers/stow.js';

const material = await validFiles();
if (material.files.length < 3) console.warn('[test] neither fixtures/ nor ../shared/interop/real-dicom/ophthalmic-vl is present: STOW-RS tests are skipped');
else console.info(`[test] STOW-RS tests send files from ${material.source}`);
const files = material.files;
const haveFiles = files.length >= 3;
const NOT_DICOM = Buffer.from('this is plain text, not a DICOM file; it is long enough to have 132 bytes and more so the gate looks at byte 128 '.repeat(3));

/** A copy of a file with the same UIDs and one byte of its pixel data changed (a conflicting duplicate). */
function withPixelByteFlipped(f: DicomFile): Buffer {
  const copy = Buffer.from(f.bytes);
  const ds = dicomParser.parseDicom(new Uint8Array(copy));
  const px = ds.elements.x7fe00010 as (dicomParser.Element & { fragments?: Array<{ position: number; length: number }> }) | undefined;
  if (!px) throw new Error(`${f.name} has no Pixel Data`);
  // In the middle of the first fragment for encapsulated data, in the middle of the values for native data.
  const fragment = px.encapsulatedPixelData ? px.fragments?.[0] : undefined;
  const at = fragment ? fragment.position + Math.floor(fragment.length / 2) : px.dataOffset + Math.floor(px.length / 2);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

describe.skipIf(!haveFiles)('STOW-RS', () => {
  let tg: TestGateway;
  let url: string;
  const logs = capturingLogger('stow-rs');
  const bySize = files; // smallest first
  const studies = new Map<string, DicomFile[]>();
  for (const f of files) studies.set(f.studyUid, [...(studies.get(f.studyUid) ?? []), f]);
  const otherStudy = (studyUid: string) => files.find((f) => f.studyUid !== studyUid)!;

  beforeAll(async () => {
    tg = await startTestGateway({ 'dimse.enabled': false, 'pipeline.enabled': false }, { logger: logs.logger });
    url = `${tg.baseUrl}/dicomweb/studies`;
  });
  afterAll(async () => {
    await tg?.stop();
    logs.close();
  });

  it('stores every part of a good request: 200, ReferencedSOPSequence with RetrieveURLs, bytes kept as sent', async () => {
    const multi = [...studies.values()].sort((a, b) => b.length - a.length)[0]!;
    const sent = multi.length >= 2 ? multi : bySize.slice(0, 3);
    const res = await post(url, multipartBody(sent.map((f) => f.bytes)));
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/dicom\+json/);
    const r = readResponse(res.json);
    expect(r.failed).toEqual([]);
    expect(r.referenced.map((i) => i.sopInstanceUid)).toEqual(sent.map((f) => f.sopInstanceUid));
    for (const [i, f] of sent.entries()) {
      const item = r.referenced[i]!;
      expect(item.sopClassUid).toBe(f.sopClassUid);
      expect(item.retrieveUrl).toBe(`${tg.baseUrl}/dicomweb/studies/${f.studyUid}/series/${f.seriesUid}/instances/${f.sopInstanceUid}`);
      expect(item.part).toBe(i + 1);
      const row = tg.gateway.ctx.store.getInstance(f.sopInstanceUid)!;
      expect(row).toBeDefined();
      expect(row.size).toBe(f.bytes.length);
      expect(sha256(readFileSync(tg.gateway.ctx.store.blobPath(row)))).toBe(f.sha256);
    }
    const oneStudy = new Set(sent.map((f) => f.studyUid)).size === 1;
    expect(r.retrieveUrl).toBe(oneStudy ? `${tg.baseUrl}/dicomweb/studies/${sent[0]!.studyUid}` : undefined);
    expect(readdirSync(tg.gateway.ctx.store.blobs.tmpDir)).toEqual([]);
  });

  it('POST /studies/{study} refuses an instance of another study: 409 with FailureReason 0xA900 and the reason', async () => {
    const f = bySize[0]!;
    const target = otherStudy(f.studyUid).studyUid;
    const alone = files.find((x) => x.studyUid !== target && !tg.gateway.ctx.store.getInstance(x.sopInstanceUid)) ?? f;
    const res = await post(`${url}/${target}`, multipartBody([alone.bytes]));
    expect(res.status, res.text).toBe(409);
    const r = readResponse(res.json);
    expect(r.referenced).toEqual([]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0]).toMatchObject({ sopInstanceUid: alone.sopInstanceUid, sopClassUid: alone.sopClassUid, failureReason: 0xa900, part: 1 });
    expect(r.failed[0]!.reason).toMatch(/differs from the study in the request URL/);
    expect(r.retrieveUrl).toBe(`${tg.baseUrl}/dicomweb/studies/${target}`);
  });

  it('answers 202 when some parts are stored and others fail, with one item per part', async () => {
    const good = bySize[1]!;
    const res = await post(url, multipartBody([NOT_DICOM, good.bytes, { bytes: good.bytes, contentType: 'image/jpeg' }]));
    expect(res.status, res.text).toBe(202);
    const r = readResponse(res.json);
    expect(r.referenced.map((i) => [i.part, i.sopInstanceUid])).toEqual([[2, good.sopInstanceUid]]);
    expect(r.failed.map((i) => [i.part, i.failureReason])).toEqual([[1, 0xc000], [3, 0xc000]]);
    expect(r.failed[0]!.reason).toMatch(/DICM/);
    expect(r.failed[1]!.reason).toMatch(/image\/jpeg.*only application\/dicom/);
    expect(r.failed[1]!.sopInstanceUid).toBeUndefined();
  });

  it('answers 409 when every part fails', async () => {
    const res = await post(url, multipartBody([NOT_DICOM, { bytes: Buffer.from('{}'), contentType: 'application/dicom+json' }]));
    expect(res.status, res.text).toBe(409);
    const r = readResponse(res.json);
    expect(r.referenced).toEqual([]);
    expect(r.failed).toHaveLength(2);
    for (const f of r.failed) expect(f.reason).toBeTruthy();
  });

  it('takes a part without Content-Type as application/dicom, and type= unquoted or absent', async () => {
    const f = bySize[2]!;
    for (const ct of [`multipart/related; type=application/dicom; boundary=${BOUNDARY}`, `multipart/related; boundary="${BOUNDARY}"`, `Multipart/Related; Type="Application/DICOM"; Boundary=${BOUNDARY}`]) {
      const res = await post(url, multipartBody([{ bytes: f.bytes, contentType: null }]), { 'Content-Type': ct });
      expect(res.status, `${ct}: ${res.text}`).toBe(200);
      expect(readResponse(res.json).referenced[0]!.sopInstanceUid).toBe(f.sopInstanceUid);
    }
    const withTs = await post(url, multipartBody([{ bytes: f.bytes, contentType: `application/dicom; transfer-syntax=${f.transferSyntaxUid}` }]));
    expect(withTs.status, withTs.text).toBe(200);
  });

  it('stores an identical duplicate as success (200) and says so', async () => {
    const f = bySize[0]!;
    await post(url, multipartBody([f.bytes]));
    const res = await post(url, multipartBody([f.bytes]));
    expect(res.status, res.text).toBe(200);
    const r = readResponse(res.json);
    expect(r.referenced[0]).toMatchObject({ sopInstanceUid: f.sopInstanceUid });
    expect(r.referenced[0]!.reason).toMatch(/identical/);
    expect(r.referenced[0]!.warningReason).toBeUndefined();
  });

  it('refuses a conflicting duplicate: 409, FailureReason 0x0111, the stored instance unchanged, listed by /api/conflicts', async () => {
    const f = files.find((x) => x.transferSyntaxUid === '1.2.840.10008.1.2.1') ?? bySize[0]!;
    const first = await post(url, multipartBody([f.bytes]));
    expect(first.status, first.text).toBe(200);
    const changed = withPixelByteFlipped(f);
    expect(sha256(changed)).not.toBe(f.sha256);
    const res = await post(url, multipartBody([changed]));
    expect(res.status, res.text).toBe(409);
    const r = readResponse(res.json);
    expect(r.failed[0]).toMatchObject({ sopInstanceUid: f.sopInstanceUid, failureReason: 0x0111 });
    expect(r.failed[0]!.reason).toMatch(/already stored with different content/);
    const row = tg.gateway.ctx.store.getInstance(f.sopInstanceUid)!;
    expect(row.sha256).toBe(f.sha256);
    expect(sha256(readFileSync(tg.gateway.ctx.store.blobPath(row)))).toBe(f.sha256);
    const conflicts = await (await fetch(`${tg.baseUrl}/api/conflicts`)).json() as Array<{ sopInstanceUid: string; receivedSha256: string; protocol: string }>;
    expect(conflicts).toContainEqual(expect.objectContaining({ sopInstanceUid: f.sopInstanceUid, receivedSha256: sha256(changed), protocol: 'stow-rs' }));
  });

  it('refuses a body cut short (no closing delimiter) with 400, keeping the parts completed before it', async () => {
    const [a, b] = [bySize[3] ?? bySize[0]!, bySize[4] ?? bySize[1]!];
    const body = Buffer.concat([partBytes({ bytes: a.bytes }), partBytes({ bytes: b.bytes }).subarray(0, 200 + Math.floor(b.bytes.length / 2))]);
    const res = await post(url, body);
    expect(res.status, res.text).toBe(400);
    const r = readResponse(res.json);
    expect(r.error).toMatch(/truncated/);
    expect(r.error).toMatch(/part 2/);
    expect(r.referenced.map((i) => i.sopInstanceUid)).toEqual([a.sopInstanceUid]);
    expect(tg.gateway.ctx.store.getInstance(a.sopInstanceUid)).toBeDefined();
    expect(readdirSync(tg.gateway.ctx.store.blobs.tmpDir)).toEqual([]);
  });

  it('refuses garbage part headers with 400 naming the part, after storing the parts before', async () => {
    const a = bySize[0]!;
    const body = Buffer.concat([partBytes({ bytes: a.bytes }), Buffer.from(`--${BOUNDARY}\r\n\x00\x01\x02 garbage\xff\r\n\r\n`, 'latin1'), a.bytes, Buffer.from('\r\n'), closing()]);
    const res = await post(url, body);
    expect(res.status, res.text).toBe(400);
    const r = readResponse(res.json);
    expect(r.error).toMatch(/part 2 has a malformed header line/);
    expect(r.referenced).toHaveLength(1);
  });

  it('refuses a body that does not use the declared boundary, or a missing boundary, with 400', async () => {
    const a = bySize[0]!;
    const wrong = await post(url, multipartBody([a.bytes], 'some-other-boundary'));
    expect(wrong.status, wrong.text).toBe(400);
    expect(readResponse(wrong.json).error).toMatch(new RegExp(`no delimiter "--${BOUNDARY}"`));
    const missing = await post(url, multipartBody([a.bytes]), { 'Content-Type': 'multipart/related; type="application/dicom"' });
    expect(missing.status, missing.text).toBe(400);
    expect(readResponse(missing.json).error).toMatch(/no boundary parameter/);
    const badUid = await post(`${url}/not-a-uid`, multipartBody([a.bytes]));
    expect(badUid.status, badUid.text).toBe(400);
    expect(readResponse(badUid.json).error).toMatch(/Study Instance UID in the URL is not a valid UID/);
  });

  it('refuses a request with no parts with 400', async () => {
    for (const body of [Buffer.alloc(0), closing(), Buffer.from(`preamble\r\n--${BOUNDARY}--`)]) {
      const res = await post(url, body);
      expect(res.status, res.text).toBe(400);
      expect(readResponse(res.json).error).toMatch(/no parts/);
    }
  });

  it('refuses other media types with 415 naming what was received and what is expected', async () => {
    const a = bySize[0]!;
    const plain = await post(url, a.bytes, { 'Content-Type': 'application/dicom' });
    expect(plain.status).toBe(415);
    expect(readResponse(plain.json).error).toMatch(/application\/dicom is not supported.*multipart\/related; type="application\/dicom"/);
    const json = await post(url, multipartBody([a.bytes]), { 'Content-Type': `multipart/related; type="application/dicom+json"; boundary=${BOUNDARY}` });
    expect(json.status).toBe(415);
    expect(readResponse(json.json).error).toMatch(/only application\/dicom parts/);
    const xml = await post(url, multipartBody([a.bytes]), { 'Content-Type': `multipart/related; type=application/dicom+xml; boundary=${BOUNDARY}` });
    expect(xml.status).toBe(415);
    const none = await post(url, multipartBody([a.bytes]), { 'Content-Type': '' });
    expect(none.status).toBe(415);
    expect(readResponse(none.json).error).toMatch(/no Content-Type/);
    const gzip = await post(url, multipartBody([a.bytes]), { 'Content-Encoding': 'gzip' });
    expect(gzip.status).toBe(415);
    expect(readResponse(gzip.json).error).toMatch(/Content-Encoding gzip/);
  });

  it('answers 406 to a client that accepts only XML', async () => {
    const res = await post(url, multipartBody([bySize[0]!.bytes]), { Accept: 'application/dicom+xml' });
    expect(res.status).toBe(406);
    expect(res.json.error).toMatch(/application\/dicom\+json/);
  });

  it('builds RetrieveURLs from the Host header', async () => {
    const f = bySize[0]!;
    const res = await post(url, multipartBody([f.bytes]), { Host: 'pacs-gw.example:8443' });
    expect(res.status).toBe(200);
    expect(readResponse(res.json).referenced[0]!.retrieveUrl).toBe(`http://pacs-gw.example:8443/dicomweb/studies/${f.studyUid}/series/${f.seriesUid}/instances/${f.sopInstanceUid}`);
  });

  it('streams a chunked request of many parts in small chunks', async () => {
    const sent = bySize.slice(0, Math.min(6, bySize.length));
    const res = await post(url, chunksOf(multipartBody(sent.map((f) => f.bytes)), 1000), {}, { chunked: true });
    expect(res.status, res.text).toBe(200);
    expect(readResponse(res.json).referenced).toHaveLength(sent.length);
  });

  it('survives a client that hangs up mid-part: the completed part stored, the cut one dropped, no temp file left', async () => {
    const a = withNewSopUid(bySize[0]!, 4242);
    const b = bySize.at(-1)!;
    const body = Buffer.concat([partBytes({ bytes: a.bytes }), partBytes({ bytes: b.bytes }).subarray(0, Math.floor(b.bytes.length / 2))]);
    const http = await import('node:http'); // a raw client: fetch cannot send Expect: 100-continue
    await new Promise<void>((resolve) => {
      const req = http.request(url, { method: 'POST', headers: { 'Content-Type': MULTIPART }, agent: false });
      req.on('error', () => resolve());
      req.write(body, () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 300));
    });
    const line = await waitFor('the disconnect to be logged', () => logs.lines().find((l) => l.msg === 'STOW-RS client disconnected; completed parts were processed, the incomplete one dropped'));
    expect(line).toMatchObject({ parts: 2, stored: 1, failed: 0 });
    expect(tg.gateway.ctx.store.getInstance(a.sopInstanceUid)?.sha256).toBe(sha256(a.bytes));
    await waitFor('the temp dir to be empty', () => readdirSync(tg.gateway.ctx.store.blobs.tmpDir).length === 0);
  });

  it('logs one line per request with counts, bytes and duration, and no patient data', async () => {
    const done = logs.lines().filter((l) => l.component === 'stow-rs' && typeof l.msg === 'string' && l.msg.startsWith('STOW-RS request done'));
    expect(done.length).toBeGreaterThan(5);
    for (const l of done) {
      expect(l).toEqual(expect.objectContaining({ status: expect.any(Number), stored: expect.any(Number), failed: expect.any(Number), bytes: expect.any(Number), durationMs: expect.any(Number) }));
    }
    const text = JSON.stringify(logs.lines());
    for (const f of files) {
      const ds = dicomParser.parseDicom(new Uint8Array(f.bytes), { untilTag: 'x7fe00010' } as dicomParser.ParseDicomOptions);
      for (const tag of ['x00100010', 'x00100020']) {
        const v = ds.string(tag)?.trim();
        if (v && v.length >= 4) expect(text, `${f.name} ${tag}`).not.toContain(v);
      }
    }
  });

  it('still stores a good request after all the bad ones', async () => {
    const f = bySize.at(-1)!;
    const res = await post(url, multipartBody([f.bytes]));
    expect(res.status, res.text).toBe(200);
    expect(tg.gateway.ctx.store.getInstance(f.sopInstanceUid)?.sha256).toBe(f.sha256);
  });
});

describe.skipIf(!haveFiles)('STOW-RS size limit (http.maxRequestBytes = 100000)', () => {
  let tg: TestGateway;
  let url: string;
  const small = files.filter((f) => f.bytes.length < 95_000);
  const big = files.find((f) => f.bytes.length > 100_000)!;

  beforeAll(async () => {
    tg = await startTestGateway({ 'dimse.enabled': false, 'pipeline.enabled': false, 'http.maxRequestBytes': 100_000 });
    url = `${tg.baseUrl}/dicomweb/studies`;
  });
  afterAll(async () => {
    await tg?.stop();
  });

  it('answers 413 before reading when Content-Length is over the limit', async () => {
    const res = await post(url, multipartBody([big.bytes]));
    expect(res.status, res.text).toBe(413);
    expect(readResponse(res.json).error).toMatch(/Content-Length \d+ exceeds the limit of 100000 bytes.*nothing was read/);
    expect(tg.gateway.ctx.store.getInstance(big.sopInstanceUid)).toBeUndefined();
  });

  it('answers 413 when a chunked body grows past the limit, keeping the instances completed before', async () => {
    const first = small[0] ?? null;
    const parts = first ? [first.bytes, big.bytes, big.bytes] : [big.bytes, big.bytes];
    const res = await post(url, chunksOf(multipartBody(parts), 8192), {}, { chunked: true });
    expect(res.status, res.text).toBe(413);
    const r = readResponse(res.json);
    expect(r.error).toMatch(/exceeds the limit of 100000 bytes/);
    if (first) {
      expect(r.referenced.map((i) => i.sopInstanceUid)).toEqual([first.sopInstanceUid]);
      expect(tg.gateway.ctx.store.getInstance(first.sopInstanceUid)).toBeDefined();
    }
    expect(tg.gateway.ctx.store.getInstance(big.sopInstanceUid)).toBeUndefined();
    await waitFor('the temp dir to be empty', () => readdirSync(tg.gateway.ctx.store.blobs.tmpDir).length === 0);
  });

  it('answers 413 to a keep-alive client (fetch), with Content-Length and streamed, and keeps serving it', async () => {
    const body = multipartBody([big.bytes, big.bytes]);
    const withLength = await fetch(url, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: Uint8Array.from(body) });
    expect(withLength.status).toBe(413);
    expect(readResponse(await withLength.json()).error).toMatch(/Content-Length/);
    const streamed = await fetch(url, {
      method: 'POST', headers: { 'Content-Type': MULTIPART }, duplex: 'half',
      body: new ReadableStream({ start(c) { for (const chunk of chunksOf(body, 16384)) c.enqueue(chunk); c.close(); } }),
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(readResponse(await streamed.json()).error).toMatch(/request body exceeds the limit/);
    const f = small.at(-1) ?? files[0]!;
    const after = await fetch(url, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: Uint8Array.from(multipartBody([f.bytes])) });
    expect(after.status).toBe(f.bytes.length < 95_000 ? 200 : 413);
  });

  it('keeps serving after refusing', async () => {
    const f = small.at(-1) ?? files[0]!;
    const res = await post(url, multipartBody([f.bytes]));
    expect(res.status, res.text).toBe(f.bytes.length < 95_000 ? 200 : 413);
  });
});

describe('STOW-RS with Expect: 100-continue', () => {
  it('answers 413 before the client uploads an oversize body, and invites a body that fits', async () => {
    const http = await import('node:http'); // a raw client: fetch cannot send Expect: 100-continue
    const tg = await startTestGateway({ 'http.maxRequestBytes': 1000, 'pipeline.enabled': false });
    try {
      const url = new URL(`${tg.baseUrl}/dicomweb/studies`);
      const ask = (length: number) => new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: {
          'Content-Type': 'multipart/related; type="application/dicom"; boundary=b', 'Content-Length': String(length), Expect: '100-continue',
        } });
        req.on('continue', () => { continued = true; req.end(Buffer.alloc(length, 0x2d)); });
        req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode!, continued }); req.destroy(); });
        req.on('error', reject);
        req.flushHeaders();
      });
      expect(await ask(50_000_000)).toEqual({ status: 413, continued: false });
      const small = await ask(100);
      expect(small.continued).toBe(true);
      expect(small.status).toBe(400); // invited, read, and found not to be a multipart body
    } finally {
      await tg.stop();
    }
  });
});
