/** Where NOCBRIDGE_FAILPOINT stops the process: just before a ticket create is sent, or just after it returned. */
export const FAILPOINTS = ["before-send", "after-send"] as const;
export type Failpoint = (typeof FAILPOINTS)[number];
