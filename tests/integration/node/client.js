'use strict';
/*
 * client.js - drives `pacsd serve` with the DICOMweb client OHIF uses
 * (dicomweb-client 0.11) and parses what comes back with dcmjs, so that the
 * server is checked by somebody else's reading of PS3.18.
 *
 * Usage: node client.js BASE_URL MANIFEST
 *   BASE_URL  http://127.0.0.1:PORT (no trailing slash)
 *   MANIFEST  JSON written by test_node_client.sh with pydicom: the files to
 *             store and, for each, what pydicom read in it (UIDs, patient,
 *             date, pixel geometry, the SHA-256 of native frame 1...).
 *
 * Every check prints "PASS name" or "FAIL name: why"; the last line is
 * "N passed, M failed". Exit status 1 when anything failed.
 *
 * Requires NODE_PATH to name the node_modules the test script installed.
 */

// dicomweb-client 0.11 calls XMLHttpRequest, which Node has not.
global.XMLHttpRequest = require('xhr2');

const crypto = require('crypto');
const fs = require('fs');
const { api } = require('dicomweb-client');
const dcmjs = require('dcmjs');

const [, , BASE, MANIFEST] = process.argv;
if (!BASE || !MANIFEST) {
  console.error('usage: node client.js BASE_URL MANIFEST');
  process.exit(2);
}
const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
const DW = `${BASE}/dicom-web`;
const client = new api.DICOMwebClient({ url: DW, verbose: false });

let passed = 0;
let failed = 0;

function pass(name) {
  passed += 1;
  console.log(`PASS ${name}`);
}

function fail(name, why) {
  failed += 1;
  console.log(`FAIL ${name}: ${why}`);
}

function check(name, cond, why) {
  if (cond) pass(name);
  else fail(name, why === undefined ? 'condition false' : why);
  return cond;
}

/* Runs one async check; an exception is a failure naming the HTTP status. */
async function step(name, fn) {
  try {
    await fn(name);
  } catch (e) {
    let why = e && e.message ? e.message : String(e);
    if (e && e.status !== undefined) {
      let body = e.response;
      if (body instanceof ArrayBuffer) body = Buffer.from(body).toString('utf8');
      if (body && typeof body === 'object') body = JSON.stringify(body);
      why += ` (HTTP ${e.status}${body ? `: ${String(body).slice(0, 300)}` : ''})`;
    }
    fail(name, why);
  }
}

function toBuffer(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(x);
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`not binary: ${typeof x}`);
}

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function sha256(x) {
  return crypto.createHash('sha256').update(toBuffer(x)).digest('hex');
}

/* A Part 10 file read by dcmjs: its transfer syntax and naturalized data set. */
function parseDicom(x) {
  const dicom = dcmjs.data.DicomMessage.readFile(toArrayBuffer(toBuffer(x)));
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dicom.dict);
  const ts = dicom.meta['00020010'] && dicom.meta['00020010'].Value[0];
  return { ts, ds };
}

/* DICOM JSON helpers (PS3.18 F.2). */
function val(obj, tag) {
  const a = obj && obj[tag];
  return a && Array.isArray(a.Value) ? a.Value[0] : undefined;
}

function pn(obj, tag) {
  const v = val(obj, tag);
  return v && typeof v === 'object' ? v.Alphabetic : v;
}

function asJson(resp) {
  if (resp === null || resp === undefined || resp === '') return [];
  if (typeof resp === 'string') return JSON.parse(resp);
  if (resp instanceof ArrayBuffer) return JSON.parse(Buffer.from(resp).toString('utf8'));
  return resp;
}

function uidsOf(list, tag) {
  return new Set(asJson(list).map((o) => val(o, tag)));
}

function sameSet(a, b) {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function showSet(s) {
  return `[${[...s].map((x) => String(x).slice(-18)).join(', ')}]`;
}

/* A PS3.4 C.2.2.2.4 wildcard as a RegExp ('*' any run, '?' one char). */
function wildcard(pattern) {
  const esc = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/* Plain HTTP for what dicomweb-client lacks (DELETE, raw status codes). */
async function http(method, url, headers = {}, body = undefined) {
  const r = await fetch(url, { method, headers, body });
  const buf = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body: buf };
}

/* Walks DICOM JSON, calling fn(path, element) for every element. */
function walk(obj, fn, path = []) {
  for (const [tag, el] of Object.entries(obj || {})) {
    fn([...path, tag], el);
    if (el && el.vr === 'SQ' && Array.isArray(el.Value)) {
      el.Value.forEach((item, i) => walk(item, fn, [...path, tag, i]));
    }
  }
}

const byName = Object.fromEntries(manifest.files.map((f) => [f.name, f]));
const stored = manifest.files.filter((f) => f.store);
const originals = Object.fromEntries(
  manifest.files.map((f) => [f.name, fs.readFileSync(f.path)]),
);
const ct = byName['CT_small.dcm'];
const mr = byName['MR_small.dcm'];
const rle = byName['SC_rgb_rle.dcm'];
const dose = byName['rtdose.dcm'];
const ecg = byName['waveform_ecg.dcm'];
const conflict = byName[manifest.conflict];

function studiesWhere(pred) {
  return new Set(stored.filter(pred).map((f) => f.study));
}

function ids(f) {
  return {
    studyInstanceUID: f.study,
    seriesInstanceUID: f.series,
    sopInstanceUID: f.sop,
  };
}

/* PS3.18 10.5.3 store response: the SOP Instance UIDs referenced/failed. */
function stowResult(resp) {
  const j = asJson(resp);
  const obj = Array.isArray(j) ? j[0] : j;
  const ref = ((obj && obj['00081199'] && obj['00081199'].Value) || []).map((i) => val(i, '00081155'));
  const bad = ((obj && obj['00081198'] && obj['00081198'].Value) || []).map((i) => ({
    sop: val(i, '00081155'),
    reason: val(i, '00081197'),
  }));
  return { ref, bad, obj };
}

/*
 * WADO-RS retrieve with Accept: multipart/related; type="application/dicom";
 * transfer-syntax=* (PS3.18 8.7.3.5: the stored bytes, as they are).
 * dicomweb-client 0.11.3's retrieveInstance/Series/Study reject every
 * mediaTypes argument (their _getCommonMediaType() yields "application/",
 * never equal to "application/dicom"), so this calls the method they would
 * have called, with the same Accept building and multipart decoding.
 * Resolves to the list of parts.
 */
function retrieveAsStored(f, level = 'instance') {
  let url = `${DW}/studies/${f.study}`;
  if (level !== 'study') url += `/series/${f.series}`;
  if (level === 'instance') url += `/instances/${f.sop}`;
  return client._httpGetMultipartApplicationDicom(
    url, [{ mediaType: 'application/dicom', transferSyntaxUID: '*' }], false, {},
  );
}

async function main() {
  await step('health', async (name) => {
    const r = await http('GET', `${BASE}/health`);
    check(name, r.status === 200, `GET /health -> ${r.status}`);
  });

  /* ---- STOW-RS ---------------------------------------------------------- */
  await step('stow: store all test files in one request', async (name) => {
    const resp = await client.storeInstances({
      datasets: stored.map((f) => toArrayBuffer(originals[f.name])),
    });
    const { ref, bad } = stowResult(resp);
    const want = new Set(stored.map((f) => f.sop));
    const got = new Set(ref);
    check(name, sameSet(want, got) && bad.length === 0,
      `referenced ${got.size}/${want.size}, failed ${JSON.stringify(bad)}; missing ${showSet(new Set([...want].filter((x) => !got.has(x))))}`);
  });

  await step('stow: repeating an identical instance is accepted', async (name) => {
    const resp = await client.storeInstances({ datasets: [toArrayBuffer(originals[ct.name])] });
    const { ref, bad } = stowResult(resp);
    check(name, ref.length === 1 && ref[0] === ct.sop && bad.length === 0,
      `referenced ${JSON.stringify(ref)}, failed ${JSON.stringify(bad)}`);
  });

  await step('stow: same SOP Instance UID with other bytes is refused (409, 0111)', async (name) => {
    let status = 200;
    let resp;
    try {
      resp = await client.storeInstances({ datasets: [toArrayBuffer(originals[conflict.name])] });
    } catch (e) {
      status = e.status;
      resp = e.response;
    }
    const { ref, bad } = stowResult(resp);
    check(name, status === 409 && ref.length === 0 && bad.length === 1
      && bad[0].sop === conflict.sop && bad[0].reason === 0x0111,
    `HTTP ${status}, referenced ${JSON.stringify(ref)}, failed ${JSON.stringify(bad)}`);
  });

  await step('stow: instance outside the study named in the URL is refused', async (name) => {
    let status = 200;
    let resp;
    try {
      resp = await client.storeInstances({
        studyInstanceUID: ct.study,
        datasets: [toArrayBuffer(originals[mr.name])],
      });
    } catch (e) {
      status = e.status;
      resp = e.response;
    }
    const { ref, bad } = stowResult(resp);
    check(name, status === 409 && ref.length === 0 && bad.length === 1 && bad[0].sop === mr.sop,
      `HTTP ${status}, referenced ${JSON.stringify(ref)}, failed ${JSON.stringify(bad)}`);
  });

  /* ---- QIDO-RS ---------------------------------------------------------- */
  const allStudies = studiesWhere(() => true);
  await step('qido: all studies', async (name) => {
    const got = uidsOf(await client.searchForStudies(), '0020000D');
    check(name, sameSet(got, allStudies), `got ${showSet(got)}, want ${showSet(allStudies)}`);
  });

  await step('qido: PatientName wildcard', async (name) => {
    const pat = 'CompressedSamples*';
    const re = wildcard(pat);
    const want = studiesWhere((f) => re.test(f.patient_name));
    const resp = asJson(await client.searchForStudies({ queryParams: { PatientName: pat } }));
    const got = uidsOf(resp, '0020000D');
    const names = resp.every((o) => re.test(pn(o, '00100010') || ''));
    check(name, want.size === 3 && sameSet(got, want) && names,
      `got ${showSet(got)}, want ${showSet(want)}, names ok ${names}`);
  });

  await step('qido: PatientName with ? wildcard', async (name) => {
    const pat = 'CompressedSamples^?R1';
    const want = studiesWhere((f) => wildcard(pat).test(f.patient_name));
    const got = uidsOf(await client.searchForStudies({ queryParams: { PatientName: pat } }), '0020000D');
    check(name, want.size === 1 && sameSet(got, want), `got ${showSet(got)}, want ${showSet(want)}`);
  });

  await step('qido: StudyDate range', async (name) => {
    const want = studiesWhere((f) => f.study_date >= '20030101' && f.study_date <= '20031231');
    const resp = asJson(await client.searchForStudies({ queryParams: { StudyDate: '20030101-20031231' } }));
    const got = uidsOf(resp, '0020000D');
    const dates = resp.every((o) => (val(o, '00080020') || '').startsWith('2003'));
    check(name, want.size === 3 && sameSet(got, want) && dates,
      `got ${showSet(got)}, want ${showSet(want)}, dates in range ${dates}`);
  });

  await step('qido: open-ended StudyDate range and PatientName together', async (name) => {
    const want = studiesWhere((f) => f.study_date >= '20100101' && /^Lestrade/.test(f.patient_name));
    const got = uidsOf(await client.searchForStudies({
      queryParams: { StudyDate: '20100101-', PatientName: 'Lestrade*' },
    }), '0020000D');
    check(name, want.size === 1 && sameSet(got, want), `got ${showSet(got)}, want ${showSet(want)}`);
  });

  await step('qido: study counts and modalities', async (name) => {
    const resp = asJson(await client.searchForStudies({ queryParams: { StudyInstanceUID: mr.study } }));
    const n = stored.filter((f) => f.study === mr.study).length;
    const o = resp[0] || {};
    check(name, resp.length === 1 && Number(val(o, '00201208')) === n
      && Number(val(o, '00201206')) === 1
      && ((o['00080061'] && o['00080061'].Value) || []).includes('MR'),
    `${resp.length} results, NumberOfStudyRelatedInstances ${val(o, '00201208')} (want ${n}), `
      + `series ${val(o, '00201206')}, modalities ${JSON.stringify(o['00080061'])}`);
  });

  await step('qido: includefield at study level', async (name) => {
    const resp = asJson(await client.searchForStudies({
      queryParams: { StudyInstanceUID: ct.study, includefield: '00081030,PatientAge' },
    }));
    const o = resp[0] || {};
    check(name, resp.length === 1 && val(o, '00081030') === ct.study_description
      && val(o, '00101010') === ct.patient_age,
    `StudyDescription ${JSON.stringify(o['00081030'])} (want ${ct.study_description}), `
      + `PatientAge ${JSON.stringify(o['00101010'])} (want ${ct.patient_age})`);
  });

  await step('qido: limit and offset page through studies', async (name) => {
    const seen = [];
    let pages = 0;
    let tooLong = false;
    for (let offset = 0; offset < allStudies.size + 3; offset += 4) {
      const page = asJson(await client.searchForStudies({ queryParams: { limit: 4, offset } }));
      if (page.length > 4) tooLong = true;
      page.forEach((o) => seen.push(val(o, '0020000D')));
      pages += 1;
      if (page.length === 0) break;
    }
    const got = new Set(seen);
    check(name, !tooLong && seen.length === allStudies.size && sameSet(got, allStudies),
      `${pages} pages, ${seen.length} rows, ${got.size} distinct (want ${allStudies.size}), page over limit ${tooLong}`);
  });

  await step('qido: all series, and series of a study by Modality', async (name) => {
    const all = uidsOf(await client.searchForSeries(), '0020000E');
    const want = new Set(stored.map((f) => f.series));
    const nm = byName['JPEG-lossy.dcm'];
    const one = asJson(await client.searchForSeries({
      studyInstanceUID: nm.study, queryParams: { Modality: 'NM' },
    }));
    const none = asJson(await client.searchForSeries({
      studyInstanceUID: nm.study, queryParams: { Modality: 'CT' },
    }));
    check(name, sameSet(all, want) && one.length === 1 && val(one[0], '0020000E') === nm.series
      && Number(val(one[0], '00201209')) === 2 && none.length === 0,
    `all ${all.size}/${want.size}; NM series ${one.length} with ${val(one[0] || {}, '00201209')} instances; CT ${none.length}`);
  });

  await step('qido: instances of a series, and by SOPInstanceUID', async (name) => {
    const inSeries = uidsOf(await client.searchForInstances({
      studyInstanceUID: mr.study, seriesInstanceUID: mr.series,
    }), '00080018');
    const want = new Set(stored.filter((f) => f.series === mr.series).map((f) => f.sop));
    const one = asJson(await client.searchForInstances({ queryParams: { SOPInstanceUID: dose.sop } }));
    check(name, want.size === 2 && sameSet(inSeries, want) && one.length === 1
      && val(one[0], '00080018') === dose.sop && val(one[0], '00080016') === dose.sop_class
      && val(one[0], '0020000D') === dose.study,
    `series ${showSet(inSeries)} want ${showSet(want)}; by UID ${one.length} results`);
  });

  await step('qido: includefield on instances (Rows, Columns)', async (name) => {
    const one = asJson(await client.searchForInstances({
      studyInstanceUID: ct.study,
      queryParams: { includefield: '00280010', SOPInstanceUID: ct.sop },
    }));
    const two = asJson(await client.searchForInstances({
      studyInstanceUID: ct.study, queryParams: { includefield: 'Columns' },
    }));
    check(name, one.length === 1 && val(one[0], '00280010') === ct.rows
      && two.length === 1 && val(two[0], '00280011') === ct.cols,
    `Rows ${JSON.stringify((one[0] || {})['00280010'])} want ${ct.rows}; Columns ${JSON.stringify((two[0] || {})['00280011'])}`);
  });

  await step('qido: limit and offset page through instances', async (name) => {
    const seen = [];
    for (let offset = 0; offset < stored.length + 5; offset += 5) {
      const page = asJson(await client.searchForInstances({ queryParams: { limit: 5, offset } }));
      if (page.length > 5) throw new Error(`page of ${page.length} over limit 5`);
      page.forEach((o) => seen.push(val(o, '00080018')));
      if (page.length === 0) break;
    }
    const want = new Set(stored.map((f) => f.sop));
    check(name, seen.length === want.size && sameSet(new Set(seen), want),
      `${seen.length} rows, want ${want.size}`);
  });

  await step('qido: RetrieveURL points at the study', async (name) => {
    const o = asJson(await client.searchForStudies({ queryParams: { StudyInstanceUID: ct.study } }))[0] || {};
    const url = val(o, '00081190') || '';
    check(name, url.endsWith(`/dicom-web/studies/${ct.study}`), `RetrieveURL ${JSON.stringify(url)}`);
  });

  await step('qido: malformed date range is a 400', async (name) => {
    const r = await http('GET', `${DW}/studies?StudyDate=2004x-`, { Accept: 'application/dicom+json' });
    check(name, r.status === 400, `HTTP ${r.status}`);
  });

  /* ---- metadata --------------------------------------------------------- */
  let ctMeta;
  await step('metadata: instance', async (name) => {
    const resp = asJson(await client.retrieveInstanceMetadata(ids(ct)));
    ctMeta = Array.isArray(resp) ? resp[0] : resp;
    check(name, val(ctMeta, '00080018') === ct.sop && pn(ctMeta, '00100010') === ct.patient_name
      && val(ctMeta, '00280010') === ct.rows && ctMeta['7FE00010'] !== undefined,
    `SOP ${val(ctMeta, '00080018')}, PatientName ${pn(ctMeta, '00100010')}, Rows ${val(ctMeta, '00280010')}`);
  });

  await step('metadata: series', async (name) => {
    const resp = asJson(await client.retrieveSeriesMetadata(ids(mr)));
    const got = uidsOf(resp, '00080018');
    const want = new Set(stored.filter((f) => f.series === mr.series).map((f) => f.sop));
    check(name, sameSet(got, want), `got ${showSet(got)} want ${showSet(want)}`);
  });

  await step('metadata: study', async (name) => {
    const resp = asJson(await client.retrieveStudyMetadata({ studyInstanceUID: rle.study }));
    const got = uidsOf(resp, '00080018');
    const want = new Set(stored.filter((f) => f.study === rle.study).map((f) => f.sop));
    const names = resp.every((o) => pn(o, '00100010') === rle.patient_name);
    check(name, want.size >= 2 && sameSet(got, want) && names,
      `got ${showSet(got)} want ${showSet(want)}, names ok ${names}`);
  });

  /* ---- bulk data -------------------------------------------------------- */
  await step('bulkdata: Pixel Data by its BulkDataURI', async (name) => {
    const el = ctMeta && ctMeta['7FE00010'];
    if (!el || !el.BulkDataURI) throw new Error(`Pixel Data has no BulkDataURI: ${JSON.stringify(el).slice(0, 200)}`);
    const parts = await client.retrieveBulkData({ BulkDataURI: el.BulkDataURI });
    const buf = toBuffer(parts[0]);
    check(name, parts.length === 1 && buf.length === ct.frame_bytes && sha256(buf) === ct.frame1_sha256,
      `${parts.length} parts, ${buf.length} bytes (want ${ct.frame_bytes}), sha ${sha256(buf).slice(0, 12)}`);
  });

  await step('bulkdata: nested Waveform Data by its BulkDataURI', async (name) => {
    const meta = asJson(await client.retrieveInstanceMetadata(ids(ecg)));
    const m = Array.isArray(meta) ? meta[0] : meta;
    let uri;
    walk(m, (path, el) => {
      if (!uri && path[path.length - 1] === '54001010' && el.BulkDataURI) uri = el.BulkDataURI;
    });
    if (!uri) throw new Error('no BulkDataURI for (5400,1010) in the waveform metadata');
    const parts = await client.retrieveBulkData({ BulkDataURI: uri });
    const buf = toBuffer(parts[0]);
    check(name, buf.length === ecg.waveform_bytes && sha256(buf) === ecg.waveform_sha256,
      `${buf.length} bytes (want ${ecg.waveform_bytes})`);
  });

  /* ---- WADO-RS instances ------------------------------------------------ */
  // PS3.18 8.7.3: Implicit VR Little Endian and (retired) Explicit VR
  // Big Endian shall not be used by web services, so "*" (any syntax)
  // gets those instances re-encoded as Explicit VR Little Endian; every
  // other one comes back exactly as stored.
  const WEB_FORBIDDEN = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.2']);
  await step('wado: transfer-syntax=* gives the stored bytes', async (name) => {
    const bad = [];
    const asIs = stored.filter((f) => !WEB_FORBIDDEN.has(f.ts));
    for (const f of asIs) {
      try {
        const parts = await retrieveAsStored(f);
        if (parts.length !== 1) throw new Error(`${parts.length} parts`);
        const buf = toBuffer(parts[0]);
        if (!buf.equals(originals[f.name])) bad.push(`${f.name} (${buf.length} vs ${originals[f.name].length} bytes)`);
      } catch (e) {
        bad.push(`${f.name} (${e.status ? `HTTP ${e.status}` : e.message})`);
      }
    }
    check(name, asIs.length >= 10 && bad.length === 0, `${bad.length}/${asIs.length} differ: ${bad.join(', ')}`);
  });

  await step('wado: transfer-syntax=* re-encodes implicit VR and big endian', async (name) => {
    const bad = [];
    const forbidden = stored.filter((f) => WEB_FORBIDDEN.has(f.ts));
    for (const f of forbidden) {
      try {
        const parts = await retrieveAsStored(f);
        const { ts, ds } = parseDicom(parts[0]);
        const px = ds.PixelData && ds.PixelData[0] ? toBuffer(ds.PixelData[0]) : null;
        const pxOk = f.frame_bytes === undefined ? px === null : px && px.length === f.frame_bytes * f.frames;
        if (parts.length !== 1 || ts !== '1.2.840.10008.1.2.1' || ds.SOPInstanceUID !== f.sop
          || ds.SeriesInstanceUID !== f.series || !pxOk) {
          bad.push(`${f.name} (${parts.length} parts, TS ${ts}, SOP ${ds.SOPInstanceUID}, pixels ${px && px.length})`);
        }
        if (f.frame1_sha256 && sha256(px.subarray(0, f.frame_bytes)) !== f.frame1_sha256) {
          bad.push(`${f.name} (frame 1 differs)`);
        }
      } catch (e) {
        bad.push(`${f.name} (${e.status ? `HTTP ${e.status}` : e.message})`);
      }
    }
    check(name, forbidden.length === 3 && bad.length === 0, `${bad.length}/${forbidden.length} bad: ${bad.join(', ')}`);
  });

  await step('wado: series retrieve with transfer-syntax=*', async (name) => {
    const parts = await retrieveAsStored(mr, 'series');
    const want = new Set(stored.filter((f) => f.series === mr.series).map((f) => sha256(originals[f.name])));
    const got = new Set(parts.map(sha256));
    check(name, parts.length === want.size && sameSet(got, want), `${parts.length} parts, want ${want.size}`);
  });

  await step('wado: study retrieve with transfer-syntax=*', async (name) => {
    const parts = await retrieveAsStored(rle, 'study');
    const want = new Set(stored.filter((f) => f.study === rle.study).map((f) => sha256(originals[f.name])));
    const got = new Set(parts.map(sha256));
    check(name, parts.length === want.size && sameSet(got, want), `${parts.length} parts, want ${want.size}`);
  });

  await step('dcmjs: parses a retrieved instance (default transfer syntax)', async (name) => {
    const inst = await client.retrieveInstance(ids(ct));
    const { ts, ds } = parseDicom(inst);
    const name0 = ds.PatientName && ds.PatientName[0] ? ds.PatientName[0].Alphabetic : ds.PatientName;
    const px = ds.PixelData && ds.PixelData[0] ? toBuffer(ds.PixelData[0]) : Buffer.alloc(0);
    check(name, name0 === ct.patient_name && ds.SOPInstanceUID === ct.sop
      && ts === '1.2.840.10008.1.2.1' && sha256(px) === ct.frame1_sha256,
    `PatientName ${JSON.stringify(ds.PatientName)}, SOP ${ds.SOPInstanceUID}, TS ${ts}, pixels ${px.length}`);
  });

  await step('dcmjs: RLE instance served as explicit VR little endian by default', async (name) => {
    const inst = await client.retrieveInstance(ids(rle));
    const { ts, ds } = parseDicom(inst);
    const px = ds.PixelData && ds.PixelData[0] ? toBuffer(ds.PixelData[0]) : Buffer.alloc(0);
    // The decoded frame is interleaved unless the dataset says planar.
    const want = ds.PlanarConfiguration === 1 ? rle.frame1_planar_sha256 : rle.frame1_sha256;
    check(name, ts === '1.2.840.10008.1.2.1' && ds.SOPInstanceUID === rle.sop
      && px.length === rle.frame_bytes && sha256(px) === want,
    `TS ${ts}, SOP ${ds.SOPInstanceUID}, pixels ${px.length} (want ${rle.frame_bytes} with pydicom's decoded sha)`);
  });

  /* ---- frames ----------------------------------------------------------- */
  await step('frames: native frame 1', async (name) => {
    const parts = await client.retrieveInstanceFrames({ ...ids(ct), frameNumbers: [1] });
    const buf = toBuffer(parts[0]);
    check(name, parts.length === 1 && buf.length === ct.rows * ct.cols * ct.spp * ct.bits / 8
      && sha256(buf) === ct.frame1_sha256,
    `${parts.length} parts, ${buf.length} bytes (want ${ct.rows * ct.cols * ct.spp * ct.bits / 8})`);
  });

  await step('frames: two frames of a multi-frame implicit VR instance', async (name) => {
    const parts = await client.retrieveInstanceFrames({ ...ids(dose), frameNumbers: [1, dose.frames] });
    const lens = parts.map((p) => toBuffer(p).length);
    check(name, parts.length === 2 && lens.every((n) => n === dose.frame_bytes)
      && sha256(parts[0]) === dose.frame1_sha256 && sha256(parts[1]) === dose.framelast_sha256,
    `${parts.length} parts of ${lens} bytes (want 2 x ${dose.frame_bytes})`);
  });

  await step('frames: RLE frame decoded to application/octet-stream', async (name) => {
    const parts = await client.retrieveInstanceFrames({ ...ids(rle), frameNumbers: [1] });
    const buf = toBuffer(parts[0]);
    // PS3.18 8.7.3.5.3 does not say whether a decoded colour frame is
    // interleaved or planar: accept pydicom's pixels in either order.
    const h = sha256(buf);
    check(name, parts.length === 1 && buf.length === rle.frame_bytes
      && (h === rle.frame1_sha256 || h === rle.frame1_planar_sha256),
      `${buf.length} bytes (want ${rle.frame_bytes})`);
  });

  await step('frames: frame number past the last is refused', async (name) => {
    let status = 200;
    try {
      await client.retrieveInstanceFrames({ ...ids(ct), frameNumbers: [2] });
    } catch (e) {
      status = e.status;
    }
    check(name, status === 400 || status === 404, `HTTP ${status}`);
  });

  /* ---- rendered --------------------------------------------------------- */
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await step('rendered: PNG', async (name) => {
    const resp = await client.retrieveInstanceRendered({ ...ids(ct), mediaTypes: [{ mediaType: 'image/png' }] });
    const buf = toBuffer(Array.isArray(resp) ? resp[0] : resp);
    check(name, buf.length > PNG.length && buf.subarray(0, 8).equals(PNG), `starts ${buf.subarray(0, 8).toString('hex')}`);
  });

  await step('rendered: JPEG of a JPEG 2000 instance', async (name) => {
    const j2k = byName['693_J2KI.dcm'];
    const resp = await client.retrieveInstanceRendered({ ...ids(j2k), mediaTypes: [{ mediaType: 'image/jpeg' }] });
    const buf = toBuffer(Array.isArray(resp) ? resp[0] : resp);
    check(name, buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff,
      `starts ${buf.subarray(0, 4).toString('hex')}`);
  });

  await step('rendered: PNG of an RGB RLE instance', async (name) => {
    const resp = await client.retrieveInstanceRendered({ ...ids(rle), mediaTypes: [{ mediaType: 'image/png' }] });
    const buf = toBuffer(Array.isArray(resp) ? resp[0] : resp);
    check(name, buf.length > PNG.length && buf.subarray(0, 8).equals(PNG), `starts ${buf.subarray(0, 8).toString('hex')}`);
  });

  /* ---- errors ----------------------------------------------------------- */
  await step('wado: unknown instance is a 404', async (name) => {
    let status = 200;
    try {
      await client.retrieveInstance({ ...ids(ct), sopInstanceUID: '1.2.3.4.5.6.7.8.9' });
    } catch (e) {
      status = e.status;
    }
    check(name, status === 404, `HTTP ${status}`);
  });

  /* ---- delete ----------------------------------------------------------- */
  // dicomweb-client 0.11 has no delete call: plain HTTP.
  await step('delete: study', async (name) => {
    const r = await http('DELETE', `${DW}/studies/${ct.study}`);
    check(name, r.status === 200 || r.status === 204, `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
  });

  await step('delete: study is gone from QIDO and WADO', async (name) => {
    const q = asJson(await client.searchForStudies({ queryParams: { StudyInstanceUID: ct.study } }));
    let status = 200;
    try {
      await client.retrieveInstance(ids(ct));
    } catch (e) {
      status = e.status;
    }
    const left = uidsOf(await client.searchForStudies(), '0020000D');
    const want = new Set([...allStudies].filter((s) => s !== ct.study));
    check(name, q.length === 0 && status === 404 && sameSet(left, want),
      `QIDO ${q.length} results, WADO HTTP ${status}, ${left.size} studies left (want ${want.size})`);
  });

  await step('delete: unknown study is a 404', async (name) => {
    const r = await http('DELETE', `${DW}/studies/1.2.3.4.5.6.7.8.9`);
    check(name, r.status === 404, `HTTP ${r.status}`);
  });

  await step('stow: a deleted study can be stored again', async (name) => {
    const resp = await client.storeInstances({ datasets: [toArrayBuffer(originals[ct.name])] });
    const { ref } = stowResult(resp);
    const parts = await retrieveAsStored(ct);
    check(name, ref.length === 1 && parts.length === 1 && toBuffer(parts[0]).equals(originals[ct.name]),
      `referenced ${JSON.stringify(ref)}, ${parts.length} parts`);
  });
}

main()
  .catch((e) => fail('client', e && e.stack ? e.stack : String(e)))
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
