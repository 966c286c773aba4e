// Small, valid Ophthalmic Photography instances made on the fly (uncompressed RGB, a gradient with a disc),
// for tests that need many distinct studies. Fictitious patients only.
import dcmjs from 'dcmjs';
import { mintUid } from '../../src/dicom/uid.js';

export interface SyntheticOptions {
  studyUid?: string; seriesUid?: string; sopUid?: string; rows?: number; columns?: number;
  patientId?: string; patientName?: string; modality?: string; sopClassUid?: string; bodyPart?: string; seed?: number;
}

export const OP_8BIT = '1.2.840.10008.5.1.4.1.1.77.1.5.1';
export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

export function syntheticInstance(o: SyntheticOptions = {}): { bytes: Buffer; studyUid: string; seriesUid: string; sopUid: string; rgb: Buffer } {
  const rows = o.rows ?? 48, columns = o.columns ?? 64;
  const studyUid = o.studyUid ?? mintUid('2.25'), seriesUid = o.seriesUid ?? mintUid('2.25'), sopUid = o.sopUid ?? mintUid('2.25');
  const sopClassUid = o.sopClassUid ?? OP_8BIT;
  const seed = o.seed ?? 0;
  const rgb = Buffer.alloc(rows * columns * 3);
  for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) {
    const i = (y * columns + x) * 3;
    const disc = (x - columns * 0.7) ** 2 + (y - rows / 2) ** 2 < (rows / 8) ** 2;
    rgb[i] = disc ? 250 : (120 + x + seed) & 0xff;
    rgb[i + 1] = disc ? 230 : (40 + y) & 0xff;
    rgb[i + 2] = disc ? 180 : (10 + seed * 3) & 0xff;
  }
  const ds: Record<string, unknown> = {
    SOPClassUID: sopClassUid, SOPInstanceUID: sopUid, StudyInstanceUID: studyUid, SeriesInstanceUID: seriesUid,
    PatientName: o.patientName ?? 'SYNTHETIC^PATIENT', PatientID: o.patientId ?? 'SYN-0001', PatientBirthDate: '19600101', PatientSex: 'O',
    StudyDate: '20260101', StudyTime: '101010', AccessionNumber: 'SYNACC1', ReferringPhysicianName: '', StudyID: '1',
    Modality: o.modality ?? 'OP', SeriesNumber: 1, InstanceNumber: 1, ImageLaterality: 'R', Laterality: undefined,
    BodyPartExamined: o.bodyPart, Manufacturer: 'OphGate tests',
    Rows: rows, Columns: columns, SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0,
    BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0,
    PixelData: [rgb.buffer.slice(rgb.byteOffset, rgb.byteOffset + rgb.byteLength)],
    _vrMap: { PixelData: 'OB' },
  };
  for (const k of Object.keys(ds)) if (ds[k] === undefined) delete ds[k];
  const meta = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sopClassUid] },
    '00020003': { vr: 'UI', Value: [sopUid] },
    '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] },
    '00020012': { vr: 'UI', Value: ['2.25.123456789'] },
    '00020013': { vr: 'SH', Value: ['OPHGATE_TEST'] },
  };
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds);
  return { bytes: Buffer.from(dict.write()), studyUid, seriesUid, sopUid, rgb };
}
