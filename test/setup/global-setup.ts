// Installs the Debian test peers (dcmtk, dicom3tools, Orthanc, pydicom, GDCM) when missing, so `npm test`
// passes on a fresh machine. Runs once before all test files.
import { ensureTestPeers } from './peers.js';

export default async function setup(): Promise<void> {
  ensureTestPeers();
}
