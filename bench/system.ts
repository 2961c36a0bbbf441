/** `--system autotask|connectwise` (default autotask): which PSA, and which emulator, a bench runs against. */
export type BenchSystem = "autotask" | "connectwise";

export function benchSystem(argv: readonly string[] = process.argv.slice(2)): BenchSystem {
  const i = argv.findIndex((a) => a === "--system" || a.startsWith("--system="));
  if (i < 0) return "autotask";
  const arg = argv[i] as string;
  const v = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[i + 1];
  if (v === "autotask" || v === "connectwise") return v;
  throw new Error(`--system: expected autotask or connectwise, got ${JSON.stringify(v ?? "")}`);
}
