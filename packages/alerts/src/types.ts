import type { FlagSeverity } from "@chainscreen/schema";

/** Exposure kinds a subscription can ask for; `behavioural` = structuring / p2p rules. */
export type ExposureFilter = "direct" | "indirect" | "behavioural";

/** A signing secret of a subscription; active while `expiresAt` is null or in the future. */
export interface SigningSecret {
  id: string;
  /** Plain secret: HMAC needs it, so it cannot be stored hashed (unlike API keys). */
  secret: string;
  createdAt: number;
  /** Set when rotated out: the secret keeps signing until then (overlap window). */
  expiresAt: number | null;
}

/** What a subscription wants to hear about. Empty lists mean "any". */
export interface SubscriptionFilters {
  /** Watched addresses (typically the tenant's customers' deposit addresses), canonical form. */
  addresses: string[];
  chains: string[];
  /** List ids (e.g. ofac-sdn, a custom list). */
  lists: string[];
  /** Sanctions programmes (e.g. CYBER2). */
  programmes: string[];
  minSeverity: FlagSeverity;
  /** Which exposures to alert on (empty: all). */
  exposure: ExposureFilter[];
  /** Also alert on flags found by retro-screening history. */
  includeRetro: boolean;
}

/** Per-endpoint delivery limits, so one slow receiver never delays other tenants. */
export interface DeliveryLimits {
  /** Requests in flight at once to this endpoint. */
  maxConcurrency: number;
  /** Requests started per second to this endpoint. */
  ratePerSecond: number;
}

/** A tenant's webhook subscription. */
export interface Subscription {
  id: string;
  tenantId: string;
  name: string;
  url: string;
  active: boolean;
  filters: SubscriptionFilters;
  secrets: SigningSecret[];
  limits: DeliveryLimits;
  /** Increases on every change (ReplacingMergeTree version in ClickHouse). */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** Soft delete: kept so deliveries and dead letters stay explainable. */
  deleted: boolean;
}

/** Outcome of one HTTP attempt. */
export const DeliveryStatus = {
  /** 2xx received. */
  delivered: "delivered",
  /** Failed, will be retried. */
  retrying: "retrying",
  /** Failed for good (last attempt, or a final 4xx / refused target): the alert is in dead letters. */
  dead: "dead",
  /** Not sent: the subscription was deleted or deactivated meanwhile. */
  skipped: "skipped",
} as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];

/** One row of `webhook_deliveries`: every attempt, successful or not. */
export interface DeliveryAttempt {
  /** BullMQ job id: the (alert, subscription) delivery, or a replay of it. */
  deliveryId: string;
  alertId: string;
  subscriptionId: string;
  tenantId: string;
  /** 1-based attempt number. */
  attempt: number;
  status: DeliveryStatus;
  /** HTTP status, null when no response (timeout, refused, SSRF). */
  responseCode: number | null;
  latencyMs: number;
  /** Short, constant-ish reason (never the response body). */
  error: string | null;
  url: string;
  at: number;
}
