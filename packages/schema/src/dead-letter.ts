import { z } from "zod";

/** What a consumer writes to the dead-letter topic for a message it cannot process. */
export const DeadLetterV1 = z.object({
  type: z.literal("deadletter.v1"),
  sourceTopic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string().nullable(),
  /** Original bytes, base64, so nothing is lost even when they are not UTF-8. */
  valueBase64: z.string().nullable(),
  error: z.string(),
  consumerGroup: z.string(),
  failedAt: z.number().int(),
});
export type DeadLetterV1 = z.infer<typeof DeadLetterV1>;
