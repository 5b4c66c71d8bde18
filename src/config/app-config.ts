import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { crossFieldProblems, envSchema, type Env } from './env.schema.js';
import { policyFileSchema, productsFileSchema, type PolicyFile, type ProductsFile } from './files.schema.js';

/** Thrown when start-up configuration is missing or malformed; the message names every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The validated configuration, read once at start-up. Injected under this class as a token. */
export abstract class AppConfig {
  abstract readonly env: Env;
  abstract readonly products: ProductsFile;
  abstract readonly policy: PolicyFile;
}

type Source = Record<string, string | undefined>;

export function loadConfig(source: Source = process.env): AppConfig {
  const problems: string[] = [];
  const raw = blankToUndefined(source);
  const env = collect(envSchema, raw, problems, (path) => path || 'environment');
  problems.push(...crossFieldProblems(raw));
  const dir = resolve(env?.CONFIG_DIR ?? source.CONFIG_DIR ?? 'config');
  const products = readFile(join(dir, 'products.yaml'), productsFileSchema, problems);
  const policy = readFile(join(dir, 'policy.yaml'), policyFileSchema, problems);
  if (!env || !products || !policy || problems.length) throw new ConfigError(problems);
  return { env, products, policy };
}

function blankToUndefined(source: Source): Source {
  return Object.fromEntries(Object.entries(source).map(([k, v]) => [k, v === '' ? undefined : v]));
}

function collect<S extends z.ZodType>(
  schema: S,
  value: unknown,
  problems: string[],
  label: (path: string) => string,
): z.infer<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    // Never echo the offending value: it may be a secret.
    problems.push(`${label(issue.path.join('.'))}: ${issue.message}`);
  }
  return undefined;
}

function readFile<S extends z.ZodType>(path: string, schema: S, problems: string[]): z.infer<S> | undefined {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    problems.push(`${path}: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  return collect(schema, raw, problems, (p) => `${path}${p ? ` at ${p}` : ''}`);
}
