import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ValidationError } from "@chainscreen/errors";
import type { ListState, ListVersion } from "./version.js";

/**
 * Where list versions and state live. Implementations: {@link FileWatchlistStore} (JSON files, for
 * the CLI and single-machine use) and {@link MemoryWatchlistStore}; a ClickHouse-backed one only
 * needs these four calls (versions as rows keyed by list+version, state as the latest row).
 */
export interface WatchlistStore {
  /** Ids of every list with at least one version. */
  listIds(): Promise<string[]>;
  /** State of a list, or null when it has never been imported. */
  getState(listId: string): Promise<ListState | null>;
  /** One stored version with its entries (active, superseded or held), or null. */
  getVersion(listId: string, version: number): Promise<ListVersion | null>;
  /**
   * Stores a new version and the list state that goes with it. The version is written first, so
   * a crash in between leaves the previous state (and active version) in force.
   */
  commit(version: ListVersion, state: ListState): Promise<void>;
}

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Checks a list id (lowercase letters, digits, `.`, `_`, `-`; it names a directory). */
export function checkListId(listId: string): string {
  if (!ID_RE.test(listId)) {
    throw new ValidationError(`invalid list id "${listId}": use lowercase letters, digits, . _ -`);
  }
  return listId;
}

/** In-memory store (tests, short-lived tools). */
export class MemoryWatchlistStore implements WatchlistStore {
  private readonly states = new Map<string, string>();
  private readonly versions = new Map<string, string>();

  async listIds(): Promise<string[]> {
    return [...this.states.keys()].sort();
  }
  async getState(listId: string): Promise<ListState | null> {
    const s = this.states.get(listId);
    return s ? (JSON.parse(s) as ListState) : null;
  }
  async getVersion(listId: string, version: number): Promise<ListVersion | null> {
    const v = this.versions.get(`${listId}@${version}`);
    return v ? (JSON.parse(v) as ListVersion) : null;
  }
  async commit(version: ListVersion, state: ListState): Promise<void> {
    this.versions.set(`${version.listId}@${version.version}`, JSON.stringify(version));
    this.states.set(state.listId, JSON.stringify(state));
  }
}

/** JSON files under `<dir>/<listId>/`: `state.json` and `v<N>.json`; writes are atomic renames. */
export class FileWatchlistStore implements WatchlistStore {
  constructor(readonly dir: string) {}

  async listIds(): Promise<string[]> {
    let names: string[];
    try {
      // Only directories are lists; files beside them (e.g. the sync service's state) are not.
      names = (await readdir(this.dir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: string[] = [];
    for (const n of names.sort()) if (ID_RE.test(n) && (await this.getState(n))) out.push(n);
    return out;
  }

  async getState(listId: string): Promise<ListState | null> {
    return this.readJson<ListState>(join(this.dir, checkListId(listId), "state.json"));
  }

  async getVersion(listId: string, version: number): Promise<ListVersion | null> {
    return this.readJson<ListVersion>(join(this.dir, checkListId(listId), `v${version}.json`));
  }

  async commit(version: ListVersion, state: ListState): Promise<void> {
    const d = join(this.dir, checkListId(state.listId));
    await mkdir(d, { recursive: true });
    await this.writeJson(join(d, `v${version.version}.json`), version);
    await this.writeJson(join(d, "state.json"), state);
  }

  private async readJson<T>(path: string): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    return JSON.parse(text) as T;
  }

  private async writeJson(path: string, value: unknown): Promise<void> {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
  }
}
