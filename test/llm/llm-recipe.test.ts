// The chat-model recipe of models/llm/ (Python, Debian's torch and sentencepiece): its checks run here through
// /usr/bin/python3 -m unittest (corpus determinism and chat layout equal to src/llm/chat-format.ts, assistant-only
// loss mask, the generator never naming the evaluation set, exact resume, export shapes, and the GGUF from the
// project's writer run by node-llama-cpp giving PyTorch's tokens and greedy continuation). Skipped with a message
// when /usr/bin/python3 lacks torch or sentencepiece (see models/llm/README.md for the apt-get line).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = '/usr/bin/python3';

function havePython(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch, numpy, sentencepiece'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
}

const ready = havePython();
if (!ready) {
  console.warn(`[test] ${PYTHON} cannot import torch, numpy and sentencepiece: the chat-model recipe checks are skipped ` +
    '(apt-get install python3-torch python3-numpy python3-sentencepiece libopenblas0-pthread)');
}

describe('models/llm recipe', () => {
  it.skipIf(!ready)('unit checks pass (python3 -m unittest models/llm/test_recipe.py)', () => {
    const run = spawnSync(PYTHON, ['-m', 'unittest', '-v', 'models/llm/test_recipe.py'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 170_000,
      env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/\nOK/);
    expect(output).toMatch(/test_resumed_run_matches_uninterrupted_run .* ok/);
    expect(output).toMatch(/test_generator_never_reads_the_evaluation_questions .* ok/);
    expect(output).toMatch(/test_python_layout_equals_the_typescript_chat_format .* ok/);
    expect(output).toMatch(/test_tokens_and_greedy_continuation_match_pytorch .* (ok|skipped)/);
  }, 180_000);

  // Standard library only, so it runs wherever /usr/bin/python3 does.
  it.skipIf(!existsSync(PYTHON)).each([
    ['the scope gate\'s question bank', 'models/llm/test_scope_questions.py'],
    ['the question router\'s question bank', 'models/llm/test_intent_questions.py'],
    ['the question router\'s template questions', 'models/llm/test_intent_templates.py'],
  ])('%s: checks pass (%s)', (_what, file) => {
    const run = spawnSync(PYTHON, ['-m', 'unittest', '-v', file], {
      cwd: REPO, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/\nOK/);
  }, 90_000);
});
