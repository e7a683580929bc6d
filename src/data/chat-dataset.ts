// Chat datasets: JSON lines of {"messages": [{"role": …, "content": …}, …]} (TRL's conversational
// format), each conversation ending with the assistant's answer, the part that is trained. Every line is
// checked before anything is trained; a bad one is a DatasetError naming the file and the line.

import { DatasetError } from '../errors';
import type { ChatMessage } from '../tokenizer/tokenizer';

export interface ChatRow {
  /** 1-based line of the file. */
  line: number;
  messages: ChatMessage[];
}

const ROLES = new Set(['system', 'user', 'assistant']);
const HINT = 'each line must be {"messages": [{"role": "system"|"user"|"assistant", "content": "…"}, …]} ending with an assistant message; fix or remove that line';

/** Whether a JSONL text holds conversations: its first non-empty line starts an object with "messages". */
export function looksLikeChatJsonl(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim()) ?? '';
  return /^\s*\{\s*"messages"\s*:/.test(first.replace(/^\uFEFF/, ''));
}

/** Every conversation of a chat JSONL text, or a DatasetError at the first line that is not one. */
export function parseChatJsonl(text: string, fileName: string): ChatRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: ChatRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === '') continue;
    const fail = (detail: string): never => {
      throw new DatasetError(fileName, i + 1, detail, HINT);
    };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      fail(`not valid JSON (${(err as Error).message})`);
    }
    const messages = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { messages?: unknown }).messages : undefined;
    if (!Array.isArray(messages) || messages.length === 0) fail('has no "messages" list');
    const list = messages as unknown[];
    list.forEach((m, j) => {
      const { role, content } = (typeof m === 'object' && m !== null ? m : {}) as { role?: unknown; content?: unknown };
      if (typeof role !== 'string' || !ROLES.has(role)) fail(`message ${j + 1} has role ${JSON.stringify(role)}, not system, user or assistant`);
      if (typeof content !== 'string') fail(`message ${j + 1} (${role}) has no text "content"`);
    });
    const typed = list as ChatMessage[];
    if (typed[typed.length - 1].role !== 'assistant') fail(`the last message is the ${typed[typed.length - 1].role}'s; it must be the assistant's answer`);
    rows.push({ line: i + 1, messages: typed.map((m) => ({ role: m.role, content: m.content })) });
  }
  if (!rows.length) throw new DatasetError(fileName, null, 'has no conversations', HINT);
  return rows;
}
