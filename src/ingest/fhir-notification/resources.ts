// The FHIR R4 shapes the listener reads, validated once here (zod). Only the elements OphGate uses are checked;
// everything else in a resource is kept as sent and ignored.
import { z } from 'zod';
import { malformed } from './outcome.js';

/** R4 id datatype. */
export const fhirId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'a FHIR id (1-64 letters, digits, "-" and ".")');

export const reference = z.looseObject({ reference: z.string().min(1).optional(), type: z.string().optional() });
export type Reference = z.infer<typeof reference>;

const coding = z.looseObject({ system: z.string().optional(), code: z.string().optional() });
const identifier = z.looseObject({ system: z.string().optional(), value: z.string().optional() });

/** Any resource: a resourceType and maybe an id. */
export const anyResource = z.looseObject({ resourceType: z.string().min(1), id: fhirId.optional() });
export type AnyResource = z.infer<typeof anyResource>;

export const endpoint = z.looseObject({
  resourceType: z.literal('Endpoint'),
  id: fhirId.optional(),
  status: z.string().optional(),
  connectionType: coding,
  address: z.string().min(1),
});
export type Endpoint = z.infer<typeof endpoint>;

export const imagingStudy = z.looseObject({
  resourceType: z.literal('ImagingStudy'),
  id: fhirId.optional(),
  status: z.string().optional(),
  identifier: z.array(identifier).optional(),
  endpoint: z.array(reference).optional(),
  contained: z.array(anyResource).optional(),
});
export type ImagingStudy = z.infer<typeof imagingStudy>;

interface ParameterComponent {
  name: string;
  valueCode?: string; valueString?: string; valueCanonical?: string; valueUri?: string;
  valueReference?: Reference;
  part?: ParameterComponent[];
}
const parameterComponent: z.ZodType<ParameterComponent> = z.lazy(() => z.looseObject({
  name: z.string().min(1),
  valueCode: z.string().optional(), valueString: z.string().optional(), valueCanonical: z.string().optional(), valueUri: z.string().optional(),
  valueReference: reference.optional(),
  part: z.array(parameterComponent).optional(),
}));
export type Parameter = ParameterComponent;

export const parameters = z.looseObject({
  resourceType: z.literal('Parameters'),
  meta: z.looseObject({ profile: z.array(z.string()).optional() }).optional(),
  parameter: z.array(parameterComponent).optional(),
});
export type Parameters = z.infer<typeof parameters>;

export const bundleEntry = z.looseObject({ fullUrl: z.string().optional(), resource: anyResource.optional() });
export type BundleEntry = z.infer<typeof bundleEntry>;

export const bundle = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.string(),
  entry: z.array(bundleEntry).optional(),
});
export type Bundle = z.infer<typeof bundle>;

/** Validates `value` against `schema`; a mismatch is a 400 naming each problem and where it is. */
export function parseResource<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  throw malformed(`${what} is not valid: ${problems}`);
}
