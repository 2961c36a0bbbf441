/**
 * Text that must fit a PSA field's length limit. A connector cuts a text that is too long and ends it
 * with a marker, so a reader in the PSA sees that something is missing and where the whole text is.
 */

/** What a cut text ends with. */
export const TRUNCATION_MARK = "\n[… cut to fit; the whole text is on the NOC portal ticket]";

/** `text` as it fits `max` characters: unchanged when it fits, else cut and ended with the marker. */
export function fitText(text: string, max: number, mark = TRUNCATION_MARK): string {
  if (text.length <= max) return text;
  if (max <= mark.length) return text.slice(0, max);
  let cut = text.slice(0, max - mark.length);
  // Never leave half of a surrogate pair at the cut.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}${mark}`;
}

/** Whether `text` was cut by `fitText` (it ends with the marker). */
export function wasCut(text: string, mark = TRUNCATION_MARK): boolean {
  return text.endsWith(mark);
}
