// Structured JSON logs (pino). Patient names and identifiers never go into logs: callers log UIDs, AE titles
// and counts only, and the redaction list below is a second guard should a DICOM attribute slip into a log call.
import { pino, type Logger } from 'pino';

export type { Logger };

const PHI_KEYS = [
  'PatientName', 'PatientID', 'PatientBirthDate', 'OtherPatientIDs', 'AccessionNumber', 'IssuerOfPatientID',
  'patientName', 'patientId', 'accessionNumber', 'patient_name', 'patient_id', 'accession_number',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'ophgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...PHI_KEYS, ...PHI_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
