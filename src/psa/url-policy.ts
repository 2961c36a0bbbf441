/**
 * Where PSA calls may go: the operator's allow-list of PSA base URLs, and the rule that a PSA host
 * never resolves to a loopback, private or link-local address unless an exact-origin entry names it.
 *
 * An entry is either a host pattern with a scheme (`https://*.autotask.net`: any host under
 * autotask.net, default port of the scheme) or an exact origin (`http://127.0.0.1:8081`). Only an
 * exact-origin entry lets a request reach an internal address — that is how the emulator of the demo
 * and the tests is allowed while a partner cannot point the server at the operator's network.
 *
 * The address check runs on the address actually connected to (see `guardedLookup`), so a DNS answer
 * that changes between a check and the connection cannot slip through.
 */
import { BlockList, isIP } from "node:net";

/**
 * Autotask's cloud hosts: the policy of a client built without one. The server's default list
 * (manifests.ts BUILTIN_PSA_URL_ALLOWLIST) adds the other built-in connectors' hosts to it.
 */
export const DEFAULT_PSA_URL_ALLOWLIST = "https://*.autotask.net";

interface Entry {
  text: string;
  protocol: "http:" | "https:";
  /** Exact host (lower case), or the suffix after "*." for a pattern. */
  host: string;
  wildcard: boolean;
  /** The port as the URL gives it ("" = the scheme's default). */
  port: string;
}

function parseEntry(raw: string): Entry | string {
  const text = raw.trim();
  const m = /^(https?):\/\/(\*\.)?([^/?#]+?)\/?$/i.exec(text);
  if (!m) return `"${text}" is not a scheme and host such as https://*.autotask.net or http://127.0.0.1:8081`;
  const protocol = `${(m[1] as string).toLowerCase()}:` as Entry["protocol"];
  let u: URL;
  try {
    u = new URL(`${protocol}//${m[3]}`);
  } catch {
    return `"${text}" has no valid host`;
  }
  if (u.username || u.password || u.pathname !== "/" || u.search || u.hash || u.hostname === "")
    return `"${text}" must be a scheme and a host only`;
  if (m[2] && (isIP(u.hostname) || u.hostname.startsWith("[") || !u.hostname.includes(".")))
    return `"${text}": a wildcard needs a domain with a dot after "*."`;
  return { text, protocol, host: u.hostname.toLowerCase(), wildcard: m[2] !== undefined, port: u.port };
}

export class PsaUrlPolicy {
  readonly entries: readonly Entry[];

  private constructor(entries: Entry[]) {
    this.entries = entries;
  }

  /** Parses a comma-separated list; throws one Error naming every bad entry. */
  static parse(list: string): PsaUrlPolicy {
    const problems: string[] = [];
    const entries: Entry[] = [];
    for (const part of list.split(",")) {
      if (part.trim() === "") continue;
      const e = parseEntry(part);
      if (typeof e === "string") problems.push(e);
      else entries.push(e);
    }
    if (problems.length > 0) throw new Error(problems.join("; "));
    if (entries.length === 0) throw new Error("the list is empty: no PSA URL could be used");
    return new PsaUrlPolicy(entries);
  }

  static readonly default = PsaUrlPolicy.parse(DEFAULT_PSA_URL_ALLOWLIST);

  /** This policy plus exact-origin entries (the demo and the tests add their emulator's origin). */
  withOrigins(...origins: string[]): PsaUrlPolicy {
    return PsaUrlPolicy.parse([...this.entries.map((e) => e.text), ...origins].join(","));
  }

  /** The allow-list as the operator would write it. */
  toString(): string {
    return this.entries.map((e) => e.text).join(",");
  }

  /** Why `url` may not be used as a PSA URL, or null when an entry allows it. */
  refusal(url: string): string | null {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return "is not a URL";
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") return `uses the scheme ${u.protocol}`;
    if (u.username || u.password) return "must not carry credentials";
    if (this.match(u)) return null;
    return `${u.protocol}//${u.host} is not in the operator's allow-list of PSA URLs`;
  }

  /** Whether an exact-origin entry names this origin: only then may it reach an internal address. */
  isExactOrigin(protocol: string, hostname: string, port: string): boolean {
    const host = stripBrackets(hostname).toLowerCase();
    const p = port === defaultPort(protocol) ? "" : port;
    return this.entries.some(
      (e) => !e.wildcard && e.protocol === protocol && stripBrackets(e.host) === host && e.port === p,
    );
  }

  private match(u: URL): Entry | undefined {
    const host = u.hostname.toLowerCase();
    return this.entries.find((e) => {
      if (e.protocol !== u.protocol || e.port !== u.port) return false;
      if (!e.wildcard) return e.host === host;
      return host.endsWith(`.${e.host}`) && !isIP(stripBrackets(host));
    });
  }
}

const stripBrackets = (h: string) => h.replace(/^\[(.*)\]$/, "$1");
const defaultPort = (protocol: string) => (protocol === "https:" ? "443" : "80");

// ---- internal addresses ------------------------------------------------------------------------

const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this network", incl. 0.0.0.0
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv6");
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad is accepted), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let a = address.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (quad) {
    const [b0, b1, b2, b3] = quad.slice(1).map(Number) as [number, number, number, number];
    a = `${a.slice(0, quad.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? (halves[0] as string).split(":") : [];
  const tail = halves.length === 2 && halves[1] ? (halves[1] as string).split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return undefined;
  const groups = [...head, ...Array<string>(fill).fill("0"), ...tail].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address an IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d) address carries. */
function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g || g.slice(0, 5).some((x) => x !== 0)) return undefined;
  if (g[5] !== 0xffff && !(g[5] === 0 && ((g[6] as number) !== 0 || (g[7] as number) > 1))) return undefined;
  const hi = g[6] as number;
  const lo = g[7] as number;
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True for loopback, private, link-local, unspecified, CGNAT, multicast and reserved addresses. */
export function isInternalAddress(address: string): boolean {
  const a = stripBrackets(address).replace(/%.*$/, "");
  const family = isIP(a);
  if (family === 4) return INTERNAL.check(a, "ipv4");
  if (family === 6) {
    const v4 = embeddedIpv4(a);
    if (v4 !== undefined) return INTERNAL.check(v4, "ipv4");
    return INTERNAL.check(a, "ipv6");
  }
  return true; // not an address at all: refuse
}
