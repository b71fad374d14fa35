/** Escaping for text that goes into HTML or XML (`cairn serve`'s pages, `cairn ui`, WebDAV): names are hostile input. */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` safe in HTML text and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * `text` safe in XML 1.0 text: the five entities, and characters XML cannot
 * hold at all (controls other than tab, newline, return; lone surrogates)
 * as U+FFFD, since not even a character reference may name them.
 */
export function escapeXml(text: string): string {
  return escapeHtml(text).replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    "\ufffd",
  );
}
