// Errors crossing a worker boundary through comlink arrive as their own class (ShaderCompileError,
// DeviceLostError, ...) with the message and every field intact (hint, file, line, byte range, ...),
// not flattened to a plain Error (see serializeError in errors.ts).
// Both sides call installErrorTransfer() once before using comlink.

import * as Comlink from 'comlink';
import { deserializeError, serializeError, type SerializedError } from './errors';

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const builtin = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: builtin.canHandle,
    serialize: ({ value }: { value: unknown }) => [{ error: serializeError(value) }, []],
    deserialize: (s: { error: SerializedError }) => {
      throw deserializeError(s.error);
    },
  } as Comlink.TransferHandler<{ value: unknown }, { error: SerializedError }>);
}
