import Table from "cli-table3";

/** One column of a printed table: its heading and how a row shows in it. */
export interface Column<T> {
  head: string;
  value: (row: T) => string | number | null | undefined;
  /** Right-aligned (numbers). */
  right?: boolean;
}

const NO_BORDERS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/**
 * Rows as an aligned plain-text table (no index column, no borders; a heading line underlined), for
 * the CLI. Wide characters are measured as the terminal shows them. Empty values show as "—".
 */
export function textTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const t = new Table({
    head: columns.map((c) => c.head),
    chars: NO_BORDERS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
    colAligns: columns.map((c) => (c.right ? "right" : "left")),
    wordWrap: false,
  });
  const underline = columns.map((c) => "─".repeat(c.head.length));
  t.push(underline);
  for (const r of rows)
    t.push(
      columns.map((c) => {
        const v = c.value(r);
        return v === null || v === undefined || v === "" ? "—" : String(v);
      }),
    );
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}
