import { createRequire } from 'node:module';

/** yaml is loaded only when a command prints YAML: most calls print values, and every call is a process. */
const stringify = (value: unknown): string =>
  (createRequire(import.meta.url)('yaml') as typeof import('yaml')).stringify(value);

/**
 * gcloud's output projections, the subset the scripts use: `--flatten=a[].b`, `--filter` with `key=value`,
 * `key:value` and `NOT`-free `AND` terms, `--limit`, and `--format=json|yaml|value(a.b,c)`.
 */
export interface Projection {
  flatten?: string;
  filter?: string;
  limit?: number;
  format?: string;
}

type Item = Record<string, unknown>;

function get(item: unknown, path: string): unknown {
  let value: unknown = item;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** `bindings[].members`: one item per element of each nested list, the list replaced by the element. */
function flatten(items: Item[], spec: string): Item[] {
  const parts = spec.split('[].');
  let out = items;
  let prefix: string[] = [];
  for (const part of [...parts.slice(0, -1), parts.at(-1)!.replace(/\[\]$/, '')]) {
    prefix = [...prefix, ...part.split('.')];
    const path = [...prefix];
    out = out.flatMap((item) => {
      const list = get(item, path.join('.'));
      if (!Array.isArray(list)) return list === undefined ? [] : [item];
      return list.map((element) => setPath(item, path, element));
    });
  }
  return out;
}

function setPath(item: Item, path: string[], value: unknown): Item {
  const copy: Item = { ...item };
  if (path.length === 1) {
    copy[path[0]!] = value;
    return copy;
  }
  copy[path[0]!] = setPath((item[path[0]!] as Item) ?? {}, path.slice(1), value);
  return copy;
}

function unquote(value: string): string {
  return /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
}

function matches(item: Item, filter: string): boolean {
  return filter
    .split(/\s+AND\s+/)
    .map((term) => term.trim())
    .filter(Boolean)
    .every((term) => {
      const m = /^([A-Za-z0-9_.]+)\s*([=:])\s*(.*)$/.exec(term);
      if (!m) throw new Error(`unsupported filter term: ${term}`);
      const [, key, op, raw] = m as unknown as [string, string, string, string];
      const wanted = unquote(raw.trim()).toLowerCase();
      const value = get(item, key);
      const values = (Array.isArray(value) ? value : [value]).map((v) => String(v ?? '').toLowerCase());
      return op === '=' ? values.includes(wanted) : values.some((v) => v === wanted || v.includes(wanted));
    });
}

function valueOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(valueOf).join(';');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Prints a resource (or a list of them) as gcloud would with these flags. */
export function project(result: unknown, options: Projection, isList: boolean): string {
  let items: Item[] = isList ? (result as Item[]) : [result as Item];
  if (options.flatten) items = flatten(items, options.flatten);
  if (options.filter) items = items.filter((item) => matches(item, options.filter!));
  if (options.limit !== undefined) items = items.slice(0, options.limit);
  const format = options.format ?? 'yaml';
  const single = !isList && !options.flatten;
  if (format === 'json') return `${JSON.stringify(single ? (items[0] ?? null) : items, null, 2)}\n`;
  const value = /^value\((.*)\)$/.exec(format);
  if (value) {
    const keys = value[1]!.split(',').map((k) => k.trim());
    return items.map((item) => `${keys.map((k) => valueOf(get(item, k))).join('\t')}\n`).join('');
  }
  if (format === 'yaml')
    return single ? stringify(items[0] ?? null) : items.map((i) => `---\n${stringify(i)}`).join('');
  throw new Error(`unsupported --format: ${format}`);
}
