/**
 * Where a store lives, from the text of `--db` or `store.path` / `store.url`: an SQLite file (the default,
 * one host) or a PostgreSQL database (`postgres://user@host/db`, a lab that shares one store). Pure: the
 * only place that tells the two apart; open.ts opens what this returns.
 */
import { dirname, resolve } from 'node:path';
import { StoreOpenError } from './errors.ts';

export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  /** `url` may hold a password; `shown` never does (for messages, hints and the report). */
  | { readonly kind: 'postgres'; readonly url: string; readonly shown: string };

const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/** The URL without its password: safe to print, and still usable with PGPASSWORD or ~/.pgpass. */
function withoutPassword(url: URL): string {
  const copy = new URL(url.href);
  copy.password = '';
  return copy.href;
}

/** Parses `--db`: a postgres:// URL, or a file path resolved against `cwd`. */
export function parseStoreLocation(text: string, cwd: string = process.cwd()): StoreLocation {
  if (!isPostgresUrl(text)) return { kind: 'sqlite', path: resolve(cwd, text) };
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new StoreOpenError(
      `--db: expected a PostgreSQL URL like postgres://user@host:5432/prunelab, got '${text}' (not a valid URL)`,
      { path: text },
      { kind: 'input', cause: error },
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!POSTGRES_SCHEMES.includes(url.protocol) || url.hostname === '' || database === '') {
    throw new StoreOpenError(
      `--db: expected a PostgreSQL URL with a host and a database, like postgres://user@host:5432/prunelab; ` +
        `got '${withoutPassword(url)}'`,
      { path: withoutPassword(url) },
      { kind: 'input' },
    );
  }
  return { kind: 'postgres', url: text, shown: withoutPassword(url) };
}

/** The store as the user should see it (and pass it again): the absolute file, or the URL without password. */
export function storeName(location: StoreLocation): string {
  return location.kind === 'sqlite' ? location.path : location.shown;
}

/**
 * `--db` text in the canonical form commands pass around: an absolute file path, or the URL as given
 * (the password stays: the store is opened again from it).
 */
export function canonicalStoreText(text: string, cwd: string = process.cwd()): string {
  const location = parseStoreLocation(text, cwd);
  return location.kind === 'sqlite' ? location.path : location.url;
}

/**
 * The folder where files that belong to a store go by default (HTML reports, nightly outputs): beside an
 * SQLite file, the working directory for a PostgreSQL store.
 */
export function storeFolder(location: StoreLocation, cwd: string = process.cwd()): string {
  return location.kind === 'sqlite' ? dirname(location.path) : cwd;
}
