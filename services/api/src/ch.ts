/** DateTime64(3, 'UTC') text form `YYYY-MM-DD hh:mm:ss.sss` for inserts. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace("T", " ");
}
