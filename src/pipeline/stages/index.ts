// The pipeline, in order: decode the images, run the models (findings), write the DICOM results (SEG, SR), send
// them (export). Later issues add the narrative and the FHIR report here; the runner and the store do not change.
import type { Stage } from '../stage.js';
import { decodeStage } from './decode.js';
import { findingsStage } from './findings.js';
import { resultsStage } from './results.js';
import { exportStage } from './export.js';

export function defaultStages(): Stage[] {
  return [decodeStage, findingsStage, resultsStage, exportStage];
}
