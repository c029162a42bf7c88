import { SaxesParser, type SaxesTagPlain } from "saxes";
import { checkTextFile, textStream, WatchlistFormatError } from "../input.js";
import { emptyReport, type ParseResult, type RawEntry } from "../types.js";

// OFAC SDN_ADVANCED.XML (the "advanced" standard), the parts used here:
//   Sanctions/ReferenceValueSets/FeatureTypeValues/FeatureType[@ID] text
//     "Digital Currency Address - <CODE>"  ← looked up by TEXT, ids differ between files
//   Sanctions/ReferenceValueSets/SanctionsTypeValues/SanctionsType[@ID] text "Program"
//   Sanctions/DistinctParties/DistinctParty[@FixedRef]/Profile[@ID]
//     /Identity/Alias[@Primary]/DocumentedName/DocumentedNamePart/NamePartValue  ← party name
//     /Feature[@FeatureTypeID]/FeatureVersion/VersionDetail text                ← the address
//   Sanctions/SanctionsEntries/SanctionsEntry[@ProfileID]
//     /EntryEvent/Date/{Year,Month,Day}                                         ← designation
//     /SanctionsMeasure[@SanctionsTypeID]/Comment text                         ← programme
// Element names are matched without namespace prefix so a namespace change does not break it.
const FORMAT = "ofac-advanced";
const FEATURE_PREFIX = "Digital Currency Address - ";

interface Party {
  fixedRef: string;
  profileId: string;
  name: string | null;
  features: Array<{ featureTypeId: string; value: string }>;
}

interface Designation {
  programmes: Set<string>;
  designatedAt: number | null;
}

const local = (name: string) => {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
};

/**
 * Streams SDN_ADVANCED.XML and returns every digital currency address with the party's name,
 * programmes and designation date. FeatureTypes are found by their text, never by id; codes
 * without a known family are still returned (the normaliser reports them).
 */
export async function parseOfacAdvanced(path: string): Promise<ParseResult> {
  await checkTextFile(path, FORMAT);
  const report = emptyReport();
  const featureTypes = new Map<string, string>(); // FeatureType id → text
  const sanctionsTypes = new Map<string, string>(); // SanctionsType id → text
  const parties: Party[] = [];
  const designations = new Map<string, Designation>(); // profile id → designation
  let rootSeen: string | null = null;

  const stack: string[] = [];
  let text = "";
  let refId: string | null = null;
  let party: Party | null = null;
  let aliasPrimary = false;
  let aliasParts: string[] = [];
  let featureTypeId: string | null = null;
  let entry: { profileId: string; measureTypeId: string | null; date: number[] } | null = null;

  const parser = new SaxesParser({ xmlns: false, position: true });
  parser.on("opentag", (tag: SaxesTagPlain) => {
    const n = local(tag.name);
    const attr = (k: string) => {
      const v = tag.attributes[k];
      return typeof v === "string" ? v : null;
    };
    if (rootSeen === null) {
      rootSeen = n;
      if (n !== "Sanctions") throw new Error(`root element is <${n}>, expected <Sanctions>`);
    }
    const parent = stack[stack.length - 1];
    stack.push(n);
    text = "";
    switch (n) {
      case "FeatureType":
      case "SanctionsType":
        refId = parent === `${n}Values` ? attr("ID") : null;
        break;
      case "DistinctParty":
        party = { fixedRef: attr("FixedRef") ?? "", profileId: "", name: null, features: [] };
        break;
      case "Profile":
        if (party) party.profileId = attr("ID") ?? party.fixedRef;
        break;
      case "Alias":
        aliasPrimary = attr("Primary") === "true";
        aliasParts = [];
        break;
      case "Feature":
        featureTypeId = attr("FeatureTypeID");
        break;
      case "SanctionsEntry":
        entry = { profileId: attr("ProfileID") ?? "", measureTypeId: null, date: [] };
        break;
      case "SanctionsMeasure":
        if (entry) entry.measureTypeId = attr("SanctionsTypeID");
        break;
    }
  });
  parser.on("text", (t: string) => {
    text += t;
  });
  parser.on("cdata", (t: string) => {
    text += t;
  });
  parser.on("closetag", (tag: SaxesTagPlain) => {
    const n = local(tag.name);
    stack.pop();
    const value = text.trim();
    switch (n) {
      case "FeatureType":
        if (refId) featureTypes.set(refId, value);
        refId = null;
        break;
      case "SanctionsType":
        if (refId) sanctionsTypes.set(refId, value);
        refId = null;
        break;
      case "NamePartValue":
        if (party && value) aliasParts.push(value);
        break;
      case "Alias":
        if (party && aliasParts.length && (aliasPrimary || party.name === null)) {
          party.name = aliasParts.join(" ");
        }
        break;
      case "VersionDetail":
        if (party && featureTypeId && value) party.features.push({ featureTypeId, value });
        break;
      case "Feature":
        featureTypeId = null;
        break;
      case "DistinctParty":
        if (party) {
          report.recordsRead++;
          parties.push(party);
        }
        party = null;
        break;
      case "Year":
      case "Month":
      case "Day":
        if (entry && stack.includes("EntryEvent")) entry.date.push(Number(value));
        break;
      case "Date":
        if (entry && stack.includes("EntryEvent") && entry.date.length === 3) {
          const [y, m, d] = entry.date as [number, number, number];
          const ms = Date.UTC(y, m - 1, d);
          const des = designationOf(designations, entry.profileId);
          if (Number.isFinite(ms) && (des.designatedAt === null || ms < des.designatedAt)) {
            des.designatedAt = ms;
          }
        }
        if (entry) entry.date = [];
        break;
      case "Comment":
        if (entry && stack[stack.length - 1] === "SanctionsMeasure" && value) {
          const typeText = entry.measureTypeId
            ? sanctionsTypes.get(entry.measureTypeId)
            : undefined;
          if (typeText === "Program")
            designationOf(designations, entry.profileId).programmes.add(value);
        }
        break;
      case "SanctionsEntry":
        entry = null;
        break;
    }
    text = "";
  });

  try {
    for await (const chunk of textStream(path, "utf8")) parser.write(chunk as string);
    parser.close();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new WatchlistFormatError(FORMAT, path, `malformed XML: ${reason}`);
  }
  if (rootSeen === null) throw new WatchlistFormatError(FORMAT, path, "no XML element found");
  if (featureTypes.size === 0) {
    throw new WatchlistFormatError(FORMAT, path, "no FeatureTypeValues reference section");
  }

  // FeatureType id → currency code, by label text.
  const addressTypes = new Map<string, string>();
  for (const [id, label] of featureTypes) {
    if (label.startsWith(FEATURE_PREFIX))
      addressTypes.set(id, label.slice(FEATURE_PREFIX.length).trim());
  }
  if (addressTypes.size === 0) {
    throw new WatchlistFormatError(
      FORMAT,
      path,
      `no FeatureType labelled "${FEATURE_PREFIX}<CODE>"`,
    );
  }

  const entries: RawEntry[] = [];
  for (const p of parties) {
    let has = false;
    const des = designations.get(p.profileId) ?? designations.get(p.fixedRef);
    for (const f of p.features) {
      const code = addressTypes.get(f.featureTypeId);
      if (code === undefined) continue;
      has = true;
      entries.push({
        code: code.toUpperCase(),
        familyOrChain: null,
        address: f.value,
        entityName: p.name,
        entityId: p.fixedRef || p.profileId,
        programmes: des ? [...des.programmes].sort() : [],
        category: "sanctioned",
        severity: "severe",
        label: null,
        designatedAt: des?.designatedAt ?? null,
        where: `party ${p.fixedRef || p.profileId}`,
      });
    }
    if (has) report.addressRecords++;
  }
  return { entries, report };
}

function designationOf(map: Map<string, Designation>, profileId: string): Designation {
  let d = map.get(profileId);
  if (!d) {
    d = { programmes: new Set(), designatedAt: null };
    map.set(profileId, d);
  }
  return d;
}
