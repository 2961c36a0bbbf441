/**
 * A plain-text table for terminals: a header row, a rule, and one line per row, each column padded to
 * its widest cell (counted in code points, so "—" and accented names line up). No index column.
 */
export interface TextColumn<T> {
  header: string;
  value(row: T): string | number | null | undefined;
  /** Numbers read best right-aligned. */
  align?: "left" | "right";
}

export function textTable<T>(rows: readonly T[], columns: ReadonlyArray<TextColumn<T>>): string {
  const cell = (v: string | number | null | undefined) =>
    v === null || v === undefined || v === "" ? "—" : String(v).replace(/\s+/g, " ");
  const body = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const width = columns.map((c, i) =>
    Math.max([...c.header].length, ...body.map((cells) => [...(cells[i] ?? "")].length)),
  );
  const pad = (s: string, i: number) => {
    const fill = " ".repeat(Math.max(0, (width[i] ?? 0) - [...s].length));
    return columns[i]?.align === "right" ? fill + s : s + fill;
  };
  const line = (cells: string[]) => cells.map(pad).join("  ").replace(/\s+$/, "");
  return [line(columns.map((c) => c.header)), line(width.map((w) => "-".repeat(w))), ...body.map(line)].join(
    "\n",
  );
}
