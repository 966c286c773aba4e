// The chat model's system prompts (prompts.json). The corpus generator (models/llm/corpus.py) trains on exactly
// these texts, so the gateway sends them unchanged: a changed prompt is a different model's prompt.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const promptsSchema = z.object({
  format: z.literal('ophgate-llm-prompts/1'),
  description: z.string(),
  report: z.string().min(1),
  reportJson: z.string().min(1),
  dialogue: z.string().includes('{findingsJson}'),
  general: z.string().min(1),
}).strict();
export type Prompts = z.infer<typeof promptsSchema>;

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'prompts.json');
let cached: Prompts | undefined;

export function loadPrompts(): Prompts {
  if (!cached) {
    const parsed = promptsSchema.safeParse(JSON.parse(readFileSync(FILE, 'utf8')));
    if (!parsed.success) throw new Error(`${FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    cached = parsed.data;
  }
  return cached;
}

/** The dialogue's system prompt for one case: its findings JSON and the report's impression and recommendation. */
export function dialogueSystemPrompt(findingsJson: string, impression: string, recommendation: string): string {
  // Replaced in one pass, so text inside the findings can never be taken for another placeholder.
  const values: Record<string, string> = { findingsJson, impression, recommendation };
  return loadPrompts().dialogue.replace(/\{(findingsJson|impression|recommendation)\}/g, (_, k: string) => values[k]!);
}
