/**
 * A throwaway self-signed certificate for the emulator's HTTPS listener, valid for 127.0.0.1, ::1
 * and localhost. Its PEM is what clients trust (an https Agent `ca`, or NODE_EXTRA_CA_CERTS).
 */
import { generate } from "selfsigned";

export interface TlsMaterial {
  key: string;
  cert: string;
}

export async function selfSignedCertificate(host = "127.0.0.1"): Promise<TlsMaterial> {
  const now = Date.now();
  const isIp = /^[\d.]+$|:/.test(host);
  const altNames = [
    { type: 7 as const, ip: "127.0.0.1" },
    { type: 7 as const, ip: "::1" },
    { type: 2 as const, value: "localhost" },
    ...(host === "127.0.0.1" || host === "localhost" || host === "0.0.0.0" || host === "::1"
      ? []
      : [isIp ? { type: 7 as const, ip: host } : { type: 2 as const, value: host }]),
  ];
  const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 30 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
