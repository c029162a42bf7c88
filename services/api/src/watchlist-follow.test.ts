import { walletEntry, walletKey } from "@chainscreen/exchange";
import { watchlistKey } from "@chainscreen/schema";
import { Matcher } from "@chainscreen/watchlist";
import { describe, expect, it } from "vitest";
import { MatcherLookup } from "./screening.js";
import { applyFollowedWatchlist } from "./watchlist-follow.js";

const DEPOSIT = "0xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
const LISTED = "0x8589427373d6d84e98730d7795d8f6f8731fda16";

describe("the API's watchlist follower", () => {
  it("keeps exchange-wallet service tags out of screening and hands them to the wallet publisher", () => {
    const matcher = Matcher.fromLists([]);
    const lookup = new MatcherLookup(() => matcher);
    const tags: (string | null)[] = [];
    const onTag = (key: string | null) => tags.push(key);
    const wallet = { family: "evm", address: DEPOSIT, exchange: "acme", tenantId: "acme" };
    applyFollowedWatchlist(matcher, walletKey(wallet), walletEntry(wallet, 1), 1, onTag);
    applyFollowedWatchlist(matcher, walletKey(wallet), null, 2, onTag);
    const listing = {
      ...walletEntry({ ...wallet, address: LISTED }, 1),
      listId: "ofac-sdn",
      category: "sanctioned" as const,
    };
    applyFollowedWatchlist(matcher, watchlistKey("ofac-sdn", "evm", LISTED), listing, 1, onTag);

    expect(tags).toEqual([walletKey(wallet), walletKey(wallet)]);
    expect(lookup.lookup("evm", DEPOSIT, 10)).toEqual([]);
    expect(lookup.lookup("evm", LISTED, 10).map((m) => m.list)).toEqual(["ofac-sdn"]);
  });
});
