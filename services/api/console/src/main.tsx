import cytoscape from "cytoscape";
import { type FormEvent, StrictMode, useCallback, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import {
  type AddressView,
  ApiError,
  api,
  download,
  type Flow,
  getKey,
  type Me,
  setKey,
  short,
  usd,
} from "./api.js";
import { StackedBars, Timeline } from "./charts.js";
import "./styles.css";

/** Hash routes: #/flows, #/address/<chain>/<address>, #/dashboard. */
function useRoute(): [string[], (r: string) => void] {
  const parse = () =>
    (window.location.hash.replace(/^#\/?/, "") || "flows").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return [route, (r) => (window.location.hash = `#/${r}`)];
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setK] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const me = await api<Me>("/v1/me", {}, key.trim());
      setKey(key.trim());
      onSignedIn(me);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <main className="signin">
      <h1>Chainscreen</h1>
      <form onSubmit={submit} aria-describedby={error ? "signin-error" : undefined}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setK(e.target.value)}
          required
        />
        <button type="submit">Sign in</button>
        {error && (
          <p id="signin-error" role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const FILTERS = [
  { name: "from", label: "From", type: "datetime-local" },
  { name: "to", label: "To", type: "datetime-local" },
  { name: "chain", label: "Chain", type: "text", placeholder: "ethereum,tron" },
  { name: "asset", label: "Asset", type: "text", placeholder: "USDT" },
  { name: "address", label: "Address", type: "text" },
  { name: "entity", label: "Entity", type: "text" },
  { name: "list", label: "List", type: "text", placeholder: "ofac-sdn" },
  { name: "programme", label: "Programme", type: "text", placeholder: "CYBER2" },
  { name: "exchange", label: "Exchange", type: "text" },
  { name: "minAmount", label: "Min amount (base units)", type: "text" },
  { name: "maxAmount", label: "Max amount (base units)", type: "text" },
  { name: "maxHops", label: "Max hops", type: "number" },
] as const;

const SORTS: { field: string; label: string }[] = [
  { field: "timestamp", label: "Time" },
  { field: "amount", label: "Amount" },
  { field: "valueUsd", label: "USD" },
  { field: "severity", label: "Severity" },
  { field: "hops", label: "Hops" },
];

function toQuery(f: Record<string, string>): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) {
    if (!v) continue;
    q.set(
      k,
      (k === "from" || k === "to") && !v.endsWith("Z") ? new Date(`${v}Z`).toISOString() : v,
    );
  }
  return q;
}

function FlowsPage() {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [sort, setSort] = useState({ field: "timestamp", order: "desc" });
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<{ items: Flow[]; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    const q = toQuery(filters);
    q.set("sort", sort.field);
    q.set("order", sort.order);
    q.set("limit", "50");
    if (cursor) q.set("cursor", cursor);
    setError(null);
    api<{ items: Flow[]; next: string | null }>(`/v1/flows?${q}`)
      .then(setPage)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [filters, sort, cursor]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setCursors([null]);
    setFilters({ ...draft });
  };
  const sortBy = (field: string) => {
    setCursors([null]);
    setSort((s) => ({ field, order: s.field === field && s.order === "desc" ? "asc" : "desc" }));
  };
  const exportCsv = async () => {
    const q = toQuery(filters);
    q.set("format", "csv");
    q.set("sort", sort.field);
    q.set("order", sort.order);
    setExporting("Exporting…");
    try {
      const bytes = await download(`/v1/flows?${q}`, "flows.csv");
      setExporting(`Exported ${bytes.toLocaleString()} bytes`);
    } catch (e) {
      setExporting(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section aria-labelledby="flows-title">
      <h2 id="flows-title">Flagged flows</h2>
      <form className="filters" onSubmit={apply} aria-label="Filters">
        {FILTERS.map((f) => (
          <div key={f.name} className="field">
            <label htmlFor={`f-${f.name}`}>{f.label}</label>
            <input
              id={`f-${f.name}`}
              name={f.name}
              type={f.type}
              placeholder={"placeholder" in f ? f.placeholder : undefined}
              value={draft[f.name] ?? ""}
              onChange={(e) => setDraft({ ...draft, [f.name]: e.target.value })}
            />
          </div>
        ))}
        <div className="field">
          <label htmlFor="f-exposure">Exposure</label>
          <select
            id="f-exposure"
            value={draft.exposure ?? ""}
            onChange={(e) => setDraft({ ...draft, exposure: e.target.value })}
          >
            <option value="">any</option>
            <option value="direct">direct</option>
            <option value="indirect">indirect</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-minSeverity">Min severity</label>
          <select
            id="f-minSeverity"
            value={draft.minSeverity ?? ""}
            onChange={(e) => setDraft({ ...draft, minSeverity: e.target.value })}
          >
            <option value="">any</option>
            <option value="low">low</option>
            <option value="medium">medium</option>
            <option value="high">high</option>
            <option value="severe">severe</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-retro">Retro</label>
          <select
            id="f-retro"
            value={draft.retro ?? ""}
            onChange={(e) => setDraft({ ...draft, retro: e.target.value })}
          >
            <option value="">any</option>
            <option value="true">retro only</option>
            <option value="false">live only</option>
          </select>
        </div>
        <div className="actions">
          <button type="submit">Apply filters</button>
          <button type="button" onClick={exportCsv}>
            Export CSV
          </button>
          <span role="status" aria-live="polite" data-testid="export-status">
            {exporting}
          </span>
        </div>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table className="flows" aria-describedby="flows-title" data-testid="flows-table">
        <thead>
          <tr>
            {SORTS.slice(0, 1).map((s) => (
              <SortHeader key={s.field} s={s} sort={sort} onSort={sortBy} />
            ))}
            <th scope="col">Chain</th>
            <th scope="col">From → To</th>
            <th scope="col">Asset</th>
            {SORTS.slice(1, 3).map((s) => (
              <SortHeader key={s.field} s={s} sort={sort} onSort={sortBy} />
            ))}
            <th scope="col">Exposure</th>
            {SORTS.slice(3).map((s) => (
              <SortHeader key={s.field} s={s} sort={sort} onSort={sortBy} />
            ))}
            <th scope="col">Entities / programmes</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((f) => (
            <tr key={f.id} data-flow-id={f.id}>
              <td>{f.timestamp.replace("T", " ").slice(0, 16)}</td>
              <td>{f.chain}</td>
              <td>
                <a href={`#/address/${f.chain}/${f.from}`}>{short(f.from)}</a> →{" "}
                <a href={`#/address/${f.chain}/${f.to}`}>{short(f.to)}</a>
              </td>
              <td>{f.asset}</td>
              <td className="num">{f.amount}</td>
              <td className="num">{usd(f.valueUsd)}</td>
              <td>
                {f.exposure}
                {f.retro ? " (retro)" : ""}
              </td>
              <td>
                <span className={`sev sev-${f.severity}`}>{f.severity}</span>
              </td>
              <td className="num">{f.hops}</td>
              <td>
                {f.entities.join(", ")} <small>{f.programmes.join(", ")}</small>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 && <p>No flows match these filters.</p>}
      <nav className="pager" aria-label="Pagination">
        <button
          type="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Previous page
        </button>
        <span aria-live="polite">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page?.next}
          onClick={() => page?.next && setCursors((c) => [...c, page.next])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

function SortHeader({
  s,
  sort,
  onSort,
}: {
  s: { field: string; label: string };
  sort: { field: string; order: string };
  onSort: (f: string) => void;
}) {
  const active = sort.field === s.field;
  return (
    <th
      scope="col"
      aria-sort={active ? (sort.order === "asc" ? "ascending" : "descending") : "none"}
    >
      <button type="button" className="sort" onClick={() => onSort(s.field)}>
        {s.label} {active ? (sort.order === "asc" ? "▲" : "▼") : ""}
      </button>
    </th>
  );
}

function Graph({ graph, onOpen }: { graph: AddressView["graph"]; onOpen: (id: string) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const cy = cytoscape({
      container: ref.current,
      elements: [
        ...graph.nodes.map((n) => ({
          data: {
            id: n.id,
            label: `${short(n.id, 4)}${n.entity ? `\n${n.entity}` : ""}${n.hops !== null && n.hops > 0 ? `\nhop ${n.hops}` : ""}`,
          },
          classes: [n.listed ? "listed" : "", n.focus ? "focus" : ""].join(" "),
        })),
        ...graph.edges.map((e, i) => ({
          data: { id: `e${i}`, source: e.source, target: e.target, label: String(e.flows) },
          classes: e.flagged ? "flagged" : "",
        })),
      ],
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "font-size": 9,
            "text-wrap": "wrap",
            "background-color": "#94a3b8",
            width: 18,
            height: 18,
          },
        },
        {
          selector: "node.listed",
          style: { "background-color": "#dc2626", width: 26, height: 26 },
        },
        { selector: "node.focus", style: { "border-width": 3, "border-color": "#2563eb" } },
        {
          selector: "edge",
          style: {
            width: 1.5,
            "curve-style": "bezier",
            "target-arrow-shape": "triangle",
            "line-color": "#cbd5e1",
            "target-arrow-color": "#cbd5e1",
            label: "data(label)",
            "font-size": 8,
          },
        },
        {
          selector: "edge.flagged",
          style: { "line-color": "#f97316", "target-arrow-color": "#f97316", width: 2.5 },
        },
      ],
      layout: { name: "cose", animate: false },
    });
    cy.on("tap", "node", (e) => onOpen(e.target.id()));
    return () => cy.destroy();
  }, [graph, onOpen]);
  return (
    <figure className="graph">
      <figcaption>
        Flows around the address (red: listed; orange edges: flagged; hops toward listed sources)
      </figcaption>
      <div
        ref={ref}
        className="cy"
        data-testid="address-graph"
        role="img"
        aria-label={`Graph of ${graph.nodes.length} addresses and ${graph.edges.length} flows`}
      />
    </figure>
  );
}

function AddressPage({
  chain,
  address,
  go,
}: {
  chain?: string;
  address?: string;
  go: (r: string) => void;
}) {
  const [form, setForm] = useState({ chain: chain ?? "ethereum", address: address ?? "" });
  const [view, setView] = useState<AddressView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setForm({ chain: chain ?? "ethereum", address: address ?? "" });
    if (!chain || !address) return;
    setView(null);
    setError(null);
    api<AddressView>(`/v1/addresses/${encodeURIComponent(chain)}/${encodeURIComponent(address)}`)
      .then(setView)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [chain, address]);
  const open = useCallback((id: string) => go(`address/${chain ?? "ethereum"}/${id}`), [chain, go]);
  return (
    <section aria-labelledby="address-title">
      <h2 id="address-title">Address</h2>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          go(`address/${form.chain}/${form.address.trim()}`);
        }}
      >
        <label htmlFor="a-chain">Chain</label>
        <input
          id="a-chain"
          value={form.chain}
          onChange={(e) => setForm({ ...form, chain: e.target.value })}
        />
        <label htmlFor="a-address">Address</label>
        <input
          id="a-address"
          size={50}
          value={form.address}
          onChange={(e) => setForm({ ...form, address: e.target.value })}
        />
        <button type="submit">Open</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {view && (
        <>
          <p data-testid="address-status" className={view.listed ? "status listed" : "status"}>
            <strong>{view.address}</strong> ({view.family}) —{" "}
            {view.listed
              ? `LISTED on ${view.matches.map((m) => `${m.list}${m.entity ? ` (${m.entity})` : ""}`).join(", ")}`
              : "not listed now"}
            {view.history.some((m) => m.listedUntil) && " — previously listed"}
          </p>
          {view.exposure.length > 0 && (
            <table>
              <caption>Exposure</caption>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Min hops</th>
                  <th scope="col">Flows</th>
                  <th scope="col">USD</th>
                  <th scope="col">Sources</th>
                </tr>
              </thead>
              <tbody>
                {view.exposure.map((e) => (
                  <tr key={e.exposure}>
                    <td>{e.exposure}</td>
                    <td>{e.minHops}</td>
                    <td>{e.flows}</td>
                    <td>{usd(e.valueUsd)}</td>
                    <td>{e.sources.map((s) => short(s)).join(", ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Graph graph={view.graph} onOpen={open} />
          <Timeline days={view.timeline} />
          <table>
            <caption>Counterparties</caption>
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Asset</th>
                <th scope="col">Transfers</th>
                <th scope="col">Received (base units)</th>
                <th scope="col">Sent (base units)</th>
              </tr>
            </thead>
            <tbody>
              {view.counterparties.map((c) => (
                <tr key={`${c.address}-${c.asset}`}>
                  <td>
                    <a href={`#/address/${view.chain}/${c.address}`}>{short(c.address)}</a>{" "}
                    {c.listed && <span className="sev sev-severe">listed</span>}
                  </td>
                  <td>{c.asset}</td>
                  <td className="num">{c.transfers}</td>
                  <td className="num">{c.received}</td>
                  <td className="num">{c.sent}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

const usdCompact = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  notation: "compact",
});

function Dashboard() {
  const [by, setBy] = useState("chain");
  const [interval, setInterval] = useState("month");
  const [series, setSeries] = useState<
    { bucket: string; key: string; flows: number; valueUsd: number }[]
  >([]);
  const [top, setTop] = useState<
    {
      address: string;
      chain: string;
      flows: number;
      valueUsd: number;
      minHops: number;
      entities: string[];
    }[]
  >([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ series: typeof series }>(`/v1/stats/volume?by=${by}&interval=${interval}`)
      .then((r) => setSeries(r.series))
      .catch((e: unknown) => setError(String(e)));
  }, [by, interval]);
  useEffect(() => {
    api<{ items: typeof top }>("/v1/stats/top-counterparties?limit=15")
      .then((r) => setTop(r.items))
      .catch((e: unknown) => setError(String(e)));
  }, []);
  return (
    <section aria-labelledby="dash-title">
      <h2 id="dash-title">Dashboard</h2>
      <form className="inline" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="d-by">Group by</label>
        <select id="d-by" value={by} onChange={(e) => setBy(e.target.value)}>
          <option value="chain">chain</option>
          <option value="exchange">exchange</option>
          <option value="programme">programme</option>
          <option value="severity">severity</option>
        </select>
        <label htmlFor="d-interval">Interval</label>
        <select id="d-interval" value={interval} onChange={(e) => setInterval(e.target.value)}>
          <option value="day">day</option>
          <option value="week">week</option>
          <option value="month">month</option>
        </select>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="charts">
        <StackedBars
          title={`Flagged volume (USD) per ${by}`}
          points={series.map((s) => ({ bucket: s.bucket, key: s.key, value: s.valueUsd }))}
          format={(v) => usdCompact.format(v)}
        />
        <StackedBars
          title={`Flagged flows per ${by}`}
          points={series.map((s) => ({ bucket: s.bucket, key: s.key, value: s.flows }))}
          format={(v) => String(Math.round(v))}
        />
      </div>
      <table data-testid="top-counterparties">
        <caption>Top exposed counterparties</caption>
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Chain</th>
            <th scope="col">Flows</th>
            <th scope="col">USD</th>
            <th scope="col">Min hops</th>
            <th scope="col">Entities</th>
          </tr>
        </thead>
        <tbody>
          {top.map((t) => (
            <tr key={t.address}>
              <td>
                <a href={`#/address/${t.chain}/${t.address}`}>{short(t.address)}</a>
              </td>
              <td>{t.chain}</td>
              <td className="num">{t.flows}</td>
              <td className="num">{usd(t.valueUsd)}</td>
              <td className="num">{t.minHops}</td>
              <td>{t.entities.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(Boolean(getKey()));
  const [route, go] = useRoute();
  useEffect(() => {
    if (!getKey()) return;
    api<Me>("/v1/me")
      .then(setMe)
      .catch(() => setKey(null))
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p>Loading…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  const [page, a, b] = route;
  const nav = [
    ["flows", "Flows"],
    ["address", "Address"],
    ["dashboard", "Dashboard"],
  ];
  return (
    <>
      <header>
        <h1>Chainscreen</h1>
        <nav aria-label="Main">
          {nav.map(([r, label]) => (
            <a key={r} href={`#/${r}`} aria-current={page === r ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span className="who" data-testid="signed-in-as">
          {me.name} · {me.role} · {me.tenantId}
        </span>
        <button
          type="button"
          onClick={() => {
            setKey(null);
            setMe(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {page === "address" ? (
          <AddressPage chain={a} address={b} go={go} />
        ) : page === "dashboard" ? (
          <Dashboard />
        ) : (
          <FlowsPage />
        )}
      </main>
    </>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
