import {
  type ApiKeyRecord,
  ClickHouseKeyStore,
  generateApiKey,
  isRole,
  Roles,
  revokeKey,
} from "@chainscreen/auth";
import { createStoreClient } from "@chainscreen/store";
import type { Command } from "commander";
import { errorText, fail } from "../util.js";

interface Conn {
  clickhouse?: string;
  database?: string;
  user?: string;
}

function withConn(cmd: Command): Command {
  return cmd
    .option("--clickhouse <url>", "ClickHouse HTTP URL (env CLICKHOUSE_URL)")
    .option(
      "--database <name>",
      "ClickHouse database (env CLICKHOUSE_DATABASE, default chainscreen)",
    )
    .option(
      "--user <name>",
      "ClickHouse user (env CLICKHOUSE_USER); password from env CLICKHOUSE_PASSWORD",
    );
}

async function withStore<T>(o: Conn, fn: (s: ClickHouseKeyStore) => Promise<T>): Promise<T> {
  const url = o.clickhouse ?? process.env.CLICKHOUSE_URL;
  if (!url) fail("no ClickHouse: pass --clickhouse or set CLICKHOUSE_URL");
  const client = createStoreClient({
    url,
    username: o.user ?? process.env.CLICKHOUSE_USER ?? "default",
    password: process.env.CLICKHOUSE_PASSWORD ?? "",
    database: o.database ?? process.env.CLICKHOUSE_DATABASE ?? "chainscreen",
  });
  try {
    return await fn(new ClickHouseKeyStore(client));
  } catch (err) {
    fail(errorText(err));
  } finally {
    await client.close();
  }
}

function line(r: ApiKeyRecord): string {
  const revoked =
    r.revokedAt === null ? "active" : `revoked ${new Date(r.revokedAt).toISOString()}`;
  return [
    r.id,
    r.tenantId,
    r.role,
    JSON.stringify(r.name),
    new Date(r.createdAt).toISOString(),
    revoked,
  ].join("\t");
}

/** `chainscreen keys create|list|revoke`: API keys (stored hashed in ClickHouse `api_keys`). */
export function register(program: Command): void {
  const keys = program
    .command("keys")
    .description("API keys of the query API (roles regulator, bank, analyst, admin)");

  withConn(
    keys
      .command("create")
      .description("create a key; it is printed once and only its sha256 is stored")
      .requiredOption("--tenant <id>", "tenant the key belongs to")
      .requiredOption("--role <role>", `one of ${Roles.join(", ")}`)
      .requiredOption("--name <label>", "a label, e.g. 'acme-bank prod'")
      .option("--rate-limit <n>", "requests per minute for this key (default: the server's)"),
  ).action(async (o: Conn & { tenant: string; role: string; name: string; rateLimit?: string }) => {
    if (!isRole(o.role)) fail(`unknown role "${o.role}": use one of ${Roles.join(", ")}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(o.tenant))
      fail(`invalid tenant id "${o.tenant}"`);
    const rate = o.rateLimit === undefined ? null : Number(o.rateLimit);
    if (rate !== null && !(Number.isInteger(rate) && rate > 0))
      fail("--rate-limit must be a positive integer");
    const g = generateApiKey({
      tenantId: o.tenant,
      role: o.role,
      name: o.name,
      rateLimitPerMinute: rate,
    });
    await withStore(o, (s) => s.put(g.record));
    process.stderr.write(
      `created key ${g.record.id} for ${o.tenant} (${o.role}); store it now, it is not shown again:\n`,
    );
    process.stdout.write(`${g.key}\n`);
  });

  withConn(
    keys
      .command("list")
      .description("list keys (never the keys themselves)")
      .option("--tenant <id>", "only this tenant"),
  ).action(async (o: Conn & { tenant?: string }) => {
    const rows = await withStore(o, (s) => s.list(o.tenant ? { tenantId: o.tenant } : undefined));
    process.stdout.write("id\ttenant\trole\tname\tcreated\tstatus\n");
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
  });

  withConn(
    keys
      .command("revoke")
      .description("revoke a key by id (or by the key itself)")
      .argument("<id>", "key id (16 hex) or the whole key"),
  ).action(async (idOrKey: string, o: Conn) => {
    const id = /^cs_[0-9a-f]{16}_/.test(idOrKey) ? idOrKey.slice(3, 19) : idOrKey;
    if (!/^[0-9a-f]{16}$/.test(id)) fail(`"${idOrKey}" is not a key id`);
    const ok = await withStore(o, (s) => revokeKey(s, id));
    if (!ok) fail(`no key ${id}`);
    process.stdout.write(
      `revoked ${id} (API instances stop accepting it within their key cache TTL)\n`,
    );
  });
}
