/** Roles a key can have. */
export const Roles = ["regulator", "bank", "analyst", "admin"] as const;
/** One of {@link Roles}. */
export type Role = (typeof Roles)[number];

/** True when `s` names a role. */
export function isRole(s: string): s is Role {
  return (Roles as readonly string[]).includes(s);
}

/**
 * What each role may do. Banks see only their tenant's own data (subscriptions, alerts,
 * screenings, registered transfers); flagged flows across all tenants, address investigation,
 * cases and dashboards are for regulators, analysts and admins; SQL for analysts and admins.
 */
export const Permissions = {
  "flows:read": ["regulator", "analyst", "admin"],
  "addresses:read": ["regulator", "analyst", "admin"],
  "stats:read": ["regulator", "analyst", "admin"],
  screen: ["bank", "regulator", "analyst", "admin"],
  "transfers:register": ["bank", "admin"],
  "cases:read": ["regulator", "analyst", "admin"],
  "cases:write": ["regulator", "analyst", "admin"],
  "subscriptions:manage": ["bank", "admin"],
  "alerts:read": ["bank", "admin"],
  "lists:read": ["regulator", "bank", "analyst", "admin"],
  "lists:write": ["admin"],
  "sql:run": ["analyst", "admin"],
  "keys:manage": ["admin"],
  "audit:read": ["admin", "regulator"],
} as const satisfies Record<string, readonly Role[]>;
/** A permission name. */
export type Permission = keyof typeof Permissions;

/** True when `role` holds `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return (Permissions[permission] as readonly Role[]).includes(role);
}

/** Roles whose every request is written to the audit log. */
export const AuditedRoles: readonly Role[] = ["regulator", "analyst"];

/** Who is calling: resolved from a verified key. */
export interface Principal {
  keyId: string;
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number | null;
}

/**
 * Tenant scoping: admins (and regulators, for read access) act across tenants; everyone else only
 * inside their own. Returns the tenant a query must be restricted to, or null for "all".
 */
export function tenantScope(p: Principal): string | null {
  return p.role === "admin" || p.role === "regulator" ? null : p.tenantId;
}
