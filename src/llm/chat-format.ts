// The chat layout OphGate's own models are trained on and run with: ChatML, as node-llama-cpp 3.21.1's
// ChatMLChatWrapper renders it. The training corpus is written with renderChat so the model sees at training time
// exactly the tokens node-llama-cpp feeds it at inference (test/llm/runtime.test.ts proves the equality).

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Special-token texts of the project's tokenizer (SentencePiece control pieces). */
export const CHAT_TOKENS = {
  unk: '<unk>',
  bos: '<s>',
  eos: '</s>',
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
} as const;

/**
 * tokenizer.chat_template written into OphGate's GGUF files. node-llama-cpp renders it through the JinjaTemplateChatWrapper
 * only to compare: when the result matches its ChatMLChatWrapper on its test conversations it uses ChatMLChatWrapper
 * itself, whose layout renderChat reproduces. llama.cpp-based tools that apply the template directly see the same layout.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A piece of the rendered layout: the BOS token, a special-token text (parsed as special tokens), or plain text. */
export type ChatSegment = { kind: 'bos' } | { kind: 'special'; text: string } | { kind: 'text'; text: string };

export interface RenderChatOptions {
  /**
   * 'prompt': what node-llama-cpp feeds before generating the next answer: every turn, then an open
   * "<|im_start|>assistant\n". If the last message is from the assistant, it stays open (no <|im_end|>), as when
   * node-llama-cpp continues a partial answer.
   * 'transcript': every turn closed with "<|im_end|>\n"; a training example: the answer is followed by the
   * <|im_end|> the model must learn to emit, and the text is the prefix node-llama-cpp feeds on the following turn.
   */
  mode: 'prompt' | 'transcript';
}

interface Group {
  system: string[];
  user: string[];
  model: string[];
}

/**
 * Renders a conversation in ChatMLChatWrapper's layout: BOS, then per turn "<|im_start|>{role}\n{content}<|im_end|>\n".
 * Mirrors its grouping: consecutive system messages are joined with a blank line, and an empty message has no block.
 */
export function renderChatSegments(messages: readonly ChatMessage[], options: RenderChatOptions): ChatSegment[] {
  const groups: Group[] = [];
  let sys: string[] = [];
  let user: string[] = [];
  let model: string[] = [];
  let inSystem = false;
  const flush = (): void => {
    if (sys.length > 0 || user.length > 0 || model.length > 0) groups.push({ system: sys, user, model });
    sys = [];
    user = [];
    model = [];
  };
  for (const m of messages) {
    if (m.role === 'system') {
      if (!inSystem) flush();
      inSystem = true;
      sys.push(m.content);
    } else {
      flush();
      inSystem = false;
      (m.role === 'user' ? user : model).push(m.content);
    }
  }
  flush();
  // The wrapper is always handed a final model item: empty for a new answer, or the partial answer to continue.
  const last = groups[groups.length - 1];
  if (options.mode === 'prompt' && (last === undefined || last.model.length === 0)) groups.push({ system: [], user: [], model: [''] });

  const out: ChatSegment[] = [{ kind: 'bos' }];
  const block = (role: string, text: string, close: boolean): void => {
    out.push({ kind: 'special', text: `${CHAT_TOKENS.imStart}${role}\n` });
    if (text !== '') out.push({ kind: 'text', text });
    if (close) out.push({ kind: 'special', text: `${CHAT_TOKENS.imEnd}\n` });
  };
  groups.forEach((g, i) => {
    const isLast = i === groups.length - 1 && options.mode === 'prompt';
    const system = g.system.join('\n\n');
    const userText = g.user.join('\n\n');
    const modelText = g.model.join('\n\n');
    if (system !== '') block('system', system, true);
    if (userText !== '') block('user', userText, true);
    if (modelText !== '' || isLast) block('assistant', modelText, !isLast);
  });
  return mergeSpecials(out);
}

/** Adjacent special texts are one SpecialTokensText in node-llama-cpp's LlamaText; merge them the same way. */
function mergeSpecials(segments: ChatSegment[]): ChatSegment[] {
  const out: ChatSegment[] = [];
  for (const s of segments) {
    const prev = out[out.length - 1];
    if (prev && prev.kind === s.kind && s.kind !== 'bos' && prev.kind !== 'bos') {
      out[out.length - 1] = { kind: s.kind, text: prev.text + s.text };
    } else out.push(s);
  }
  return out;
}

/** The layout as one string, BOS written as its token text; tokenise it with special tokens enabled. */
export function renderChat(messages: readonly ChatMessage[], options: RenderChatOptions): string {
  return renderChatSegments(messages, options)
    .map((s) => (s.kind === 'bos' ? CHAT_TOKENS.bos : s.text))
    .join('');
}
