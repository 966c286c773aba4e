// Routing rules are data (mappings/routing-rules.json); this file only knows how to read and apply them.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { DicomJson } from '../dicom/json-model.js';

type Condition =
  | { attribute: string; in: string[] }
  | { codeIn: { sequence: string; codes: Array<{ scheme: string; value: string }> } }
  | { any: Condition[] }
  | { all: Condition[] };

const tag = z.string().regex(/^[0-9A-Fa-f]{8}$/, 'a tag as 8 hex digits').transform((t) => t.toUpperCase());
const condition: z.ZodType<Condition> = z.lazy(() => z.union([
  z.object({ attribute: tag, in: z.array(z.string()).min(1) }).strict(),
  z.object({ codeIn: z.object({ sequence: tag, codes: z.array(z.object({ scheme: z.string(), value: z.string() }).strict()).min(1) }).strict() }).strict(),
  z.object({ any: z.array(condition).min(1) }).strict(),
  z.object({ all: z.array(condition).min(1) }).strict(),
])) as z.ZodType<Condition>;
const rule = z.object({ id: z.string().min(1), description: z.string().min(1), source: z.string().optional(), when: condition }).strict();
const ruleFile = z.object({ $comment: z.string().optional(), ignore: z.array(rule).default([]), rules: z.array(rule).min(1) }).strict();

export type RoutingRules = z.infer<typeof ruleFile>;
export interface RoutingDecision { ophthalmic: boolean; rule: string | null; reason: string }

/** SNOMED CT appears under three scheme designators over the standard's history. */
const SCHEME_ALIASES: Record<string, string> = { SCT: 'SCT', SNM3: 'SRT', SRT: 'SRT', '99SDM': 'SRT' };

export function loadRoutingRules(file: string): RoutingRules {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`routing rules ${file}: cannot read as JSON: ${(err as Error).message}`);
  }
  const parsed = ruleFile.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`routing rules ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function values(json: DicomJson, t: string): string[] {
  return (json[t]?.Value ?? []).map((v) => String(typeof v === 'object' && v !== null ? (v as { Alphabetic?: string }).Alphabetic ?? '' : v).trim().toUpperCase());
}

function matches(c: Condition, json: DicomJson): boolean {
  if ('attribute' in c) {
    const want = new Set(c.in.map((v) => v.toUpperCase()));
    return values(json, c.attribute).some((v) => want.has(v));
  }
  if ('codeIn' in c) {
    const items = (json[c.codeIn.sequence]?.Value ?? []) as DicomJson[];
    return items.some((item) => {
      const scheme = values(item, '00080102')[0] ?? '';
      const value = values(item, '00080100')[0] ?? values(item, '00080119')[0] ?? '';
      return c.codeIn.codes.some((code) => (SCHEME_ALIASES[code.scheme] ?? code.scheme) === (SCHEME_ALIASES[scheme] ?? scheme) && code.value.toUpperCase() === value);
    });
  }
  if ('any' in c) return c.any.some((x) => matches(x, json));
  return c.all.every((x) => matches(x, json));
}

/** Decides a study from its instances' attributes: ophthalmic if any instance not ignored matches a rule. */
export function routeStudy(rules: RoutingRules, instances: DicomJson[]): RoutingDecision {
  const candidates = instances.filter((json) => !rules.ignore.some((r) => matches(r.when, json)));
  for (const r of rules.rules) {
    const hits = candidates.filter((json) => matches(r.when, json)).length;
    if (hits > 0) return { ophthalmic: true, rule: r.id, reason: `${r.description} (${hits} of ${instances.length} instances)` };
  }
  const modalities = [...new Set(instances.flatMap((j) => values(j, '00080060')))].join(', ') || 'none';
  const ignored = instances.length - candidates.length;
  return {
    ophthalmic: false,
    rule: null,
    reason: `no instance matched an ophthalmic routing rule (modalities: ${modalities}; ${instances.length} instance${instances.length === 1 ? '' : 's'}${ignored ? `, ${ignored} ignored as derived objects` : ''})`,
  };
}
