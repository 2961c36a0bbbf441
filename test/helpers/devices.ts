import type { DeviceInput } from "../../src/portal/service.js";

/** A test device: numbered hostname, IP, serial and last user; warranty only for managed ones. */
export const device = (
  i: number,
  state: DeviceInput["state"],
  over: Partial<DeviceInput> = {},
): DeviceInput => ({
  state,
  hostname: `HOST-${String(i).padStart(3, "0")}`,
  deviceType: "Workstation",
  ipAddress: `10.0.0.${i}`,
  gateway: "10.0.0.1",
  make: "Dell Inc.",
  model: "OptiPlex 7090",
  operatingSystem: "Microsoft Windows 11 Pro",
  ram: "16 GB",
  biosName: "Dell Inc. BIOS 2.18.0",
  biosVersion: "2.18.0",
  driveInfo: "C: 476 GB",
  lastLoggedUser: `user${i}`,
  serialNumber: `SN-${i}`,
  warrantyEndDate: state === "managed" ? "2028-06-30" : null,
  ...over,
});
