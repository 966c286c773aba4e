// The LLM-written narrative of a study (issue 6): the model writes Findings, Impression and Recommendation from the
// case's structured findings (caseFindingsJson, the report system prompt of prompts.json); the grounding guard
// checks what it says against the eye summary; a text that fails is generated once more (sampling, not greedy),
// and if that fails too the deterministic narrative is used. The report records which produced its text.
//
// Two output forms (llm.narrativeFormat): "json-schema", the default and what OphGate's bundled model is trained to
// write (src/llm/structured-narrative.ts is its target): the answer is constrained by a JSON-schema grammar built
// from the case (src/llm/guard/schema.ts: only the case's eyes, grades and lesion names, the case's urgency,
// bounded free text) and rendered to prose, which the guard then checks like any other; and "prose", free
// text under the `report` prompt, for a site's instruct model that writes better than it fills a schema.
import type { PriorComparison, StudySummary } from '../report/eye-summary.js';
import type { Narrative } from '../report/narrative.js';
import type { ChatMessage } from './chat-format.js';
import { caseFindingsJson } from './case-findings.js';
import { narrativeGuard } from './answer-guard.js';
import type { GuardVerdict } from './dialogue.js';
import { narrativeSchemaFor, renderStructuredNarrative, type StructuredNarrative } from './guard/schema.js';
import { loadPrompts } from './prompts.js';
import type { LlmService } from './service.js';

export type NarrativeFormat = 'prose' | 'json-schema';

export interface WrittenNarrative {
  text: string;
  /** "deterministic", or the model's name and version. */
  producedBy: string;
  attempts: Array<{ guard: GuardVerdict; completionTokens: number; tokensPerSecond: number; timeToFirstTokenMs: number | null }>;
  /** Why the deterministic text was used although a model is loaded. */
  fallbackReason?: string;
}

export function narrativeMessages(summary: StudySummary, format: NarrativeFormat = 'prose'): ChatMessage[] {
  const prompts = loadPrompts();
  return [{ role: 'system', content: format === 'json-schema' ? prompts.reportJson : prompts.report }, { role: 'user', content: caseFindingsJson(summary) }];
}

/** The model's text without a caveat it may have written: the caveat is OphGate's to state, not the model's. */
function withoutCaveat(modelText: string, deterministic: Narrative): string {
  const text = modelText.trim();
  const at = text.lastIndexOf(deterministic.sections.caveat.slice(0, 40));
  return at > 0 ? text.slice(0, at).trim() : text;
}

/**
 * The model's checked text with OphGate's own parts put in: the Comparison section (the bundled model never saw a
 * prior study, and the guard does not check comparisons) before the Impression, and the caveat at the end.
 */
function assemble(body: string, deterministic: Narrative): string {
  let text = body;
  if (deterministic.sections.comparison) {
    const at = text.search(/\n\s*Impression\b/);
    const section = `Comparison\n${deterministic.sections.comparison}`;
    text = at >= 0 ? `${text.slice(0, at).trim()}\n\n${section}\n\n${text.slice(at).trim()}` : `${text}\n\n${section}`;
  }
  return `${text}\n\n${deterministic.sections.caveat}`;
}

export async function writeNarrativeWithLlm(llm: LlmService, summary: StudySummary, deterministic: Narrative, format: NarrativeFormat, options: { signal?: AbortSignal; comparison?: PriorComparison } = {}): Promise<WrittenNarrative> {
  const attempts: WrittenNarrative['attempts'] = [];
  const grammar = format === 'json-schema' ? await llm.runtime.createJsonSchemaGrammar(narrativeSchemaFor(summary) as never) : undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const g = await llm.generate({
      purpose: 'narrative', messages: narrativeMessages(summary, format),
      ...(attempt > 0 ? llm.retrySampling('narrative') : {}),
      ...(grammar ? { grammar } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let body = g.text;
    if (grammar) {
      try {
        body = renderStructuredNarrative(JSON.parse(g.text) as StructuredNarrative);
      } catch (err) {
        attempts.push({ guard: { ok: false, violations: [{ kind: 'unparsable', sentence: '', detail: (err as Error).message }] }, completionTokens: g.completionTokens, tokensPerSecond: g.tokensPerSecond, timeToFirstTokenMs: g.timeToFirstTokenMs });
        continue;
      }
    }
    body = withoutCaveat(body, deterministic);
    const guard = narrativeGuard(body, summary);
    attempts.push({ guard, completionTokens: g.completionTokens, tokensPerSecond: g.tokensPerSecond, timeToFirstTokenMs: g.timeToFirstTokenMs });
    if (guard.ok && body) return { text: assemble(body, deterministic), producedBy: llm.modelName, attempts };
  }
  return { text: deterministic.text, producedBy: 'deterministic', attempts, fallbackReason: 'the model\'s text failed the grounding guard twice' };
}
