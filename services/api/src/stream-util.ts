import { Transform, type TransformCallback } from "node:stream";

/**
 * Pass-through that counts newline bytes (= rows of NDJSON/CSV) and reports the running count,
 * so the audit log gets the number of rows actually sent, even for an export cut short.
 */
export function lineCounter(onCount: (lines: number) => void): Transform {
  let lines = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      onCount(lines);
      cb(null, chunk);
    },
  });
}
