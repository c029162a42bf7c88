import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importList, parseToEntries } from "./importer.js";
import { WatchlistFormatError } from "./input.js";
import { parseOfacAdvanced } from "./parsers/ofac-advanced.js";
import { parseOfacCsv } from "./parsers/ofac-csv.js";
import { parseOpenSanctions } from "./parsers/opensanctions.js";
import { MemoryWatchlistStore } from "./store.js";
import type { ListFormat } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "watchlist-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const sdnCsv = resolve(
  import.meta.dirname,
  "../../../../shared/fixtures/sanctions/ofac-sdn-csv-2024-05-03/sdn.csv",
);

// A small SDN_ADVANCED.XML written to the documented structure. Feature type ids are deliberately
// unusual (the parser must look them up by text); one code (QQQ) is unknown to the project.
const ADVANCED_XML = `<?xml version="1.0" encoding="utf-8"?>
<Sanctions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">
  <DateOfIssue><Year>2024</Year><Month>9</Month><Day>27</Day></DateOfIssue>
  <ReferenceValueSets>
    <FeatureTypeValues>
      <FeatureType ID="8" FeatureTypeGroupID="1">Birthdate</FeatureType>
      <FeatureType ID="90344" FeatureTypeGroupID="1">Digital Currency Address - XBT</FeatureType>
      <FeatureType ID="90345" FeatureTypeGroupID="1">Digital Currency Address - ETH</FeatureType>
      <FeatureType ID="90346" FeatureTypeGroupID="1">Digital Currency Address - USDT</FeatureType>
      <FeatureType ID="90347" FeatureTypeGroupID="1">Digital Currency Address - QQQ</FeatureType>
    </FeatureTypeValues>
    <SanctionsTypeValues>
      <SanctionsType ID="1">Program</SanctionsType>
      <SanctionsType ID="2">Block</SanctionsType>
    </SanctionsTypeValues>
  </ReferenceValueSets>
  <DistinctParties>
    <DistinctParty FixedRef="25308">
      <Profile ID="25308" PartySubTypeID="4">
        <Identity ID="9000" FixedRef="25308" Primary="true" False="false">
          <Alias FixedRef="25308" AliasTypeID="1400" Primary="false" LowQuality="false">
            <DocumentedName ID="1" FixedRef="25308" DocNameStatusID="1">
              <DocumentedNamePart><NamePartValue NamePartGroupID="1" ScriptID="215">ZHOU, William</NamePartValue></DocumentedNamePart>
            </DocumentedName>
          </Alias>
          <Alias FixedRef="25308" AliasTypeID="1403" Primary="true" LowQuality="false">
            <DocumentedName ID="2" FixedRef="25308" DocNameStatusID="1">
              <DocumentedNamePart><NamePartValue NamePartGroupID="2" ScriptID="215">YAN</NamePartValue></DocumentedNamePart>
              <DocumentedNamePart><NamePartValue NamePartGroupID="3" ScriptID="215">Xiaobing</NamePartValue></DocumentedNamePart>
            </DocumentedName>
          </Alias>
        </Identity>
        <Feature ID="1" FeatureTypeID="8"><FeatureVersion ID="1" ReliabilityID="1"><DatePeriod CalendarTypeID="1"/></FeatureVersion></Feature>
        <Feature ID="2" FeatureTypeID="90344">
          <FeatureVersion ID="2" ReliabilityID="1"><Comment/><VersionDetail DetailTypeID="1432">12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h</VersionDetail></FeatureVersion>
          <IdentityReference IdentityID="9000" IdentityFeatureLinkTypeID="1"/>
        </Feature>
        <Feature ID="3" FeatureTypeID="90345">
          <FeatureVersion ID="3" ReliabilityID="1"><VersionDetail DetailTypeID="1432">0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1</VersionDetail></FeatureVersion>
        </Feature>
      </Profile>
    </DistinctParty>
    <DistinctParty FixedRef="40000">
      <Profile ID="40000" PartySubTypeID="3">
        <Identity ID="9001" FixedRef="40000" Primary="true" False="false">
          <Alias FixedRef="40000" AliasTypeID="1403" Primary="true" LowQuality="false">
            <DocumentedName ID="3" FixedRef="40000" DocNameStatusID="1">
              <DocumentedNamePart><NamePartValue NamePartGroupID="4" ScriptID="215">GARANTEX EUROPE OU</NamePartValue></DocumentedNamePart>
            </DocumentedName>
          </Alias>
        </Identity>
        <Feature ID="4" FeatureTypeID="90346">
          <FeatureVersion ID="4" ReliabilityID="1"><VersionDetail DetailTypeID="1432">TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF</VersionDetail></FeatureVersion>
        </Feature>
        <Feature ID="5" FeatureTypeID="90346">
          <FeatureVersion ID="5" ReliabilityID="1"><VersionDetail DetailTypeID="1432">0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff</VersionDetail></FeatureVersion>
        </Feature>
        <Feature ID="6" FeatureTypeID="90347">
          <FeatureVersion ID="6" ReliabilityID="1"><VersionDetail DetailTypeID="1432">0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535</VersionDetail></FeatureVersion>
        </Feature>
      </Profile>
    </DistinctParty>
  </DistinctParties>
  <SanctionsEntries>
    <SanctionsEntry ID="1" ProfileID="25308" ListID="1550">
      <EntryEvent ID="1" EntryEventTypeID="1" LegalBasisID="1">
        <Date CalendarTypeID="1"><Year>2020</Year><Month>3</Month><Day>2</Day></Date>
        <Comment/>
      </EntryEvent>
      <SanctionsMeasure ID="1" SanctionsTypeID="1"><Comment>SDNTK</Comment></SanctionsMeasure>
      <SanctionsMeasure ID="2" SanctionsTypeID="2"><Comment>Block</Comment></SanctionsMeasure>
    </SanctionsEntry>
    <SanctionsEntry ID="2" ProfileID="40000" ListID="1550">
      <EntryEvent ID="2" EntryEventTypeID="1" LegalBasisID="1">
        <Date CalendarTypeID="1"><Year>2022</Year><Month>4</Month><Day>5</Day></Date>
      </EntryEvent>
      <SanctionsMeasure ID="3" SanctionsTypeID="1"><Comment>CYBER2</Comment></SanctionsMeasure>
      <SanctionsMeasure ID="4" SanctionsTypeID="1"><Comment>RUSSIA-EO14024</Comment></SanctionsMeasure>
    </SanctionsEntry>
  </SanctionsEntries>
</Sanctions>
`;

describe("OFAC SDN_ADVANCED.XML", () => {
  const xml = file("sdn_advanced.xml", ADVANCED_XML);

  it("finds address features by label text, with party name, programmes and designation date", async () => {
    const { entries, report } = await parseOfacAdvanced(xml);
    expect(report.recordsRead).toBe(2);
    expect(
      entries.map((e) => [e.code, e.address, e.entityName, e.programmes, e.designatedAt]),
    ).toEqual([
      [
        "XBT",
        "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h",
        "YAN Xiaobing",
        ["SDNTK"],
        Date.UTC(2020, 2, 2),
      ],
      [
        "ETH",
        "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1",
        "YAN Xiaobing",
        ["SDNTK"],
        Date.UTC(2020, 2, 2),
      ],
      [
        "USDT",
        "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
        "GARANTEX EUROPE OU",
        ["CYBER2", "RUSSIA-EO14024"],
        Date.UTC(2022, 3, 5),
      ],
      [
        "USDT",
        "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff",
        "GARANTEX EUROPE OU",
        ["CYBER2", "RUSSIA-EO14024"],
        Date.UTC(2022, 3, 5),
      ],
      [
        "QQQ",
        "0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535",
        "GARANTEX EUROPE OU",
        ["CYBER2", "RUSSIA-EO14024"],
        Date.UTC(2022, 3, 5),
      ],
    ]);
  });

  it("canonicalises, resolves USDT by shape and keeps+reports the unknown code", async () => {
    const { entries, counts, report } = await parseToEntries("ofac-advanced", xml);
    expect([...entries.keys()].sort()).toEqual([
      "bitcoin:12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h",
      "evm:0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1",
      "evm:0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff",
      "evm:0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535",
      "tron:TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
    ]);
    expect(report.unknownCodes).toEqual({ QQQ: 1 });
    expect(counts.byCode).toEqual({ XBT: 1, ETH: 1, USDT: 2, QQQ: 1 });
  });
});

describe("OpenSanctions FtM JSON lines", () => {
  it("reads CryptoWallet public keys with holder names and programmes", async () => {
    const lines = [
      {
        id: "ofac-w1",
        schema: "CryptoWallet",
        caption: "wallet",
        first_seen: "2022-04-05T00:00:00",
        properties: {
          publicKey: ["0x19AA5FE80D33A56D56C78E82EA5E50E5D80B4DFF"],
          currency: ["USDT"],
          holder: ["ofac-garantex"],
        },
      },
      {
        id: "ofac-garantex",
        schema: "Company",
        caption: "Garantex Europe OU",
        properties: { name: ["Garantex Europe OU"] },
      },
      {
        id: "ofac-s1",
        schema: "Sanction",
        properties: { entity: ["ofac-garantex"], program: ["RUSSIA-EO14024"] },
      },
      {
        id: "ofac-w2",
        schema: "CryptoWallet",
        properties: {
          publicKey: ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"],
          currency: ["XBT"],
        },
      },
    ];
    const p = file("ftm.jsonl", `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
    const { entries } = await parseOpenSanctions(p);
    expect(entries[0]).toMatchObject({
      entityName: "Garantex Europe OU",
      programmes: ["RUSSIA-EO14024"],
      code: "USDT",
    });
    const n = await parseToEntries("opensanctions", p);
    expect([...n.entries.keys()]).toEqual([
      "evm:0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff",
      "bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ]);
  });
});

describe("custom lists", () => {
  it("CSV with chain or family, label, category, severity", async () => {
    const p = file(
      "custom.csv",
      "chain,address,label,category,severity,entity\n" +
        "polygon,0x8589427373D6D84E98730D7795D8f6f8731FDA16,Tornado Cash router,mixer,high,Tornado Cash\n" +
        "tron,TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF,hot wallet,exchange,low,\n",
    );
    const { entries } = await parseToEntries("csv", p);
    expect(entries.get("evm:0x8589427373d6d84e98730d7795d8f6f8731fda16")?.records[0]).toMatchObject(
      {
        category: "mixer",
        severity: "high",
        label: "Tornado Cash router",
        entityName: "Tornado Cash",
      },
    );
    expect(entries.get("tron:TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF")?.records[0]?.category).toBe(
      "exchange",
    );
  });

  it("JSON entries", async () => {
    const p = file(
      "custom.json",
      JSON.stringify({
        entries: [
          {
            family: "bitcoin",
            address: "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH",
            category: "darknet",
            severity: "severe",
          },
        ],
      }),
    );
    const { entries } = await parseToEntries("json", p);
    expect([...entries.keys()]).toEqual(["bitcoin:1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"]);
  });

  it("invalid addresses are reported, not indexed", async () => {
    const p = file(
      "bad-addr.csv",
      "family,address\nevm,0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB2\nevm,0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff\n",
    );
    const { entries, report } = await parseToEntries("csv", p);
    expect(entries.size).toBe(1);
    expect(report.invalid).toHaveLength(1);
    expect(report.invalid[0]?.reason).toMatch(/EIP-55/);
  });
});

describe("OFAC SDN.CSV with SDN_COMMENTS.CSV", () => {
  it("rebuilds a remark cut at 1,000 characters: the fragment becomes the full address", async () => {
    // Continuation of ent 30518's remarks (written here in the comments-file layout: ent_num,
    // remarks continuation). The completed address is the real one from the 2024-09-27 list.
    const comments = file(
      "sdn_comments.csv",
      '30518,"ChmWqGtsaLrGbHfgdrV5Nkvahtjjuxr; Secondary sanctions risk."\r\n',
    );
    const plain = await parseOfacCsv(sdnCsv);
    const rebuilt = await parseOfacCsv(sdnCsv, { commentsPath: comments });
    expect(plain.report.fragments.map((f) => f.entityId)).toContain("30518");
    expect(rebuilt.report.fragments.map((f) => f.entityId)).not.toContain("30518");
    expect(rebuilt.report.fragments).toHaveLength(plain.report.fragments.length - 1);
    expect(rebuilt.entries.map((e) => e.address)).toContain("1GqChmWqGtsaLrGbHfgdrV5Nkvahtjjuxr");
    expect(rebuilt.entries).toHaveLength(plain.entries.length + 1);
  });
});

describe("malformed inputs: one clear error each, active version untouched", () => {
  const good = file("good.csv", "family,address\nevm,0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff\n");
  const cases: Array<[string, ListFormat, string, RegExp]> = [
    [
      "truncated XML",
      "ofac-advanced",
      file("trunc.xml", ADVANCED_XML.slice(0, ADVANCED_XML.length / 2)),
      /malformed XML/,
    ],
    [
      "XML of another kind",
      "ofac-advanced",
      file("other.xml", "<rss><channel/></rss>"),
      /root element is <rss>/,
    ],
    ["wrong CSV columns (custom CSV as SDN.CSV)", "ofac-csv", good, /has 2 columns, expected 12/],
    ["SDN.CSV as custom CSV", "csv", sdnCsv, /header must name "address"/],
    [
      "binary garbage",
      "ofac-csv",
      file(
        "garbage.bin",
        Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256),
      ),
      /binary data/,
    ],
    [
      "binary garbage as XML",
      "ofac-advanced",
      file(
        "garbage2.bin",
        Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) % 256),
      ),
      /binary data/,
    ],
    ["empty file", "ofac-csv", file("empty.csv", ""), /empty file/],
    ["empty file as XML", "ofac-advanced", file("empty.xml", ""), /empty file/],
    ["missing file", "opensanctions", join(dir, "nope.jsonl"), /cannot read file \(ENOENT\)/],
    ["not JSON lines", "opensanctions", file("notjson.jsonl", "hello\n"), /line 1 is not JSON/],
    [
      "unknown category",
      "csv",
      file(
        "badcat.csv",
        "family,address,category\nevm,0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff,pirates\n",
      ),
      /unknown category "pirates"/,
    ],
  ];
  it.each(cases)("%s", async (_name, format, path, message) => {
    const store = new MemoryWatchlistStore();
    const first = await importList(store, { listId: "l", format: "csv", path: good, now: 1 });
    expect(first.status).toBe("activated");
    const err = await importList(store, { listId: "l", format, path, now: 2 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WatchlistFormatError);
    expect((err as Error).message).toMatch(message);
    const state = await store.getState("l");
    expect(state?.activeVersion).toBe(1);
    expect(state?.lastVersion).toBe(1);
  });

  it("the trailing 0x1A of SDN.CSV is not an error", () => {
    const bytes = readFileSync(sdnCsv);
    expect(bytes[bytes.length - 1]).toBe(0x1a);
    return expect(parseOfacCsv(sdnCsv)).resolves.toBeTruthy();
  });
});
