import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { ValidationError } from "@chainscreen/errors";

/** Address ranges a webhook may not reach unless the policy allows the category. */
export const AddressCategory = {
  loopback: "loopback",
  private: "private",
  linkLocal: "linkLocal",
  uniqueLocal: "uniqueLocal",
  multicast: "multicast",
  /** Cloud metadata services (169.254.169.254, fd00:ec2::254, 100.100.100.200). */
  metadata: "metadata",
  /** Unspecified, documentation, benchmarking, CGNAT, reserved, broadcast. */
  reserved: "reserved",
} as const;
export type AddressCategory = (typeof AddressCategory)[keyof typeof AddressCategory];

// Order matters: the first matching category names the refusal (metadata before link-local).
const RANGES: [AddressCategory, string, number, "ipv4" | "ipv6"][] = [
  ["metadata", "169.254.169.254", 32, "ipv4"],
  ["metadata", "100.100.100.200", 32, "ipv4"],
  ["metadata", "fd00:ec2::254", 128, "ipv6"],
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["loopback", "::1", 128, "ipv6"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  ["linkLocal", "169.254.0.0", 16, "ipv4"],
  ["linkLocal", "fe80::", 10, "ipv6"],
  ["uniqueLocal", "fc00::", 7, "ipv6"],
  ["uniqueLocal", "fec0::", 10, "ipv6"], // deprecated site-local
  ["multicast", "224.0.0.0", 4, "ipv4"],
  ["multicast", "ff00::", 8, "ipv6"],
  ["reserved", "0.0.0.0", 8, "ipv4"],
  ["reserved", "100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["reserved", "192.0.0.0", 24, "ipv4"],
  ["reserved", "192.0.2.0", 24, "ipv4"],
  ["reserved", "192.88.99.0", 24, "ipv4"],
  ["reserved", "198.18.0.0", 15, "ipv4"],
  ["reserved", "198.51.100.0", 24, "ipv4"],
  ["reserved", "203.0.113.0", 24, "ipv4"],
  ["reserved", "240.0.0.0", 4, "ipv4"], // includes 255.255.255.255
  ["reserved", "::", 128, "ipv6"],
  ["reserved", "100::", 64, "ipv6"], // discard-only
  ["reserved", "2001:db8::", 32, "ipv6"], // documentation
];

const LISTS = new Map<AddressCategory, BlockList>();
for (const [cat, net, prefix, family] of RANGES) {
  let list = LISTS.get(cat);
  if (!list) {
    list = new BlockList();
    LISTS.set(cat, list);
  }
  list.addSubnet(net, prefix, family);
}

/** Expands an IPv6 text address to 8 numbers; null when it is not IPv6. */
function ipv6Words(ip: string): number[] | null {
  if (isIP(ip) !== 6) return null;
  let text = ip.split("%")[0] ?? ip;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex words.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const b = dotted[1].split(".").map(Number);
    const hi = (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16);
    const lo = (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16);
    text = `${text.slice(0, -dotted[1].length)}${hi}:${lo}`;
  }
  const [head = "", tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const words = [...h, ...Array<string>(fill).fill("0"), ...t].map((w) => Number.parseInt(w, 16));
  return words.length === 8 ? words : null;
}

/**
 * The IPv4 address an IPv6 address carries, for forms that make a host reach that IPv4 address:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
 * (2002:AABB:CCDD::/16). Null otherwise.
 */
export function embeddedIpv4(ip: string): string | null {
  const w = ipv6Words(ip);
  if (!w) return null;
  const v4 = (a: number, b: number) => `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const [w0 = 0, w1 = 0, w2 = 0, w5 = 0, w6 = 0, w7 = 0] = [w[0], w[1], w[2], w[5], w[6], w[7]];
  if (zero(0, 5) && w5 === 0xffff) return v4(w6, w7);
  if (zero(0, 6) && (w6 !== 0 || w7 > 1)) return v4(w6, w7);
  if (w0 === 0x64 && w1 === 0xff9b && zero(2, 6)) return v4(w6, w7);
  if (w0 === 0x2002) return v4(w1, w2);
  return null;
}

/** The blocked category of an IP address, or null when it is a public unicast address. */
export function classifyAddress(ip: string): AddressCategory | null {
  const family = isIP(ip);
  if (family === 0) throw new ValidationError("not an IP address", { context: { ip } });
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    if (v4) return classifyAddress(v4);
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  for (const [cat, list] of LISTS) if (list.check(ip, type)) return cat;
  return null;
}

/** What webhook targets may be. Production: nothing private; tests: `allow: ["loopback"]`. */
export interface SsrfPolicy {
  /** Categories that are allowed despite being non-public. */
  allow?: readonly AddressCategory[];
  /** Plain http (default true only when loopback is allowed; production wants https). */
  allowHttp?: boolean;
}

/** A target that passed the guard: connect to `address`, send `Host`/SNI of `url`. */
export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** Thrown when a webhook target is refused; never retried (the URL must change). */
export class SsrfRefusedError extends ValidationError {}

type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;
const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Checks a webhook URL: scheme, then every address the host resolves to (a name with one private
 * address among public ones is refused, since the connection could go to either). Returns one
 * checked address to pin the connection to, so a second DNS answer cannot differ (rebinding).
 */
export async function resolveTarget(
  rawUrl: string,
  policy: SsrfPolicy = {},
  lookup: Lookup = defaultLookup,
): Promise<ResolvedTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new SsrfRefusedError("webhook url is not a valid URL");
  }
  const allow = new Set(policy.allow ?? []);
  const allowHttp = policy.allowHttp ?? allow.has("loopback");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && allowHttp)) {
    throw new SsrfRefusedError("webhook url scheme not allowed", {
      context: { scheme: url.protocol },
    });
  }
  if (url.username || url.password)
    throw new SsrfRefusedError("webhook url must not carry credentials");
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const answers = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host);
  if (answers.length === 0) throw new SsrfRefusedError("webhook host has no address");
  for (const a of answers) {
    const cat = classifyAddress(a.address);
    if (cat && !allow.has(cat)) {
      throw new SsrfRefusedError("webhook target address not allowed", {
        context: { host: url.hostname, category: cat },
      });
    }
  }
  const first = answers[0] as { address: string; family: number };
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
