import { z } from "zod";

/**
 * Parses the environment with a zod object once at start. On failure prints every problem
 * (variable, message) to stderr and exits 1, so a misconfigured service never half-starts.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
  exit: (code: number) => never = process.exit,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
  process.stderr.write(`invalid configuration:\n${lines.join("\n")}\n`);
  return exit(1);
}

/** Same as {@link parseEnv} but throws instead of exiting (CLIs, tests). */
export function parseEnvOrThrow<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`);
  throw new Error(`invalid configuration: ${lines.join("; ")}`);
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

/** Boolean from "true/false/1/0/yes/no/on/off" (z.coerce.boolean would read "false" as true). */
export function envBool(defaultValue: boolean) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultValue;
      const s = v.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      ctx.addIssue({ code: "custom", message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });
}

/** Comma-separated list with empty items removed. */
export function envList(defaultValue: string[] = []) {
  return z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? defaultValue
        : v
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    );
}

/** TCP port number. */
export function envPort(defaultValue: number) {
  return z.coerce.number().int().min(0).max(65535).default(defaultValue);
}

/** Positive integer with a default. */
export function envInt(defaultValue: number, min = 0) {
  return z.coerce.number().int().min(min).default(defaultValue);
}

/**
 * The Kafka connection variables of a service, to spread into its env object; `clientId` is the
 * default of KAFKA_CLIENT_ID. {@link kafkaConnection} turns the parsed values into bus settings.
 */
export function kafkaEnv(clientId: string) {
  return {
    /** Kafka bootstrap servers. */
    KAFKA_BROKERS: envList(["127.0.0.1:9092"]),
    /** Kafka client id. */
    KAFKA_CLIENT_ID: z.string().default(clientId),
    /** TLS to the brokers (system CAs). */
    KAFKA_SSL: envBool(false),
    /** SASL mechanism; unset = no SASL. */
    KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).optional(),
    /** SASL user. */
    KAFKA_SASL_USERNAME: z.string().optional(),
    /** SASL password; secret, no default. */
    KAFKA_SASL_PASSWORD: z.string().optional(),
  };
}

/** Parsed values of the {@link kafkaEnv} variables. */
export type KafkaEnv = z.infer<z.ZodObject<ReturnType<typeof kafkaEnv>>>;

/**
 * Kafka bus settings (`@chainscreen/kafka` BusConfig) from the {@link kafkaEnv} variables; SASL
 * is used only when mechanism, user and password are all set.
 */
export function kafkaConnection(env: KafkaEnv) {
  const mechanism = env.KAFKA_SASL_MECHANISM;
  const username = env.KAFKA_SASL_USERNAME;
  const password = env.KAFKA_SASL_PASSWORD;
  return {
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID,
    ssl: env.KAFKA_SSL,
    sasl: mechanism && username && password ? { mechanism, username, password } : undefined,
  };
}
