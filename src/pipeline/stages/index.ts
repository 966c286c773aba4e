// The pipeline, in order. Later issues add stages here (inference, report, SEG/SR, export); the runner and
// the store do not change.
import type { Stage } from '../stage.js';
import { decodeStage } from './decode.js';
import { findingsStage } from './findings.js';

export function defaultStages(): Stage[] {
  return [decodeStage, findingsStage];
}
