// OphGate's release, as written into what it creates (Software Versions of SEG and SR). Kept in step with
// package.json's version by test/config.test.ts.
export const OPHGATE_VERSION = '0.1.0';
