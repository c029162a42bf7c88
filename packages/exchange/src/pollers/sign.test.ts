import { describe, expect, it } from "vitest";
import { binanceSign } from "./binance.js";
import { kucoinPassphrase, kucoinSign } from "./kucoin.js";
import { okxSign } from "./okx.js";

describe("exchange request signatures", () => {
  it("Binance: hex HMAC-SHA256 of the query string (the example from Binance's API docs)", () => {
    const secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const query =
      "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    expect(binanceSign(query, secret)).toBe(
      "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
    );
  });

  it("OKX and KuCoin: base64 HMAC-SHA256 over timestamp+method+path+body", () => {
    const okx = okxSign(
      "2020-12-08T09:08:57.715Z",
      "GET",
      "/api/v5/asset/deposit-history?limit=100",
      "",
      "s3cret",
    );
    expect(Buffer.from(okx, "base64")).toHaveLength(32);
    expect(okx).not.toBe(
      okxSign(
        "2020-12-08T09:08:57.716Z",
        "GET",
        "/api/v5/asset/deposit-history?limit=100",
        "",
        "s3cret",
      ),
    );
    const kc = kucoinSign("1547015186532", "GET", "/api/v1/deposits?currentPage=1", "", "s3cret");
    expect(Buffer.from(kc, "base64")).toHaveLength(32);
    expect(kucoinPassphrase("pass", "s3cret")).not.toBe("pass");
  });
});
