// fetchStudy against answers a real source rarely gives: a part that is not DICOM, an instance of another study,
// a body cut off mid-part, error statuses. The server here is a node:http test server that sends fixed bytes
// (fixture files framed by test/helpers/stow.ts), so each failure can be made on purpose; the parts go through a
// real gateway's ingest door.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestGateway, FIXTURES_DIR, type TestGateway } from '../helpers/gateway.js';
import { multipartBody, partBytes, BOUNDARY } from '../helpers/stow.js';
import { fetchStudy, WadoFetchError, WADO_RS_ACCEPT } from '../../src/ingest/wado-rs-fetch.js';

const STUDY = '2.25.3229570002412344472195883573693846992';
const A = readFileSync(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid55-L.dcm'));
const B = readFileSync(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid56-L.dcm'));
const OTHER_STUDY = readFileSync(path.join(FIXTURES_DIR, 'op-rgb-planar0-idrid70-R.dcm'));
const MULTIPART = `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`;

type Answer = (res: http.ServerResponse) => void;

describe('fetchStudy (WADO-RS retrieve study)', () => {
  let tg: TestGateway;
  let server: http.Server;
  let base = '';
  let answer: Answer = (res) => res.writeHead(500).end();
  const seen: Array<{ url: string; accept: string; authorization: string }> = [];

  beforeAll(async () => {
    tg = await startTestGateway({ 'pipeline.enabled': false, 'dimse.enabled': false, 'assembly.settleSeconds': 60 });
    server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', accept: String(req.headers.accept), authorization: String(req.headers.authorization) });
      answer(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  }, 60_000);
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await tg?.stop();
  });

  const run = () => fetchStudy({ source: { name: 'test', url: base, bearerToken: 'wado-token', timeoutSeconds: 5 }, studyUid: STUDY, acceptor: tg.gateway.ctx.acceptor, blobs: tg.gateway.ctx.store.blobs });

  it('asks for the whole study in any transfer syntax with the bearer token; stores DICOM parts and counts the others as refused', async () => {
    answer = (res) => res.writeHead(200, { 'Content-Type': MULTIPART }).end(multipartBody([A, { bytes: Buffer.from('not DICOM'), contentType: 'text/plain' }, OTHER_STUDY]));
    seen.length = 0;
    const r = await run();
    expect(seen).toEqual([{ url: `/dicom-web/studies/${STUDY}`, accept: WADO_RS_ACCEPT, authorization: 'Bearer wado-token' }]);
    expect(r).toMatchObject({ parts: 3, stored: 1, duplicates: 0, refused: 2 });
    expect(r.refusals[0]).toMatch(/part 2: the part is "text\/plain", not application\/dicom/);
    expect(r.refusals[1]).toMatch(/part 3 \(SOP Instance [0-9.]+\): Study Instance UID 2\.25\.147809329940753884633904577628950957982 differs from the study in the request URL/);
    expect(tg.gateway.ctx.store.instancesOfStudy(STUDY).map((i) => i.protocol)).toEqual(['wado-fetch']);
    expect(tg.gateway.ctx.store.getStudy('2.25.147809329940753884633904577628950957982')).toBeUndefined();
  });

  it('a body cut off inside a part is a retryable failure; the parts completed before it are kept', async () => {
    answer = (res) => {
      res.writeHead(200, { 'Content-Type': MULTIPART });
      res.write(partBytes({ bytes: B }));
      res.end(partBytes({ bytes: A }).subarray(0, 2000));
    };
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WadoFetchError);
    expect((err as WadoFetchError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/malformed multipart response after 2 part\(s\): the body ends inside part 2/);
    expect(tg.gateway.ctx.store.instancesOfStudy(STUDY)).toHaveLength(2);
  });

  it('error statuses: 5xx and 404 are retried, 401 and a non-multipart answer are not', async () => {
    const cases: Array<[Answer, boolean, RegExp]> = [
      [(res) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy'), true, /HTTP 503: busy/],
      [(res) => res.writeHead(404).end(), true, /HTTP 404: the source has no instances of this study \(yet\)/],
      [(res) => res.writeHead(401).end(), false, /HTTP 401/],
      [(res) => res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]'), false, /not multipart\/related/],
      [(res) => res.writeHead(200, { 'Content-Type': MULTIPART }).end(`--${BOUNDARY}--\r\n`), true, /no parts/],
    ];
    for (const [a, retryable, message] of cases) {
      answer = a;
      const err = await run().then(() => undefined, (e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(WadoFetchError);
      expect((err as WadoFetchError).retryable, String(message)).toBe(retryable);
      expect((err as Error).message).toMatch(message);
    }
  });
});
