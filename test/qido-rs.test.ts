// QIDO-RS (PS3.18 10.6) against a real gateway filled through the ingest door with real DICOM files: the project's
// fixtures and third-party files from ../shared/interop. Expected answers are computed from the files' own headers,
// so every filter is checked against what the files say, not against what the gateway stored.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFile, startTestGateway, SHARED_DIR, FIXTURES_DIR, type TestGateway } from './helpers/gateway.js';
import type { DicomJson } from '../src/dicom/json-model.js';

interface Inst { file: string; study: string; series: string; sop: string; sopClass: string; attrs: DicomJson }

const INTEROP = path.join(SHARED_DIR, 'interop');
const SHARED_FILES = [
  'real-dicom/ophthalmic-vl/dcmjs__sample-op.dcm',
  'real-dicom/ophthalmic-vl/dicom4ortho__test.dcm',
  'real-dicom/ophthalmic-vl/dwv__nema-vl2_j2kr.dcm',
  'real-dicom/ophthalmic-vl/fo-dicom__JPEGwithIcon.dcm',
  'real-dicom/ophthalmic-vl/fo-dicom__VL5_J2KI.dcm',
  'real-dicom/charset/pydicom__chrFren.dcm',
  'real-dicom/charset/pydicom__chrGreek.dcm',
  'real-dicom/charset/pydicom__chrRuss.dcm',
  'real-dicom/charset/pydicom__chrX2.dcm',
  'real-dicom/charset/pydicom__chrArab.dcm',
  'real-dicom/charset/orthanc-tests__Lena-latin1.dcm',
  'real-dicom/charset/orthanc-tests__MarekLatin2.dcm',
  'seg-reference/highdicom__ct_image.dcm',
  'seg-reference/highdicom__seg_image_ct_binary_single_frame.dcm',
  'seg-reference/highdicom__sm_image.dcm',
  'seg-reference/highdicom__seg_image_sm_numbers.dcm',
  'seg-reference/dcmqi__IMG0003.dcm',
  'seg-reference/dcmqi__sparse-labelmap-ppv5.dcm',
].map((f) => path.join(INTEROP, f)).filter((f) => fs.existsSync(f));

function fixtureFiles(): string[] {
  const manifest = path.join(FIXTURES_DIR, 'manifest.json');
  if (!fs.existsSync(manifest)) return [];
  const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { files: Array<{ path: string; valid: boolean }> };
  return m.files.filter((f) => f.valid).map((f) => path.join(FIXTURES_DIR, f.path)).filter((f) => fs.existsSync(f));
}

const FILES = [...fixtureFiles(), ...SHARED_FILES];
if (SHARED_FILES.length === 0) console.warn(`[test] ${INTEROP} is absent: QIDO-RS tests on third-party files are skipped`);
if (FILES.length === 0) console.warn('[test] neither fixtures/ nor ../shared/interop hold DICOM files: QIDO-RS tests are skipped');
const has = (name: string) => FILES.some((f) => path.basename(f) === name);

function str(a: DicomJson, tag: string): string | undefined {
  const v = a[tag]?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return (v as { Alphabetic?: string }).Alphabetic;
  return String(v).trim() || undefined;
}
function uidOf(r: DicomJson, tag: string): string {
  return String(r[tag]?.Value?.[0]);
}

describe.skipIf(FILES.length === 0)('QIDO-RS', () => {
  let tg: TestGateway;
  const corpus: Inst[] = [];
  const studies = () => [...new Set(corpus.map((i) => i.study))].sort();
  const studyAttrs = (uid: string) => corpus.find((i) => i.study === uid)!.attrs;

  async function get(p: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${tg.baseUrl}/dicomweb${p}`, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as DicomJson[] };
  }
  async function uids(p: string, tag: string): Promise<string[]> {
    const r = await get(p);
    expect(r.status, `${p}: ${r.text.slice(0, 200)}`).toBe(200);
    return r.json().map((x) => uidOf(x, tag)).sort();
  }
  const studyUids = (p: string) => uids(`/studies${p}`, '0020000D');
  const expectStudies = (pred: (a: DicomJson) => boolean) => studies().filter((s) => pred(studyAttrs(s))).sort();

  beforeAll(async () => {
    tg = await startTestGateway({ 'pipeline.enabled': false, 'dimse.enabled': false });
    for (const file of FILES) {
      const { header, outcome } = await ingestFile(tg, file);
      if (outcome.status !== 'stored') continue;
      corpus.push({ file, study: header.studyInstanceUid, series: header.seriesInstanceUid, sop: header.sopInstanceUid, sopClass: header.sopClassUid, attrs: header.attributes });
    }
    expect(corpus.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await tg?.stop();
  });

  it('lists every study with the required return attributes of PS3.18 Table 10.6.3-3', async () => {
    const r = await get('/studies');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/dicom\+json/);
    const results = r.json();
    expect(results.map((x) => uidOf(x, '0020000D')).sort()).toEqual(studies());
    const required = ['00080020', '00080030', '00080050', '00080056', '00080061', '00080090', '00081190', '00100010', '00100020', '00100030', '00100040', '0020000D', '00200010', '00201206', '00201208'];
    for (const res of results) {
      for (const t of required) expect(res[t], `study result lacks ${t}`).toBeDefined();
      const uid = uidOf(res, '0020000D');
      const mine = corpus.filter((i) => i.study === uid);
      expect(res['00201208']!.Value).toEqual([mine.length]);
      expect(res['00201206']!.Value).toEqual([new Set(mine.map((i) => i.series)).size]);
      expect(res['00080061']!.Value ?? []).toEqual([...new Set(mine.map((i) => str(i.attrs, '00080060')).filter(Boolean))].sort());
      expect(res['00080056']!.Value).toEqual(['ONLINE']);
      expect(res['00081190']!.Value).toEqual([`${tg.baseUrl}/dicomweb/studies/${uid}`]);
      expect(str(res, '00100020')).toBe(str(studyAttrs(uid), '00100020'));
      expect(Object.keys(res)).toEqual(Object.keys(res).sort());
    }
  });

  it('PatientID: single value matching, by keyword and by tag, and a mismatch returns none', async () => {
    const target = studies().map(studyAttrs).find((a) => str(a, '00100020'))!;
    const id = str(target, '00100020')!;
    const expected = expectStudies((a) => str(a, '00100020') === id);
    expect(await studyUids(`?PatientID=${encodeURIComponent(id)}`)).toEqual(expected);
    expect(await studyUids(`?00100020=${encodeURIComponent(id)}`)).toEqual(expected);
    expect(await studyUids('?PatientID=NO-SUCH-PATIENT-4711')).toEqual([]);
    // Wildcards in a LO key are case-sensitive.
    expect(await studyUids(`?PatientID=${encodeURIComponent(id.slice(0, 2))}*`)).toEqual(expectStudies((a) => (str(a, '00100020') ?? '').startsWith(id.slice(0, 2))));
  });

  it('PatientName: wildcards, case-insensitive, trailing components, any component group', async () => {
    const names = studies().map((s) => str(studyAttrs(s), '00100010')).filter((n): n is string => !!n);
    const name = names.find((n) => n.includes('^') && /[a-z]/i.test(n))!;
    const clean = (n: string) => n.replace(/[\^ ]+$/, '');
    const exact = expectStudies((a) => clean(str(a, '00100010') ?? '').toLowerCase() === clean(name).toLowerCase());
    expect(exact.length).toBeGreaterThan(0);
    expect(await studyUids(`?PatientName=${encodeURIComponent(name.toUpperCase())}`)).toEqual(exact);
    expect(await studyUids(`?PatientName=${encodeURIComponent(name.toLowerCase())}`)).toEqual(exact);
    const family = name.split('^')[0]!;
    expect(await studyUids(`?PatientName=${encodeURIComponent(family)}*`))
      .toEqual(expectStudies((a) => (str(a, '00100010') ?? '').toLowerCase().startsWith(family.toLowerCase())));
    const q = `${name.slice(0, 1)}?${name.slice(2)}`;
    expect(await studyUids(`?PatientName=${encodeURIComponent(q)}`)).toEqual(exact);
    expect(await studyUids('?PatientName=Nobody^Atall*')).toEqual([]);
    expect(await studyUids('?PatientName=*')).toEqual(studies());
  });

  it('PatientName with non-ASCII values (French, Greek, Cyrillic, Arabic, ideographic group)', async () => {
    const cases: Array<[string, string]> = [];
    if (has('pydicom__chrFren.dcm')) cases.push(['pydicom__chrFren.dcm', 'buc^jÉRÔME']);
    if (has('pydicom__chrGreek.dcm')) cases.push(['pydicom__chrGreek.dcm', 'ΔΙΟΝΥΣ*']);
    if (has('pydicom__chrRuss.dcm')) cases.push(['pydicom__chrRuss.dcm', '*мбypг']);
    if (has('pydicom__chrArab.dcm')) cases.push(['pydicom__chrArab.dcm', 'قباني^*']);
    if (has('pydicom__chrX2.dcm')) cases.push(['pydicom__chrX2.dcm', '王^小?']);
    if (cases.length === 0) return console.warn('[test] charset files absent: non-ASCII PatientName matching not tested');
    for (const [file, pattern] of cases) {
      const inst = corpus.find((i) => path.basename(i.file) === file)!;
      expect(await studyUids(`?PatientName=${encodeURIComponent(pattern)}`), `${pattern} should find ${file}`).toEqual([inst.study]);
    }
  });

  it('StudyDate: single date, closed range, open ranges; invalid dates are 400', async () => {
    const dates = [...new Set(studies().map((s) => str(studyAttrs(s), '00080020')).filter((d): d is string => !!d))].sort();
    expect(dates.length).toBeGreaterThan(1);
    const mid = dates[Math.floor(dates.length / 2)]!;
    const lo = dates[0]!;
    const date = (a: DicomJson) => str(a, '00080020');
    expect(await studyUids(`?StudyDate=${mid}`)).toEqual(expectStudies((a) => date(a) === mid));
    expect(await studyUids(`?StudyDate=${lo}-${mid}`)).toEqual(expectStudies((a) => !!date(a) && date(a)! >= lo && date(a)! <= mid));
    expect(await studyUids(`?StudyDate=-${mid}`)).toEqual(expectStudies((a) => !!date(a) && date(a)! <= mid));
    expect(await studyUids(`?StudyDate=${mid}-`)).toEqual(expectStudies((a) => !!date(a) && date(a)! >= mid));
    expect(await studyUids('?StudyDate=18000101-18001231')).toEqual([]);
    for (const bad of ['2024-03-11', '20241399', 'yesterday', '20240101-20230101']) {
      const r = await get(`/studies?StudyDate=${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.text).toContain('StudyDate');
    }
  });

  it('StudyTime ranges match on HHMMSS', async () => {
    const withTime = studies().map(studyAttrs).find((a) => str(a, '00080030') && str(a, '00080020'))!;
    const t = str(withTime, '00080030')!.replace(/:/g, '');
    const hh = t.slice(0, 2);
    const got = await studyUids(`?StudyTime=${hh}00-${hh}59`);
    expect(got).toContain(str(withTime, '0020000D'));
    const expected = expectStudies((a) => (str(a, '00080030') ?? '').replace(/:/g, '').startsWith(hh));
    expect(got).toEqual(expected);
  });

  it('AccessionNumber and StudyInstanceUID lists (comma-separated and repeated)', async () => {
    const withAcc = studies().map(studyAttrs).find((a) => str(a, '00080050'))!;
    const acc = str(withAcc, '00080050')!;
    expect(await studyUids(`?AccessionNumber=${encodeURIComponent(acc)}`)).toEqual(expectStudies((a) => str(a, '00080050') === acc));
    expect(await studyUids('?AccessionNumber=NOPE-0000')).toEqual([]);
    const [a, b] = studies();
    expect(await studyUids(`?StudyInstanceUID=${a},${b}`)).toEqual([a, b].sort());
    expect(await studyUids(`?StudyInstanceUID=${a}&StudyInstanceUID=${b}`)).toEqual([a, b].sort());
    expect(await studyUids(`?0020000D=${a}`)).toEqual([a]);
    expect(await studyUids('?StudyInstanceUID=1.2.3.4.5.6.7.8.9')).toEqual([]);
    expect((await get('/studies?StudyInstanceUID=not-a-uid')).status).toBe(400);
  });

  it('ModalitiesInStudy matches studies that hold a series of that modality', async () => {
    const modalities = [...new Set(corpus.map((i) => str(i.attrs, '00080060')).filter((m): m is string => !!m))];
    for (const m of modalities) {
      const expected = [...new Set(corpus.filter((i) => str(i.attrs, '00080060') === m).map((i) => i.study))].sort();
      expect(await studyUids(`?ModalitiesInStudy=${m}`), m).toEqual(expected);
    }
    expect(await studyUids('?ModalitiesInStudy=ZZ')).toEqual([]);
  });

  it('includefield: keyword, tag, comma list, all, and attributes only instances carry', async () => {
    const [s] = studies();
    const plain = (await get(`/studies?StudyInstanceUID=${s}`)).json()[0]!;
    expect(plain['00101010']).toBeUndefined();
    const withAge = corpus.find((i) => str(i.attrs, '00101010'));
    if (withAge) {
      const r = (await get(`/studies?StudyInstanceUID=${withAge.study}&includefield=PatientAge`)).json()[0]!;
      expect(str(r, '00101010')).toBe(str(withAge.attrs, '00101010'));
      const r2 = (await get(`/studies?StudyInstanceUID=${withAge.study}&includefield=00101010,StudyDescription`)).json()[0]!;
      expect(str(r2, '00101010')).toBe(str(withAge.attrs, '00101010'));
    }
    const all = (await get(`/studies?StudyInstanceUID=${s}&includefield=all`)).json()[0]!;
    expect(Object.keys(all).length).toBeGreaterThanOrEqual(Object.keys(plain).length);
    const bad = await get('/studies?includefield=NotAKeyword');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('NotAKeyword');
  });

  it('limit and offset page through every study without overlap; bad values are 400', async () => {
    const all = await studyUids('');
    const seen: string[] = [];
    for (let offset = 0; offset < all.length + 2; offset += 2) {
      const page = (await get(`/studies?limit=2&offset=${offset}`)).json().map((x) => uidOf(x, '0020000D'));
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...page);
    }
    expect(seen.length).toBe(all.length);
    expect([...seen].sort()).toEqual(all);
    expect(await studyUids(`?offset=${all.length}`)).toEqual([]);
    for (const bad of ['limit=0', 'limit=-1', 'limit=abc', 'offset=-1', 'offset=1.5', 'limit=1&limit=2']) {
      const r = await get(`/studies?${bad}`);
      expect(r.status, bad).toBe(400);
    }
  });

  it('unknown or unsupported keys are 400 naming the key', async () => {
    for (const [q, name] of [['FooBar=1', 'FooBar'], ['Rows=512', 'Rows'], ['Modality=OP', 'Modality'], ['00280010=1', '00280010'], ['ReferencedSeriesSequence.SeriesInstanceUID=1', 'ReferencedSeriesSequence']] as const) {
      const r = await get(`/studies?${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.text).error).toContain(name);
    }
  });

  it('fuzzymatching=true answers with a Warning; false is silent; other values are 400', async () => {
    const t = await get('/studies?fuzzymatching=true');
    expect(t.status).toBe(200);
    expect(t.headers.get('warning')).toMatch(/^299 .*fuzzymatching/);
    const f = await get('/studies?fuzzymatching=false');
    expect(f.status).toBe(200);
    expect(f.headers.get('warning')).toBeNull();
    expect((await get('/studies?fuzzymatching=maybe')).status).toBe(400);
  });

  it('Accept: application/json works, anything else is 406', async () => {
    const j = await get('/studies?limit=1', { accept: 'application/json' });
    expect(j.status).toBe(200);
    expect(j.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get('/studies', { accept: 'application/dicom+xml' })).status).toBe(406);
    expect((await get('/studies', { accept: 'multipart/related; type="application/dicom+xml"' })).status).toBe(406);
    expect((await get('/studies', { accept: 'text/html, */*;q=0.1' })).status).toBe(200);
  });

  it('series of a study, and series across studies (with study attributes), by Modality and SeriesInstanceUID', async () => {
    const study = [...new Set(corpus.map((i) => i.study))].sort((a, b) => new Set(corpus.filter((i) => i.study === b).map((i) => i.series)).size - new Set(corpus.filter((i) => i.study === a).map((i) => i.series)).size)[0]!;
    const mine = corpus.filter((i) => i.study === study);
    const r = await get(`/studies/${study}/series`);
    expect(r.status).toBe(200);
    const series = r.json();
    expect(series.map((x) => uidOf(x, '0020000E')).sort()).toEqual([...new Set(mine.map((i) => i.series))].sort());
    for (const se of series) {
      for (const t of ['00080060', '0020000E', '00200011', '00201209', '00400244', '00400245', '00081190']) expect(se[t], t).toBeDefined();
      const seUid = uidOf(se, '0020000E');
      expect(se['00201209']!.Value).toEqual([mine.filter((i) => i.series === seUid).length]);
      expect(se['00081190']!.Value).toEqual([`${tg.baseUrl}/dicomweb/studies/${study}/series/${seUid}`]);
      expect(se['00100010']).toBeUndefined(); // study attributes only when searching across studies
    }
    const modality = str(mine[0]!.attrs, '00080060')!;
    const across = await get(`/series?Modality=${modality}`);
    const expected = [...new Set(corpus.filter((i) => str(i.attrs, '00080060') === modality).map((i) => i.series))].sort();
    expect(across.json().map((x) => uidOf(x, '0020000E')).sort()).toEqual(expected);
    expect(across.json()[0]!['00100020']).toBeDefined();
    expect(await uids(`/series?SeriesInstanceUID=${mine[0]!.series}`, '0020000E')).toEqual([mine[0]!.series]);
    expect(await uids(`/series?PatientID=NO-SUCH-PATIENT`, '0020000E')).toEqual([]);
    expect(await uids(`/studies/${study}/series?Modality=ZZ`, '0020000E')).toEqual([]);
    expect(await uids('/studies/1.2.3.4.5.6.7.8.9/series', '0020000E')).toEqual([]);
  });

  it('instances of a series carry Table 10.6.3-5 attributes with the values of the files', async () => {
    const inst = corpus.find((i) => i.attrs['00280010']) ?? corpus[0]!;
    const r = await get(`/studies/${inst.study}/series/${inst.series}/instances`);
    expect(r.status).toBe(200);
    const list = r.json();
    expect(list.map((x) => uidOf(x, '00080018')).sort()).toEqual(corpus.filter((i) => i.series === inst.series).map((i) => i.sop).sort());
    const mine = list.find((x) => uidOf(x, '00080018') === inst.sop)!;
    expect(uidOf(mine, '00080016')).toBe(inst.sopClass);
    expect(mine['00080056']!.Value).toEqual(['ONLINE']);
    expect(mine['00081190']!.Value).toEqual([`${tg.baseUrl}/dicomweb/studies/${inst.study}/series/${inst.series}/instances/${inst.sop}`]);
    for (const t of ['00280010', '00280011', '00280100', '00200013']) {
      if (inst.attrs[t]) expect(mine[t]!.Value, t).toEqual(inst.attrs[t]!.Value);
    }
  });

  it('instances across studies and of a study: SOPClassUID, SOPInstanceUID lists, InstanceNumber, study keys', async () => {
    const classes = [...new Set(corpus.map((i) => i.sopClass))];
    for (const c of classes) {
      expect(await uids(`/instances?SOPClassUID=${c}`, '00080018')).toEqual(corpus.filter((i) => i.sopClass === c).map((i) => i.sop).sort());
    }
    const [a, b] = corpus;
    expect(await uids(`/instances?SOPInstanceUID=${a!.sop},${b!.sop}`, '00080018')).toEqual([a!.sop, b!.sop].sort());
    const byStudy = await get(`/studies/${a!.study}/instances`);
    expect(byStudy.json().map((x) => uidOf(x, '00080018')).sort()).toEqual(corpus.filter((i) => i.study === a!.study).map((i) => i.sop).sort());
    expect(byStudy.json()[0]!['00080060']).toBeDefined(); // series attributes within a study
    const pid = str(a!.attrs, '00100020');
    if (pid) expect(await uids(`/instances?PatientID=${encodeURIComponent(pid)}`, '00080018')).toEqual(corpus.filter((i) => str(i.attrs, '00100020') === pid).map((i) => i.sop).sort());
    const withNumber = corpus.find((i) => str(i.attrs, '00200013'))!;
    const n = str(withNumber.attrs, '00200013')!;
    expect(await uids(`/studies/${withNumber.study}/series/${withNumber.series}/instances?InstanceNumber=${n}`, '00080018'))
      .toEqual(corpus.filter((i) => i.series === withNumber.series && Number(str(i.attrs, '00200013')) === Number(n)).map((i) => i.sop).sort());
    expect(await uids('/instances?SOPInstanceUID=1.2.3.4.5.6.7.8.9', '00080018')).toEqual([]);
  });

  it.skipIf(!fixtureFiles().length)('ImageLaterality and Modality narrow the fixture fundus photographs by eye', async () => {
    for (const eye of ['L', 'R']) {
      const expected = corpus.filter((i) => str(i.attrs, '00200062') === eye).map((i) => i.sop).sort();
      expect(expected.length).toBeGreaterThan(0);
      expect(await uids(`/instances?ImageLaterality=${eye}`, '00080018')).toEqual(expected);
    }
    const ops = corpus.filter((i) => str(i.attrs, '00080060') === 'OP').map((i) => i.sop).sort();
    expect(await uids('/instances?Modality=OP', '00080018')).toEqual(ops);
    expect(await uids('/instances?Modality=OP&ImageLaterality=X', '00080018')).toEqual([]);
  });

  it('includefield=all on instances rewrites bulk data placeholders to absolute URLs', async () => {
    const r = await get('/instances?includefield=all');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('"bulk:');
    expect(r.json().length).toBe(corpus.length);
  });
});
