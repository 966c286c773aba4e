// Reads the configuration from an optional JSON file and OPHGATE_* environment variables (environment wins),
// validates it once against the schema, and fails with messages that name each bad key and where it came from.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** camelCase key -> ENV_NAME segment: allowedCallingAeTitles -> ALLOWED_CALLING_AE_TITLES */
function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

type Leaf = { path: string[]; kind: 'string' | 'number' | 'boolean' | 'array' | 'other' };

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  // Defaults, prefaults and optionals wrap the type we want to coerce to.
  for (;;) {
    const def = (s as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional') && def.innerType) s = def.innerType;
    else return s;
  }
}

function leaves(schema: z.ZodType, prefix: string[] = []): Leaf[] {
  const s = unwrap(schema);
  const type = (s as unknown as { def: { type: string } }).def.type;
  if (type === 'object') {
    const shape = (s as z.ZodObject).shape as Record<string, z.ZodType>;
    return Object.entries(shape).flatMap(([k, v]) => leaves(v, [...prefix, k]));
  }
  const kind = type === 'string' || type === 'number' || type === 'boolean' || type === 'array' ? type : 'other';
  return [{ path: prefix, kind }];
}

export const ENV_PREFIX = 'OPHGATE_';

export function envNameFor(pathParts: string[]): string {
  return ENV_PREFIX + pathParts.map(envSegment).join('__');
}

function coerce(raw: string, kind: Leaf['kind']): unknown {
  switch (kind) {
    case 'number': return raw.trim() === '' ? raw : Number(raw);
    case 'boolean': return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
    case 'array': return raw.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
    case 'other': try { return JSON.parse(raw); } catch { return raw; }
    default: return raw;
  }
}

function setPath(target: Record<string, unknown>, parts: string[], value: unknown): void {
  let node = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

export interface LoadOptions { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> }

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.OPHGATE_CONFIG;
  const sources = new Map<string, string>();
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError([`${file}: cannot read as JSON: ${(err as Error).message}`]);
    }
  }
  const known = new Set<string>([ENV_PREFIX + 'CONFIG']);
  for (const leaf of leaves(configSchema)) {
    const name = envNameFor(leaf.path);
    known.add(name);
    const value = env[name];
    if (value !== undefined) {
      setPath(raw, leaf.path, coerce(value, leaf.kind));
      sources.set(leaf.path.join('.'), name);
    }
  }
  const unknownEnv = Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && !known.has(k) && !k.startsWith(ENV_PREFIX + 'TEST_'));
  for (const [k, v] of Object.entries(options.overrides ?? {})) setPath(raw, k.split('.'), v);
  const parsed = configSchema.safeParse(raw);
  const problems = unknownEnv.map((k) => `${k}: unknown environment variable (no such configuration key)`);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')) : [issue.path.join('.')];
      for (const key of keys) {
        const from = sources.get(key) ?? (file ? path.basename(file) : 'defaults');
        problems.push(`${key || '(root)'}: ${issue.message} (from ${from})`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data!;
}
