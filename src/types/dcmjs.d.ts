// dcmjs ships no type declarations; these cover what OphGate calls.
declare module 'dcmjs' {
  const dcmjs: {
    log: { setLevel?: (level: string) => void };
    data: {
      DicomMessage: {
        readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { dict: Record<string, unknown>; meta: Record<string, unknown> };
      };
      DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(options?: Record<string, unknown>): ArrayBuffer };
      DicomMetaDictionary: {
        naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown>;
        denaturalizeDataset(ds: Record<string, unknown>): Record<string, unknown>;
        uid(): string;
      };
      datasetToBuffer?(ds: Record<string, unknown>): Buffer;
      datasetToDict?(ds: Record<string, unknown>): { write(): ArrayBuffer };
    };
    [key: string]: unknown;
  };
  export default dcmjs;
}
