// Case dialogues (migration 7): each conversation belongs to one study; its turns are kept in order with what
// produced each answer, so a conversation can be read back and continued after a restart.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { jsonColumn } from './rows.js';

export const conversationRow = z.object({
  id: z.string(), study_uid: z.string(), started_by: z.string(), created_at: z.number(), updated_at: z.number(),
});
export type ConversationRow = z.infer<typeof conversationRow>;

export const messageRow = z.object({
  conversation_id: z.string(), seq: z.number().int(), role: z.enum(['user', 'assistant']), content: z.string(),
  meta: jsonColumn, created_at: z.number(),
});
export type MessageRow = z.infer<typeof messageRow>;

export class ConversationStore {
  constructor(private readonly db: Database.Database) {}

  start(studyUid: string, startedBy: string, now = Date.now()): ConversationRow {
    const id = randomUUID();
    this.db.prepare('INSERT INTO conversations (id, study_uid, started_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, studyUid, startedBy, now, now);
    return this.get(id)!;
  }

  get(id: string): ConversationRow | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id);
    return row ? conversationRow.parse(row) : undefined;
  }

  ofStudy(studyUid: string): ConversationRow[] {
    return this.db.prepare('SELECT * FROM conversations WHERE study_uid = ? ORDER BY created_at, id').all(studyUid).map((r) => conversationRow.parse(r));
  }

  messages(conversationId: string): MessageRow[] {
    return this.db.prepare('SELECT * FROM conversation_messages WHERE conversation_id = ? ORDER BY seq').all(conversationId).map((r) => messageRow.parse(r));
  }

  /** Appends the question and its answer together, so a conversation never holds a question without its answer. */
  appendTurn(conversationId: string, question: string, answer: string, meta: object, now = Date.now()): MessageRow[] {
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT MAX(seq) AS seq FROM conversation_messages WHERE conversation_id = ?').get(conversationId) as { seq: number | null };
      const seq = (last.seq ?? 0) + 1;
      const insert = this.db.prepare('INSERT INTO conversation_messages (conversation_id, seq, role, content, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)');
      insert.run(conversationId, seq, 'user', question, '{}', now);
      insert.run(conversationId, seq + 1, 'assistant', answer, JSON.stringify(meta), now);
      this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(now, conversationId);
      return this.messages(conversationId).slice(-2);
    })();
  }
}
