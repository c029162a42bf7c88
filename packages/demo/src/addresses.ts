import { keccak256, toUtf8Bytes } from "ethers";

/** A deterministic demo address derived from a label (no key exists for it: anvil impersonates). */
export function demoAddress(label: string): string {
  return `0x${keccak256(toUtf8Bytes(`chainscreen-demo:${label}`)).slice(-40)}`;
}

/** The demo cast: listed sources, service (exchange) wallets, and ordinary users. */
export interface DemoCast {
  listed: { address: string; entity: string; programme: string }[];
  services: { address: string; label: string }[];
  users: string[];
}

/** Builds the demo cast: 5 listed addresses, 2 exchange wallets, `users` ordinary addresses. */
export function demoCast(users = 60): DemoCast {
  const entities = [
    ["Demo Darknet Market", "DEMO-CYBER"],
    ["Demo Exchange Garant", "DEMO-RUSSIA"],
    ["Demo Lazarus Cluster", "DEMO-DPRK"],
    ["Demo Mixer", "DEMO-CYBER"],
    ["Demo Ransomware Crew", "DEMO-CYBER"],
  ] as const;
  return {
    listed: entities.map(([entity, programme], i) => ({
      address: demoAddress(`listed-${i}`),
      entity,
      programme,
    })),
    services: [
      { address: demoAddress("exchange-hot-1"), label: "Demo Regulated Exchange hot wallet" },
      { address: demoAddress("exchange-hot-2"), label: "Demo Licensed VASP deposit wallet" },
    ],
    users: Array.from({ length: users }, (_, i) => demoAddress(`user-${i}`)),
  };
}

/** The demo watchlist as a custom CSV list (see packages/watchlist custom format). */
export function demoWatchlistCsv(cast: DemoCast): string {
  const lines = ["address,chain,label,category,severity,entity,programmes"];
  for (const l of cast.listed)
    lines.push(`${l.address},ethereum,${l.entity},sanctioned,severe,${l.entity},${l.programme}`);
  for (const s of cast.services)
    lines.push(`${s.address},ethereum,${s.label},exchange,low,${s.label},`);
  return `${lines.join("\n")}\n`;
}
