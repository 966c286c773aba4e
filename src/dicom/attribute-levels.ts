// Which attributes belong to the study (and patient) and to the series, following the QIDO-RS
// return-key tables (PS3.18 Table 10.6.3-3 and -4) plus what routing and reporting need.
export const STUDY_LEVEL_TAGS = [
  '00080005', // SpecificCharacterSet
  '00080020', '00080030', '00080050', '00080051', '00080056', '00080090', '00081030', '00080201', // date, time, accession, issuer, availability, referring, description, tz
  '00100010', '00100020', '00100021', '00100024', '00100030', '00100040', // patient name, ID, issuer, issuer qualifiers, birth date, sex
  '0020000D', '00200010', // StudyInstanceUID, StudyID
] as const;

export const SERIES_LEVEL_TAGS = [
  '00080005', '00080060', '00080021', '00080031', '0008103E', '00081040',
  '0020000E', '00200011', '00180015', '00200060', // SeriesInstanceUID, SeriesNumber, BodyPartExamined, Laterality
  '00400244', '00400245', '00400275', // PerformedProcedureStepStartDate/Time, RequestAttributesSequence
] as const;
