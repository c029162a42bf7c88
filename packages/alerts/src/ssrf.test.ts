import { describe, expect, it } from "vitest";
import { classifyAddress, embeddedIpv4, resolveTarget, SsrfRefusedError } from "./ssrf.js";

describe("SSRF classification", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["169.254.1.1", "linkLocal"],
    ["fe80::1", "linkLocal"],
    ["fc00::1", "uniqueLocal"],
    ["fd12:3456::1", "uniqueLocal"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["0.0.0.0", "reserved"],
    ["::", "reserved"],
    ["100.64.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["2001:db8::1", "reserved"],
    // IPv4 carried in IPv6 forms is judged as the IPv4 address it reaches.
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["::10.0.0.1", "private"],
    ["64:ff9b::a00:1", "private"],
    ["2002:c0a8:0101::1", "private"],
  ])("%s is %s", (ip, cat) => {
    expect(classifyAddress(ip)).toBe(cat);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
  ])("%s is public", (ip) => {
    expect(classifyAddress(ip)).toBeNull();
  });

  it("extracts embedded IPv4 only from the forms that carry one", () => {
    expect(embeddedIpv4("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(embeddedIpv4("2606:4700::1")).toBeNull();
    expect(embeddedIpv4("::1")).toBeNull();
  });
});

describe("resolveTarget", () => {
  const lookup = (answers: Record<string, string[]>) => async (host: string) =>
    (answers[host] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));

  it("refuses names resolving to private, loopback or metadata addresses", async () => {
    const l = lookup({
      "internal.example": ["10.0.0.5"],
      "mixed.example": ["93.184.216.34", "127.0.0.1"],
      "meta.example": ["::ffff:169.254.169.254"],
      "ok.example": ["93.184.216.34"],
    });
    await expect(resolveTarget("https://internal.example/h", {}, l)).rejects.toBeInstanceOf(
      SsrfRefusedError,
    );
    await expect(resolveTarget("https://mixed.example/h", {}, l)).rejects.toBeInstanceOf(
      SsrfRefusedError,
    );
    await expect(resolveTarget("https://meta.example/h", {}, l)).rejects.toBeInstanceOf(
      SsrfRefusedError,
    );
    await expect(resolveTarget("https://nowhere.example/h", {}, l)).rejects.toBeInstanceOf(
      SsrfRefusedError,
    );
    const t = await resolveTarget("https://ok.example/h", {}, l);
    expect(t.address).toBe("93.184.216.34");
    expect(t.url.hostname).toBe("ok.example");
  });

  it("refuses IP literals in blocked ranges, including bracketed IPv6", async () => {
    for (const u of [
      "https://127.0.0.1/",
      "https://[::1]/",
      "https://[::ffff:10.0.0.1]/",
      "https://169.254.169.254/latest",
    ]) {
      await expect(resolveTarget(u)).rejects.toBeInstanceOf(SsrfRefusedError);
    }
  });

  it("allows configured categories only; plain http only with loopback allowed or explicitly", async () => {
    await expect(
      resolveTarget("http://127.0.0.1:8080/h", { allow: ["loopback"] }),
    ).resolves.toMatchObject({
      address: "127.0.0.1",
    });
    await expect(resolveTarget("http://10.0.0.1/h", { allow: ["loopback"] })).rejects.toThrow(
      /not allowed/,
    );
    await expect(resolveTarget("http://93.184.216.34/h")).rejects.toThrow(/scheme/);
    await expect(
      resolveTarget("http://93.184.216.34/h", { allowHttp: true }),
    ).resolves.toBeDefined();
    await expect(resolveTarget("ftp://93.184.216.34/h")).rejects.toThrow(/scheme/);
    await expect(resolveTarget("https://u:p@93.184.216.34/h")).rejects.toThrow(/credentials/);
    await expect(resolveTarget("not a url")).rejects.toBeInstanceOf(SsrfRefusedError);
  });

  it("resolves the real name localhost to loopback and refuses it by default", async () => {
    await expect(resolveTarget("https://localhost/")).rejects.toBeInstanceOf(SsrfRefusedError);
  });
});
