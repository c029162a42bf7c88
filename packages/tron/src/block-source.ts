// The BlockSource contract this package implements lives in @chainscreen/ingest.
export type { BlockRef, BlockSource, ChainBlock } from "@chainscreen/ingest";
