// A tiny element builder: text always goes in as text (never HTML), so nothing a person or an
// operator typed can become markup; and bidi controls in it are shown as visible marks, so stored
// text can never reorder what an operator reads (Trojan Source, CVE-2021-42574).
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined>;

const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text with each bidi control replaced by its code point, e.g. ⟦U+202E⟧. */
export function visible(text: string): string {
  return text.replace(BIDI_CONTROLS, (char) => `⟦U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟧`);
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'string') element.setAttribute(name, visible(value));
    else if (value) element.toggleAttribute(name, true);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(typeof child === 'string' || typeof child === 'number' ? visible(String(child)) : child);
  }
  return element;
}
