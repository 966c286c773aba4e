// The training recipe of models/train/ (Python, Debian's torch): its unit-level checks run here through
// /usr/bin/python3 -m unittest (crop geometry, metrics, augmentation geometry shared by image and mask, masked
// losses, bit-exact resume after an interruption, ONNX export checked against PyTorch with the NumPy ONNX
// interpreter, model size limits, and the split records when ../shared/data is present). Skipped with a message
// when /usr/bin/python3 lacks torch / onnx (see models/train/README.md for the apt-get line).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';

function havePythonTorch(): boolean {
  if (!existsSync(PYTHON)) return false;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy, PIL'], { encoding: 'utf8', timeout: 60_000 });
  return probe.status === 0;
}

const ready = havePythonTorch();
if (!ready) {
  console.warn(
    `[test] ${PYTHON} cannot import torch, onnx, numpy and PIL: the training-recipe checks are skipped ` +
      '(apt-get install python3-torch python3-torchvision python3-onnx python3-numpy python3-pil libopenblas0-pthread)',
  );
}

describe('models/train recipe', () => {
  it.skipIf(!ready)(
    `unit checks pass (python3 -m unittest models/train/test_*.py)${ready ? '' : ' (skipped: no torch in /usr/bin/python3)'}`,
    () => {
      const run = spawnSync(PYTHON, ['-m', 'unittest', '-v', 'test_recipe', 'test_model_card'], {
        cwd: path.join(REPO, 'models', 'train'),
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' },
      });
      const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
      expect(run.error, output).toBeUndefined();
      expect(run.status, output).toBe(0);
      expect(output).toMatch(/\nOK/);
      expect(output).toMatch(/test_interrupted_and_resumed_run_matches_uninterrupted .* ok/);
      expect(output).toMatch(/test_segmenter_onnx_matches_torch .* ok/);
      expect(output).toMatch(/test_model_card\./);
    },
    150_000,
  );
});
