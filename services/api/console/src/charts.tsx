/** Plain SVG charts: stacked bars per bucket, with a legend and an accessible data table. */

const PALETTE = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#d97706",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#4b5563",
  "#65a30d",
  "#9333ea",
];

export interface SeriesPoint {
  bucket: string;
  key: string;
  value: number;
}

/** Stacked bar chart (one bar per bucket, one colour per key). */
export function StackedBars({
  title,
  points,
  format,
}: {
  title: string;
  points: SeriesPoint[];
  format: (v: number) => string;
}) {
  const buckets = [...new Set(points.map((p) => p.bucket))].sort();
  const keys = [...new Set(points.map((p) => p.key))].sort();
  const color = (k: string) => PALETTE[keys.indexOf(k) % PALETTE.length] as string;
  const totals = buckets.map((b) =>
    points.filter((p) => p.bucket === b).reduce((s, p) => s + p.value, 0),
  );
  const max = Math.max(1, ...totals);
  const W = 640;
  const H = 240;
  const pad = { l: 70, r: 10, t: 10, b: 40 };
  const bw = buckets.length ? (W - pad.l - pad.r) / buckets.length : 0;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const id = title.replace(/\W+/g, "-").toLowerCase();
  return (
    <figure className="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} data-testid={`chart-${id}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.l} x2={W - pad.r} y1={y(max * f)} y2={y(max * f)} stroke="#e5e7eb" />
            <text x={pad.l - 6} y={y(max * f) + 4} textAnchor="end" fontSize="11">
              {format(max * f)}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          let acc = 0;
          return (
            <g key={b}>
              {keys.map((k) => {
                const v = points.find((p) => p.bucket === b && p.key === k)?.value ?? 0;
                if (v === 0) return null;
                const y0 = y(acc);
                acc += v;
                const y1 = y(acc);
                return (
                  <rect
                    key={k}
                    className="bar"
                    x={pad.l + i * bw + bw * 0.15}
                    width={bw * 0.7}
                    y={y1}
                    height={Math.max(0.5, y0 - y1)}
                    fill={color(k)}
                  >
                    <title>{`${b} ${k}: ${format(v)}`}</title>
                  </rect>
                );
              })}
              {i % Math.max(1, Math.ceil(buckets.length / 10)) === 0 && (
                <text
                  x={pad.l + i * bw + bw / 2}
                  y={H - pad.b + 16}
                  textAnchor="middle"
                  fontSize="11"
                >
                  {buckets.length > 12 ? b.slice(5) : b.slice(0, 7)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <ul className="legend">
        {keys.map((k) => (
          <li key={k}>
            <span className="swatch" style={{ background: color(k) }} aria-hidden="true" />
            {k}
          </li>
        ))}
      </ul>
      <details>
        <summary>Data table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Period</th>
              {keys.map((k) => (
                <th scope="col" key={k}>
                  {k}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {buckets.map((b) => (
              <tr key={b}>
                <th scope="row">{b}</th>
                {keys.map((k) => (
                  <td key={k}>
                    {format(points.find((p) => p.bucket === b && p.key === k)?.value ?? 0)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Daily in/out transfers and flagged counts of an address. */
export function Timeline({
  days,
}: {
  days: { day: string; transfersIn: number; transfersOut: number; flagged: number }[];
}) {
  const points: SeriesPoint[] = days.flatMap((d) => [
    { bucket: d.day, key: "received", value: d.transfersIn },
    { bucket: d.day, key: "sent", value: d.transfersOut },
  ]);
  return (
    <StackedBars
      title="Transfers per day"
      points={points}
      format={(v) => String(Math.round(v * 10) / 10)}
    />
  );
}
