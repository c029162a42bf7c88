import { describe, expect, it } from "vitest";
import { jvmOptions } from "../../infra/local/kafka.js";

describe("local broker JVM flags", () => {
  it("fixes the heap and uses the parallel collector with C1 by default", () => {
    expect(jvmOptions("512m", undefined)).toEqual([
      "-Xms512m",
      "-Xmx512m",
      "-XX:+UseParallelGC",
      "-XX:TieredStopAtLevel=1",
    ]);
  });

  it("CHAINSCREEN_KAFKA_JVM_OPTS replaces the collector and compiler flags, not the heap", () => {
    expect(jvmOptions("1g", "  -XX:+UseG1GC   -XX:MaxGCPauseMillis=20 ")).toEqual([
      "-Xms1g",
      "-Xmx1g",
      "-XX:+UseG1GC",
      "-XX:MaxGCPauseMillis=20",
    ]);
    expect(jvmOptions("1g", " ")).toContain("-XX:+UseParallelGC");
  });
});
