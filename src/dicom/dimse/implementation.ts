// OphGate's DICOM implementation identity, sent in A-ASSOCIATE-RQ/AC (PS3.7 D.3.3.2) and written into the
// File Meta Information of files OphGate creates from received C-STOREs (PS3.10 7.1).
//
// The class UID is a UUID-derived UID (PS3.5 B.2) minted once for OphGate; it identifies the software, not an
// installation, so it never changes at runtime. Bump the version name with the release.

export const OPHGATE_IMPLEMENTATION_CLASS_UID = '2.25.141462973427978900237493028757627892810';
/** SH, at most 16 characters. */
export const OPHGATE_IMPLEMENTATION_VERSION_NAME = 'OPHGATE_0.1.0';
