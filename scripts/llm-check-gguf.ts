// What node-llama-cpp (llama.cpp) makes of an OphGate GGUF, for models/llm/test_recipe.py to compare with PyTorch:
//
//   npx tsx scripts/llm-check-gguf.ts MODEL.gguf < requests.json > answers.json
//
// requests.json: { "tokenize": [text, ...], "greedy": [{ "tokens": [id, ...], "n": N }, ...] }. Texts are tokenised
// with special tokens parsed (as the chat layout is); "greedy" evaluates the given token ids and takes the N most
// likely next tokens at temperature 0, ending early at any id in "stop" (e.g. <|im_end|>).
// Answers: { "tokenize": [[id, ...], ...], "greedy": [[id, ...], ...] }.
import { getLlama, type Token } from 'node-llama-cpp';

const modelPath = process.argv[2];
if (!modelPath) {
  console.error('usage: tsx scripts/llm-check-gguf.ts MODEL.gguf < requests.json');
  process.exit(2);
}
// Streamed, not readFileSync(0): a large request on a non-blocking pipe fails with EAGAIN.
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tokenize?: string[]; greedy?: { tokens: number[]; n: number; stop?: number[] }[] };
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath });
const out: { tokenize: number[][]; greedy: number[][] } = { tokenize: [], greedy: [] };
for (const t of req.tokenize ?? []) out.tokenize.push([...model.tokenize(t, true)].map(Number));
for (const g of req.greedy ?? []) {
  const context = await model.createContext({ contextSize: Math.max(256, g.tokens.length + g.n + 8), threads: 1 });
  const seq = context.getSequence();
  const got: number[] = [];
  for await (const token of seq.evaluate(g.tokens as Token[], { temperature: 0 })) {
    got.push(Number(token));
    if (got.length >= g.n || g.stop?.includes(Number(token))) break;
  }
  out.greedy.push(got);
  await context.dispose();
}
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out));
