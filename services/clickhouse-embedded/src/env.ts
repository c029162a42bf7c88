import { envInt, envPort, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of the embedded ClickHouse server. */
export const env = parseEnv(
  z.object({
    /** Directory owning the engine's data (one process at a time may open it). */
    CLICKHOUSE_EMBEDDED_DATA_DIR: z.string().min(1).default(".data/clickhouse"),
    /** Interface to listen on; keep loopback unless a proxy with TLS is in front. */
    CLICKHOUSE_EMBEDDED_HOST: z.string().default("127.0.0.1"),
    /** HTTP port (ClickHouse's default is 8123). */
    CLICKHOUSE_EMBEDDED_PORT: envPort(8123),
    /** Users and profiles file (YAML or JSON); see infra/clickhouse/users.example.yaml. */
    CLICKHOUSE_EMBEDDED_USERS_FILE: z.string().min(1),
    /** Ops port for /healthz, /readyz, /metrics; 0 disables it. */
    CLICKHOUSE_EMBEDDED_OPS_PORT: envPort(0),
    /** Largest request body in MiB (after decompression). */
    CLICKHOUSE_EMBEDDED_MAX_BODY_MB: envInt(512, 1),
    /**
     * Directory where INSERT payloads wait as files for the engine (it reads a file with about
     * half the CPU of the same bytes in memory). Default: one per data directory under /dev/shm,
     * else under the system's temporary directory. `off` hands payloads over in memory.
     */
    CLICKHOUSE_EMBEDDED_SPOOL_DIR: z.string().min(1).optional(),
    /** Seconds requests in flight get to finish on SIGTERM. */
    CLICKHOUSE_EMBEDDED_SHUTDOWN_GRACE_S: envInt(20, 1),
    /** pino level. */
    LOG_LEVEL: z.string().default("info"),
  }),
);
