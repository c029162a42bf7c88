import {
  type Contract,
  ContractFactory,
  JsonRpcProvider,
  parseEther,
  parseUnits,
  toBeHex,
} from "ethers";
import type { DemoCast } from "./addresses.js";

/** Compiled artifact of an ERC-20 (abi + bytecode). */
export interface TokenArtifact {
  abi: unknown[];
  bytecode: string;
}

/** Options for {@link TrafficGenerator}. */
export interface TrafficOptions {
  rpcUrl: string;
  cast: DemoCast;
  token: TokenArtifact;
  /** Transfers per round (default 20). */
  perRound?: number;
  /** Pause between rounds in ms (default 1000). */
  intervalMs?: number;
  log?: (m: string) => void;
}

/**
 * Sends demo traffic to a local anvil node: ordinary ETH and USDT-like token transfers between
 * users, payments out of listed addresses (anvil impersonates them), multi-hop chains that carry
 * those funds on (listed → A → B → C) and deposits into exchange wallets, which stop propagation.
 */
export class TrafficGenerator {
  private readonly provider: JsonRpcProvider;
  private token: Contract | null = null;
  private running = false;
  private round = 0;
  /** Transactions sent so far. */
  sent = 0;

  constructor(private readonly opts: TrafficOptions) {
    this.provider = new JsonRpcProvider(opts.rpcUrl, undefined, {
      staticNetwork: true,
      batchMaxCount: 1,
    });
  }

  private async rpc(method: string, params: unknown[]): Promise<unknown> {
    return this.provider.send(method, params);
  }

  /** Deploys the token, funds and impersonates every demo address. */
  async setup(): Promise<string> {
    const deployer = await this.provider.getSigner(0);
    const factory = new ContractFactory(
      this.opts.token.abi as never,
      this.opts.token.bytecode,
      deployer,
    );
    const token = (await factory.deploy(
      "Demo Tether USD",
      "USDT",
      6,
      parseUnits("1000000000", 6),
    )) as Contract;
    await token.waitForDeployment();
    this.token = token;
    const all = [
      ...this.opts.cast.listed.map((l) => l.address),
      ...this.opts.cast.services.map((s) => s.address),
      ...this.opts.cast.users,
    ];
    for (const a of all) {
      await this.rpc("anvil_setBalance", [a, toBeHex(parseEther("1000"))]);
      await this.rpc("anvil_impersonateAccount", [a]);
    }
    // Seed token balances: listed addresses and users hold USDT. Wait for the last one so the
    // first round does not spend balances that are still pending (anvil may mine on an interval).
    let last: { wait(): Promise<unknown> } | null = null;
    for (const a of all) {
      last = await (token.connect(deployer) as Contract).getFunction("transfer")(
        a,
        parseUnits("100000", 6),
      );
    }
    await last?.wait();
    return (await token.getAddress()).toLowerCase();
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(Math.random() * xs.length)] as T;
  }

  // Explicit gas limits skip estimation, which would run against the last mined block and
  // fail for funds that arrive in a transaction still pending.
  private async sendEth(
    from: string,
    to: string,
    eth: string,
  ): Promise<{ wait(): Promise<unknown> }> {
    const signer = await this.provider.getSigner(from);
    const tx = await signer.sendTransaction({ to, value: parseEther(eth), gasLimit: 21_000n });
    this.sent++;
    return tx;
  }

  private async sendToken(
    from: string,
    to: string,
    units: string,
  ): Promise<{ wait(): Promise<unknown> }> {
    if (!this.token) throw new Error("setup() first");
    const signer = await this.provider.getSigner(from);
    const tx = await (this.token.connect(signer) as Contract).getFunction("transfer")(
      to,
      parseUnits(units, 6),
      {
        gasLimit: 100_000n,
      },
    );
    this.sent++;
    return tx as { wait(): Promise<unknown> };
  }

  /** One round: clean noise, a payment out of a listed address, and a hop chain carrying it on. */
  async tick(): Promise<void> {
    const { cast } = this.opts;
    const n = this.opts.perRound ?? 20;
    for (let i = 0; i < n; i++) {
      const a = this.pick(cast.users);
      const b = this.pick(cast.users);
      if (a === b) continue;
      if (i % 2) await this.sendEth(a, b, (Math.random() * 2).toFixed(4));
      else await this.sendToken(a, b, (Math.random() * 5000).toFixed(2));
    }
    // Listed source pays a user, who passes funds on twice (hops 1 and 2), then a third time (hop 3).
    const src = cast.listed[this.round % cast.listed.length];
    const hop = [
      this.pick(cast.users),
      this.pick(cast.users),
      this.pick(cast.users),
      this.pick(cast.users),
    ];
    if (src) {
      // Each hop waits for the previous one to be mined, so funds really move along the chain.
      await (await this.sendToken(src.address, hop[0] as string, "25000")).wait();
      await (await this.sendToken(hop[0] as string, hop[1] as string, "20000")).wait();
      await this.sendToken(hop[1] as string, hop[2] as string, "15000");
      await this.sendEth(src.address, hop[3] as string, "3.5");
    }
    // A user deposits into an exchange wallet (service: exposure does not propagate past it).
    const svc = this.pick(cast.services);
    await this.sendToken(this.pick(cast.users), svc.address, "1200");
    this.round++;
  }

  /** Runs rounds until {@link stop}. */
  async run(): Promise<void> {
    this.running = true;
    while (this.running) {
      try {
        await this.tick();
      } catch (err) {
        this.opts.log?.(`traffic round failed: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, this.opts.intervalMs ?? 1000));
    }
  }

  stop(): void {
    this.running = false;
  }
}
