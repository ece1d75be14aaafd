/**
 * A hook for commits other engines make through the REST catalog: the Durable Object installs one
 * (src/flush/external-writes.ts) so CDC side state that depends on a table's files (the primary-key
 * index of a mirror table) changes with the commit, in the same transaction, or the commit is refused.
 * The catalog itself knows nothing of CDC: it only calls the hook.
 */
import type { TableMetadata } from "../iceberg/metadata/types.js";
import type { TableIdent } from "./names.js";

/** Decides on one prepared commit; returns work to run inside the commit's transaction, or throws to refuse it. */
export type CommitGuard = (ident: TableIdent, base: TableMetadata | undefined, next: TableMetadata) => Promise<(() => void) | undefined>;
