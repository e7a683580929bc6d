// Record stores are storage's (src/storage/records.ts); these are the names scoring, the teacher and the CLI use.
export { fileStore, memoryStore, opfsStore, parseJsonLines, type RecordStore } from '../storage/records';
