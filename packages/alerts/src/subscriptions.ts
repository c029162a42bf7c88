import { randomBytes, randomUUID } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import { FlagSeverity } from "@chainscreen/schema";
import { z } from "zod";
import { addressKey } from "./flag.js";
import { SubscriptionIndex } from "./match.js";
import { resolveTarget, type SsrfPolicy } from "./ssrf.js";
import type { AlertsStore } from "./store.js";
import type { SigningSecret, Subscription } from "./types.js";

/** Body of a create/update request (the API validates requests with it). */
export const SubscriptionInput = z.object({
  name: z.string().min(1).max(200).default("webhook"),
  url: z.string().url().max(2048),
  active: z.boolean().default(true),
  filters: z
    .object({
      addresses: z.array(z.string().min(1).max(128)).max(1_000_000).default([]),
      chains: z.array(z.string().min(1).max(32)).max(100).default([]),
      lists: z.array(z.string().min(1).max(128)).max(100).default([]),
      programmes: z.array(z.string().min(1).max(128)).max(500).default([]),
      minSeverity: FlagSeverity.default("low"),
      exposure: z
        .array(z.enum(["direct", "indirect", "behavioural"]))
        .max(3)
        .default(["direct", "indirect"]),
      includeRetro: z.boolean().default(true),
    })
    .prefault({}),
  limits: z
    .object({
      maxConcurrency: z.number().int().min(1).max(64).default(4),
      ratePerSecond: z.number().int().min(1).max(10_000).default(100),
    })
    .prefault({}),
});
export type SubscriptionInput = z.input<typeof SubscriptionInput>;

/** Partial update: only the given fields change (filters are replaced as a whole when given). */
export const SubscriptionPatch = SubscriptionInput.partial();
export type SubscriptionPatch = z.input<typeof SubscriptionPatch>;

/** A fresh signing secret: `whsec_` + 32 random bytes, base64url. */
export function newSecret(now = Date.now()): SigningSecret {
  return {
    id: `sec_${randomUUID().replaceAll("-", "").slice(0, 16)}`,
    secret: `whsec_${randomBytes(32).toString("base64url")}`,
    createdAt: now,
    expiresAt: null,
  };
}

/** Secrets that sign deliveries at `now`: newest first. */
export function activeSecrets(sub: Subscription, now = Date.now()): SigningSecret[] {
  return sub.secrets
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** A subscription as shown to its tenant: secrets without their values. */
export type PublicSubscription = Omit<Subscription, "secrets"> & {
  secrets: Omit<SigningSecret, "secret">[];
};

/** Strips secret values (API responses, logs). */
export function publicView(sub: Subscription): PublicSubscription {
  return { ...sub, secrets: sub.secrets.map(({ secret: _s, ...rest }) => rest) };
}

/** Dependencies of the subscription functions. */
export interface SubscriptionDeps {
  store: AlertsStore;
  /** When given, the URL is checked (scheme + resolved addresses) before it is stored. */
  ssrf?: SsrfPolicy;
  now?: () => number;
}

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new ValidationError("invalid subscription", {
      context: { issues: r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) },
    });
  }
  return r.data;
}

function normalise(filters: Subscription["filters"]): Subscription["filters"] {
  return { ...filters, addresses: [...new Set(filters.addresses.map(addressKey))] };
}

/** Creates a subscription with one signing secret; the secret value is returned only here. */
export async function createSubscription(
  deps: SubscriptionDeps,
  tenantId: string,
  input: SubscriptionInput,
): Promise<{ subscription: PublicSubscription; secret: string }> {
  const data = parse(SubscriptionInput, input);
  if (deps.ssrf) await resolveTarget(data.url, deps.ssrf);
  const now = deps.now?.() ?? Date.now();
  const secret = newSecret(now);
  const sub: Subscription = {
    id: `sub_${randomUUID().replaceAll("-", "")}`,
    tenantId,
    name: data.name,
    url: data.url,
    active: data.active,
    filters: normalise(data.filters),
    secrets: [secret],
    limits: data.limits,
    version: 1,
    createdAt: now,
    updatedAt: now,
    deleted: false,
  };
  await deps.store.putSubscription(sub);
  return { subscription: publicView(sub), secret: secret.secret };
}

/** A tenant's own subscription; undefined for unknown, deleted or another tenant's ids. */
export async function getSubscription(
  deps: SubscriptionDeps,
  tenantId: string,
  id: string,
): Promise<Subscription | undefined> {
  const s = await deps.store.getSubscription(id);
  return s && s.tenantId === tenantId && !s.deleted ? s : undefined;
}

/** Every live subscription of one tenant (secret values stripped). */
export async function listSubscriptions(
  deps: SubscriptionDeps,
  tenantId: string,
): Promise<PublicSubscription[]> {
  const all = await deps.store.loadSubscriptions();
  return all
    .filter((s) => s.tenantId === tenantId && !s.deleted)
    .sort((a, b) => a.createdAt - b.createdAt)
    .map(publicView);
}

async function mustGet(
  deps: SubscriptionDeps,
  tenantId: string,
  id: string,
): Promise<Subscription> {
  const s = await getSubscription(deps, tenantId, id);
  if (!s) throw new ValidationError("subscription not found", { context: { id } });
  return s;
}

/** Applies a partial update; returns the new version. */
export async function updateSubscription(
  deps: SubscriptionDeps,
  tenantId: string,
  id: string,
  patch: SubscriptionPatch,
): Promise<PublicSubscription> {
  const cur = await mustGet(deps, tenantId, id);
  const p = parse(SubscriptionPatch, patch);
  if (p.url !== undefined && deps.ssrf) await resolveTarget(p.url, deps.ssrf);
  const now = deps.now?.() ?? Date.now();
  const next: Subscription = {
    ...cur,
    name: p.name ?? cur.name,
    url: p.url ?? cur.url,
    active: p.active ?? cur.active,
    filters: p.filters ? normalise(p.filters) : cur.filters,
    limits: p.limits ?? cur.limits,
    version: cur.version + 1,
    updatedAt: now,
  };
  await deps.store.putSubscription(next);
  return publicView(next);
}

/** Soft-deletes a subscription: pending deliveries are skipped from then on. */
export async function deleteSubscription(
  deps: SubscriptionDeps,
  tenantId: string,
  id: string,
): Promise<boolean> {
  const cur = await getSubscription(deps, tenantId, id);
  if (!cur) return false;
  const now = deps.now?.() ?? Date.now();
  await deps.store.putSubscription({
    ...cur,
    deleted: true,
    active: false,
    version: cur.version + 1,
    updatedAt: now,
  });
  return true;
}

/**
 * Adds a new signing secret and lets the current ones expire after `overlapSec` (default 24 h;
 * 0 retires them at once). During the overlap every delivery carries one signature per secret.
 */
export async function rotateSecret(
  deps: SubscriptionDeps,
  tenantId: string,
  id: string,
  opts: { overlapSec?: number } = {},
): Promise<{ secretId: string; secret: string; previousExpireAt: number }> {
  const cur = await mustGet(deps, tenantId, id);
  const now = deps.now?.() ?? Date.now();
  const expireAt = now + Math.max(0, opts.overlapSec ?? 86_400) * 1000;
  const fresh = newSecret(now);
  const kept = cur.secrets
    // Already expired secrets are dropped for good; active ones get the overlap deadline.
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s) => ({
      ...s,
      expiresAt: s.expiresAt === null ? expireAt : Math.min(s.expiresAt, expireAt),
    }));
  await deps.store.putSubscription({
    ...cur,
    secrets: [...kept, fresh],
    version: cur.version + 1,
    updatedAt: now,
  });
  return { secretId: fresh.id, secret: fresh.secret, previousExpireAt: expireAt };
}

/**
 * In-memory view of all subscriptions, refreshed from the store without restart: every
 * `pollMs` it reads the store's cheap version marker and reloads only when it changed.
 */
export class SubscriptionCache {
  #index = new SubscriptionIndex([]);
  #version: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<boolean> | null = null;
  readonly #listeners = new Set<(index: SubscriptionIndex) => void>();

  constructor(
    private readonly store: AlertsStore,
    private readonly log: Logger,
    private readonly pollMs = 2_000,
  ) {}

  /** The current index (replaced atomically on refresh). */
  get index(): SubscriptionIndex {
    return this.#index;
  }

  /** Called after every reload with the new index (e.g. to start/stop endpoint workers). */
  onChange(fn: (index: SubscriptionIndex) => void): void {
    this.#listeners.add(fn);
  }

  /** Reloads when the store's version changed; true when it did. Concurrent calls share one run. */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#doRefresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #doRefresh(): Promise<boolean> {
    const v = await this.store.subscriptionsVersion();
    if (v === this.#version) return false;
    const subs = await this.store.loadSubscriptions();
    this.#index = new SubscriptionIndex(subs);
    this.#version = v;
    this.log.info({ subscriptions: this.#index.size, version: v }, "subscriptions reloaded");
    for (const fn of this.#listeners) fn(this.#index);
    return true;
  }

  /** Loads once, then polls. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, "subscription refresh failed"),
      );
    }, this.pollMs);
    this.#timer.unref();
  }

  /** Stops polling. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
