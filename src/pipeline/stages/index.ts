// The pipeline, in order: decode the images, run the models (findings), write the report (eye summary, narrative
// by the LLM or the deterministic writer, FHIR resources), write the DICOM results (SEG, SR with the narrative),
// send the DICOM results to the PACS (export) and the report to the EHR (fhir-export). The runner and the store do not know what a stage does.
import type { Stage } from '../stage.js';
import { decodeStage } from './decode.js';
import { findingsStage } from './findings.js';
import { resultsStage } from './results.js';
import { exportStage } from './export.js';
import { reportStage } from './report.js';
import { fhirExportStage } from './fhir-export.js';

export function defaultStages(): Stage[] {
  return [decodeStage, findingsStage, reportStage, resultsStage, exportStage, fhirExportStage];
}
