/** One ordered schema change. Applied migrations are immutable: a new change is a new file. */
export interface Migration {
  /** Strictly increasing, starting at 1. */
  readonly version: number;
  readonly name: string;
  /** Run in order. MariaDB commits DDL implicitly, so each statement should be safe to rerun. */
  readonly statements: readonly string[];
}
