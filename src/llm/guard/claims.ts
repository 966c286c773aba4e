// What an English report or answer claims about a case, in a form that can be checked against the eye summary:
// per clause, which eye it is about, what it says is present or absent, grades, counts, percentages, the
// cup-to-disc ratio, urgency and gradability. Rules, not a parser: the text is cut into paragraphs (lines) and
// sentences, the lexicon's words are found, and three small rules attach them.
//
// EYE. A paragraph starts with no eye. An eye named in a sentence governs what follows it, across sentences, until
// another eye is named or the paragraph ends ("Right eye: ... . DME risk 1 ... ."). It also governs what comes
// before it in the same sentence when it is the sentence's first eye or follows a preposition ("moderate NPDR in
// the right eye and mild NPDR in the left eye"). A finding followed by a parenthesis that names eyes belongs to
// those eyes ("glaucoma (right eye 63%; left eye 55%)"). Nothing named: the claim is about the study.
//
// NEGATION. "no", "not", "without", "no evidence of", ... negate the next finding within two words (fillers such
// as "apparent", "signs of" not counted) and the findings listed after it ("no microaneurysms, haemorrhages or
// exudates"); "not seen", "absent", "ruled out", ... negate the finding (list) just before them. A negation stops
// at ; : . and at "but", "although", ... . "assessed for", "to rule out" name a finding without claiming it.
//
// GENERAL STATEMENTS. A clause (up to a ';') that speaks of people or programmes in general ("screening
// programmes aim ...", "usually", "can cause") claims nothing about the case.
import type { Urgency } from '../../report/eye-summary.js';
import {
  type Entity, type EyeRef, FILLER, GENERIC, NEGATION_BOUNDARY, NUMBER_WORDS, scan, type Status, type Subject, type Token,
} from './lexicon.js';

export type { Entity, EyeRef, Status, Subject } from './lexicon.js';

export interface Percent {
  /** Whole or decimal percentage as written. */
  value: number;
  /** '<' for "<1%", '>' for ">99%". */
  bound: '<' | '>' | '=';
}

export type ClaimWhat =
  | { kind: 'finding'; entity: Entity }
  | { kind: 'dr-grade'; grades: number[] }
  | { kind: 'dme-risk'; grades: number[] }
  | { kind: 'referable' }
  | { kind: 'probability'; subject: Subject }
  | { kind: 'cdr'; value: number | null }
  | { kind: 'urgency'; level: Urgency }
  | { kind: 'status'; status: Status | 'gradable' };

export interface Claim {
  what: ClaimWhat;
  /** Said to be absent ("no haemorrhages"), or for grades: "not this grade". */
  negated: boolean;
  /** Eyes the claim is about; null when the text names none (a statement about the study). */
  eyes: EyeRef[] | null;
  /** Number of lesions stated with the finding ("12 microaneurysms", "(3 regions)"). */
  count?: number;
  percents: Percent[];
  /** The sentence the claim comes from, as written. */
  sentence: string;
  /** The words that made the claim. */
  text: string;
  /** Claims that got their eye from the same mention share a scope (-1: no eye mention). */
  scope: number;
}

const CLAIMABLE = new Set(['finding', 'grade', 'dme', 'referable', 'subject', 'cdr', 'urgency', 'status', 'gradable', 'neutral']);
const NEGATABLE = new Set(['finding', 'grade', 'dme', 'referable', 'gradable', 'urgency']);

interface Work extends Token {
  sentence: number;
  negated: boolean;
  neutral: boolean;
  dropped: boolean;
  /** Eye mention inside a finding's parenthesis: not a scope of its own. */
  consumed: boolean;
  eyes?: EyeRef[] | null;
  scope: number;
  paren?: Array<{ eyes: EyeRef[]; start: number; end: number; scope: number }>;
  count?: number;
  percents: Array<Percent & { at: number }>;
}

/** Sentence spans of a paragraph: a full stop, ! or ? followed by space and a capital, quote or bracket. */
function sentenceSpans(p: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let start = 0;
  for (const m of p.matchAll(/[.!?](?=\s+["'(\[A-Z<>0-9])|[.!?]\s*$/g)) {
    const end = m.index + 1;
    if (p.slice(start, end).trim()) spans.push([start, end]);
    start = end;
  }
  if (p.slice(start).trim()) spans.push([start, p.length]);
  return spans;
}

const words = (s: string) => s.toLowerCase().split(/[\s,/()]+/).filter(Boolean);

/** Text between a negation cue and the first thing it negates: at most two words that are not fillers. */
function negationReaches(gap: string): boolean {
  if (NEGATION_BOUNDARY.test(gap)) return false;
  return words(gap).filter((w) => !FILLER.has(w)).length <= 2;
}

/** Text between two items of a negated list: list words only. */
function listContinues(gap: string): boolean {
  if (NEGATION_BOUNDARY.test(gap) || /[()]/.test(gap)) return false;
  return words(gap).every((w) => FILLER.has(w));
}

const PERCENT = /([<>])?\s?(\d{1,3}(?:\.\d+)?)\s?%/g;
const PREPOSITION_BEFORE = /\b(?:in|of|for|on|at|from|to|affecting|involving|within|about|regarding)\s+(?:the\s+)?$/i;

function numberAt(s: string): number | undefined {
  const w = s.toLowerCase();
  return /^\d+$/.test(w) ? Number(w) : NUMBER_WORDS[w];
}

function paragraphClaims(p: string, scopeBase: number): Claim[] {
  const spans = sentenceSpans(p);
  const sentenceOf = (pos: number) => Math.max(0, spans.findIndex(([s, e]) => pos >= s && pos < e));
  const tokens: Work[] = mergeEyes(p, scan(p)).map((t) => ({
    ...t, sentence: sentenceOf(t.start), negated: false, neutral: false, dropped: false, consumed: false, scope: -1, percents: [],
  }));

  // General clauses claim nothing.
  for (const [s, e] of spans) {
    let clauseStart = s;
    for (const piece of p.slice(s, e).split(';')) {
      const clauseEnd = clauseStart + piece.length;
      if (GENERIC.test(piece)) for (const t of tokens) if (t.start >= clauseStart && t.end <= clauseEnd) t.dropped = true;
      clauseStart = clauseEnd + 1;
    }
  }
  const live = tokens.filter((t) => !t.dropped);

  // Negation and neutralisation, sentence by sentence.
  for (let k = 0; k < live.length; k++) {
    const cue = live[k]!;
    const pre = cue.kind.t === 'neg-pre' || (cue.kind.t === 'eye' && cue.kind.negates);
    if (!pre && cue.kind.t !== 'neutralizer') continue;
    let last = cue.end;
    let first = true;
    for (let j = k + 1; j < live.length; j++) {
      const t = live[j]!;
      if (t.sentence !== cue.sentence) break;
      if (t.kind.t === 'eye') { last = t.end; continue; }
      if (!CLAIMABLE.has(t.kind.t)) break;
      const gap = p.slice(last, t.start);
      if (!(first ? negationReaches(gap) : listContinues(gap))) break;
      if (cue.kind.t === 'neutralizer') t.neutral = true;
      else if (NEGATABLE.has(t.kind.t)) t.negated = true;
      first = false;
      last = t.end;
    }
  }
  for (let k = 0; k < live.length; k++) {
    const cue = live[k]!;
    if (cue.kind.t !== 'neg-post') continue;
    let next = cue.start;
    for (let j = k - 1; j >= 0; j--) {
      const t = live[j]!;
      if (t.sentence !== cue.sentence || !CLAIMABLE.has(t.kind.t)) break;
      if (!listContinues(p.slice(t.end, next))) break;
      if (NEGATABLE.has(t.kind.t)) t.negated = true;
      next = t.start;
    }
  }
  for (const t of live) if (t.kind.t === 'referable' && t.kind.negated) t.negated = !t.negated;

  // Lesion counts: "12 microaneurysms", "microaneurysms (12 regions)", "(up to 3 regions on one photograph)".
  for (const t of live) {
    if (t.kind.t !== 'finding' || t.negated) continue;
    const after = /^\s*\((?:up\s+to\s+)?(\d+)\s+regions?\b/i.exec(p.slice(t.end));
    const before = /(?:^|[\s(,:])(\d+|[a-z]+)\s+(?:(?:small|large|scattered|isolated|new|retinal)\s+)?$/i.exec(p.slice(Math.max(0, t.start - 30), t.start));
    const n = after ? Number(after[1]) : before ? numberAt(before[1]!) : undefined;
    if (n !== undefined) t.count = n;
  }

  // Photograph counts: "the right eye had 2 gradable photographs" (the dialogue's quality answer).
  for (const t of live) {
    if (t.kind.t !== 'gradable' || t.negated || !/^\s+(?:photograph|image|picture)s?\b/i.test(p.slice(t.end))) continue;
    const before = /(?:^|[\s(,:])(\d+|[a-z]+)\s+$/i.exec(p.slice(Math.max(0, t.start - 20), t.start));
    const n = before ? numberAt(before[1]!) : undefined;
    if (n !== undefined) t.count = n;
  }

  // A ratio stated a few words after its name ("the vertical CDR of the right eye is 0.5").
  for (const [k, t] of live.entries()) {
    if (t.kind.t !== 'cdr' || t.kind.value !== undefined) continue;
    const stop = live.slice(k + 1).find((x) => x.kind.t !== 'eye')?.start ?? p.length;
    const [, sentenceEnd] = spans[t.sentence] ?? [0, p.length];
    const m = /^[^;:]*?(?<![\d.])(\d*\.\d+|[01](?:\.0+)?)(?!\d|%|\.\d)/.exec(p.slice(t.end, Math.min(stop, sentenceEnd)));
    if (m) t.kind = { t: 'cdr', value: Number(m[1]) };
  }

  // Percentages go to the nearest thing before them in the same sentence that can have a probability.
  for (const m of p.matchAll(PERCENT)) {
    const at = m.index;
    const s = sentenceOf(at);
    const owner = [...live].reverse().find((t) => t.end <= at && t.sentence === s
      && ['finding', 'grade', 'dme', 'subject'].includes(t.kind.t) && !t.negated);
    if (owner) owner.percents.push({ value: Number(m[2]), bound: (m[1] as '<' | '>' | undefined) ?? '=', at });
  }

  // A finding followed by a parenthesis naming eyes belongs to those eyes.
  for (const t of live) {
    if (t.kind.t === 'eye' || !CLAIMABLE.has(t.kind.t)) continue;
    const open = /^\s*\(/.exec(p.slice(t.end));
    if (!open) continue;
    const from = t.end + open[0].length;
    const close = p.indexOf(')', from);
    if (close < 0) continue;
    const inside = live.filter((x) => x.kind.t === 'eye' && x.start >= from && x.end <= close);
    if (!inside.length) continue;
    t.paren = inside.map((x, i) => ({
      eyes: (x.kind as { eyes: EyeRef[] }).eyes, start: x.start, end: i + 1 < inside.length ? inside[i + 1]!.start : close, scope: scopeBase + live.indexOf(x),
    }));
    for (const x of inside) x.consumed = true;
  }

  // Eyes: first, an eye claims what precedes it in its sentence when it is the first eye there or follows a
  // preposition; then every eye governs what follows it.
  for (const x of live) if (x.kind.t === 'status' && x.kind.eyes) x.eyes = x.kind.eyes;
  const eyesOf = (x: Work) => (x.kind as { eyes: EyeRef[] }).eyes;
  const assignable = (x: Work) => CLAIMABLE.has(x.kind.t) && !x.paren && x.eyes === undefined;
  for (let s = 0; s < spans.length; s++) {
    const mentions = live.filter((x) => x.sentence === s && x.kind.t === 'eye' && !x.consumed);
    let from = spans[s]![0];
    mentions.forEach((eye, i) => {
      if (i === 0 || PREPOSITION_BEFORE.test(p.slice(from, eye.start))) {
        for (const x of live) {
          if (x.sentence === s && x.start >= from && x.end <= eye.start && assignable(x)) {
            x.eyes = eyesOf(eye);
            x.scope = scopeBase + live.indexOf(eye);
          }
        }
      }
      from = eye.end;
    });
  }
  let current: EyeRef[] | null = null;
  let scope = -1;
  for (const x of live) {
    if (x.kind.t === 'eye' && !x.consumed) { current = eyesOf(x); scope = scopeBase + live.indexOf(x); continue; }
    if (assignable(x)) { x.eyes = current; x.scope = current ? scope : -1; }
  }

  const claims: Claim[] = [];
  for (const x of live) {
    if (!CLAIMABLE.has(x.kind.t) || x.neutral) continue;
    const what = claimWhat(x);
    if (!what) continue;
    if (what.kind === 'probability' && !x.percents.length) continue;
    const [s, e] = spans[x.sentence] ?? [0, p.length];
    const base = { what, negated: x.negated, sentence: p.slice(s, e).trim(), text: x.text, ...(x.count !== undefined ? { count: x.count } : {}) };
    if (x.paren) {
      for (const part of x.paren) {
        claims.push({ ...base, eyes: part.eyes, scope: part.scope, percents: x.percents.filter((q) => q.at >= part.start && q.at < part.end).map(strip) });
      }
    } else {
      claims.push({ ...base, eyes: x.eyes ?? null, scope: x.scope, percents: x.percents.map(strip) });
    }
  }
  return claims;
}

/** "the right eye and the left eye": one mention of both. */
function mergeEyes(p: string, tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    const prev = out[out.length - 1];
    if (prev && prev.kind.t === 'eye' && t.kind.t === 'eye' && !prev.kind.negates && /^\s*(?:and|&|as\s+well\s+as)\s+(?:the\s+)?$/i.test(p.slice(prev.end, t.start))) {
      out[out.length - 1] = { start: prev.start, end: t.end, text: p.slice(prev.start, t.end), kind: { t: 'eye', eyes: [...new Set([...prev.kind.eyes, ...t.kind.eyes])] } };
    } else out.push(t);
  }
  return out;
}

const strip = ({ value, bound }: Percent & { at: number }): Percent => ({ value, bound });

function claimWhat(x: Work): ClaimWhat | null {
  const k = x.kind;
  switch (k.t) {
    case 'finding': return { kind: 'finding', entity: k.entity };
    case 'grade': return { kind: 'dr-grade', grades: k.grades };
    case 'dme': return { kind: 'dme-risk', grades: k.grades };
    case 'referable': return { kind: 'referable' };
    case 'subject': return { kind: 'probability', subject: k.subject };
    case 'cdr': return k.value === undefined ? null : { kind: 'cdr', value: k.value };
    case 'urgency': return { kind: 'urgency', level: k.level };
    case 'status': return { kind: 'status', status: k.status };
    case 'gradable': return { kind: 'status', status: 'gradable' };
    default: return null;
  }
}

/** The checkable claims of `text`, paragraph by paragraph, in reading order. */
export function extractClaims(text: string): Claim[] {
  const out: Claim[] = [];
  let base = 0;
  for (const p of text.split(/\r?\n/)) {
    if (p.trim()) out.push(...paragraphClaims(p, base));
    base += 100_000;
  }
  return out;
}
