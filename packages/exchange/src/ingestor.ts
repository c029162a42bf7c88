import type { Producer } from "@chainscreen/kafka";
import type { TransferV1 } from "@chainscreen/schema";
import { type FieldError, reportToTransfer } from "./report.js";
import type { ExchangeWalletTags } from "./wallets.js";

/** Per-item outcome of a batch submission. */
export interface SubmitResult {
  accepted: { index: number; id: string; reference: string }[];
  rejected: { index: number; reference: string | null; errors: FieldError[] }[];
}

/**
 * Validates reported transfers and publishes the valid ones as `transfer.v1`, keyed by id.
 * All-or-nothing per call when `atomic` is set (a batch with any invalid item publishes
 * nothing and says which items failed); otherwise valid items are published and the invalid
 * ones listed. With `wallets`, the exchange wallets the reports name are published as service
 * tags first (each once), so the tagger stops exposure at them.
 */
export class ReportIngestor {
  constructor(
    private readonly producer: Pick<Producer, "send">,
    private readonly topic: string,
    private readonly source: string,
    private readonly wallets: Pick<ExchangeWalletTags, "tag"> | null = null,
  ) {}

  /** Validates `reports` for `tenantId` and publishes them; see the class doc for `atomic`. */
  async submit(
    reports: unknown[],
    tenantId: string | undefined,
    opts: { atomic?: boolean } = {},
  ): Promise<SubmitResult> {
    const out: SubmitResult = { accepted: [], rejected: [] };
    const transfers: TransferV1[] = [];
    reports.forEach((report, index) => {
      const r = reportToTransfer(report, { tenantId, source: this.source });
      const reference =
        typeof report === "object" &&
        report !== null &&
        typeof (report as { reference?: unknown }).reference === "string"
          ? (report as { reference: string }).reference
          : null;
      if (r.ok) {
        transfers.push(r.transfer);
        out.accepted.push({
          index,
          id: r.transfer.id,
          reference: r.transfer.exchange?.reference ?? "",
        });
      } else {
        out.rejected.push({ index, reference, errors: r.errors });
      }
    });
    if (opts.atomic && out.rejected.length > 0) return { accepted: [], rejected: out.rejected };
    if (transfers.length > 0) {
      // Tags before transfers: a tagger that follows both topics then usually knows the wallet
      // is a service before it screens the on-chain flows into it.
      await this.wallets?.tag(transfers);
      await this.producer.send(
        this.topic,
        transfers.map((t) => ({ key: t.id, value: t })),
      );
    }
    return out;
  }
}
