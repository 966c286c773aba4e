// Codes the SR templates themselves fix (concept names that a template row gives as an Enumerated Value, and
// the CID values the structure needs), kept here rather than in mappings/ because they are part of the DICOM
// template, not a clinical choice. Each was checked against PS3.16 as distributed in pydicom's generated concept
// dictionary (Debian python3-pydicom 2.3.1, pydicom/sr/_concepts_dict.py) and against DCMTK's dcmsr/libcmr
// implementation of the templates, except where a comment says otherwise. Clinical codes (findings, the
// procedure, measurement concepts and answers) come from mappings/fundus-findings.json via resolve().
import { codedEntryOfRef, dcm, sct, type CodedEntry } from '../common/coded-entry.js';

// TID 1500 Measurement Report
/** Row 1 document title, CID 7021 Measurement Report Document Titles. */
export const IMAGING_MEASUREMENT_REPORT = dcm('126000', 'Imaging Measurement Report');
/** Row 4. */
export const PROCEDURE_REPORTED = dcm('121058', 'Procedure reported');
/** Row 6. */
export const IMAGING_MEASUREMENTS = dcm('126010', 'Imaging Measurements');
/** Rows 12-14 (DCMTK codes/umls.h CODE_UMLS_QualitativeEvaluations; UMLS is a PS3.16 Table 8-1 scheme). */
export const QUALITATIVE_EVALUATIONS: CodedEntry = { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' };
/** Concept name of the narrative TEXT under Qualitative Evaluations (CID 6053/7002 member). */
export const IMPRESSION = dcm('121073', 'Impression');

// TID 1204 Language of Content Item and Descendants
export const LANGUAGE_OF_CONTENT = dcm('121049', 'Language of Content Item and Descendants');
/** CID 5000 Languages; RFC5646 is the PS3.16 designator for BCP 47 tags (DCMTK libcmr/cid5000.cc). */
export const ENGLISH_US: CodedEntry = { value: 'en-US', scheme: 'RFC5646', meaning: 'English (US)' };

// TID 1001 Observation Context / TID 1002 Observer Context / TID 1004 Device Observer Identifying Attributes
export const OBSERVER_TYPE = dcm('121005', 'Observer Type');
/** CID 270 Observer Type. */
export const DEVICE = dcm('121007', 'Device');
export const DEVICE_OBSERVER_UID = dcm('121012', 'Device Observer UID');
export const DEVICE_OBSERVER_NAME = dcm('121013', 'Device Observer Name');
export const DEVICE_OBSERVER_MANUFACTURER = dcm('121014', 'Device Observer Manufacturer');
export const DEVICE_OBSERVER_MODEL_NAME = dcm('121015', 'Device Observer Model Name');
export const DEVICE_OBSERVER_SERIAL_NUMBER = dcm('121016', 'Device Observer Serial Number');

// TID 1600 Image Library / TID 1601 Image Library Entry / TID 1602 Image Library Entry Descriptors
export const IMAGE_LIBRARY = dcm('111028', 'Image Library');
export const IMAGE_LIBRARY_GROUP = dcm('126200', 'Image Library Group');
export const MODALITY = dcm('121139', 'Modality');
export const IMAGE_LATERALITY = dcm('111027', 'Image Laterality');
/** CID 29 / CID 33 modality codes (DCM code values equal the Modality (0008,0060) Defined Terms). */
export const MODALITY_CODES: Readonly<Record<string, CodedEntry>> = {
  OP: dcm('OP', 'Ophthalmic Photography'),
  XC: dcm('XC', 'External-camera Photography'),
  OT: dcm('OT', 'Other'),
  SEG: dcm('SEG', 'Segmentation'),
};

// TID 1501 Measurement and Qualitative Evaluation Group / TID 1410 Planar ROI Measurements
export const MEASUREMENT_GROUP = dcm('125007', 'Measurement Group');
/** TID 4108 Tracking Identifier. */
export const TRACKING_IDENTIFIER = dcm('112039', 'Tracking Identifier');
export const TRACKING_UID = dcm('112040', 'Tracking Unique Identifier');
export const FINDING = dcm('121071', 'Finding');
export const FINDING_SITE = sct('363698007', 'Finding Site');
export const LATERALITY = sct('272741003', 'Laterality');
/**
 * Source image of a measurement group (CONTAINS IMAGE). Not in pydicom 2.3.1's dictionary (newer than its PS3.16);
 * checked against highdicom's SourceImageForMeasurementGroup (sr/content.py) and two other public SR toolkits.
 */
export const SOURCE = sct('260753009', 'Source');
/** TID 4019 Algorithm Identification. */
export const ALGORITHM_NAME = dcm('111001', 'Algorithm Name');
export const ALGORITHM_VERSION = dcm('111003', 'Algorithm Version');
/** TID 1410 ROI by a frame of a Segmentation, and the image that was segmented. */
export const REFERENCED_SEGMENTATION_FRAME = dcm('121214', 'Referenced Segmentation Frame');
export const SOURCE_IMAGE_FOR_SEGMENTATION = dcm('121233', 'Source image for segmentation');

/** CID 42 Numeric Value Qualifier: a NUM with no value because the measurement could not be made. */
export const MEASUREMENT_FAILURE = dcm('114006', 'Measurement failure');

// UCUM units (CID 7181 Abstract Multi-dimensional Image Model Component Units, except {pixels}: see README.md).
const ucum = (value: string, meaning: string): CodedEntry => ({ value, scheme: 'UCUM', meaning });
/** Dimensionless: probabilities (0..1), thresholds and counts. */
export const UNIT_NONE = ucum('1', 'no units');
export const UNIT_RATIO = ucum('{ratio}', 'ratio');
export const UNIT_MM2 = ucum('mm2', 'square millimeter');
/** A UCUM annotation (dimensionless like "1"): says the area is counted in image pixels, not in a length unit. */
export const UNIT_PIXELS = ucum('{pixels}', 'pixels');

/** Clinical and measurement concepts, from the reviewed mapping. */
const MAP = 'mappings/fundus-findings.json';
export const resolve = (key: string): CodedEntry => codedEntryOfRef(`${MAP}#${key}`);
export const mapped = {
  procedure: () => resolve('fundus-photography'),
  probability: () => resolve('probability'),
  threshold: () => resolve('threshold-value'),
  present: () => resolve('present'),
  absent: () => resolve('absent'),
  severity: () => resolve('severity'),
  area: () => resolve('area'),
  lesionCount: () => resolve('lesion-count'),
  retina: () => resolve('retina'),
  right: () => resolve('laterality-right'),
  left: () => resolve('laterality-left'),
};
