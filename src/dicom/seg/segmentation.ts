// Writes a model's lesion masks on one fundus photograph as a DICOM Segmentation instance (PS3.3 A.51, Segmentation
// IOD; SOP class 1.2.840.10008.5.1.4.1.1.66.4), as IHE AI Results asks of AI results that are masks: BINARY, one
// frame per segment, each frame pixel for pixel on the source frame.
//
// Modules (PS3.3 Table A.51-1): Patient, Clinical Trial Subject, General Study, Patient Study, Clinical Trial Study
// (copied from the source, common/source-modules.ts); General Series (C.7.3.1) and Segmentation Series (C.8.20.1);
// General Equipment (C.7.5.1) and Enhanced General Equipment (C.7.5.2); General Image (C.7.6.1); Image Pixel
// (C.7.6.3); Segmentation Image (C.8.20.2); Multi-frame Functional Groups (C.7.6.16); Multi-frame Dimension
// (C.7.6.17); Common Instance Reference (C.12.2); SOP Common (C.12.1). Frame of Reference (C.7.4.1) only in the
// viewer-compatibility mode, or passed on when a (non-photograph) source has one.
//
// A photograph has no Frame of Reference, so (PS3.3 A.51.5.1) each segmentation pixel corresponds to a source pixel
// through the Derivation Image Functional Group instead: the SEG has the source's Rows and Columns, every frame names
// its source frame, and Pixel Measures, Plane Position and Plane Orientation are absent (Table A.51-2 requires them
// only without Derivation Image and within a patient-relative Frame of Reference).
import { codeItem, codingSchemeIdentification, type CodedEntry } from '../common/coded-entry.js';
import { writePart10 } from '../common/part10-writer.js';
import { inheritedFromSource } from '../common/source-modules.js';
import { firstNumber, firstString, type DicomJson, type DicomJsonElement } from '../json-model.js';
import { deriveUid, isValidUid } from '../uid.js';
import { packBinaryFrames } from './bit-packing.js';
import {
  DERIVATION_SEGMENTATION, IDENTITY_ORIENTATION, IHE_PROCESSING_ALGORITHM, PURPOSE_SOURCE_IMAGE, SEGMENTATION_STORAGE,
} from './defined-terms.js';
import { segmentCodes, segmentDescriptionItem } from './segment-description.js';

export interface SegmentInput {
  /** Segment Label (0062,0005), LO. */
  label: string;
  /** Segmented Property Category Code Sequence (0062,0003). */
  category: CodedEntry;
  /** Segmented Property Type Code Sequence (0062,000F). */
  type: CodedEntry;
  /** Anatomic Region Sequence (0008,2218), e.g. retina (SCT 5665001). */
  anatomicRegion?: CodedEntry;
  /** Anatomic Region Modifier Sequence (0008,2220) within the region, e.g. SCT 24028007 Right / 7771000 Left. */
  anatomicRegionModifier?: CodedEntry;
  /** Recommended Display CIELab Value (0062,000D), DICOM-scaled 0..65535 (PS3.3 C.10.7.1.1). */
  colourLab: [number, number, number];
  /** rows*columns, row-major; nonzero = in the segment. */
  mask: Uint8Array;
  /** Segment Description (0062,0006). */
  description?: string;
}

export interface SegmentationInput {
  /** The source image's top-level attributes in the DICOM JSON Model (src/dicom/json-model.ts). */
  source: DicomJson;
  /** 1-based frame of the source that was segmented. */
  sourceFrame: number;
  /** At least one; segment n+1 is segments[n] and frame n+1. */
  segments: SegmentInput[];
  algorithm: { name: string; version: string; family: CodedEntry };
  seriesInstanceUid: string;
  sopInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  seriesDescription?: string;
  /** Content Label (0070,0080), CS: upper-case letters, digits, space and underscore, at most 16. */
  contentLabel?: string;
  contentDateTime: Date;
  equipment: { manufacturer: string; modelName: string; softwareVersions: string; deviceSerialNumber: string; institutionName?: string };
  /** Default 'standard'; 'viewer-plane-geometry' is explained where it is built (below). */
  compatibility?: 'standard' | 'viewer-plane-geometry';
}

/** A SegmentationInput that cannot make a valid Segmentation; the message names the problem. */
export class SegmentationInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentationInputError';
  }
}

export const DEFAULT_CONTENT_LABEL = 'SEGMENTATION';

/*
 * 'viewer-plane-geometry': @cornerstonejs/adapters 5.14 (OHIF's SEG loader) refuses a SEG without Plane
 * Orientation, Plane Position and Pixel Measures. This mode adds them, with a Frame of Reference minted for the
 * photograph (derived from its SOP Instance UID, so all SEGs of one photograph share it), Image Orientation
 * (Patient) 1\0\0\0\1\0, Image Position (Patient) 0\0\0, the source's Pixel Spacing or 1\1, and Slice Thickness 1,
 * and indexes the frames by position as well as by segment. It is not the default because it claims a patient
 * geometry the photograph does not have: a millimetre grid and an orientation that no one measured.
 */
const VIEWER_FRAME_OF_REFERENCE_NAMESPACE = 'ophgate/seg/viewer-frame-of-reference';
const DIMENSION_ORGANIZATION_NAMESPACE = 'ophgate/seg/dimension-organization';

const TAG = {
  SpecificCharacterSet: '00080005',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  Rows: '00280010',
  Columns: '00280011',
  NumberOfFrames: '00280008',
  ImageLaterality: '00200062',
  PatientOrientation: '00200020',
  BodyPartExamined: '00180015',
  PixelSpacing: '00280030',
  FrameOfReferenceUID: '00200052',
  PositionReferenceIndicator: '00201040',
  LossyImageCompression: '00282110',
  LossyImageCompressionRatio: '00282112',
  LossyImageCompressionMethod: '00282114',
} as const;

interface SourceFacts {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  rows: number;
  columns: number;
  numberOfFrames: number | undefined;
}

function positiveInteger(json: DicomJson, tag: string, name: string): number {
  const n = firstNumber(json, tag);
  if (n === undefined) throw new SegmentationInputError(`the source has no ${name} (${tag.slice(0, 4)},${tag.slice(4)}): a SEG needs the source's size`);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new SegmentationInputError(`the source's ${name} (${tag.slice(0, 4)},${tag.slice(4)}) is ${n}, not an integer 1..65535`);
  return n;
}

function requiredUid(json: DicomJson, tag: string, name: string): string {
  const uid = firstString(json, tag);
  if (!uid) throw new SegmentationInputError(`the source has no ${name} (${tag.slice(0, 4)},${tag.slice(4)})`);
  if (!isValidUid(uid)) throw new SegmentationInputError(`the source's ${name} "${uid}" is not a valid UID`);
  return uid;
}

function sourceFacts(source: DicomJson): SourceFacts {
  const frames = firstNumber(source, TAG.NumberOfFrames);
  if (frames !== undefined && (!Number.isInteger(frames) || frames < 1)) {
    throw new SegmentationInputError(`the source's Number of Frames (0028,0008) is ${frames}, not a positive integer`);
  }
  requiredUid(source, TAG.StudyInstanceUID, 'Study Instance UID');
  return {
    sopClassUid: requiredUid(source, TAG.SOPClassUID, 'SOP Class UID'),
    sopInstanceUid: requiredUid(source, TAG.SOPInstanceUID, 'SOP Instance UID'),
    seriesInstanceUid: requiredUid(source, TAG.SeriesInstanceUID, 'Series Instance UID'),
    rows: positiveInteger(source, TAG.Rows, 'Rows'),
    columns: positiveInteger(source, TAG.Columns, 'Columns'),
    numberOfFrames: frames,
  };
}

/** LO/SH-like text: not empty, within `max` characters, no backslash (the value separator) or control characters. */
function checkText(value: string | undefined, what: string, max: number, required: boolean): void {
  if (value === undefined || value === '') {
    if (required) throw new SegmentationInputError(`${what} is empty`);
    return;
  }
  if (value.length > max) throw new SegmentationInputError(`${what} "${value}" is longer than ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f]/.test(value)) throw new SegmentationInputError(`${what} "${value}" contains a backslash or a control character`);
}

function checkCode(c: CodedEntry, what: string): void {
  if (!c || !c.value || !c.scheme || !c.meaning) throw new SegmentationInputError(`${what} needs a value, a scheme and a meaning`);
}

function checkInput(input: SegmentationInput, src: SourceFacts): void {
  if (!Array.isArray(input.segments) || input.segments.length === 0) {
    throw new SegmentationInputError('a Segmentation needs at least one segment; the segment list is empty');
  }
  const pixels = src.rows * src.columns;
  const frames = src.numberOfFrames ?? 1;
  if (!Number.isInteger(input.sourceFrame) || input.sourceFrame < 1 || input.sourceFrame > frames) {
    throw new SegmentationInputError(`sourceFrame ${input.sourceFrame} is not a frame of the source (1..${frames})`);
  }
  input.segments.forEach((s, i) => {
    const what = `segment ${i + 1}${s.label ? ` ("${s.label}")` : ''}`;
    checkText(s.label, `${what}: the label`, 64, true);
    if (s.description !== undefined && s.description.length > 1024) throw new SegmentationInputError(`${what}: the description is longer than 1024 characters (ST)`);
    checkCode(s.category, `${what}: the category code`);
    checkCode(s.type, `${what}: the type code`);
    if (s.anatomicRegion) checkCode(s.anatomicRegion, `${what}: the anatomic region code`);
    if (s.anatomicRegionModifier) {
      if (!s.anatomicRegion) throw new SegmentationInputError(`${what}: an anatomic region modifier needs an anatomic region to qualify`);
      checkCode(s.anatomicRegionModifier, `${what}: the anatomic region modifier code`);
    }
    if (!Array.isArray(s.colourLab) || s.colourLab.length !== 3 || s.colourLab.some((v) => !Number.isInteger(v) || v < 0 || v > 65535)) {
      throw new SegmentationInputError(`${what}: colourLab must be three integers 0..65535 (DICOM-scaled CIELab), got ${JSON.stringify(s.colourLab)}`);
    }
    if (!(s.mask instanceof Uint8Array)) throw new SegmentationInputError(`${what}: the mask is not a Uint8Array`);
    if (s.mask.length !== pixels) {
      throw new SegmentationInputError(`${what}: the mask has ${s.mask.length} pixels but the source is ${src.rows} rows x ${src.columns} columns = ${pixels}`);
    }
  });
  checkText(input.algorithm?.name, 'the algorithm name', 64, true);
  checkText(input.algorithm.version, 'the algorithm version', 64, true);
  checkCode(input.algorithm.family, 'the algorithm family code');
  for (const [k, v] of Object.entries({ seriesInstanceUid: input.seriesInstanceUid, sopInstanceUid: input.sopInstanceUid })) {
    if (!isValidUid(v)) throw new SegmentationInputError(`${k} "${v}" is not a valid UID`);
  }
  if (input.seriesInstanceUid === src.seriesInstanceUid) {
    throw new SegmentationInputError('seriesInstanceUid is the source\'s series: a SEG goes in a series of its own (Modality SEG)');
  }
  for (const [k, v] of Object.entries({ seriesNumber: input.seriesNumber, instanceNumber: input.instanceNumber })) {
    if (!Number.isInteger(v) || v < 0 || v > 2147483647) throw new SegmentationInputError(`${k} ${v} is not an integer 0..2^31-1 (IS)`);
  }
  checkText(input.seriesDescription, 'the series description', 64, false);
  if (input.contentLabel !== undefined && !/^[A-Z0-9 _]{1,16}$/.test(input.contentLabel)) {
    throw new SegmentationInputError(`contentLabel "${input.contentLabel}" is not a CS value: 1..16 of A-Z, 0-9, space, underscore`);
  }
  if (!(input.contentDateTime instanceof Date) || Number.isNaN(input.contentDateTime.getTime())) {
    throw new SegmentationInputError('contentDateTime is not a valid Date');
  }
  const e = input.equipment;
  checkText(e?.manufacturer, 'equipment.manufacturer', 64, true);
  checkText(e.modelName, 'equipment.modelName', 64, true);
  checkText(e.softwareVersions, 'equipment.softwareVersions', 64, true);
  checkText(e.deviceSerialNumber, 'equipment.deviceSerialNumber', 64, true);
  checkText(e.institutionName, 'equipment.institutionName', 64, false);
  const mode = input.compatibility ?? 'standard';
  if (mode !== 'standard' && mode !== 'viewer-plane-geometry') {
    throw new SegmentationInputError(`compatibility "${String(mode)}" is neither "standard" nor "viewer-plane-geometry"`);
  }
  if (mode === 'viewer-plane-geometry' && firstString(input.source, TAG.FrameOfReferenceUID)) {
    throw new SegmentationInputError('the source has a Frame of Reference of its own: the viewer geometry (identity orientation at the origin) would contradict it; use "standard"');
  }
}

/** DA, TM and DT in UTC (Timezone Offset From UTC says so). */
function dicomDateTime(d: Date): { date: string; time: string; dateTime: string } {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const date = iso.slice(0, 10).replace(/-/g, '');
  const time = iso.slice(11, 19).replace(/:/g, '') + '.' + iso.slice(20, 23);
  return { date, time, dateTime: date + time };
}

/** A copy of a source element, or an empty one with `vr` (type 2). */
function copiedOrEmpty(source: DicomJson, tag: string, vr: string): DicomJsonElement {
  const el = source[tag];
  return { vr: el?.vr ?? vr, Value: el?.Value ? structuredClone(el.Value) : [] };
}

/** Whether any segment's mask shares a pixel with another's (Segments Overlap, C.8.20.2). */
function segmentsOverlap(masks: readonly Uint8Array[]): boolean {
  if (masks.length < 2) return false;
  const n = masks[0]!.length;
  for (let p = 0; p < n; p++) {
    let count = 0;
    for (const m of masks) if (m[p] !== 0 && ++count > 1) return true;
  }
  return false;
}

/** PS3.10 bytes (explicit VR little endian) of the Segmentation instance `input` describes. */
export function buildSegmentation(input: SegmentationInput): Buffer {
  if (!input || typeof input !== 'object') throw new SegmentationInputError('no input');
  if (!input.source || typeof input.source !== 'object') throw new SegmentationInputError('no source attributes');
  const src = sourceFacts(input.source);
  checkInput(input, src);
  const viewerGeometry = (input.compatibility ?? 'standard') === 'viewer-plane-geometry';
  const when = dicomDateTime(input.contentDateTime);
  const masks = input.segments.map((s) => s.mask);
  const pixelData = packBinaryFrames(masks, src.rows * src.columns);
  const sourceIsMultiFrame = (src.numberOfFrames ?? 1) > 1;
  const dimensionOrganizationUid = deriveUid('2.25', DIMENSION_ORGANIZATION_NAMESPACE, input.sopInstanceUid);

  // Multi-frame Dimension (C.7.6.17): without a Frame of Reference the only thing that tells frames apart is the
  // segment, so the segment number is the one dimension (the frames' spatial link is the derivation reference).
  const dimensionIndex: Array<Record<string, unknown>> = [{
    DimensionOrganizationUID: dimensionOrganizationUid,
    DimensionIndexPointer: 0x0062000b, // Referenced Segment Number
    FunctionalGroupPointer: 0x0062000a, // Segment Identification Sequence
    DimensionDescriptionLabel: 'Segment Number',
  }];
  if (viewerGeometry) {
    dimensionIndex.push({
      DimensionOrganizationUID: dimensionOrganizationUid,
      DimensionIndexPointer: 0x00200032, // Image Position (Patient)
      FunctionalGroupPointer: 0x00209113, // Plane Position Sequence
      DimensionDescriptionLabel: 'Image Position Patient',
    });
  }

  const perFrame = input.segments.map((_, i) => {
    const segmentNumber = i + 1;
    const sourceImage: Record<string, unknown> = {
      ReferencedSOPClassUID: src.sopClassUid,
      ReferencedSOPInstanceUID: src.sopInstanceUid,
      // Image SOP Instance Reference Macro (Table 10-3): the frame number only when the source has several frames.
      ...(sourceIsMultiFrame ? { ReferencedFrameNumber: input.sourceFrame } : {}),
      PurposeOfReferenceCodeSequence: [codeItem(PURPOSE_SOURCE_IMAGE)],
      SpatialLocationsPreserved: 'YES',
    };
    const item: Record<string, unknown> = {
      // Derivation Image Functional Group (C.7.6.16.2.6) with the values A.51.5.1 fixes.
      DerivationImageSequence: [{
        DerivationCodeSequence: [codeItem(DERIVATION_SEGMENTATION)],
        SourceImageSequence: [sourceImage],
      }],
      // Frame Content (C.7.6.16.2.2): always per frame.
      FrameContentSequence: [{ DimensionIndexValues: viewerGeometry ? [segmentNumber, 1] : [segmentNumber] }],
      // Segmentation Functional Group (C.8.20.3.1, Table C.8.20-3).
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segmentNumber }],
    };
    if (viewerGeometry) item.PlanePositionSequence = [{ ImagePositionPatient: [0, 0, 0] }];
    return item;
  });

  const shared: Record<string, unknown> = {};
  if (viewerGeometry) {
    const spacing = input.source[TAG.PixelSpacing]?.Value?.map(Number);
    shared.PlaneOrientationSequence = [{ ImageOrientationPatient: [...IDENTITY_ORIENTATION] }];
    shared.PixelMeasuresSequence = [{
      PixelSpacing: spacing && spacing.length === 2 && spacing.every((v) => Number.isFinite(v) && v > 0) ? spacing : [1, 1],
      SliceThickness: 1,
    }];
  }

  const codes: CodedEntry[] = [PURPOSE_SOURCE_IMAGE, DERIVATION_SEGMENTATION, IHE_PROCESSING_ALGORITHM,
    ...input.segments.flatMap((s) => segmentCodes(s, input.algorithm))];
  const e = input.equipment;
  const laterality = firstString(input.source, TAG.ImageLaterality);
  const sourceLossy = firstString(input.source, TAG.LossyImageCompression) === '01';

  const ds: Record<string, unknown> = {
    // SOP Common (C.12.1)
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: input.sopInstanceUid,
    InstanceCreationDate: when.date,
    InstanceCreationTime: when.time,
    TimezoneOffsetFromUTC: '+0000',
    CodingSchemeIdentificationSequence: codingSchemeIdentification(codes),
    ContributingEquipmentSequence: [{
      PurposeOfReferenceCodeSequence: [codeItem(IHE_PROCESSING_ALGORITHM)],
      Manufacturer: e.manufacturer,
      ...(e.institutionName ? { InstitutionName: e.institutionName } : {}),
      ManufacturerModelName: input.algorithm.name,
      DeviceSerialNumber: e.deviceSerialNumber,
      SoftwareVersions: input.algorithm.version,
      ContributionDateTime: when.dateTime,
      ContributionDescription: `Automatic segmentation by ${input.algorithm.name} ${input.algorithm.version}`.slice(0, 64),
    }],
    // General Series (C.7.3.1) and Segmentation Series (C.8.20.1): a new series in the source's study.
    Modality: 'SEG',
    SeriesInstanceUID: input.seriesInstanceUid,
    SeriesNumber: input.seriesNumber,
    SeriesDate: when.date,
    SeriesTime: when.time,
    ...(input.seriesDescription ? { SeriesDescription: input.seriesDescription } : {}),
    // General Equipment (C.7.5.1) and Enhanced General Equipment (C.7.5.2, all four type 1).
    Manufacturer: e.manufacturer,
    ...(e.institutionName ? { InstitutionName: e.institutionName } : {}),
    ManufacturerModelName: e.modelName,
    DeviceSerialNumber: e.deviceSerialNumber,
    SoftwareVersions: e.softwareVersions,
    // General Image (C.7.6.1), Segmentation Image (C.8.20.2) with the Content Identification Macro (Table 10-12).
    ImageType: ['DERIVED', 'PRIMARY'],
    InstanceNumber: input.instanceNumber,
    ContentDate: when.date,
    ContentTime: when.time,
    ContentLabel: input.contentLabel ?? DEFAULT_CONTENT_LABEL,
    ContentDescription: `Automatic segmentation by ${input.algorithm.name} ${input.algorithm.version}`.slice(0, 64),
    SegmentationType: 'BINARY',
    SegmentsOverlap: segmentsOverlap(masks) ? 'YES' : 'NO',
    SegmentSequence: input.segments.map((s, i) => segmentDescriptionItem(i + 1, s, input.algorithm)),
    // "Derived from lossy compressed images" counts (C.7.6.1.1.5): a SEG of a JPEG photograph says 01 and carries
    // the source's ratio and method (type 1C: required if present in the source images).
    LossyImageCompression: sourceLossy ? '01' : '00',
    // Image Pixel (C.7.6.3) as C.8.20.2 constrains it for BINARY, bit-packed (PS3.5 8.1.1).
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: src.rows,
    Columns: src.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    // Multi-frame Functional Groups (C.7.6.16) and Multi-frame Dimension (C.7.6.17).
    NumberOfFrames: input.segments.length,
    // Type 1 in the Segmentation IOD: one item, empty in 'standard' mode, where every macro the IOD allows that
    // is present differs per frame or is kept per frame (Derivation Image, as readers look for it there).
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: perFrame,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: dimensionIndex,
    // Common Instance Reference (C.12.2): required because the Derivation Image Functional Group is present; OHIF
    // also finds the segmented series through it.
    ReferencedSeriesSequence: [{
      SeriesInstanceUID: src.seriesInstanceUid,
      ReferencedInstanceSequence: [{ ReferencedSOPClassUID: src.sopClassUid, ReferencedSOPInstanceUID: src.sopInstanceUid }],
    }],
    PixelData: [pixelData.buffer.slice(pixelData.byteOffset, pixelData.byteOffset + pixelData.byteLength)],
    _vrMap: { PixelData: 'OB' },
  };
  // Frame of Reference (C.7.4.1). A source that has one passes it on: a segmentation of an image with a Frame of
  // Reference shares it (PS3.3 A.51.1), and the module may be present alongside Derivation Image (Table A.51-1).
  const sourceFrameOfReference = firstString(input.source, TAG.FrameOfReferenceUID);
  if (sourceFrameOfReference) ds.FrameOfReferenceUID = sourceFrameOfReference;
  else if (viewerGeometry) ds.FrameOfReferenceUID = deriveUid('2.25', VIEWER_FRAME_OF_REFERENCE_NAMESPACE, src.sopInstanceUid);

  // Elements in the DICOM JSON Model, copied from the source or type 2 left empty.
  const extra: Record<string, unknown> = {
    ...inheritedFromSource(input.source),
    // Content Creator's Name (type 2): an algorithm made this, not a person.
    '00700084': { vr: 'PN', Value: [] },
    // Patient Orientation (type 2C, required without Image Orientation (Patient)): the frames lie on the source's
    // pixel grid, so the source's value holds for them.
    [TAG.PatientOrientation]: copiedOrEmpty(input.source, TAG.PatientOrientation, 'CS'),
  };
  // Image Laterality (General Image, C.7.6.1, type 3): which eye, per instance. With it present, the series-level
  // Laterality (0020,0060, type 2C) is not required and stays absent, so one SEG series may hold both eyes.
  if (laterality) extra[TAG.ImageLaterality] = copiedOrEmpty(input.source, TAG.ImageLaterality, 'CS');
  if (input.source[TAG.BodyPartExamined]?.Value?.length) extra[TAG.BodyPartExamined] = copiedOrEmpty(input.source, TAG.BodyPartExamined, 'CS');
  if (sourceLossy) {
    for (const tag of [TAG.LossyImageCompressionRatio, TAG.LossyImageCompressionMethod]) {
      if (input.source[tag]?.Value?.length) extra[tag] = copiedOrEmpty(input.source, tag, tag === TAG.LossyImageCompressionRatio ? 'DS' : 'CS');
    }
  }
  // Position Reference Indicator (type 2 in the Frame of Reference module).
  if (ds.FrameOfReferenceUID) extra[TAG.PositionReferenceIndicator] = copiedOrEmpty(input.source, TAG.PositionReferenceIndicator, 'LO');

  // Specific Character Set: the source's (copied above), or ISO_IR 192 when a value is not ASCII (writePart10).
  return writePart10(ds, extra);
}
