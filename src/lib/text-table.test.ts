import { describe, expect, it } from "vitest";
import { textTable } from "./text-table.js";

describe("textTable", () => {
  it("pads each column to its widest cell, right-aligns numbers, and shows empty cells as a dash", () => {
    const rows = [
      { n: "T20261128.0009", title: "Disk full on SRV01", count: 3 },
      { n: null, title: "Prüfung  läuft", count: 12 },
    ];
    expect(
      textTable(rows, [
        { header: "Ticket", value: (r) => r.n },
        { header: "Title", value: (r) => r.title },
        { header: "Count", value: (r) => r.count, align: "right" },
      ]),
    ).toBe(
      [
        "Ticket          Title               Count",
        "--------------  ------------------  -----",
        "T20261128.0009  Disk full on SRV01      3",
        "—               Prüfung läuft          12",
      ].join("\n"),
    );
  });

  it("prints only the header and rule for no rows", () => {
    expect(textTable([], [{ header: "Ticket", value: () => "" }])).toBe("Ticket\n------");
  });
});
