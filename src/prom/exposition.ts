/**
 * Renders metric families in the Prometheus text exposition format (version
 * 0.0.4): `# HELP`, `# TYPE`, then one `name{label="value",...} number` line
 * per sample. Label values are escaped as the format requires (backslash,
 * double quote, newline), so a job or host name can never end a label early
 * or start a line of its own.
 *
 * @module
 */

/** One sample: its labels, in the order they are written, and its value. */
export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** A metric family: every sample of one metric name. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: readonly Sample[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** HELP text escapes only backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * The exposition text of `families`, ending in a newline.
 *
 * @throws {TypeError} for an invalid metric or label name (a programming error).
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!NAME_RE.test(f.name)) throw new TypeError(`Invalid metric name "${f.name}"`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => {
        if (!LABEL_RE.test(k)) throw new TypeError(`Invalid label name "${k}"`);
        return `${k}="${escapeLabelValue(v)}"`;
      });
      const set = labels.length ? `{${labels.join(",")}}` : "";
      out.push(`${f.name}${set} ${formatValue(s.value)}`);
    }
  }
  return out.join("\n") + "\n";
}
